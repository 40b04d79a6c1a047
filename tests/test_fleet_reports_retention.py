"""What is kept of an inhabitant's report: the photo until 90 days (by default) after the report was closed,
the keyed hash of their address two days (the limits look back one); the report itself stays."""

from __future__ import annotations

import pytest

from fleet.app import jobs
from fleet.errors import FleetConfigError
from fleet.reports.retention import forget
from fleet.reports.store import close_report, report_photo, submit_report
from fleet.rollups.settings import RetentionSettings, parse_retention
from fleet.serve.jobs import JobContext
from fleet.settings import FleetSettings
from fleet.store import open_store
from fleet.tenants.communes import create_commune, new_commune
from fleet.tenants.scope import SERVICE

DAY = 86400.0
T = 1781524800.0  # 2026-06-15 12:00 UTC
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(200)


@pytest.fixture
def db(store_url: str):  # type: ignore[no-untyped-def]
    store = open_store(store_url)
    create_commune(store.db, new_commune("aubin", "Saint-Aubin", now=0.0))
    yield store.db
    store.close()


def _report(db, at: float) -> str:  # type: ignore[no-untyped-def]
    return submit_report(db, "aubin", kind="light_out", street="Rue de l'Église", now=at, photo=JPEG,
                         client_hash="k3y3d-h4sh").id


def test_report_photo_erased_90_days_after_closing_open_ones_kept(db) -> None:  # type: ignore[no-untyped-def]
    closed, still_open = _report(db, T), _report(db, T)
    close_report(db, SERVICE, closed, by="tech", note="lampe changée", now=T + DAY)
    settings = RetentionSettings()
    assert forget(db, T + 91 * DAY - 1, settings).photos == 0  # 89 days and 23:59:59 after closing
    assert report_photo(db, SERVICE, closed) == (JPEG, "image/jpeg")
    assert forget(db, T + 91 * DAY, settings).photos == 1
    assert report_photo(db, SERVICE, closed) is None
    assert report_photo(db, SERVICE, still_open) == (JPEG, "image/jpeg")  # open: the technician still needs it
    assert forget(db, T + 400 * DAY, settings).photos == 0
    assert db.scalar("SELECT note FROM reports WHERE id = ?", (closed,)) == "lampe changée"  # the history stays
    assert forget(db, T + 400 * DAY, RetentionSettings(enabled=False)).photos == 0
    assert report_photo(db, SERVICE, still_open) is not None


def test_report_address_hash_forgotten_after_two_days(db) -> None:  # type: ignore[no-untyped-def]
    old, new = _report(db, T), _report(db, T + DAY)
    assert forget(db, T + 2 * DAY, RetentionSettings()).address_hashes == 0  # exactly two days: still counted
    assert forget(db, T + 2 * DAY + 1, RetentionSettings()).address_hashes == 1
    hashes = dict(db.query("SELECT id, client_hash FROM reports"))
    assert hashes == {old: "", new: "k3y3d-h4sh"}


def test_report_photo_keep_days_setting_checked() -> None:
    assert parse_retention({"report_photo_keep_days": 30}, "fleet.toml").report_photo_keep_days == 30
    for bad in (-1, 1.5, "90", 40000):
        with pytest.raises(FleetConfigError, match="report_photo_keep_days"):
            parse_retention({"report_photo_keep_days": bad}, "fleet.toml")


def test_report_retention_runs_hourly_in_serve(db) -> None:  # type: ignore[no-untyped-def]
    closed = _report(db, T)
    close_report(db, SERVICE, closed, by="tech", note="réparé", now=T)
    (job,) = [j for j in jobs(FleetSettings()) if j.name == "report-retention"]
    assert job.interval_s == 3600.0
    job.run(JobContext(db=db, now=T + 90 * DAY, publish=lambda *_: None))
    assert report_photo(db, SERVICE, closed) is None
