"""The dashboard's views on both engines: the fleet overview, the map, alarms and acknowledgement, savings.
Expected figures are worked out by hand in each test."""

from __future__ import annotations

import math
from datetime import date

import pytest

from fleet.registry.groups import add_user
from fleet.store import open_store
from fleet.web.views.alarms import ack_alarm, alarm_rows, evidence_items
from fleet.web.views.geo import map_layout
from fleet.web.views.overview import BoxRow, fleet_overview
from fleet.web.views.savings import savings
from tests.web_seed import (
    PARIS,
    at,
    clear_alarm,
    desire,
    hall_tables,
    raise_alarm,
    register,
    status,
)

D = date(2026, 1, 14)
NOW = at(date(2026, 3, 20), 12)


@pytest.fixture
def db(store_url: str):
    store = open_store(store_url)
    yield store.db
    store.close()


def test_overview_boxes_health_last_contact_and_alarms(db) -> None:
    register(db, "box-a", "Mairie", 45.187, 5.726, groups=("saint-aubin",))
    register(db, "box-b", "Ecole", 45.19, 5.73, groups=("saint-aubin",))
    register(db, "box-c", "Chateau d'eau", None, None)
    status(db, "box-a", online=True, since=1000.0, last_seen=5000.0)
    status(db, "box-b", online=False, since=2000.0, last_seen=2500.0)
    raise_alarm(db, "box-a", "leak", "critical", 3000.0)
    raise_alarm(db, "box-a", "sensor_fault", "warning", 3100.0, source="lux-roof")
    raise_alarm(db, "box-a", "silent", "warning", 3200.0, source="fleet")
    cleared = raise_alarm(db, "box-b", "burst", "critical", 2100.0, source="leak-school")
    clear_alarm(db, cleared, 2200.0)
    view = fleet_overview(db)
    rows = {b.device: b for b in view.boxes}
    assert [b.device for b in view.boxes] == ["box-a", "box-b", "box-c"]
    a, b, c = rows["box-a"], rows["box-b"], rows["box-c"]
    assert (a.state, a.since, a.last_contact, a.critical, a.warning, a.info) == ("online", 1000.0, 5000.0, 1, 2, 0)
    assert a.health == "alarm" and a.groups == ("saint-aubin",) and a.latitude == 45.187
    assert (b.state, b.last_contact, b.open_alarms, b.health) == ("offline", 2500.0, 0, "offline")
    assert (c.state, c.last_contact, c.health) == ("never seen", None, "unknown")
    assert (view.critical, view.warning, view.info) == (1, 2, 0)
    assert [x.device for x in fleet_overview(db, group="saint-aubin").boxes] == ["box-a", "box-b"]


def _box(device: str, lat: float | None, lon: float | None, health_state: str = "online") -> BoxRow:
    return BoxRow(device, device.upper(), lat, lon, (), health_state, None, None, 0, 0, 0, False)


def test_map_layout_projects_with_the_cosine_of_the_mean_latitude() -> None:
    # A (45.0, 5.0), B 0.1° east, C 0.1° north; mean latitude 45.0333°: east-west shrinks by its cosine, 0.70669.
    layout = map_layout([_box("a", 45.0, 5.0), _box("b", 45.0, 5.1), _box("c", 45.1, 5.0), _box("x", None, 5.0)])
    p = {pt.device: pt for pt in layout.points}
    ab = math.dist((p["a"].x, p["a"].y), (p["b"].x, p["b"].y))
    ac = math.dist((p["a"].x, p["a"].y), (p["c"].x, p["c"].y))
    assert ab / ac == pytest.approx(0.70669, abs=2e-4)
    assert p["b"].x > p["a"].x and p["b"].y == pytest.approx(p["a"].y, abs=0.01)  # east: right
    assert p["c"].y < p["a"].y and p["c"].x == pytest.approx(p["a"].x, abs=0.01)  # north: up
    assert [b.device for b in layout.unplaced] == ["x"]
    # Every box inside the drawing and strictly inside the outline's bounding box (the margin).
    xs, ys = [x for x, _ in layout.outline], [y for _, y in layout.outline]
    for pt in layout.points:
        assert 0 < pt.x < layout.width and 0 < pt.y < layout.height
        assert min(xs) < pt.x < max(xs) and min(ys) < pt.y < max(ys)
    # 0.1° of latitude is 11.12 km: metres per unit times the drawn distance A-C.
    assert ac * layout.metres_per_unit == pytest.approx(11_119.5, rel=1e-3)


