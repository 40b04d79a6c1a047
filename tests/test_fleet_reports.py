"""Inhabitants' reports in the store, on both engines: linked to the nearest box with a fitting circuit (distances
worked out by hand on the sphere), street-only reports linked only when one box fits, the box's own evidence
taken from seeded records, and closing (alarm cleared, the inhabitant's e-mail queued then erased)."""

from __future__ import annotations

import json
import math
from datetime import date, timedelta

import pytest

from fleet.alarms.table import get_alarm
from fleet.registry.devices import add_device
from fleet.reports.model import ReportError
from fleet.reports.store import (
    close_report,
    get_report,
    list_reports,
    report_photo,
    submit_report,
)
from fleet.store import open_store
from fleet.tenants.communes import create_commune, new_commune, update_commune
from fleet.tenants.model import parse_outline
from fleet.tenants.scope import SERVICE, Scope
from tests.web_seed import PARIS, Records, at, desire, hall_tables

R_M = 6_371_008.8  # mean Earth radius
D = date(2026, 1, 14)  # a Wednesday: the hall's cut-off that night is 23:00-05:30
D1 = D + timedelta(days=1)
TODAY = date(2026, 3, 20)  # a Friday: the hall is in comfort 08:30-12:00
# The commune: a square from 4.9 to 5.1 E, 44.95 to 45.1 N.
SQUARE = json.dumps({"type": "Polygon", "coordinates": [[[4.9, 44.95], [5.1, 44.95], [5.1, 45.1], [4.9, 45.1],
                                                         [4.9, 44.95]]]})


def _tables(*drop: str) -> dict:
    tables = hall_tables()
    for key in drop:
        tables.pop(key)
    return tables


@pytest.fixture
def db(store_url: str):
    store = open_store(store_url)
    create_commune(store.db, new_commune("aubin", "Saint-Aubin", now=0.0))
    update_commune(store.db, "aubin", outline=parse_outline(SQUARE, "test"))
    create_commune(store.db, new_commune("other", "Autre", now=0.0))
    # box-a: lights, water meter, heated hall; box-b: lights and meter; box-c: lights only; box-x: other commune.
    for device, lat, lon, tables, commune in (
            ("box-a", 45.0, 5.0, _tables(), "aubin"), ("box-b", 45.01, 5.0, _tables("heating"), "aubin"),
            ("box-c", 45.0, 5.02, _tables("heating", "leak"), "aubin"), ("box-x", 45.0, 5.001, _tables(), "other")):
        add_device(store.db, device, device, now=0.0, latitude=lat, longitude=lon, commune=commune)
        desire(store.db, device, tables)
    yield store.db
    store.close()


def test_report_links_to_the_nearest_box_with_a_fitting_circuit(db) -> None:
    now = at(TODAY, 12)
    # 0.004 deg north of box-a (same meridian): R * 0.004 deg = 444.8 m; box-b is 0.006 deg away (667.2 m).
    water = submit_report(db, "aubin", kind="water_running", point=(45.004, 5.0), now=now, zone=PARIS)
    assert (water.device, water.circuit) == ("box-a", "water-main")
    assert water.distance_m == pytest.approx(R_M * math.radians(0.004), abs=0.1)
    # 0.005 deg of longitude west of box-c at 45 N: R cos 45 * 0.005 deg = 393.1 m; box-a is 0.015 deg (1179.4 m).
    light = submit_report(db, "aubin", kind="light_out", point=(45.0, 5.015), now=now, zone=PARIS)
    assert (light.device, light.circuit) == ("box-c", "street-main")
    assert light.distance_m == pytest.approx(R_M * math.cos(math.radians(45)) * math.radians(0.005), abs=0.1)
    # box-c has no meter: water there goes to box-a, 1179.4 m away (box-x of the other commune, closer, never).
    water_c = submit_report(db, "aubin", kind="water_running", point=(45.0, 5.015), now=now, zone=PARIS)
    assert water_c.device == "box-a"
    assert water_c.distance_m == pytest.approx(R_M * math.cos(math.radians(45)) * math.radians(0.015), abs=0.1)
    alarm = get_alarm(db, water.alarm_id)
    assert (alarm.device, alarm.kind, alarm.source, alarm.severity, alarm.state) == (
        "box-a", "report", water.id, "warning", "open")


