"""The NGSI-LD export against a broker double (a real HTTP server on loopback that checks the CIM 009 contract),
from a seeded store on SQLite and PostgreSQL: batch upsert, then PATCH of the latest values; 503 retried, 4xx
counted and never retried nor resent unchanged; 207 per-entity errors; tenant and token; one exporter at a time."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ngsi_double import NOW, BrokerDouble, broker_double, reading, seed, store_lane

from fleet.app import open_fleet
from fleet.opendata.client import BrokerUnavailable
from fleet.opendata.export import NgsiExport
from fleet.opendata.settings import NgsiSettings
from fleet.store import SqlStore

A = "urn:ngsi-ld:{}:hameau:box-a:{}"
TOKEN = "s3cret-token-value"
#: The entities of the seeded fleet (box-b's lighting is skipped: no coordinates).
ALL = {
    A.format("Building", "site"), A.format("StreetlightControlCabinet", "cabinet"),
    A.format("StreetlightGroup", "street-main"), A.format("Streetlight", "street-main"),
    A.format("WaterConsumptionObserved", "water-main"), A.format("ThreePhaseAcMeasurement", "energy-main"),
    A.format("IndoorEnvironmentObserved", "hall"), "urn:ngsi-ld:Building:hameau:box-b:site",
}
LINK = '<https://raw.githubusercontent.com/smart-data-models/dataModel.{}/master/context.jsonld>; ' \
       'rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"'


@pytest.fixture
def seeded(store_url: str) -> Iterator[SqlStore]:
    store = open_fleet(store_url)
    try:
        seed(store)
        yield store
    finally:
        store.close()


@pytest.fixture
def double() -> Iterator[BrokerDouble]:
    with broker_double(token=TOKEN) as running:
        yield running


def exporter(double: BrokerDouble, tmp_path: Path, sleeps: list[float] | None = None, **kwargs: Any) -> NgsiExport:
    token = tmp_path / "token"
    token.write_text(TOKEN + "\n", encoding="utf-8")
    settings = NgsiSettings(enabled=True, url=double.url, tenant="saint-aubin", token_file=token, **kwargs)
    return NgsiExport(settings, sleep=(sleeps if sleeps is not None else []).append)


def state(store: SqlStore) -> dict[str, Any]:
    row = store.db.one("SELECT runs, upserted, patched, refused, failed_runs, last_error FROM ngsi_state")
    return dict(zip(("runs", "upserted", "patched", "refused", "failed_runs", "last_error"), row, strict=True))


def later_readings(store: SqlStore) -> None:
    """Ten minutes on: the energy register, the hall's thermometer and the water meter moved."""
    store_lane(store, "box-a", "raw", [reading(NOW + 570, "hall-climate", "temperature_c", 19.5)], after=18,
               received_at=NOW + 600)
    store_lane(store, "box-a", "total", [
        reading(NOW + 540, "energy-main", "import_energy_kwh", 1521.0),
        reading(NOW + 590, "water-main", "volume_total_l", 123470.2),
    ], after=4, received_at=NOW + 600)


def test_ngsi_export_upserts_the_entities_then_patches_the_latest_values(
    seeded: SqlStore, double: BrokerDouble, tmp_path: Path,
) -> None:
    export = exporter(double, tmp_path)
    report = export.run(seeded.db, NOW)
    assert report is not None and set(report.upserted) == ALL and report.refused == []
    [post] = double.received
    assert (post.method, post.path, post.status) == ("POST", "/ngsi-ld/v1/entityOperations/upsert", 201)
    assert post.headers["Content-Type"] == "application/ld+json" and "Link" not in post.headers
    assert post.headers["NGSILD-Tenant"] == "saint-aubin" and post.headers["Authorization"] == f"Bearer {TOKEN}"
    assert {e["id"] for e in post.body} == ALL and all(len(e["@context"]) == 1 for e in post.body)
    assert double.violations == []
    # Nothing new: nothing sent.
    assert export.run(seeded.db, NOW + 300) is not None and len(double.received) == 1
    later_readings(seeded)
    report = export.run(seeded.db, NOW + 600)
    assert report is not None and report.upserted == [] and report.refused == []
    assert set(report.patched) == {A.format("ThreePhaseAcMeasurement", "energy-main"),
                                   A.format("IndoorEnvironmentObserved", "hall"),
                                   A.format("WaterConsumptionObserved", "water-main")}
    patches = {r.path: r for r in double.received[1:]}
    assert all(r.method == "PATCH" and r.status == 204 for r in patches.values())
    energy = patches["/ngsi-ld/v1/entities/urn:ngsi-ld:ThreePhaseAcMeasurement:hameau:box-a:energy-main/attrs"]
    assert energy.headers["Content-Type"] == "application/json" and energy.headers["Link"] == LINK.format("Energy")
    assert "@context" not in energy.body
    assert energy.body["totalActiveEnergyImport"] == {
        "type": "Property", "value": 1521.0, "observedAt": "2026-01-15T12:09:00.000Z", "unitCode": "KWH"}
    hall = patches["/ngsi-ld/v1/entities/urn:ngsi-ld:IndoorEnvironmentObserved:hameau:box-a:hall/attrs"]
    assert hall.headers["Link"] == LINK.format("Environment")
    assert hall.body["temperature"] == {
        "type": "Property", "value": 19.5, "observedAt": "2026-01-15T12:09:30.000Z", "unitCode": "CEL"}
    water = patches["/ngsi-ld/v1/entities/urn:ngsi-ld:WaterConsumptionObserved:hameau:box-a:water-main/attrs"]
    assert water.body["waterConsumption"] == {
        "type": "Property", "value": 123470, "observedAt": "2026-01-15T12:09:50.000Z", "unitCode": "LTR"}
    assert double.entities[A.format("ThreePhaseAcMeasurement", "energy-main")]["totalActiveEnergyImport"]["value"] \
        == 1521.0
    assert double.violations == []
    assert state(seeded) == {"runs": 3, "upserted": 8, "patched": 3, "refused": 0, "failed_runs": 0,
                             "last_error": None}


