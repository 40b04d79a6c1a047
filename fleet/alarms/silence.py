"""The silence job: a known or registered box with no record and no status for `silent_after_s` is `silent`.

A box sends its events at once and its readings within a minute (edge/config/link.py batch ages: 0, 30 and
60 s by default, a day at most), so hours without a word mean a box that is off, cut off, or stuck, even
when the broker never gave its last will. A box whose offline alarm is open is not told twice; a revoked
one is not watched. The job runs in one transaction under a lock, each device under its ingest lock and
read again there, and the open-alarm index refuses a second open alarm: several serve processes may run it.
"""

from __future__ import annotations

import json

from fleet.alarms.model import OFFLINE, OPEN, SILENT, WARNING, AlarmSettings
from fleet.alarms.table import new_alarm_id
from fleet.serve.jobs import Job, JobContext
from fleet.store.db import Database

#: The silent alarm's source: the fleet itself noticed.
FLEET_SOURCE = "fleet"
_LOCK = "alarms:silence"


def _candidates(db: Database, threshold: float) -> list[tuple[str, float, bool]]:
    """(device, last heard of or registered at, ever heard of) for every box quiet since before `threshold`."""
    heard = db.query(
        "SELECT d.id, d.last_seen FROM devices d WHERE d.last_seen < ? AND NOT EXISTS"
        " (SELECT 1 FROM registry r WHERE r.device = d.id AND r.revoked_at IS NOT NULL) ORDER BY d.id",
        (threshold,),
    )
    never = db.query(
        "SELECT r.device, r.added_at FROM registry r WHERE r.revoked_at IS NULL AND r.added_at < ?"
        " AND NOT EXISTS (SELECT 1 FROM devices d WHERE d.id = r.device) ORDER BY r.device",
        (threshold,),
    )
    return [(str(d), float(t), True) for d, t in heard] + [(str(d), float(t), False) for d, t in never]


def _still_quiet(db: Database, device: str, threshold: float, heard: bool) -> bool:
    """Read again under the device's lock: no batch or status came meanwhile, no offline alarm is open."""
    last = db.scalar("SELECT last_seen FROM devices WHERE id = ?", (device,))
    if (last is not None) != heard or (last is not None and float(last) >= threshold):
        return False
    offline = db.scalar(
        "SELECT id FROM alarms WHERE device = ? AND kind = ? AND state = 'open'", (device, OFFLINE)
    )
    return offline is None


def check_silence(db: Database, now: float, silent_after_s: float) -> list[str]:
    """Open a silent alarm for every quiet box (an open one just says how long now), clear those heard of
    since; the ids opened."""
    threshold = now - silent_after_s
    opened: list[str] = []
    with db.transaction() as tx:
        tx.lock(_LOCK)
        tx.execute(
            "UPDATE alarms SET state = 'cleared', cleared_at = ?, cleared_by = 'heard of again',"
            " order_cleared = ? WHERE kind = ? AND state = 'open' AND EXISTS"
            " (SELECT 1 FROM devices d WHERE d.id = alarms.device AND d.last_seen > alarms.order_first)",
            (now, now, SILENT),
        )
        for device, since, heard in _candidates(tx, threshold):
            tx.lock(f"device:{device}")
            if not _still_quiet(tx, device, threshold, heard):
                continue
            hours = (now - since) / 3600.0
            what = "no record and no status" if heard else "registered, and never heard of"
            message = (f"{device}: {what} for {hours:.1f} h (silent after {silent_after_s / 3600.0:g} h)")
            evidence = {"last_seen" if heard else "registered_at": since, "quiet_s": round(now - since, 3),
                        "silent_after_s": silent_after_s, "checked_at": now}
            alarm_id = new_alarm_id()
            got = tx.scalar(
                "INSERT INTO alarms (id, device, kind, source, severity, state, first_seen, last_seen, message,"
                " evidence, count, until_ack, order_first, order_last) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, 0,"
                " ?, ?) ON CONFLICT (device, kind, source) WHERE state = 'open' DO UPDATE SET"
                " last_seen = excluded.last_seen, message = excluded.message, evidence = excluded.evidence"
                " RETURNING id",
                (alarm_id, device, SILENT, FLEET_SOURCE, WARNING, OPEN, now, now, message,
                 json.dumps(evidence, sort_keys=True), since, since),
            )
            if got == alarm_id:
                opened.append(alarm_id)
    return opened


def silence_job(settings: AlarmSettings) -> Job:
    """The periodic job serve runs."""

    def run(ctx: JobContext) -> None:
        check_silence(ctx.db, ctx.now, settings.silent_after_s)

    return Job("alarms-silence", settings.silence_interval_s, run)
