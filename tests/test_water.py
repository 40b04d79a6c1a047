"""Water use behind a meter: night minimum, night refills and flushes and their statistics, daily shape, leaks,
bursts and the valve."""

from __future__ import annotations

import math
import statistics
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from drivers.sim.water import CISTERN_FILL_LPH, REFILL_SHAPE, MeterModel, NightUse
from drivers.sim.weather import uniform
from drivers.sim.world_spec import BurstSpec, LeakSpec, MeterSpec
from edge.config.loader import load_config
from edge.config.reader import ConfigError
from edge.simulation.world_file import load_world

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

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


# ---- realistic night use: refills, flushes, night-to-night variation -------------------------------------

#: A public building's night: cistern top-ups (0.3 an hour, about 3 L), one flush a night on average, and a
#: gamma night factor (mean 1, SD 0.5) on both rates, as the leak tests' worlds declare it.
BUILDING_NIGHT = MeterSpec(
    "hall", "building", night_lph=0.0, day_lph=40.0, noise_pct=30.0, night_distribution="gamma",
    night_variation_pct=50.0, refills_per_hour=0.3, refill_l=3.0, flushes_per_night=1.0, flush_l=6.0,
)
#: The night of DAY0 (the night ending on Monday 2026-01-05), in local days since the Unix epoch.
FIRST_NIGHT = int((DAY0.timestamp() + OFFSET_S) // 86400)
NIGHT_USE_HOURS = 8.0  # 22:00 to 06:00
MANY_NIGHTS = 2000


def _z_band(mean: float, sd: float, n: int, z: float = 4.0) -> tuple[float, float]:
    """The interval a sample mean of n draws falls in with near certainty (z standard errors)."""
    half = z * sd / math.sqrt(n)
    return mean - half, mean + half


def _upper_tail(x: float) -> float:
    """P(Z > x) for a standard normal Z."""
    return 0.5 * math.erfc(x / math.sqrt(2.0))


def _uses(spec: MeterSpec, nights: int, seed: int = 11) -> list[tuple[NightUse, ...]]:
    model = MeterModel(spec, seed=seed, stream=2000)
    return [model.night_uses(FIRST_NIGHT + i) for i in range(nights)]


def test_water_night_use_mean_volume_is_within_its_confidence_band() -> None:
    spec = BUILDING_NIGHT
    cv = spec.night_variation_pct / 100.0
    refills = spec.refills_per_hour * NIGHT_USE_HOURS
    mean_l = refills * spec.refill_l + spec.flushes_per_night * spec.flush_l
    # Compound Poisson given the night's factor G, then the spread of G itself (mean 1, variance cv^2).
    refill_sq_l2 = spec.refill_l**2 * (1.0 + 1.0 / REFILL_SHAPE)
    variance = refills * refill_sq_l2 + spec.flushes_per_night * spec.flush_l**2 + (cv * mean_l) ** 2
    volumes = [sum(u.volume_l for u in night) for night in _uses(spec, MANY_NIGHTS)]
    low, high = _z_band(mean_l, math.sqrt(variance), MANY_NIGHTS)
    assert low < statistics.fmean(volumes) < high
    assert abs(statistics.pstdev(volumes) - math.sqrt(variance)) < 0.15 * math.sqrt(variance)


def test_water_refills_arrive_as_a_poisson_process_overdispersed_by_the_night_factor() -> None:
    steady = replace(BUILDING_NIGHT, night_distribution="uniform", night_variation_pct=0.0, flushes_per_night=0.0)
    nights = _uses(steady, MANY_NIGHTS)
    mean = steady.refills_per_hour * NIGHT_USE_HOURS
    counts = [len(n) for n in nights]
    assert _z_band(mean, math.sqrt(mean), MANY_NIGHTS)[0] < statistics.fmean(counts) < _z_band(
        mean, math.sqrt(mean), MANY_NIGHTS)[1]
    assert 0.85 < statistics.pvariance(counts) / statistics.fmean(counts) < 1.15  # Poisson: variance = mean
    # Independent increments: each of the night's eight hours holds no refill with P = exp(-rate x 1 h).
    hours = [
        not any(start + h * 3600.0 <= u.start_s < start + (h + 1) * 3600.0 for u in night)
        for i, night in enumerate(nights) for start in [(FIRST_NIGHT + i) * 86400.0 - 2 * 3600.0] for h in range(8)
    ]
    expected = math.exp(-steady.refills_per_hour)
    assert abs(sum(hours) / len(hours) - expected) < 4.0 * math.sqrt(expected * (1 - expected) / len(hours))
    # A gamma night factor (SD cv) makes the count negative binomial: variance = mean + (cv x mean)^2.
    busy = [sum(u.kind == "refill" for u in n) for n in _uses(BUILDING_NIGHT, MANY_NIGHTS)]
    overdispersed = mean + (BUILDING_NIGHT.night_variation_pct / 100.0 * mean) ** 2
    assert abs(statistics.pvariance(busy) - overdispersed) < 0.2 * overdispersed


def test_water_night_buckets_are_busy_as_often_as_the_rates_say() -> None:
    spec = BUILDING_NIGHT
    shape = 1.0 / (spec.night_variation_pct / 100.0) ** 2
    per_hour = spec.refills_per_hour + spec.flushes_per_night / NIGHT_USE_HOURS

    def quiet(hours: int) -> float:
        """E[exp(-hours x rate x G)] for G ~ gamma(shape, 1/shape): the chance of `hours` given hours with no use."""
        return (1.0 + hours * per_hour / shape) ** -shape

    # Four hour buckets (01:00-05:00): P(all busy) = sum_j C(4, j) (-1)^j P(j given buckets quiet).
    all_busy = sum(math.comb(4, j) * (-1) ** j * quiet(j) for j in range(5))
    busy_buckets = 0
    busy_nights = 0
    for i, night in enumerate(_uses(spec, MANY_NIGHTS)):
        base = (FIRST_NIGHT + i) * 86400.0
        busy = [any(base + h * 3600.0 <= u.start_s < base + (h + 1) * 3600.0 for u in night) for h in range(1, 5)]
        busy_buckets += sum(busy)
        busy_nights += all(busy)
    p_bucket = 1.0 - quiet(1)
    buckets = 4 * MANY_NIGHTS
    assert abs(busy_buckets / buckets - p_bucket) < 4.0 * math.sqrt(p_bucket * (1 - p_bucket) / MANY_NIGHTS)
    assert abs(busy_nights - MANY_NIGHTS * all_busy) < 4.0 * math.sqrt(MANY_NIGHTS * all_busy) + 1
    assert busy_nights > 0, "no night without a quiet hour: the night minimum is never tested"


def test_water_building_nights_keep_a_quiet_hour_almost_always() -> None:
    nights = _uses(BUILDING_NIGHT, MANY_NIGHTS)
    with_quiet_hour = 0
    for i, night in enumerate(nights):
        start = (FIRST_NIGHT + i) * 86400.0 - 2 * 3600.0
        edges = [start, *(t for u in night for t in (u.start_s, u.end_s)), start + NIGHT_USE_HOURS * 3600.0]
        with_quiet_hour += any(b - a >= 3600.0 for a, b in zip(edges[::2], edges[1::2], strict=True))
    # Eight hours hold no quiet hour only if uses come closer than an hour all night: 8 or more, each
    # within the hour of the last; with at most a few uses on most nights that stays under 1 % of nights.
    assert with_quiet_hour >= 0.99 * MANY_NIGHTS


def test_water_lognormal_night_factor_has_unbounded_tails() -> None:
    cv = 0.08
    spec = replace(VILLAGE, night_distribution="lognormal", night_variation_pct=100.0 * cv)
    model = MeterModel(spec, seed=3, stream=7)
    factors = [model.night_factor(FIRST_NIGHT + i) for i in range(MANY_NIGHTS)]
    low, high = _z_band(1.0, cv, MANY_NIGHTS)
    assert low < statistics.fmean(factors) < high
    assert abs(statistics.pstdev(factors) - cv) < 0.1 * cv
    sigma = math.sqrt(math.log1p(cv * cv))
    outside = _upper_tail((math.log1p(cv) + sigma**2 / 2) / sigma) + 1.0 - _upper_tail(
        (math.log1p(-cv) + sigma**2 / 2) / sigma)
    share = sum(abs(f - 1.0) > cv for f in factors) / MANY_NIGHTS
    assert abs(share - outside) < 4.0 * math.sqrt(outside * (1 - outside) / MANY_NIGHTS)
    assert max(factors) > 1.0 + 2.5 * cv  # P(Z > 2.5) = 0.6 %: a dozen such nights in 2000
    uniform_model = MeterModel(VILLAGE, seed=3, stream=7)
    assert all(abs(uniform_model.night_factor(FIRST_NIGHT + i) - 1.0) <= cv for i in range(MANY_NIGHTS))


def test_water_gamma_night_factor_has_its_mean_spread_and_right_tail() -> None:
    spec = BUILDING_NIGHT
    cv = spec.night_variation_pct / 100.0
    model = MeterModel(spec, seed=5, stream=2000)
    factors = [model.night_factor(FIRST_NIGHT + i) for i in range(MANY_NIGHTS)]
    low, high = _z_band(1.0, cv, MANY_NIGHTS)
    assert low < statistics.fmean(factors) < high and min(factors) > 0.0
    # Gamma of integer shape 4, scale 1/4: P(G > 2) = exp(-8) (1 + 8 + 8^2/2 + 8^3/6).
    tail = math.exp(-8.0) * (1.0 + 8.0 + 32.0 + 512.0 / 6.0)
    share = sum(f > 2.0 for f in factors) / MANY_NIGHTS
    assert abs(share - tail) < 4.0 * math.sqrt(tail * (1 - tail) / MANY_NIGHTS)


def test_water_village_night_minimum_is_non_zero_in_every_bucket_and_follows_the_night_factor() -> None:
    spec = replace(VILLAGE, night_distribution="lognormal")
    model = MeterModel(spec, seed=3, stream=7)
    for day in range(30):
        factor = model.night_factor(FIRST_NIGHT + day)
        for hour in range(1, 4):  # the village shape adds nothing between 01:00 and 04:00
            bucket = statistics.fmean(_flows(model, DAY0 + timedelta(days=day, hours=hour), 1))
            # Minute noise of 10 % averages to 10 %/sqrt(60) = 1.3 % over the hour: 4 SD = 5 %.
            assert abs(bucket - spec.night_lph * factor) < 0.052 * spec.night_lph * factor


def test_water_cistern_fills_at_its_flow_and_steps_add_its_volume_exactly() -> None:
    model = MeterModel(BUILDING_NIGHT, seed=11, stream=2000)
    night = model.night_uses(FIRST_NIGHT + 1)
    assert night and {u.kind for n in _uses(BUILDING_NIGHT, 30) for u in n} == {"refill", "flush"}
    first = night[0]
    assert model.night_use_lph((first.start_s + first.end_s) / 2) == CISTERN_FILL_LPH
    assert model.night_use_lph(first.start_s - 1.0) == 0.0
    # 21:00 to 07:00 around that night, in 60 s steps: the world's step integrates every use exactly.
    ts0 = (DAY0 + timedelta(hours=21)).timestamp()
    for i in range(600):
        model.step(ts0 + 60 * i, ts0 + 60 * i + OFFSET_S, False, 60.0)
    assert math.isclose(model.night_use_volume_l, sum(u.volume_l for u in night))
    # A building uses nothing else between 22:00 and 06:00.
    assert all(model.demand_lph(ts0 + 60 * i, ts0 + 60 * i + OFFSET_S) == 0.0 for i in range(60, 540))


def test_water_night_use_is_reproducible_and_depends_on_the_seed() -> None:
    assert _uses(BUILDING_NIGHT, 20, seed=4) == _uses(BUILDING_NIGHT, 20, seed=4)
    assert _uses(BUILDING_NIGHT, 20, seed=4) != _uses(BUILDING_NIGHT, 20, seed=5)


def test_water_meters_without_the_new_keys_keep_the_old_night() -> None:
    model = MeterModel(VILLAGE, seed=3, stream=7)
    for day in range(20):
        old = 400.0 * (1.0 + 0.08 * (2.0 * uniform(3, 7, FIRST_NIGHT + day) - 1.0))
        assert model.night_lph(FIRST_NIGHT + day) == old
    assert MeterModel(HALL, seed=1, stream=1).uses_between(DAY0.timestamp(), DAY0.timestamp() + 30 * 86400) == ()


def test_water_meter_refuses_an_unknown_night_distribution() -> None:
    with pytest.raises(ValueError, match="night distribution"):
        MeterModel(replace(HALL, night_distribution="cauchy"), seed=1, stream=1)


def test_water_world_file_reads_the_night_use_keys_and_names_mistakes(tmp_path: Path) -> None:
    box = load_config(EXAMPLES / "village-hall.toml")
    head = '[site]\nstart = "2026-01-01T00:00"\nduration = "7d"\n[[water.meters]]\nsensor = "water-main"\n'
    keys = ('profile = "building"\nnight_distribution = "gamma"\nnight_variation_pct = 50.0\n'
            'refills_per_hour = 0.3\nrefill_l = 3.0\nflushes_per_night = 1.0\nflush_l = 6.0\n')
    path = tmp_path / "world.toml"
    path.write_text(head + keys, encoding="utf-8")
    (meter,) = load_world(path, box.device, box).water.meters
    assert replace(meter, sensor="hall", day_lph=40.0, noise_pct=30.0) == BUILDING_NIGHT
    path.write_text(head, encoding="utf-8")
    (plain,) = load_world(path, box.device, box).water.meters
    assert (plain.night_distribution, plain.refills_per_hour, plain.flushes_per_night) == ("uniform", 0.0, 0.0)
    path.write_text(head + 'night_distribution = "cauchy"\nrefills_per_hour = -1.0\n', encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_world(path, box.device, box)
    keys_named = {p.key for p in info.value.problems}
    assert keys_named == {"water.meters[0].night_distribution", "water.meters[0].refills_per_hour"}