def test_report_beyond_three_km_or_with_no_fitting_box_stays_unlinked(db) -> None:
    now = at(TODAY, 12)
    # 0.04 deg north of box-b: 4447.8 m, more than 3 km from every box.
    far = submit_report(db, "aubin", kind="light_out", point=(45.05, 5.0), now=now)
    assert (far.device, far.circuit, far.alarm_id) == (None, None, None)
    assert [r.id for r in list_reports(db, Scope("aubin"))] == [far.id]


def test_street_only_report_links_only_when_one_box_fits(db) -> None:
    now = at(TODAY, 12)
    cold = submit_report(db, "aubin", kind="cold_building", street="Place de la Mairie", now=now)
    assert (cold.device, cold.circuit, cold.distance_m) == ("box-a", "hall", None)  # only box-a heats
    water = submit_report(db, "aubin", kind="water_running", street="Rue du Four", now=now)
    assert water.device is None and water.alarm_id is None  # box-a and box-b both have a meter


def test_report_point_outside_the_outline_is_refused(db) -> None:
    with pytest.raises(ReportError) as refused:
        submit_report(db, "aubin", kind="light_out", point=(45.2, 5.0), now=at(TODAY, 12))
    assert refused.value.reason == "outside"
    assert list_reports(db, SERVICE) == []


def test_light_report_evidence_is_the_night_of_the_lux_sensor_and_relay(db) -> None:
    rec = Records(db, "box-c")
    rec.decision(at(D, 17, 42), "street-main", "street-lights", True, mode="lux", lux=20.0)
    rec.decision(at(D, 23), "street-main", "street-lights", False, mode="cut-off", lux=1.0)
    rec.decision(at(D1, 5, 30), "street-main", "street-lights", True, mode="lux", lux=1.0)
    for ts, lx in ((at(D, 13), 900.0), (at(D, 15), 500.0), (at(D, 17, 40), 20.0), (at(D1, 2), 1.0)):
        rec.reading(ts, "lux-roof", "illuminance_lx", lx)
    report = submit_report(db, "aubin", kind="light_out", point=(45.0, 5.019), now=at(D1, 7), zone=PARIS)
    ev = get_alarm(db, report.alarm_id).evidence
    night = ev["lighting"]
    assert (ev["device"], ev["circuit"], night["night"], night["lux_sensor"]) == ("box-c", "street-main",
                                                                                   D.isoformat(), "lux-roof")
    # 13:00 is before the night shown (14:00); the others are in it.
    assert (night["lux_samples"], night["lux_min_lx"], night["lux_max_lx"]) == (3, 1.0, 500.0)
    # Lit 17:42-23:00 and from 05:30 on, up to the report at 07:00 (after it, nothing is known yet): the relay
    # said on when the lamp was reported out.
    assert night["lit"] == [[at(D, 17, 42), at(D, 23)], [at(D1, 5, 30), at(D1, 7)]]
    assert night["lit_h"] == pytest.approx(5.3 + 1.5) and night["lit_at_report"] is True
    assert night["cutoff"] == [[at(D, 23), at(D1, 5, 30)]]


def test_water_report_evidence_is_the_meters_recent_night_minimum(db) -> None:
    rows = [("box-a", "water-main", (TODAY - timedelta(days=i)).isoformat(), 35.0 if i == 1 else 0.0, 48, 9.0)
            for i in range(1, 8)]
    db.executemany("INSERT INTO water_nights VALUES (?,?,?,?,?,?)", rows)
    report = submit_report(db, "aubin", kind="water_running", point=(45.0, 5.0005), now=at(TODAY, 12), zone=PARIS)
    water = get_alarm(db, report.alarm_id).evidence["water"]
    assert water["meter"] == "water-main" and water["last_min_flow_lph"] == 35.0
    assert water["min_night_flow_lph"][0] == ["2026-03-13", 0.0] and len(water["min_night_flow_lph"]) == 7
    assert water["baseline_lph"] is None  # 7 nights stored: fewer than the 14 a baseline needs


