"""The box page's views on both engines: a night of lux and lamps with the cut-off, the leak chart's nights and
baseline, energy per day, heated zones against setpoint and frost line. Expected figures worked out by hand."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from fleet.store import open_store
from fleet.web.views.box_config import box_setup
from fleet.web.views.box_energy import energy_series
from fleet.web.views.box_heating import zone_temperatures
from fleet.web.views.box_night import lux_nights
from fleet.web.views.box_water import fleet_baseline, meter_nights
from tests.web_seed import (
    PARIS,
    Records,
    at,
    desire,
    hall_tables,
    raise_alarm,
    register,
)

D = date(2026, 1, 14)  # a Wednesday: the hall's cut-off that night is 23:00-05:30
D1 = D + timedelta(days=1)
TODAY = date(2026, 3, 20)  # a Friday
NOW = at(TODAY, 12)


@pytest.fixture
def db(store_url: str):
    store = open_store(store_url)
    register(store.db, "box-a", "Mairie", 45.187, 5.726)
    register(store.db, "box-b", "Ecole", 45.19, 5.73)
    desire(store.db, "box-a", hall_tables())
    yield store.db
    store.close()


def test_box_setup_reads_the_desired_config(db) -> None:
    setup = box_setup(db, "box-a")
    assert [c.id for c in setup.lighting] == ["street-main"] and [w.meter for w in setup.leak] == ["water-main"]
    assert setup.load_w("street-lights") == 740.0 and setup.problem is None
    assert box_setup(db, "box-b").lighting == ()


def test_lux_night_lamps_and_cutoff_from_the_config(db) -> None:
    rec = Records(db, "box-a")
    rec.decision(at(D, 8), "street-main", "street-lights", False, mode="lux", lux=80.0)
    rec.decision(at(D, 17, 42), "street-main", "street-lights", True, mode="lux", lux=20.0)
    rec.decision(at(D, 23), "street-main", "street-lights", False, mode="cut-off", lux=1.0)
    rec.decision(at(D1, 5, 30), "street-main", "street-lights", True, mode="lux", lux=1.0)
    rec.decision(at(D1, 8), "street-main", "street-lights", False, mode="lux", lux=70.0)
    rec.decision(at(D, 18), "hall", "hall-heating", True, temperature_c=14.0, setpoint_c=19.0)
    for ts, lx in ((at(D, 13), 900.0), (at(D, 15), 500.0), (at(D, 17, 40), 20.0), (at(D1, 8, 10), 75.0)):
        rec.reading(ts, "lux-roof", "illuminance_lx", lx)
    rec.reading(at(D, 16), "lux-other", "illuminance_lx", 5.0)
    (night,) = lux_nights(db, "box-a", D, PARIS, box_setup(db, "box-a"))
    assert (night.circuit, night.lux_sensor, night.start, night.end) == ("street-main", "lux-roof", at(D, 14),
                                                                          at(D1, 11))
    assert night.lux == ((at(D, 15), 500.0), (at(D, 17, 40), 20.0), (at(D1, 8, 10), 75.0))
    assert night.lit == ((at(D, 17, 42), at(D, 23)), (at(D1, 5, 30), at(D1, 8)))
    assert night.lit_s == 5 * 3600 + 18 * 60 + 2 * 3600 + 30 * 60
    assert (night.cutoff, night.cutoff_from) == (((at(D, 23), at(D1, 5, 30)),), "config")
    assert (night.on_below_lx, night.off_above_lx) == (30.0, 60.0)
    # Saturday 17 January: the hall's Saturday cut-off is 00:30-05:30, after midnight.
    (sat,) = lux_nights(db, "box-a", date(2026, 1, 17), PARIS, box_setup(db, "box-a"))
    assert sat.cutoff == ((at(date(2026, 1, 18), 0, 30), at(date(2026, 1, 18), 5, 30)),) and sat.lit == ()


def test_lux_night_under_way_has_its_lamps_lit_only_up_to_now(db) -> None:
    rec = Records(db, "box-a")
    rec.decision(at(D, 17, 42), "street-main", "street-lights", True, mode="lux", lux=20.0)
    (night,) = lux_nights(db, "box-a", D, PARIS, box_setup(db, "box-a"), now=at(D, 21))
    assert night.lit == ((at(D, 17, 42), at(D, 21)),) and night.lit_s == 3 * 3600 + 18 * 60
    assert night.cutoff == ((at(D, 23), at(D1, 5, 30)),)  # tonight's cut-off is the config's schedule
    (before,) = lux_nights(db, "box-a", D, PARIS, box_setup(db, "box-a"), now=at(D, 15))
    assert before.lit == ()  # the evening had not come


def test_lux_night_cutoff_from_decisions_without_a_config(db) -> None:
    rec = Records(db, "box-b")
    rec.decision(at(D, 12), "lights", "relay-1", True, mode="override", lux=None)
    rec.decision(at(D, 22, 30), "lights", "relay-1", False, mode="cut-off", lux=0.0)
    rec.decision(at(D1, 6), "lights", "relay-1", True, mode="lux", lux=0.0)
    rec.decision(at(D1, 8, 30), "lights", "relay-1", False, mode="lux", lux=90.0)
    (night,) = lux_nights(db, "box-b", D, PARIS, box_setup(db, "box-b"))
    assert night.lit == ((at(D, 14), at(D, 22, 30)), (at(D1, 6), at(D1, 8, 30)))  # on since noon
    assert (night.cutoff, night.cutoff_from) == (((at(D, 22, 30), at(D1, 6)),), "decisions")
    assert night.lux == () and night.lux_sensor is None


def test_fleet_baseline_is_the_median_before_the_quarantine_after_the_warmup() -> None:
    s = date(2026, 1, 1)
    mnf = {s + timedelta(days=i): [1.0, 1.0, 4.0][i % 3] for i in range(21)}
    # Night s+21 looks at s-28..s+13 (14 nights: warm); night s+20 at s-29..s+12 (13: not yet).
    assert fleet_baseline(mnf, s + timedelta(days=21)) == 1.0
    assert fleet_baseline(mnf, s + timedelta(days=20)) is None
    assert fleet_baseline({s: 3.0, s + timedelta(days=1): 5.0}, s + timedelta(days=9), warmup=2) == 4.0


def test_meter_nights_flow_baseline_and_alarms(db) -> None:
    start = TODAY - timedelta(days=120)
    rows = [("box-a", "water-main", (start + timedelta(days=i)).isoformat(), [1.0, 1.0, 4.0][i % 3], 48, 10.0)
            for i in range(120) if start + timedelta(days=i) != date(2026, 3, 1)]
    db.executemany("INSERT INTO water_nights VALUES (?,?,?,?,?,?)", rows)
    mine = raise_alarm(db, "box-a", "leak", "critical", at(date(2026, 3, 10), 5, 15), source="leak-hall")
    raise_alarm(db, "box-a", "burst", "critical", at(date(2026, 3, 11), 5), source="leak-other")
    raise_alarm(db, "box-a", "sensor_fault", "warning", at(date(2026, 3, 11), 5), source="leak-hall")
    (meter,) = meter_nights(db, "box-a", box_setup(db, "box-a"), PARIS, NOW)
    assert (meter.meter, meter.watch, meter.first, meter.last) == (
        "water-main", "leak-hall", date(2026, 1, 19), date(2026, 3, 19))
    assert len(meter.nights) == 60 and meter.baseline_from == "fleet"
    by_night = {n.evening: n for n in meter.nights}
    assert by_night[date(2026, 3, 1)].min_flow_lph is None
    i = (date(2026, 3, 2) - start).days
    assert by_night[date(2026, 3, 2)].min_flow_lph == [1.0, 1.0, 4.0][i % 3]
    # 42 nights of 1, 1, 4: the median is 1 (the mean would be 2), whichever night.
    assert {n.baseline_lph for n in meter.nights} == {1.0}
    assert [a.id for a in meter.alarms] == [mine]


def test_meter_nights_take_the_box_baseline_from_its_nightly_verdicts(db) -> None:
    db.execute("INSERT INTO water_nights VALUES (?,?,?,?,?,?)", ("box-b", "meter-1", "2026-03-18", 3.0, 48, 9.0))
    Records(db, "box-b").add("event", at(date(2026, 3, 19), 5, 15), "event", {
        "kind": "job", "source": "leak-school", "reason": "night ending 2026-03-19",
        "data": {"job": "nightly", "by": "schedule", "date": "2026-03-19", "mnf_lph": 3.0, "baseline_lph": 2.5}})
    alarm = raise_alarm(db, "box-b", "leak", "critical", at(date(2026, 3, 19), 5, 15), source="leak-school")
    (meter,) = meter_nights(db, "box-b", box_setup(db, "box-b"), PARIS, NOW)
    assert meter.baseline_from == "box" and meter.nights[-1].evening == date(2026, 3, 19)
    night = {n.evening: n for n in meter.nights}[date(2026, 3, 18)]
    assert (night.min_flow_lph, night.baseline_lph, night.volume_l) == (3.0, 2.5, 9.0)
    assert [a.id for a in meter.alarms] == [alarm]


def test_energy_series_per_day(db) -> None:
    db.executemany("INSERT INTO energy_days VALUES (?,?,?,?,?,?,?)", [
        ("box-a", "energy-lighting", "import_energy_kwh", (TODAY - timedelta(days=1)).isoformat(), 3.0, 288, 0),
        ("box-a", "energy-lighting", "import_energy_kwh", (TODAY - timedelta(days=3)).isoformat(), 4.5, 288, 0),
        ("box-a", "energy-lighting", "import_energy_kwh", (TODAY - timedelta(days=60)).isoformat(), 99.0, 288, 0),
    ])
    (series,) = energy_series(db, "box-a", PARIS, NOW)
    assert (series.meter, series.register, len(series.days)) == ("energy-lighting", "import_energy_kwh", 60)
    assert series.days[-1] == (TODAY, None) and series.days[-2] == (TODAY - timedelta(days=1), 3.0)
    assert series.days[-4] == (TODAY - timedelta(days=3), 4.5) and series.days[0][0] == TODAY - timedelta(days=59)
    assert series.total_kwh == 7.5


def test_zone_temperatures_against_the_schedule_and_frost(db) -> None:
    rec = Records(db, "box-a")
    wed = date(2026, 3, 18)
    rec.reading(at(wed, 9), "hall-temp", "temperature_c", 18.5)
    rec.reading(at(wed, 9, 2), "hall-climate", "temperature_c", 18.9)
    rec.reading(at(wed, 9, 4), "outdoor-temp", "temperature_c", 3.0)
    (zone,) = zone_temperatures(db, "box-a", box_setup(db, "box-a"), PARIS, NOW)
    assert (zone.zone, zone.frost_c, zone.source) == ("hall", 7.0, "config")
    assert zone.start == at(date(2026, 3, 14), 0) and zone.end == NOW
    assert dict(zone.temperatures) == {"hall-temp": ((at(wed, 9), 18.5),), "hall-climate": ((at(wed, 9, 2), 18.9),)}
    # Wednesday: comfort 19 °C 08:30-12:00 only, eco 15 °C otherwise; Thursday's first period at 08:30.
    steps = [s for s in zone.setpoint if at(wed, 0) <= s[0] < at(wed + timedelta(days=1), 23)]
    assert steps == [(at(wed, 8, 30), 19.0), (at(wed, 12), 15.0), (at(wed + timedelta(days=1), 8, 30), 19.0),
                     (at(wed + timedelta(days=1), 12), 15.0), (at(wed + timedelta(days=1), 13, 30), 19.0),
                     (at(wed + timedelta(days=1), 17, 30), 15.0), (at(wed + timedelta(days=1), 19, 30), 19.0),
                     (at(wed + timedelta(days=1), 22, 30), 15.0)]


def test_zone_temperatures_from_decisions_without_a_config(db) -> None:
    rec = Records(db, "box-b")
    rec.decision(at(date(2026, 3, 18), 6), "zone-1", "heater", True, mode="comfort", temperature_c=14.0,
                 setpoint_c=19.0)
    rec.decision(at(date(2026, 3, 18), 9), "zone-1", "heater", False, mode="comfort", temperature_c=19.6,
                 setpoint_c=19.0)
    (zone,) = zone_temperatures(db, "box-b", box_setup(db, "box-b"), PARIS, NOW)
    assert (zone.zone, zone.source, zone.frost_c) == ("zone-1", "decisions", 7.0)
    assert zone.temperatures == (("zone-1", ((at(date(2026, 3, 18), 6), 14.0), (at(date(2026, 3, 18), 9), 19.6))),)
    assert zone.setpoint == ((at(date(2026, 3, 18), 6), 19.0), (at(date(2026, 3, 18), 9), 19.0))
