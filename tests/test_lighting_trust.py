"""A lux sensor checked against the sun and its own lamps: what a sensor's faults look like, found in minutes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from astral import Observer
from astral import sun as astral_sun

from edge.controllers.lighting.trust import (
    CONFIRM_S,
    LuxTrust,
    SunWindows,
    judge,
    sun_windows,
    switching,
    unheard,
)

ON_BELOW_LX, OFF_ABOVE_LX = 30.0, 60.0
DAY = datetime(2026, 1, 15, tzinfo=UTC)


def _at(hour: int, minute: int = 0) -> float:
    return (DAY + timedelta(hours=hour, minutes=minute)).timestamp()


#: A winter day written by hand: sun above 10° from 08:30 to 14:30, below -8° before 06:40 and
#: after 17:00; sunrise 07:10, sunset 16:30, the sun 20 min from 3° up or 4° down on either side (UTC).
WINDOWS = SunWindows(_at(8, 30), _at(14, 30), _at(6, 40), _at(17, 0), (
    (_at(6, 50), _at(7, 10), "the sun's rise from 4° below the horizon to sunrise"),
    (_at(7, 10), _at(7, 30), "the sun's rise from sunrise to 3° up"),
    (_at(16, 10), _at(16, 30), "the sun's fall from 3° up to sunset"),
    (_at(16, 30), _at(16, 50), "the sun's fall from sunset to 4° below the horizon"),
))


def _run(readings: list[tuple[float, float]], *, lamps_on: bool = False, trust: LuxTrust | None = None):
    trust = trust or LuxTrust()
    out = []
    for now_s, lux in readings:
        verdict = judge(trust, lux, now_s, WINDOWS, lamps_on=lamps_on, on_below_lx=ON_BELOW_LX,
                        off_above_lx=OFF_ABOVE_LX)
        trust = verdict.trust
        out.append(verdict)
    return trust, out


def _minutes(start: float, count: int, lux: float) -> list[tuple[float, float]]:
    return [(start + 60.0 * i, lux) for i in range(count)]


def test_lighting_trust_dark_by_day_is_distrusted_after_15_minutes() -> None:
    _trust, out = _run(_minutes(_at(10), 17, 0.0))
    # Believed for the first 15 minutes (00..14), not from minute 15 on.
    assert [v.lux for v in out[:15]] == [0.0] * 15
    assert out[15].lux is None and out[16].lux is None
    assert out[15].news == (("distrusted", ("reads 0.0 lx with the sun more than 10° up, dark for 15 min (even a "
                                           "storm leaves hundreds of lux with the sun 10° up): covered, dirty or stuck")),)
    assert CONFIRM_S == 15 * 60


def test_lighting_trust_a_noon_storm_is_believed() -> None:
    # The darkest storms leave hundreds of lux with the sun this high: nothing to doubt.
    trust, out = _run(_minutes(_at(11), 120, 300.0))
    assert all(v.lux == 300.0 for v in out) and trust.distrust == ""


def test_lighting_trust_daylight_at_night_is_distrusted() -> None:
    _trust, out = _run(_minutes(_at(18), 16, 800.0))
    assert out[14].lux == 800.0 and out[15].lux is None
    assert out[15].news == (("distrusted", ("reads 800 lx with the sun more than 8° below the horizon, daylight "
                                           "for 15 min: stuck or lit by a lamp")),)


def test_lighting_trust_frozen_across_sunset_is_found_at_the_sunset() -> None:
    # 20 minutes before sunset a true sensor sees the light fall tenfold; a stuck one reads the same.
    trust, out = _run(_minutes(_at(16, 10), 21, 2000.0))
    assert all(v.lux == 2000.0 for v in out[:20])
    assert out[20].lux is None  # 16:30, the sunset: the half-window is over
    assert out[20].news == (("distrusted", ("read 2000.0 to 2000.0 lx during the sun's fall from 3° up to sunset, "
                                           "when outdoor light changes eightfold or more: stuck")),)
    moving = [(_at(16, 10) + 60.0 * i, 2000.0 * 0.9**i) for i in range(21)]
    trust, out = _run(moving)
    assert all(v.lux is not None for v in out) and trust.distrust == ""


def test_lighting_trust_frozen_sensor_is_believed_again_when_it_moves() -> None:
    trust, _ = _run(_minutes(_at(16, 10), 21, 2000.0))
    assert trust.distrust_kind == "frozen"
    trust, out = _run([(_at(16, 40), 2500.0), (_at(16, 41), 10.0)], trust=trust)
    assert out[0].lux is None and out[1].lux == 10.0
    assert out[1].news == (("believed", "reads 10.0 lx, as the sun says it could"),)


def test_lighting_trust_covered_sensor_is_believed_again_in_daylight() -> None:
    trust, _ = _run(_minutes(_at(10), 16, 0.5))
    assert trust.distrust_kind == "dark by day"
    trust, out = _run([(_at(11), 45.0), (_at(11, 1), 61.0)], trust=trust)
    assert out[0].lux is None and out[1].lux == 61.0 and trust.distrust == ""


def test_lighting_trust_sensor_lit_by_its_own_lamps_is_measured_and_compensated() -> None:
    trust = switching(LuxTrust(), 25.0, _at(16, 45))  # the circuit switches on at 25 lx
    trust, out = _run([(_at(16, 45, ) + 60.0, 70.0)], lamps_on=True, trust=trust)
    assert out[0].news == (("self_lit", ("sees the circuit's own lamps: +45 lx when they are on; "
                                        "taken off its readings")),)
    assert out[0].lux == 25.0 and trust.self_lit_lx == 45.0
    # All night the lamps' 45 lx reach the sensor: it is dark, not daylight.
    trust, out = _run(_minutes(_at(20), 30, 45.5), lamps_on=True, trust=trust)
    assert all(v.lux == pytest.approx(0.5) for v in out) and trust.distrust == ""
    # Without the lamps on, the same reading is what it says.
    _, out = _run([(_at(20), 45.5)], lamps_on=False, trust=trust)
    assert out[0].lux == 45.5


def test_lighting_trust_a_switching_without_a_jump_measures_no_own_light() -> None:
    trust = switching(LuxTrust(), 25.0, _at(16, 45))
    trust, out = _run([(_at(16, 46), 24.0)], lamps_on=True, trust=trust)
    assert out[0].news == () and trust.self_lit_lx is None and out[0].lux == 24.0


def test_lighting_trust_windows_follow_the_sun_at_the_box() -> None:
    observer = Observer(latitude=45.187, longitude=5.726)
    day = date(2026, 1, 15)
    start, end = datetime(2026, 1, 14, 23, tzinfo=UTC).timestamp(), datetime(2026, 1, 15, 23, tzinfo=UTC).timestamp()
    windows = sun_windows(observer, day, start, end)
    sunrise = astral_sun.sunrise(observer, day, tzinfo=UTC).timestamp()
    sunset = astral_sun.sunset(observer, day, tzinfo=UTC).timestamp()
    (dawn, rise), (rise2, morning), (evening, fall), (fall2, dusk) = ((a, b) for a, b, _ in windows.halves)
    # Sunrise and sunset as astral gives them (its own sunrise and sunset functions), 1 s apart at most.
    assert (rise, rise2, fall, fall2) == pytest.approx((sunrise, sunrise, sunset, sunset), abs=1.0)
    assert windows.day_from_s is not None and windows.day_until_s is not None
    # The elevations at the window edges, asked of astral's own elevation function.
    for edge_s, elevation in ((windows.day_from_s, 10.0), (windows.day_until_s, 10.0),
                              (windows.night_until_s, -8.0), (windows.night_from_s, -8.0),
                              (dawn, -4.0), (morning, 3.0), (evening, 3.0), (dusk, -4.0)):
        assert edge_s is not None
        seen = astral_sun.elevation(observer, datetime.fromtimestamp(edge_s, UTC), with_refraction=False)
        assert seen == pytest.approx(elevation, abs=0.1)  # 0.1° of elevation: some 30 s of the sun
    # Midsummer in Svalbard: the sun never sinks 8° below the horizon.
    svalbard = sun_windows(Observer(78.22, 15.65), date(2026, 6, 21),
                           datetime(2026, 6, 20, 22, tzinfo=UTC).timestamp(), datetime(2026, 6, 21, 22, tzinfo=UTC).timestamp())
    assert svalbard.night_until_s is None and svalbard.night_from_s is None and svalbard.halves == ()


def test_lighting_trust_a_transition_watched_only_in_part_is_not_judged() -> None:
    # Entered 17 min late (the agent started at 16:27): three steady readings prove nothing.
    trust, out = _run(_minutes(_at(16, 27), 5, 500.0))
    assert trust.distrust == "" and all(v.lux == 500.0 for v in out)
    # Watched from its start, but the sensor went silent from 16:15 to 16:25: not judged either.
    trust, _ = _run(_minutes(_at(16, 10), 5, 500.0))
    trust = unheard(trust)
    trust, out = _run(_minutes(_at(16, 25), 7, 500.0), trust=trust)
    assert trust.distrust == "" and all(v.lux == 500.0 for v in out)
    # The same readings without the gap: stuck.
    trust, _ = _run(_minutes(_at(16, 10), 22, 500.0))
    assert trust.distrust_kind == "frozen"