def test_cold_report_evidence_is_the_zones_temperatures_and_setpoint(db) -> None:
    rec = Records(db, "box-a")
    rec.reading(at(TODAY - timedelta(days=2), 9), "hall-temp", "temperature_c", 5.0)  # before the 2 days looked at
    rec.reading(at(TODAY, 9), "hall-temp", "temperature_c", 12.5)
    rec.reading(at(TODAY, 9, 30), "hall-temp", "temperature_c", 12.0)
    rec.reading(at(TODAY, 9, 30), "hall-climate", "temperature_c", 12.4)
    report = submit_report(db, "aubin", kind="cold_building", street="Mairie", now=at(TODAY, 10), zone=PARIS)
    heating = get_alarm(db, report.alarm_id).evidence["heating"]
    assert heating["zone"] == "hall" and heating["setpoint_c"] == 19.0 and heating["frost_c"] == 7.0
    assert heating["temperatures"]["hall-temp"] == {"latest_c": 12.0, "at": at(TODAY, 9, 30), "min_c": 12.0,
                                                    "max_c": 12.5}
    assert heating["temperatures"]["hall-climate"]["latest_c"] == 12.4


def test_close_clears_the_alarm_queues_the_e_mail_and_erases_the_address(db) -> None:
    webp = b"RIFF\x10\x00\x00\x00WEBPVP8 " + bytes(range(256))
    report = submit_report(db, "aubin", kind="light_out", point=(45.0, 5.015), now=at(TODAY, 12),
                           email="marie@example.org", photo=webp)
    assert report.asked_notice is True
    assert report_photo(db, Scope("aubin"), report.id) == (webp, "image/webp")
    assert report_photo(db, Scope("other"), report.id) is None
    assert get_report(db, Scope("other"), report.id) is None
    with pytest.raises(ReportError) as hidden:
        close_report(db, Scope("other"), report.id, by="tech", note="lamp changed", now=at(TODAY, 15))
    assert hidden.value.status == 404
    with pytest.raises(ReportError) as no_note:
        close_report(db, SERVICE, report.id, by="tech", note="  ", now=at(TODAY, 15))
    assert no_note.value.status == 400
    closed = close_report(db, Scope("aubin"), report.id, by="tech", note="lamp changed", now=at(TODAY, 15))
    assert (closed.state, closed.closed_by, closed.note, closed.notified_at) == (
        "closed", "tech", "lamp changed", at(TODAY, 15))
    alarm = get_alarm(db, report.alarm_id)
    assert (alarm.state, alarm.cleared_by) == ("cleared", "tech")
    rows = db.query("SELECT channel, target, kind, subject FROM notify_outbox")
    assert [r[:3] for r in rows] == [("email", "marie@example.org", "report_fixed")] and "Saint-Aubin" in rows[0][3]
    assert db.scalar("SELECT email FROM reports WHERE id = ?", (report.id,)) is None
    with pytest.raises(ReportError) as again:
        close_report(db, SERVICE, report.id, by="tech", note="again", now=at(TODAY, 16))
    assert again.value.status == 409


def test_commune_limit_holds_across_addresses(db) -> None:
    from fleet.reports.guard import Limits
    limits = Limits(per_commune_day=2)
    now = at(TODAY, 12)
    for i in range(2):  # two addresses, one report each, at 12:00 and 12:10
        submit_report(db, "aubin", kind="light_out", street="Rue", now=now + 600 * i, client_hash=f"c{i}",
                      limits=limits)
    with pytest.raises(ReportError) as held:
        submit_report(db, "aubin", kind="light_out", street="Rue", now=now + 1200, client_hash="c9", limits=limits)
    # The first report leaves the day at 12:00 the next day: 86400 - 1200 s from now (+1 for the strict bound).
    assert (held.value.status, held.value.retry_after_s) == (429, 86400 - 1200 + 1)
    # Another commune is not held back by this one's reports.
    assert submit_report(db, "other", kind="light_out", street="Rue", now=now + 1200, client_hash="c9",
                         limits=limits).commune == "other"


def test_without_an_outline_the_area_is_the_boxes_hull_with_a_200_m_margin(db) -> None:
    # "other" has one box, at 45.0 N 5.001 E, and no outline: the area is a circle of 0.002 deg of latitude round it.
    now = at(TODAY, 12)
    assert submit_report(db, "other", kind="light_out", point=(45.0015, 5.001), now=now).device == "box-x"
    with pytest.raises(ReportError) as outside:
        submit_report(db, "other", kind="light_out", point=(45.0025, 5.001), now=now)
    assert outside.value.reason == "outside"
    create_commune(db, new_commune("empty", "Sans boîte", now=0.0))
    with pytest.raises(ReportError) as no_map:
        submit_report(db, "empty", kind="light_out", point=(45.0, 5.0), now=now)
    assert "pas de carte" in str(no_map.value)
    assert submit_report(db, "empty", kind="light_out", street="Rue", now=now).device is None