def test_map_layout_with_no_box_one_box_and_none_placed() -> None:
    assert map_layout([]).points == () and map_layout([]).outline == ()
    none = map_layout([_box("x", None, None)])
    assert none.points == () and [b.device for b in none.unplaced] == ["x"]
    one = map_layout([_box("a", 45.0, 5.0)])
    (pt,) = one.points
    assert pt.x == pytest.approx(one.width / 2, abs=0.5) and pt.y == pytest.approx(one.height / 2, abs=0.5)
    assert len(one.outline) >= 8


def test_alarm_rows_evidence_and_acknowledgement(db) -> None:
    register(db, "box-a", "Mairie", 45.187, 5.726)
    add_user(db, "tech", "technician", now=1.0)
    add_user(db, "view", "viewer", now=1.0)
    evidence = {"baseline_lph": 0.5, "excess_lph": 4.0,
                "night_flows_lph": [{"date": "2026-03-09", "mnf_lph": 4.6, "note": "ok", "cusum": None}]}
    alarm_id = raise_alarm(db, "box-a", "leak", "critical", 1000.0, evidence=evidence, box_ref="leak-hall/night_flow")
    (row,) = alarm_rows(db)
    assert row.id == alarm_id and not row.acked and row.state == "open"
    assert dict(row.evidence) == {"baseline_lph": "0.5", "excess_lph": "4",
                                  "night_flows_lph": "date 2026-03-09, mnf_lph 4.6, note ok"}
    refused = ack_alarm(db, alarm_id, "view", note=None, now=2000.0)
    assert refused.alarm is None and "viewer" in (refused.error or "")
    done = ack_alarm(db, alarm_id, "tech", note="plumber called", now=2000.0)
    assert done.error is None and done.alarm is not None
    assert (done.alarm.acked_by, done.alarm.acked_at, done.alarm.ack_note) == ("tech", 2000.0, "plumber called")
    command = db.one("SELECT action, args, created_by FROM commands WHERE id = ?", (done.command_id,))
    assert command is not None and command[0] == "ack_alarm" and "leak-hall/night_flow" in command[1]
    again = ack_alarm(db, alarm_id, "tech", note=None, now=2100.0)
    assert "already acknowledged" in (again.error or "")
    assert alarm_rows(db, open_only=True)[0].acked
    assert ack_alarm(db, "nosuchalarm", "tech", note=None, now=1.0).error


def test_evidence_items_cut_long_values() -> None:
    (item,) = evidence_items({"x": "y" * 5000})
    assert len(item[1]) == 600 and item[1].endswith("…")


def test_savings_lighting_against_the_astronomical_clock_in_paris(db) -> None:
    # Paris, 14 January 2026 (almanac): sunrise 08:40, sunset 17:20 CET: 8 h 40 + 6 h 40 = 15 h 20 of night.
    register(db, "box-a", "Mairie", 48.8566, 2.3522, groups=("paris",))
    register(db, "box-b", "Ecole", None, None, groups=("paris",))
    desire(db, "box-a", hall_tables())  # street-main on relay street-lights, load_w 740 W
    db.executemany("INSERT INTO lighting_days VALUES (?,?,?,?,?,?)", [
        ("box-a", "street-main", D.isoformat(), 10 * 3600.0, None, 4),
        ("box-b", "lights", D.isoformat(), 9 * 3600.0, None, 2),
    ])
    db.executemany("INSERT INTO energy_days VALUES (?,?,?,?,?,?,?)", [
        ("box-a", "energy-lighting", "import_energy_kwh", "2026-01-14", 10.0, 5, 0),
        ("box-b", "energy-school", "import_energy_kwh", "2026-01-14", 2.5, 5, 0),
        ("box-a", "energy-lighting", "import_energy_kwh", "2026-01-15", 12.0, 5, 0),
        ("box-a", "energy-lighting", "import_energy_kwh", "2026-02-01", 99.0, 5, 0),
    ])
    found = savings(db, ["box-a", "box-b"], date(2026, 1, 1), date(2026, 1, 31), PARIS, NOW)
    (month,) = found.lighting
    assert month.month == "2026-01" and month.lit_h == pytest.approx(10.0)
    assert month.astronomical_h == pytest.approx(15 + 20 / 60, abs=2 / 60)
    assert month.saved_h == pytest.approx(5 + 20 / 60, abs=2 / 60)
    assert month.saved_kwh == pytest.approx(0.740 * (5 + 20 / 60), abs=0.740 * 2 / 60)
    assert found.circuits_without_place == ("box-b/lights",)
    (energy,) = found.energy
    assert (energy.month, energy.kwh, energy.days) == ("2026-01", pytest.approx(24.5), 2)
    assert energy.kwh_per_day == pytest.approx(12.25)


