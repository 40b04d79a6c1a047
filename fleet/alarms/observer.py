"""The ingest observer that turns what boxes send into alarms, inside the batch's (or status's) transaction."""

from __future__ import annotations

import json
import logging

from fleet import protocol
from fleet.alarms.derive import record_signals, status_signals
from fleet.alarms.model import SILENT, Clear, Raise, Signal
from fleet.alarms.table import apply_clear, apply_raise
from fleet.store.db import Database

LOG = logging.getLogger("hameau.fleet.alarms")
#: Event kinds that may make alarm work (the rest of the event lane is skipped at once).
_EVENT_KINDS = frozenset({"alarm", "alarm_acked", "fault", "fault_cleared"})
_RECORD_TYPES = frozenset({"thinned", "config_report"})


def _relevant(record: protocol.Record) -> bool:
    if record.type == "event":
        return record.body.get("kind") in _EVENT_KINDS
    return record.type in _RECORD_TYPES


def _first_time(db: Database, device: str, lane: str, seq: int) -> bool:
    """Mark a record as turned into alarm work; False if it already was (its batch came again)."""
    cursor = db.execute(
        "INSERT INTO alarm_records (device, lane, seq) VALUES (?, ?, ?) ON CONFLICT DO NOTHING", (device, lane, seq)
    )
    return cursor.rowcount == 1


def apply(db: Database, device: str, signal: Signal) -> None:
    """Apply one signal to the alarms table."""
    if isinstance(signal, Clear):
        apply_clear(db, device, signal)
    else:
        apply_raise(db, device, signal)


def clear_silent(db: Database, device: str, at: float, by: str) -> None:
    """A sign of life: end the device's silent alarm, if any (an UPDATE that usually matches nothing)."""
    db.execute(
        "UPDATE alarms SET state = 'cleared', cleared_at = ?, cleared_by = ?, order_cleared = ?"
        " WHERE device = ? AND kind = ? AND state = 'open'",
        (at, by, at, device, SILENT),
    )


def _same_status(db: Database, status: protocol.Status, signal: Raise) -> bool:
    """Whether the open alarm already came from this very status (a retained will delivered again)."""
    row = db.one(
        "SELECT evidence FROM alarms WHERE device = ? AND kind = ? AND source = ? AND state = 'open'",
        (status.device, signal.kind, signal.source),
    )
    if row is None:
        return False
    seen = json.loads(row[0])
    return (seen.get("at"), seen.get("boot")) == (status.at, status.boot)


class AlarmObserver:
    """Alarms from every batch and status the fleet stores (idempotent: a record counts once)."""

    def on_batch(self, db: Database, batch: protocol.Batch, received_at: float) -> None:
        """Records came: the device is not silent; the event lane's alarms, faults, reports are applied."""
        clear_silent(db, batch.device, received_at, f"records again ({batch.lane} lane up to #{batch.seq_last})")
        if batch.lane != "event":
            return
        for record in batch.records:
            if not _relevant(record):
                continue
            try:
                signals = record_signals(batch.device, batch.lane, record, received_at)
            except (KeyError, TypeError, ValueError):  # a record shaped as no box writes: stored, no alarm
                LOG.warning("alarms: record %s #%d of %s not understood", batch.lane, record.seq, batch.device,
                            exc_info=True)
                continue
            if not signals or not _first_time(db, batch.device, batch.lane, record.seq):
                continue
            for signal in signals:
                apply(db, batch.device, signal)

    def on_status(self, db: Database, status: protocol.Status, received_at: float) -> None:
        """A status came: offline opens the offline alarm, online clears it; either way the device is heard."""
        clear_silent(db, status.device, received_at, f"status {status.state}")
        for signal in status_signals(status, received_at):
            if isinstance(signal, Raise) and _same_status(db, status, signal):
                continue
            apply(db, status.device, signal)