def test_ngsi_export_retries_a_503_and_never_a_4xx(seeded: SqlStore, double: BrokerDouble, tmp_path: Path) -> None:
    sleeps: list[float] = []
    export = exporter(double, tmp_path, sleeps)
    double.fail_next(503)
    report = export.run(seeded.db, NOW)
    assert report is not None and set(report.upserted) == ALL
    assert [r.status for r in double.received] == [503, 201] and sleeps == [1.0]
    later_readings(seeded)
    double.fail_next(400)  # the first PATCH is refused
    report = export.run(seeded.db, NOW + 600)
    assert report is not None and len(report.refused) == 1 and len(report.patched) == 2
    refused_id, reason = report.refused[0]
    assert reason.startswith("HTTP 400")
    assert [r.status for r in double.received[2:]] == [400, 204, 204] and sleeps == [1.0]
    assert state(seeded)["refused"] == 1
    # The refused values are not sent again while they do not change, even on a full pass.
    assert export.run(seeded.db, NOW + 900, full=True) is not None and len(double.received) == 5
    row = seeded.db.one("SELECT refused_reason FROM ngsi_entities WHERE id = ?", (refused_id,))
    assert row is not None and row[0].startswith("HTTP 400")


def test_ngsi_export_a_broker_down_fails_the_run_and_the_next_one_catches_up(
    seeded: SqlStore, double: BrokerDouble, tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    sleeps: list[float] = []
    export = exporter(double, tmp_path, sleeps, retries=2)
    double.fail_next(503, 502, 500)
    with caplog.at_level(logging.DEBUG), pytest.raises(BrokerUnavailable, match="HTTP 500 after 3 attempts"):
        export.run(seeded.db, NOW)
    assert sleeps == [1.0, 2.0] and len(double.received) == 3
    assert TOKEN not in caplog.text and "attempt 3 of 3" in caplog.text
    assert state(seeded)["failed_runs"] == 1 and TOKEN not in (state(seeded)["last_error"] or "")
    report = export.run(seeded.db, NOW + 300)
    assert report is not None and set(report.upserted) == ALL


def test_ngsi_export_counts_the_entities_a_207_refuses_and_resends_them_once_changed(
    seeded: SqlStore, double: BrokerDouble, tmp_path: Path,
) -> None:
    export = exporter(double, tmp_path)
    refused = A.format("WaterConsumptionObserved", "water-main")
    double.refuse_ids.add(refused)
    report = export.run(seeded.db, NOW)
    assert report is not None and set(report.upserted) == ALL - {refused}
    assert [i for i, _r in report.refused] == [refused] and double.received[0].status == 207
    assert refused not in double.entities and state(seeded)["refused"] == 1
    double.refuse_ids.clear()
    assert export.run(seeded.db, NOW + 60, full=True) is not None and len(double.received) == 1
    later_readings(seeded)  # its value changed: it goes again, whole (the broker never took it)
    report = export.run(seeded.db, NOW + 600)
    assert report is not None and refused in report.upserted and refused in double.entities


def test_ngsi_export_upserts_again_what_the_broker_lost(seeded: SqlStore, double: BrokerDouble, tmp_path: Path) -> None:
    export = exporter(double, tmp_path)
    assert export.run(seeded.db, NOW) is not None
    double.entities.clear()  # the broker's database was wiped
    later_readings(seeded)  # box-a's last batch, at NOW + 600
    store_lane(seeded, "box-b", "raw", [reading(NOW + 800, "lux", "illuminance_lx", 3.0)], received_at=NOW + 800)
    report = export.run(seeded.db, NOW + 900)
    assert report is not None and len(report.refused) == 3 and all(r.startswith("HTTP 404") for _i, r in report.refused)
    # box-a sent nothing since (the watermark is past its last batch): its lost entities go again, whole.
    report = export.run(seeded.db, NOW + 1000)
    assert report is not None and len(report.upserted) == 3 and len(double.entities) == 3


def test_ngsi_export_a_wrong_token_is_a_4xx_not_retried(seeded: SqlStore, double: BrokerDouble, tmp_path: Path) -> None:
    sleeps: list[float] = []
    export = exporter(double, tmp_path, sleeps)
    (tmp_path / "token").write_text("not-the-token\n", encoding="utf-8")
    report = export.run(seeded.db, NOW)
    assert report is not None and len(report.refused) == len(ALL) and sleeps == []
    assert [r.status for r in double.received] == [401]


def test_ngsi_export_one_process_at_a_time(store_url: str, seeded: SqlStore, double: BrokerDouble,
                                           tmp_path: Path) -> None:
    first, second = exporter(double, tmp_path), exporter(double, tmp_path)
    double.delay_s = 0.5
    other = open_fleet(store_url)
    try:
        results: list[Any] = []
        thread = threading.Thread(target=lambda: results.append(first.run(other.db, NOW)))
        thread.start()
        assert double.answering.wait(5)
        assert second.run(seeded.db, NOW) is None  # the first holds the lease while it waits on the broker
        thread.join(10)
        assert results and results[0] is not None and set(results[0].upserted) == ALL
        double.delay_s = 0.0
        report = second.run(seeded.db, NOW + 60)
        assert report is not None and report.upserted == [] and len(double.received) == 1
    finally:
        other.close()
