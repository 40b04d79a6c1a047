"""What a faulted controller's fallback orders: the sun and the cut-off, the frost duty cycle, the latched valve.

Oracles: sunset and sunrise from the sunrise equation (Meeus's low-precision sun, as on the NOAA and
Wikipedia pages) written here, independent of astral, good to about a minute at mid-latitudes; the
duty cycle's edges from duty x period on the epoch; the valve from the alarms latched in the state.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from edge.config.model import DeviceConfig
from edge.controllers.heating.config import HeatingConfig
from edge.controllers.heating.controller import HeatingState
from edge.controllers.heating.fallback import HeatingFallback
from edge.controllers.leak.config import LeakConfig
from edge.controllers.leak.fallback import LeakFallback
from edge.controllers.leak.state import LatchedAlarm, LeakState
from edge.controllers.lighting.config import (
    CutoffSchedule,
    CutoffWindow,
    LightingConfig,
)
from edge.controllers.lighting.fallback import LightingFallback
from edge.controllers.overrides import Override
from edge.controllers.state_codec import (
    STATE_VERSION_KEY,
    StateCodec,
    StateError,
    unversioned,
    versioned_json,
)

PARIS = ZoneInfo("Europe/Paris")
DEVICE = DeviceConfig("box", "Box", 45.187, 5.726, "Europe/Paris")
#: Sunrise equation to this: about a minute; the test allows three.
SUN_TOLERANCE = timedelta(minutes=3)


def _sun_times(day: datetime, latitude: float, longitude: float) -> tuple[datetime, datetime]:
    """Sunrise and sunset (UTC) on a date, by the sunrise equation (sun's centre at -0.833°)."""
    julian_day = datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() / 86400.0 + 2440587.5
    n = math.ceil(julian_day - 2451545.0 + 0.0008)
    mean = n - longitude / 360.0
    anomaly = math.radians((357.5291 + 0.98560028 * mean) % 360)
    centre = 1.9148 * math.sin(anomaly) + 0.02 * math.sin(2 * anomaly) + 0.0003 * math.sin(3 * anomaly)
    ecliptic = math.radians((math.degrees(anomaly) + centre + 180 + 102.9372) % 360)
    transit = 2451545.0 + mean + 0.0053 * math.sin(anomaly) - 0.0069 * math.sin(2 * ecliptic)
    declination = math.asin(math.sin(ecliptic) * math.sin(math.radians(23.4397)))
    phi = math.radians(latitude)
    cos_hour = (math.sin(math.radians(-0.833)) - math.sin(phi) * math.sin(declination)) / (
        math.cos(phi) * math.cos(declination)
    )
    half_day = math.degrees(math.acos(cos_hour)) / 360.0

    def utc(jd: float) -> datetime:
        return datetime.fromtimestamp((jd - 2440587.5) * 86400.0, UTC)

    return utc(transit - half_day), utc(transit + half_day)


def _lighting(**kw: object) -> LightingFallback:
    cutoff = CutoffSchedule((CutoffWindow(23 * 60, 5 * 60 + 30),) * 7)
    return LightingFallback(LightingConfig("street", "lights", "lux", cutoff=cutoff, **kw), DEVICE)  # type: ignore[arg-type]


def _on(fallback: LightingFallback | HeatingFallback | LeakFallback, at: datetime, state: object = None,
        overrides: dict[str, Override] | None = None) -> bool | None:
    (command,) = fallback.decide(state, overrides or {}, at).commands
    return command.on


def test_lighting_fallback_follows_sunset_and_sunrise_of_the_sunrise_equation() -> None:
    fallback = _lighting()
    for day in (datetime(2026, 1, 15), datetime(2026, 6, 21), datetime(2026, 9, 23)):
        sunrise, sunset = _sun_times(day, DEVICE.latitude, DEVICE.longitude)
        assert _on(fallback, sunset - SUN_TOLERANCE) is False, day
        assert _on(fallback, sunset + SUN_TOLERANCE) is True, day
        assert _on(fallback, sunrise - SUN_TOLERANCE) is True, day
        assert _on(fallback, sunrise + SUN_TOLERANCE) is False, day


def test_lighting_fallback_applies_the_offsets() -> None:
    fallback = _lighting(sunset_offset_min=20.0, sunrise_offset_min=-20.0)
    sunrise, sunset = _sun_times(datetime(2026, 1, 15), DEVICE.latitude, DEVICE.longitude)
    assert _on(fallback, sunset + SUN_TOLERANCE) is False
    assert _on(fallback, sunset + timedelta(minutes=20) + SUN_TOLERANCE) is True
    assert _on(fallback, sunrise - timedelta(minutes=20) - SUN_TOLERANCE) is True
    assert _on(fallback, sunrise - timedelta(minutes=20) + SUN_TOLERANCE) is False


def test_lighting_fallback_keeps_the_night_cut_off() -> None:
    fallback = _lighting()
    # A January night in Grenoble: dark from about 17:20 to 08:10, cut off 23:00-05:30.
    night = datetime(2026, 1, 15, tzinfo=PARIS)
    assert _on(fallback, night.replace(hour=22, minute=59)) is True
    assert _on(fallback, night.replace(hour=23, minute=0)) is False
    decided = fallback.decide(None, {}, night.replace(hour=23, minute=0))
    assert decided.reason == "cut-off 23:00-05:30 (Thursday night)"
    assert _on(fallback, night.replace(day=16, hour=5, minute=29)) is False
    assert _on(fallback, night.replace(day=16, hour=5, minute=30)) is True


def test_lighting_fallback_follows_an_override_and_has_no_clock_without_a_set_wall_clock() -> None:
    fallback = _lighting()
    noon = datetime(2026, 1, 15, 12, tzinfo=PARIS)
    fete = Override("lights", True, noon + timedelta(hours=2), noon, "alice", "fete")
    assert _on(fallback, noon) is False
    assert _on(fallback, noon, overrides={"lights": fete}) is True
    assert _on(fallback, noon + timedelta(hours=3), overrides={"lights": fete}) is False  # expired
    assert _on(fallback, datetime(1970, 1, 1, 0, 5, tzinfo=UTC)) is None  # safe state


def test_heating_fallback_duty_cycle_edges_on_the_epoch() -> None:
    config = HeatingConfig("hall", "heater", "temp", fallback_duty=0.6, fallback_period_s=3600.0)
    fallback = HeatingFallback(config, DEVICE)
    hour_s = 1_768_474_800.0  # 2026-01-15 11:00 UTC, a whole hour since the epoch
    assert hour_s % 3600 == 0
    at = lambda s: datetime.fromtimestamp(s, UTC)
    # On for 0.6 x 3600 = 2160 s of each hour, from its start.
    assert _on(fallback, at(hour_s)) is True
    assert _on(fallback, at(hour_s + 2159)) is True
    assert _on(fallback, at(hour_s + 2160)) is False
    assert _on(fallback, at(hour_s + 3599)) is False
    assert _on(fallback, at(hour_s + 3600)) is True
    on_s = sum(1 for s in range(0, 86_400, 60) if _on(fallback, at(hour_s + s)))
    assert on_s == 24 * 36  # minutes of a day on
    decided = fallback.decide(None, {}, at(hour_s))
    assert decided.interlocks == {"heater": "controller hall faulted: frost-protection duty cycle 60 % of 60 min "
                                            "(configured fallback_duty: losses not learned yet)"}


def test_heating_fallback_takes_an_on_override_and_refuses_an_off_one() -> None:
    fallback = HeatingFallback(HeatingConfig("hall", "heater", "temp", fallback_duty=0.5), DEVICE)
    off_part = datetime(2026, 1, 15, 11, 45, tzinfo=UTC)  # 45 min into the hour: the duty cycle is off
    warm = Override("heater", True, off_part + timedelta(hours=1), off_part, "bob", "")
    assert _on(fallback, off_part) is False
    assert _on(fallback, off_part, overrides={"heater": warm}) is True
    on_part = off_part.replace(minute=10)  # 10 min into the hour: the duty cycle heats
    cold = Override("heater", False, on_part + timedelta(hours=1), on_part, "bob", "")
    assert _on(fallback, on_part, overrides={"heater": cold}) is True
    assert fallback.decide(None, {"heater": cold}, on_part).reason.endswith("refused")


def test_heating_fallback_always_on_at_full_duty() -> None:
    fallback = HeatingFallback(HeatingConfig("hall", "heater", "temp", fallback_duty=1.0), DEVICE)
    for minute in (0, 30, 59):
        assert _on(fallback, datetime(2026, 1, 15, 11, minute, tzinfo=UTC)) is True


def test_heating_fallback_holds_frost_with_the_lift_the_last_good_state_learned() -> None:
    # Steady state T = T_out + u * lift: holding frost 7 + margin 3 = 10 C at the design -20 C outdoors with a
    # 40 K lift needs u = (10 - (-20)) / 40 = 0.75, so 45 min of each hour; a garbled lift is not believed.
    config = HeatingConfig("hall", "heater", "temp", fallback_duty=0.6, fallback_period_s=3600.0)
    fallback = HeatingFallback(config, DEVICE)
    learned = HeatingState(lift_k=40.0, lift_samples=5)
    hour = datetime(2026, 1, 15, 11, tzinfo=UTC)
    assert _on(fallback, hour + timedelta(minutes=44, seconds=59), learned) is True
    assert _on(fallback, hour + timedelta(minutes=45), learned) is False
    for garbled in (HeatingState(lift_k=-3.0), HeatingState(lift_k=None), "not a state"):
        assert _on(fallback, hour + timedelta(minutes=40), garbled) is False  # 60 % of the hour: 36 min


def test_heating_fallback_full_power_for_a_frost_only_zone_with_nothing_learned() -> None:
    cabinet = HeatingConfig("tower", "heater", "temp", comfort_c=8.0, eco_c=8.0, frost_c=5.0, fallback_duty=0.6)
    fallback = HeatingFallback(cabinet, DEVICE)
    assert all(_on(fallback, datetime(2026, 1, 15, 11, m, tzinfo=UTC)) for m in range(0, 60, 7))


def _burst(watch: str = "inlet") -> LatchedAlarm:
    return LatchedAlarm(f"{watch}/burst", "burst", 0.0, "burst: 15000 L/h")


@pytest.mark.parametrize("closed_when", ["on", "off"])
def test_leak_fallback_keeps_the_valve_closed_while_a_burst_is_latched(closed_when: str) -> None:
    config = LeakConfig("inlet", "meter", burst_lph=12000.0, valve_relay="valve", valve_closed_when=closed_when)
    fallback = LeakFallback(config, DEVICE)
    now = datetime(2026, 1, 15, 3, tzinfo=PARIS)
    closed_on = closed_when == "on"
    latched = LeakState(alarms=(_burst(),), valve_closed=True)
    assert _on(fallback, now, latched) is closed_on
    assert fallback.decide(latched, {}, now).interlocks.keys() == {"valve"}
    open_it = Override("valve", not closed_on, now + timedelta(hours=1), now, "carol", "")
    assert _on(fallback, now, latched, {"valve": open_it}) is closed_on
    night_flow = LeakState(alarms=(LatchedAlarm("inlet/night_flow", "night_flow", 0.0, "leak"),))
    # A burst whose valve the controller's policy had reopened (a hydrant in use) is not shut again.
    reopened = LeakState(alarms=(_burst(),), valve_closed=False)
    for state in (LeakState(), night_flow, reopened, None, "garbage"):
        assert _on(fallback, now, state) is (not closed_on), state
        assert fallback.decide(state, {}, now).interlocks == {}
    close_it = Override("valve", closed_on, now + timedelta(hours=1), now, "carol", "")
    assert _on(fallback, now, LeakState(), {"valve": close_it}) is closed_on


def test_leak_fallback_without_a_valve_commands_nothing() -> None:
    fallback = LeakFallback(LeakConfig("hall", "meter"), DEVICE)
    latched = LeakState(alarms=(_burst("hall"),), valve_closed=True)
    assert fallback.decide(latched, {}, datetime(2026, 1, 15, tzinfo=UTC)).commands == ()


def test_state_version_travels_first_and_an_unknown_one_is_refused() -> None:
    text = versioned_json('{"on":true}', 3)
    assert text == '{"state_version":3,"on":true}'
    assert versioned_json("{}", 1) == '{"state_version":1}'
    assert unversioned({STATE_VERSION_KEY: 3, "on": True}, 3) == {"on": True}
    assert unversioned({STATE_VERSION_KEY: 2, "on": True}, 3, 2) == {"on": True}
    assert unversioned({"on": True}, 1) == {"on": True}  # saved before versions: layout 1
    for data, version in (({STATE_VERSION_KEY: 2}, 1), ({STATE_VERSION_KEY: 1}, 2), ({"on": True}, 2),
                          ({STATE_VERSION_KEY: "1"}, 1), ([1, 2], 1), ("garbage", 1), (None, 1)):
        with pytest.raises(StateError):
            unversioned(data, version)


def test_state_codec_refuses_a_value_of_the_wrong_type() -> None:
    from edge.controllers.heating.controller import HeatingState

    codec = StateCodec(HeatingState)
    assert codec.from_dict({"on": True, "temperature_c": 4, "rate_samples": 2}) == HeatingState(
        on=True, temperature_c=4.0, rate_samples=2
    )
    for bad in ({"on": "yes"}, {"temperature_c": "cold"}, {"rate_samples": 2.5}, {"rate_samples": True},
                {"mode": 3}, {"expired_overrides": [1]}, {"changed_at_s": float("nan")}):
        with pytest.raises(StateError):
            codec.from_dict(bad)
    with pytest.raises(StateError):
        codec.from_dict(["on"])  # type: ignore[arg-type]
