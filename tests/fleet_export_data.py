"""Readings and roll-up rows written into a fleet store for the export and API tests (through the real ingest)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from fleet import protocol
from fleet.store import SqlStore

#: When the fleet receives everything: after every reading of the tests, so their wall times are believed.
RECEIVED = datetime(2027, 1, 1, tzinfo=UTC).timestamp()


def utc(text: str) -> float:
    """Epoch seconds of an ISO 8601 UTC time written as `2026-03-29T01:00:00`."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def store_readings(store: SqlStore, readings: Sequence[tuple[float, str, str, float]], *, device: str = "box-a",
                   lane: str = "raw", clock: str = "synced", first_seq: int = 1, boot: str = "b1",
                   batch_size: int = 2000) -> int:
    """Store (ts, sensor, reading, value) as reading records of `lane`, seqs from `first_seq`; the next seq.

    With `clock="unsynced"` the wall time is the box's wrong clock (1970 + ts - 2026), so the fleet keeps ts NULL.
    """
    seq = first_seq
    for start in range(0, len(readings), batch_size):
        records = []
        for ts, sensor, name, value in readings[start:start + batch_size]:
            wall = ts if clock == "synced" else ts - 1_767_225_600.0 + 1000.0
            records.append(protocol.Record(seq, boot, 100.0 + seq, wall, clock, "reading",
                                           {"sensor": sensor, "name": name, "value": value}))
            seq += 1
        store.store_batch(protocol.Batch(device, boot, lane, records[0].seq - 1, records[0].seq, records[-1].seq,
                                         RECEIVED, clock == "synced", {}, tuple(records)), RECEIVED)
    return seq