def test_savings_leak_caught_and_how_early(db) -> None:
    register(db, "box-a", "Mairie", 45.187, 5.726)
    evidence = {"baseline_lph": 0.5, "spread_lph": 0.5, "excess_lph": 4.0, "night_flows_lph": [
        {"date": "2026-03-07", "mnf_lph": 0.4}, {"date": "2026-03-08", "mnf_lph": 0.8},  # within the spread
        {"date": "2026-03-09", "mnf_lph": 4.6},
        {"date": "2026-03-10", "mnf_lph": 4.4}]}
    alarm = raise_alarm(db, "box-a", "leak", "critical", at(date(2026, 3, 10), 5, 15), evidence=evidence)
    clear_alarm(db, alarm, at(date(2026, 3, 10), 17, 15))
    burst = raise_alarm(db, "box-a", "burst", "critical", at(date(2026, 3, 12), 19, 10), source="leak-hall",
                        evidence={"flow_lph": 120.0, "above_since": "2026-03-12T18:00:00+00:00"})
    found = savings(db, ["box-a"], date(2026, 3, 1), date(2026, 3, 31), PARIS, NOW)
    leak, pipe = found.leaks
    # The run of nights above 0.5 + 0.5 L/h began with the night ending 9 March: from 01:00 that day.
    assert leak.started_at == at(date(2026, 3, 9), 1, 0)
    assert leak.found_after_s == pytest.approx(28.25 * 3600)
    assert leak.lost_l == pytest.approx(4.0 * 40.25)
    assert leak.caught_monthly_l == pytest.approx(4.0 * (30.4375 * 12 - 28.25))
    assert leak.caught_quarterly_l == pytest.approx(4.0 * (91.3125 * 12 - 28.25))
    # The burst began at 18:00 UTC (19:00 Paris), found 10 min later, still open at NOW.
    assert pipe.alarm_id == burst and pipe.found_after_s == pytest.approx(600.0)
    assert pipe.lost_l == pytest.approx(120.0 * (NOW - at(date(2026, 3, 12), 19, 0)) / 3600)
    assert found.caught_quarterly_l == pytest.approx(leak.caught_quarterly_l + pipe.caught_quarterly_l)


def test_alarm_rows_open_first_then_critical_then_latest(db) -> None:
    register(db, "box-a", "Mairie", 45.187, 5.726)
    old_critical = raise_alarm(db, "box-a", "burst", "critical", 100.0, source="s1")
    warning = raise_alarm(db, "box-a", "sensor_fault", "warning", 300.0, source="s2")
    new_critical = raise_alarm(db, "box-a", "leak", "critical", 200.0, source="s3")
    cleared = raise_alarm(db, "box-a", "continuous_flow", "critical", 400.0, source="s4")
    clear_alarm(db, cleared, 450.0)
    assert [r.id for r in alarm_rows(db)] == [new_critical, old_critical, warning, cleared]
    assert [r.id for r in alarm_rows(db, open_only=True)] == [new_critical, old_critical, warning]
    assert [r.id for r in alarm_rows(db, limit=2)] == [new_critical, old_critical]
    assert [r.id for r in alarm_rows(db, kind="sensor_fault", device="box-a")] == [warning]
    assert alarm_rows(db, device="box-z") == ()
