"""Water use behind a meter: night minimum, daily shape, leaks, bursts and the valve."""

from __future__ import annotations

import math
import statistics
from datetime import UTC, datetime, timedelta

import pytest

from drivers.sim.water import MeterModel
from drivers.sim.world_spec import BurstSpec, LeakSpec, MeterSpec

OFFSET_S = 3600.0  # Europe/Paris in winter
DAY0 = datetime(2026, 1, 5, tzinfo=UTC) - timedelta(seconds=OFFSET_S)  # local midnight, a Monday
VILLAGE = MeterSpec("inlet", "village", night_lph=400.0, night_variation_pct=8.0, day_lph=4500.0, noise_pct=10.0)
HALL = MeterSpec("hall", "building", night_lph=0.0, day_lph=40.0, noise_pct=30.0)


def _flows(model: MeterModel, start: datetime, hours: float, valve_closed: bool = False) -> list[float]:
    ts0 = start.timestamp()
    return [model.flow_lph(ts0 + 60 * i, ts0 + 60 * i + OFFSET_S, valve_closed) for i in range(int(hours * 60))]


def test_public_building_uses_nothing_at_night_and_some_water_by_day() -> None:
    model = MeterModel(HALL, seed=1, stream=1)
    for day in range(7):
        night = _flows(model, DAY0 + timedelta(days=day, hours=21), 9)
        assert max(night) == 0.0
    weekday = statistics.fmean(_flows(model, DAY0 + timedelta(hours=6), 16))
    assert 30.0 < weekday < 50.0


def test_public_building_uses_less_at_weekends() -> None:
    model = MeterModel(HALL, seed=1, stream=1)
    monday = statistics.fmean(_flows(model, DAY0 + timedelta(hours=6), 16))
    saturday = statistics.fmean(_flows(model, DAY0 + timedelta(days=5, hours=6), 16))
    assert saturday < 0.6 * monday


def test_village_night_minimum_stays_within_its_variation_and_changes_from_night_to_night() -> None:
    model = MeterModel(VILLAGE, seed=3, stream=7)
    minima = []
    for day in range(30):
        flows = _flows(model, DAY0 + timedelta(days=day, hours=2), 2)
        mean = statistics.fmean(flows)
        assert 400.0 * 0.92 - 10 < mean < 400.0 * 1.08 + 10
        assert statistics.pstdev(flows) > 20.0
        minima.append(mean)
    spread = (max(minima) - min(minima)) / statistics.fmean(minima)
    assert 0.05 < spread < 0.17


def test_village_uses_several_cubic_metres_an_hour_by_day() -> None:
    model = MeterModel(VILLAGE, seed=3, stream=7)
    day = _flows(model, DAY0 + timedelta(hours=6), 16)
    assert abs(statistics.fmean(day) - 4500.0) < 300.0
    assert max(day) > 6000.0


def test_a_leak_adds_its_rate_from_its_start_until_it_is_repaired() -> None:
    start = DAY0 + timedelta(hours=1)
    leak = LeakSpec("hall", start, 2.0, start + timedelta(hours=3))
    model = MeterModel(HALL, seed=1, stream=1, leaks=(leak,))
    before = _flows(model, DAY0, 1)
    during = _flows(model, start, 3)
    after = _flows(model, start + timedelta(hours=3), 1)
    assert max(before) == 0.0 and max(after) == 0.0
    assert set(during) == {2.0}


def test_a_leak_on_another_meter_does_not_flow_here() -> None:
    model = MeterModel(HALL, seed=1, stream=1, leaks=(LeakSpec("inlet", DAY0, 50.0),))
    assert max(_flows(model, DAY0, 3)) == 0.0


def test_a_burst_flows_for_its_duration_and_stops_while_the_valve_is_closed() -> None:
    start = DAY0 + timedelta(hours=3)
    burst = BurstSpec("inlet", start, start + timedelta(hours=2), 6000.0)
    model = MeterModel(VILLAGE, seed=3, stream=7, bursts=(burst,))
    ts = (start + timedelta(minutes=30)).timestamp()
    assert model.burst_lph(ts) == 6000.0
    assert model.flow_lph(ts, ts + OFFSET_S, False) > 6000.0
    assert model.flow_lph(ts, ts + OFFSET_S, True) == 0.0
    assert model.burst_lph((start + timedelta(hours=2)).timestamp()) == 0.0


def test_a_meter_not_behind_the_valve_keeps_flowing_when_it_closes() -> None:
    spec = MeterSpec("hall", "village", night_lph=100.0, behind_valve=False)
    model = MeterModel(spec, seed=1, stream=1)
    assert min(_flows(model, DAY0, 1, valve_closed=True)) > 0.0


def test_steps_add_up_volumes_of_water_leak_and_burst() -> None:
    start = DAY0 + timedelta(hours=2)
    leak = LeakSpec("inlet", start, 80.0)
    burst = BurstSpec("inlet", start + timedelta(hours=1), start + timedelta(hours=2), 3000.0)
    model = MeterModel(VILLAGE, seed=2, stream=1, leaks=(leak,), bursts=(burst,))
    total = 0.0
    ts0 = start.timestamp()
    for i in range(180):
        total += model.step(ts0 + 60 * i, ts0 + 60 * i + OFFSET_S, False, 60.0) / 60.0
    assert math.isclose(model.volume_l, total)
    assert math.isclose(model.leak_volume_l, 80.0 * 3)
    assert math.isclose(model.burst_volume_l, 3000.0)
    closed = model.step(ts0 + 3 * 3600, ts0 + 3 * 3600 + OFFSET_S, True, 60.0)
    assert closed == 0.0 and math.isclose(model.volume_l, total)


def test_same_seed_same_water_use_and_another_seed_another() -> None:
    a = _flows(MeterModel(VILLAGE, seed=3, stream=7), DAY0, 24)
    b = _flows(MeterModel(VILLAGE, seed=3, stream=7), DAY0, 24)
    c = _flows(MeterModel(VILLAGE, seed=4, stream=7), DAY0, 24)
    assert a == b and a != c


def test_meter_refuses_an_unknown_profile() -> None:
    with pytest.raises(ValueError, match="profile"):
        MeterModel(MeterSpec("x", "factory"), seed=1, stream=1)
