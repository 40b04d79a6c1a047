"""What is kept of an inhabitant's report, and for how long: the keyed hash of their address only as long as the
per-address limits look back (two days), their photo `report_photo_keep_days` after the report was closed (it
may show people); the report itself (what, where, the technician's note) stays as the commune's history. Their
e-mail address is erased when the "fixed" message is queued (fleet/reports/store.py)."""

from __future__ import annotations

from dataclasses import dataclass

from fleet.reports.guard import KEEP_ATTEMPTS_S
from fleet.rollups.settings import RetentionSettings
from fleet.serve.jobs import Job
from fleet.store.db import Database

#: A report's address hash, once forgotten.
FORGOTTEN = ""


@dataclass(frozen=True, slots=True)
class Forgotten:
    """What one run erased."""

    photos: int
    address_hashes: int


def forget(db: Database, now: float, settings: RetentionSettings) -> Forgotten:
    """Erase the photos of reports closed more than `report_photo_keep_days` ago, and the address hashes of
    reports older than the limits' look-back; nothing when the retention is disabled."""
    if not settings.enabled:
        return Forgotten(0, 0)
    with db.transaction():
        photos = db.execute(
            "UPDATE reports SET photo = NULL, photo_type = NULL WHERE photo_type IS NOT NULL AND state = 'closed'"
            " AND closed_at <= ?", (now - settings.report_photo_keep_days * 86400.0,)).rowcount
        hashes = db.execute("UPDATE reports SET client_hash = ? WHERE client_hash <> ? AND created_at < ?",
                            (FORGOTTEN, FORGOTTEN, now - KEEP_ATTEMPTS_S)).rowcount
    return Forgotten(int(photos), int(hashes))


def job(settings: RetentionSettings, interval_s: float = 3600.0) -> Job:
    """The periodic job serve runs."""
    return Job("report-retention", interval_s, lambda ctx: forget(ctx.db, ctx.now, settings))
