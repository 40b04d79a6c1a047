"""The export API on both engines: a box's series listed, one series streamed as CSV with the rows written, the
fleet's time zone, an attachment name and the untrusted readings counted; refusals as JSON 400/404."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from web_helpers import login, web_app

from fleet.registry.devices import add_device
from fleet.store import open_store
from tests.fleet_export_data import RECEIVED, store_readings, utc


@pytest.fixture
def fleet(store_url: str) -> Iterator[tuple[FastAPI, str]]:
    store = open_store(store_url)
    try:
        add_device(store.db, "box-a", "=Mairie", now=RECEIVED)
        store_readings(store, [
            (utc("2026-06-13T21:59:59"), "hall", "temperature_c", 19.0),
            (utc("2026-06-13T22:00:00"), "hall", "temperature_c", 19.5),  # 2026-06-14 00:00 in Paris
            (utc("2026-06-14T12:00:00"), "hall", "temperature_c", 24.25),
            (utc("2026-06-14T12:00:00"), "hall", "relative_humidity_pct", 40.0),
        ])
        start = utc("2026-06-14T13:00:00")
        store_readings(store, [(start + 10 * i, "water-main", "flow_lph", float(i % 7)) for i in range(4000)],
                       lane="raw", first_seq=5)
        store_readings(store, [(utc("2026-06-14T13:00:00"), "hall", "temperature_c", 99.0)], clock="unsynced",
                       first_seq=20_000, boot="b2")
        store.db.execute("INSERT INTO energy_days VALUES ('box-a', 'mains', 'import_energy_kwh', '2026-06-14',"
                         " 3.5, 96, 0)")
    finally:
        store.close()
    with web_app(store_url) as app:
        yield app, store_url


def test_api_series_lists_what_a_box_has(fleet: tuple[FastAPI, str]) -> None:
    app, url = fleet
    viewer, _ = login(app, url, "vera", "viewer")
    answer = viewer.get("/api/v1/devices/box-a/series?from=2026-06-14&to=2026-06-14")
    assert answer.status_code == 200, answer.text
    data = answer.json()
    assert data["site"] == "=Mairie"
    assert [(s["sensor"], s["reading"], s["unit"], s["count"], s["untrusted"]) for s in data["readings"]] == [
        ("hall", "relative_humidity_pct", "%", 1, 0), ("hall", "temperature_c", "°C", 2, 1),
        ("water-main", "flow_lph", "L/h", 3240, 0)]  # every 10 s from 13:00Z to the local day's end, 22:00Z
    assert data["rollups"] == [{"rollup": "energy_days", "sensor": "mains", "register": "import_energy_kwh",
                                "count": 1, "first_day": "2026-06-14", "last_day": "2026-06-14"}]
    # Without a range: the last 31 days before the clock (2026-06-15 12:00Z), so the same readings.
    assert len(viewer.get("/api/v1/devices/box-a/series").json()["readings"]) == 3
    assert viewer.get("/api/v1/devices/box-z/series").status_code == 404


def test_api_series_csv_streams_the_rows_written(fleet: tuple[FastAPI, str]) -> None:
    app, url = fleet
    viewer, _ = login(app, url, "vera", "viewer")
    answer = viewer.get("/api/v1/devices/box-a/series.csv",
                        params={"sensor": "hall", "reading": "temperature_c", "from": "2026-06-14", "to": "2026-06-14"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert answer.headers["content-disposition"] == (
        'attachment; filename="box-a_hall_temperature_c_2026-06-14_2026-06-14.csv"')
    assert answer.headers["x-untrusted-readings"] == "1"
    assert list(csv.reader(io.StringIO(answer.text, newline=""))) == [
        ["time_utc", "time_local", "device", "site", "sensor", "reading", "value_c"],
        ["2026-06-13T22:00:00Z", "2026-06-14T00:00:00+02:00", "box-a", "'=Mairie", "hall", "temperature_c", "19.5"],
        ["2026-06-14T12:00:00Z", "2026-06-14T14:00:00+02:00", "box-a", "'=Mairie", "hall", "temperature_c", "24.25"],
    ]
    many = viewer.get("/api/v1/devices/box-a/series.csv", params={
        "sensor": "water-main", "reading": "flow_lph", "from": "2026-06-14T13:00:00Z", "to": "2026-06-14T15:00:00Z"})
    rows = list(csv.reader(io.StringIO(many.text, newline="")))
    assert rows[0][-1] == "value_lph" and len(rows) == 1 + 720  # 2 h of readings every 10 s, the end excluded
    assert rows[-1][0] == "2026-06-14T14:59:50Z" and rows[-1][-1] == str(float(719 % 7))
    energy = viewer.get("/api/v1/devices/box-a/series.csv",
                        params={"rollup": "energy_days", "from": "2026-06-01", "to": "2026-06-30"})
    assert energy.text.splitlines()[1] == "2026-06-14,box-a,'=Mairie,mains,import_energy_kwh,3.5,96,0"


REFUSALS = [
    ({"sensor": "hall", "reading": "temperature_c", "from": "2026-06-15", "to": "2026-06-14"}, 400, "empty"),
    ({"sensor": "hall", "from": "2026-06-14", "to": "2026-06-14"}, 400, "say which series"),
    ({"rollup": "gas_days", "from": "2026-06-14", "to": "2026-06-14"}, 400, "roll-up 'gas_days'"),
    ({"rollup": "energy_days", "from": "2026-06-14T00:00", "to": "2026-06-15"}, 400, "roll-ups are per day"),
    ({"sensor": "hall", "reading": "temperature_c", "to": "2026-06-14"}, 422, "from"),
]


def test_api_series_csv_refuses_in_json(fleet: tuple[FastAPI, str]) -> None:
    app, url = fleet
    viewer, _ = login(app, url, "vera", "viewer")
    for params, code, detail in REFUSALS:
        answer = viewer.get("/api/v1/devices/box-a/series.csv", params=params)
        assert answer.status_code == code and detail in answer.json()["detail"], (params, answer.text)
    missing = viewer.get("/api/v1/devices/box-z/series.csv", params={"sensor": "s", "reading": "r",
                                                                   "from": "2026-06-14", "to": "2026-06-14"})
    assert (missing.status_code, missing.json()) == (404, {"detail": "no device 'box-z'"})
