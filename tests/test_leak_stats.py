"""Night-flow statistics: night windows in local time, buckets, minimum night flow, baseline, CUSUM."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from edge.controllers.leak.stats import (
    QUARANTINE_NIGHTS,
    Detector,
    DetectorParams,
    NightWindows,
    assess_night,
    night_flow,
    robust_baseline,
    spread_volume,
)

PARIS = ZoneInfo("Europe/Paris")
WINDOWS = NightWindows(time(1, 0), time(5, 0), 3600.0, PARIS)
PARAMS = DetectorParams(warmup_nights=7, baseline_nights=42, cusum_k=1.0, cusum_h=4.0, spread_floor_lph=0.5,
                        step_lph=1.0)


def _utc(*args: int) -> float:
    return datetime(*args, tzinfo=UTC).timestamp()


def test_night_bounds_are_local_time_in_utc() -> None:
    assert WINDOWS.bounds(date(2026, 1, 10)) == (_utc(2026, 1, 10, 0), _utc(2026, 1, 10, 4))
    assert WINDOWS.bounds(date(2026, 7, 10)) == (_utc(2026, 7, 9, 23), _utc(2026, 7, 10, 3))


def test_night_spanning_midnight_starts_the_day_before() -> None:
    windows = NightWindows(time(23, 0), time(5, 0), 1800.0, PARIS)
    assert windows.bounds(date(2026, 1, 10)) == (_utc(2026, 1, 9, 22), _utc(2026, 1, 10, 4))
    assert len(windows.buckets(date(2026, 1, 10))) == 12


def test_night_of_the_spring_dst_change_has_three_buckets() -> None:
    buckets = WINDOWS.buckets(date(2026, 3, 29))
    assert len(buckets) == 3
    assert buckets[-1][1] - buckets[0][0] == 3 * 3600.0


def test_latest_ended_night_switches_at_the_night_end() -> None:
    just_before = datetime(2026, 1, 10, 3, 59, tzinfo=UTC)
    at_end = datetime(2026, 1, 10, 4, 0, tzinfo=UTC)
    assert WINDOWS.latest_ended(just_before) == date(2026, 1, 9)
    assert WINDOWS.latest_ended(at_end) == date(2026, 1, 10)


def test_overlapping_finds_the_night_or_none() -> None:
    assert WINDOWS.overlapping(_utc(2026, 1, 10, 3, 55), _utc(2026, 1, 10, 4, 5)) == date(2026, 1, 10)
    assert WINDOWS.overlapping(_utc(2026, 1, 10, 12), _utc(2026, 1, 10, 12, 5)) is None
    assert WINDOWS.overlapping(_utc(2026, 1, 9, 23, 55), _utc(2026, 1, 10, 0, 5)) == date(2026, 1, 10)


def test_spread_volume_splits_an_interval_across_buckets() -> None:
    buckets = WINDOWS.buckets(date(2026, 1, 10))
    t0, t1 = _utc(2026, 1, 10, 0, 50), _utc(2026, 1, 10, 1, 10)
    volume, covered = spread_volume(buckets, (0.0,) * 4, (0.0,) * 4, t0, t1, 4.0)
    assert volume == pytest.approx((2.0, 2.0, 0.0, 0.0))
    assert covered == pytest.approx((600.0, 600.0, 0.0, 0.0))


def test_spread_volume_ignores_time_outside_the_night() -> None:
    buckets = WINDOWS.buckets(date(2026, 1, 10))
    t0, t1 = _utc(2026, 1, 9, 23, 50), _utc(2026, 1, 10, 0, 10)
    volume, covered = spread_volume(buckets, (0.0,) * 4, (0.0,) * 4, t0, t1, 6.0)
    assert volume == pytest.approx((3.0, 0.0, 0.0, 0.0)) and covered[0] == pytest.approx(600.0)


def test_night_flow_is_the_lowest_bucket_flow() -> None:
    buckets = WINDOWS.buckets(date(2026, 1, 10))
    flow = night_flow(buckets, (8.0, 2.0, 3.0, 6.0), (3600.0,) * 4, PARIS)
    assert flow.mnf_lph == pytest.approx(2.0) and flow.note == "ok"


def test_night_flow_uses_the_covered_time_of_a_bucket() -> None:
    buckets = WINDOWS.buckets(date(2026, 1, 10))
    flow = night_flow(buckets, (3.0, 3.0, 3.0, 2.0), (3600.0, 3600.0, 3600.0, 2880.0), PARIS)
    assert flow.mnf_lph == pytest.approx(2.5)


def test_night_flow_with_a_bucket_short_of_data_is_skipped_and_says_which() -> None:
    buckets = WINDOWS.buckets(date(2026, 1, 10))
    flow = night_flow(buckets, (3.0, 0.0, 3.0, 3.0), (3600.0, 1200.0, 3600.0, 3600.0), PARIS)
    assert flow.mnf_lph is None
    assert "02:00" in flow.note and "33 %" in flow.note


def test_baseline_of_quiet_nights_has_the_floor_as_spread() -> None:
    baseline = robust_baseline([0.0] * 10, floor_lph=0.5, step_lph=1.0)
    assert (baseline.median_lph, baseline.spread_lph, baseline.nights) == (0.0, 0.5, 10)


def test_baseline_drops_an_outlier_night_from_the_spread() -> None:
    values = [400.0, 410.0, 390.0, 405.0, 395.0, 400.0, 3000.0]
    with_outlier = robust_baseline(values, floor_lph=0.5)
    without = robust_baseline(values[:-1], floor_lph=0.5)
    assert with_outlier.median_lph == 400.0
    assert with_outlier.spread_lph < 20.0
    assert with_outlier.spread_lph == pytest.approx(without.spread_lph * (1 + 3 / 6) / (1 + 3 / 5))


def test_baseline_spread_widens_when_few_nights_are_learned() -> None:
    few = robust_baseline([390.0, 410.0] * 4, floor_lph=0.5)
    many = robust_baseline([390.0, 410.0] * 21, floor_lph=0.5)
    assert few.spread_lph > many.spread_lph * 1.3


def test_baseline_needs_a_night() -> None:
    with pytest.raises(ValueError):
        robust_baseline([], floor_lph=1.0)


def _learned(values: list[float]) -> Detector:
    return Detector(tuple((f"2026-01-{i + 1:02d}", v) for i, v in enumerate(values)))


def test_warm_up_learns_without_judging() -> None:
    detector = Detector()
    for i in range(7):
        verdict = assess_night(detector, f"2026-01-{i + 1:02d}", 50.0 * i, PARAMS)
        assert verdict.learning and not verdict.alarm and verdict.z is None
        detector = verdict.detector
    assert len(detector.learned) == 7
    assert not assess_night(detector, "2026-01-08", 0.0, PARAMS).learning


def test_steady_excess_alarms_on_the_expected_night() -> None:
    # Quiet building, spread at its 0.5 L/h floor: 1 L/h scores z = 2, adds 1 a night, alarms at 4.
    detector = _learned([0.0] * 10)
    nights = []
    for night in range(1, 8):
        verdict = assess_night(detector, f"2026-02-{night:02d}", 1.0, PARAMS)
        detector = verdict.detector
        nights.append(verdict.alarm)
    assert nights.index(True) + 1 == 4


def test_one_odd_night_never_alarms_alone() -> None:
    verdict = assess_night(_learned([0.0] * 10), "2026-02-01", 500.0, PARAMS)
    assert verdict.z == PARAMS.z_cap and not verdict.alarm
    assert assess_night(verdict.detector, "2026-02-02", 500.0, PARAMS).alarm


def test_leak_nights_are_never_learned_before_the_alarm() -> None:
    detector = _learned([0.0] * 10)
    for night in range(1, 5):
        verdict = assess_night(detector, f"2026-02-{night:02d}", 1.0, PARAMS)
        detector = verdict.detector
        assert all(v == 0.0 for _, v in detector.learned)
    assert verdict.alarm and detector.pending == ()


def test_quiet_nights_are_learned_after_the_quarantine() -> None:
    detector = _learned([0.0] * 10)
    for night in range(1, QUARANTINE_NIGHTS + 2):
        detector = assess_night(detector, f"2026-02-{night:02d}", 0.0, PARAMS).detector
    assert len(detector.pending) == QUARANTINE_NIGHTS
    assert detector.learned[-1] == ("2026-02-01", 0.0)


def test_learning_stops_while_an_anomaly_builds_up() -> None:
    # h = 12: the CUSUM climbs 1 a night, holds the quarantine from h/2 (night 6) on, never alarms here.
    params = DetectorParams(7, 42, 1.0, 12.0, 0.5, 1.0)
    detector = _learned([0.0] * 10)
    for night in range(1, 12):
        verdict = assess_night(detector, f"2026-02-{night:02d}", 1.0, params)
        detector = verdict.detector
        assert not verdict.alarm
    assert detector.cusum >= params.cusum_h / 2 and len(detector.learned) == 10 and len(detector.pending) == 11
