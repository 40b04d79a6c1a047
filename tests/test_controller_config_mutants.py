"""[[lighting]] and [[heating]] limits at their exact edges: survivors of a mutation run (bench/mutation.py).

The limits are the configuration contract a technician reads in `check-config`, written out here:
each key's range with its unit, and the rules between keys (off above on, eco not below frost,
comfort not below eco, the frost-protection duty cycle's on and off parts no shorter than the
contactor's minimum times, comfort periods within one day and not overlapping).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from edge.config.model import DeviceConfig
from edge.config.reader import Invalid, Problems, Table
from edge.controllers.events import Event
from edge.controllers.fields import ConfigContext, parse_span
from edge.controllers.heating.config import ComfortPeriod, HeatingConfig, parse_heating
from edge.controllers.lighting.config import (
    CutoffException,
    CutoffSchedule,
    CutoffWindow,
    LightingConfig,
    parse_lighting,
    parse_window,
)
from edge.parts.bh1750.config import BH1750Config
from edge.parts.relay.config import RelayConfig
from edge.parts.sht31.config import SHT31Config

CTX = ConfigContext(
    device=DeviceConfig("box", "Box", 45.187, 5.726, "Europe/Paris"),
    sensors={
        "lux-roof": BH1750Config("lux-roof", "i2c1", 30.0),
        "hall-climate": SHT31Config("hall-climate", "i2c1", 60.0),
    },
    relays={"street-lights": RelayConfig("street-lights", "gpio", 22), "hall-heating": RelayConfig("hall-heating", "gpio", 24)},
)
LIGHTING = {"id": "street", "relay": "street-lights", "lux_sensor": "lux-roof"}
HEATING = {"id": "hall", "relay": "hall-heating", "thermometer": "hall-climate"}


def _lighting(**raw: Any) -> tuple[LightingConfig | None, dict[str, str]]:
    problems = Problems("box.toml")
    config = parse_lighting(Table({**LIGHTING, **raw}, "lighting[0]", problems), CTX)
    return config, {p.key: p.reason for p in problems.items}


def _heating(**raw: Any) -> tuple[HeatingConfig | None, dict[str, str]]:
    problems = Problems("box.toml")
    config = parse_heating(Table({**HEATING, **raw}, "heating[0]", problems), CTX)
    return config, {p.key: p.reason for p in problems.items}


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ({"on_below_lx": 0, "off_above_lx": 10_000}, None),
        ({"on_below_lx": -0.5}, ("on_below_lx", "-0.5 lx is out of range [0, 10000] lx")),
        ({"on_below_lx": 5, "off_above_lx": 10_000.5}, ("off_above_lx", "10000.5 lx is out of range [0, 10000] lx")),
        ({"on_below_lx": 10_000.5}, ("on_below_lx", "10000.5 lx is out of range [0, 10000] lx")),
        ({"on_below_lx": 40, "off_above_lx": 40}, ("off_above_lx", "40 lx must be above on_below_lx (40 lx)")),
        ({"sunset_offset_min": -180, "sunrise_offset_min": 180}, None),
        ({"sunset_offset_min": 180, "sunrise_offset_min": -180}, None),
        ({"sunset_offset_min": -180.5}, ("sunset_offset_min", "-180.5 min is out of range [-180, 180] min")),
        ({"sunset_offset_min": 180.5}, ("sunset_offset_min", "180.5 min is out of range [-180, 180] min")),
        ({"sunrise_offset_min": -180.5}, ("sunrise_offset_min", "-180.5 min is out of range [-180, 180] min")),
        ({"sunrise_offset_min": 180.5}, ("sunrise_offset_min", "180.5 min is out of range [-180, 180] min")),
        ({"min_on_s": 0, "min_off_s": 3600}, None),
        ({"min_on_s": 3600, "min_off_s": 0}, None),
        ({"min_on_s": -0.5}, ("min_on_s", "-0.5 s is out of range [0, 3600] s")),
        ({"min_on_s": 3600.5}, ("min_on_s", "3600.5 s is out of range [0, 3600] s")),
        ({"min_off_s": -0.5}, ("min_off_s", "-0.5 s is out of range [0, 3600] s")),
        ({"min_off_s": 3600.5}, ("min_off_s", "3600.5 s is out of range [0, 3600] s")),
    ],
)
def test_controller_config_lighting_limits(raw: dict[str, Any], problem: tuple[str, str] | None) -> None:
    config, problems = _lighting(**raw)
    if problem is None:
        assert problems == {} and config is not None
    else:
        assert problems == {f"lighting[0].{problem[0]}": problem[1]} and config is None


def test_controller_config_lighting_values_reach_the_config() -> None:
    config, _ = _lighting(on_below_lx=0, off_above_lx=10_000, sunset_offset_min=-180, sunrise_offset_min=180,
                          min_on_s=3600, min_off_s=0)
    assert config is not None
    assert (config.on_below_lx, config.off_above_lx) == (0, 10_000)
    assert (config.sunset_offset_min, config.sunrise_offset_min, config.min_on_s, config.min_off_s) == (-180, 180, 3600, 0)


def test_controller_config_cutoff_window_bounds() -> None:
    assert str(CutoffWindow(0, 1439)) == "00:00-23:59"
    for start, end in ((-1, 300), (1440, 300), (1380, -1), (1380, 1440)):
        with pytest.raises(ValueError, match="^cut-off times must be within a day$"):
            CutoffWindow(start, end)
    with pytest.raises(ValueError, match="^a cut-off schedule needs one entry per night of the week$"):
        CutoffSchedule((None,) * 6)


def test_controller_config_cutoff_without_default_is_none_on_other_nights() -> None:
    config, problems = _lighting(cutoff={"sat": "00:30-05:30"})
    assert problems == {} and config is not None
    assert config.cutoff.weekly == (None, None, None, None, None, CutoffWindow(30, 330), None)


def test_controller_config_cutoff_exception_without_a_date_is_named() -> None:
    config, problems = _lighting(exceptions=[{"cutoff": "none"}])
    assert config is None and list(problems) == ["lighting[0].exceptions[0].date"]


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ({"frost_c": 3, "eco_c": 3, "comfort_c": 3}, None),
        ({"eco_c": 30, "comfort_c": 30}, None),
        ({"frost_c": 7, "eco_c": 7}, None),
        ({"eco_c": 16, "comfort_c": 16}, None),
        ({"eco_c": 0.5}, ("eco_c", "0.5 °C is out of range [1, 30] °C")),
        ({"frost_c": 3, "eco_c": 1}, ("eco_c", "1 °C is below frost_c (3 °C)")),
        ({"eco_c": 30.5, "comfort_c": 30}, ("eco_c", "30.5 °C is out of range [1, 30] °C")),
        ({"comfort_c": 0.5}, ("comfort_c", "0.5 °C is out of range [1, 30] °C")),
        ({"eco_c": 16, "comfort_c": 1}, ("comfort_c", "1 °C is below eco_c (16 °C)")),
        ({"comfort_c": 30.5}, ("comfort_c", "30.5 °C is out of range [1, 30] °C")),
        ({"min_on_s": 0, "min_off_s": 0}, None),
        ({"min_on_s": -1}, ("min_on_s", "-1 s is out of range [0, 3600] s")),
        ({"min_off_s": -1}, ("min_off_s", "-1 s is out of range [0, 3600] s")),
        ({"min_on_s": 3600.5, "fallback_duty": 1.0}, ("min_on_s", "3600.5 s is out of range [0, 3600] s")),
        ({"min_off_s": 3600.5, "fallback_duty": 1.0}, ("min_off_s", "3600.5 s is out of range [0, 3600] s")),
        ({"min_on_s": 3600, "min_off_s": 3600, "fallback_duty": 1.0}, None),
        ({"fallback_period_s": 299.5}, ("fallback_period_s", "299.5 s is out of range [300, 86400] s")),
        ({"fallback_period_s": 86_400.5}, ("fallback_period_s", "86400.5 s is out of range [300, 86400] s")),
        ({"fallback_period_s": 86_400}, None),
        ({"fallback_duty": 0.25, "fallback_period_s": 1200, "min_on_s": 300, "min_off_s": 0}, None),
        ({"fallback_duty": 0.25, "fallback_period_s": 1200, "min_on_s": 301, "min_off_s": 0},
         ("fallback_duty", "0.25 of 1200 s is shorter than min_on_s (301 s)")),
        ({"fallback_duty": 0.75, "fallback_period_s": 1200, "min_on_s": 0, "min_off_s": 300}, None),
        ({"fallback_duty": 0.75, "fallback_period_s": 1200, "min_on_s": 0, "min_off_s": 301},
         ("fallback_duty", "the off part of 1200 s is shorter than min_off_s (301 s)")),
        ({"fallback_duty": 1.0, "fallback_period_s": 300, "min_on_s": 3600, "min_off_s": 3600}, None),
        ({"hysteresis_c": 0.1}, None),
        ({"hysteresis_c": 3}, None),
        ({"hysteresis_c": 0.05}, ("hysteresis_c", "0.05 °C is out of range [0.1, 3] °C")),
        ({"hysteresis_c": 3.5}, ("hysteresis_c", "3.5 °C is out of range [0.1, 3] °C")),
        ({"stale_after_s": 60}, None),
        ({"stale_after_s": 86_400}, None),
        ({"stale_after_s": 59.5}, ("stale_after_s", "59.5 s is out of range [60, 86400] s")),
        ({"stale_after_s": 86_400.5}, ("stale_after_s", "86400.5 s is out of range [60, 86400] s")),
        ({"id": "Hall 2"}, ("id", None)),
    ],
)
def test_controller_config_heating_limits(raw: dict[str, Any], problem: tuple[str, str | None] | None) -> None:
    config, problems = _heating(**raw)
    if problem is None:
        assert problems == {} and config is not None
        for key, value in raw.items():
            assert getattr(config, key) == value
    else:
        assert list(problems) == [f"heating[0].{problem[0]}"] and config is None
        if problem[1] is not None:
            assert problems[f"heating[0].{problem[0]}"] == problem[1]


@pytest.mark.parametrize(
    ("periods", "problem"),
    [
        (["00:00-06:00", "06:00-24:00"], None),
        (["08:00-08:00"], "'08:00-08:00' ends before it starts (periods cannot cross midnight; split them)"),
        (["08:00-12:00", "11:00-14:00"], "periods 08:00-12:00 and 11:00-14:00 overlap"),
    ],
)
def test_controller_config_comfort_periods(periods: list[str], problem: str | None) -> None:
    config, problems = _heating(schedule={"default": periods})
    if problem is None:
        assert problems == {} and config is not None
        assert config.schedule.days[0] == (ComfortPeriod(0, 360), ComfortPeriod(360, 1440))
    else:
        assert problems == {"heating[0].schedule.default": problem}


def test_controller_config_comfort_period_within_one_day() -> None:
    assert str(ComfortPeriod(0, 1440)) == "00:00-24:00"
    for start, end in ((-1, 60), (60, 60), (60, 1441)):
        with pytest.raises(ValueError, match="^a comfort period must start before it ends, within one day$"):
            ComfortPeriod(start, end)


def test_controller_config_references_list_what_is_declared() -> None:
    assert CTX.readings("no-such-sensor") == ()
    assert parse_span("06:00-24:00", allow_24=True) == (360, 1440)
    with pytest.raises(Invalid):
        parse_span("06:00-24:00")
    with pytest.raises(Invalid, match=r"^'06:00' is not a time span 'HH:MM-HH:MM'$"):
        parse_span("06:00")
    _, problems = _lighting(relay="gate", lux_sensor="attic")
    assert problems == {
        "lighting[0].relay": "no relay 'gate' under [[actuators]] (declared: hall-heating, street-lights)",
        "lighting[0].lux_sensor": "no sensor 'attic' under [[sensors]] (declared: hall-climate, lux-roof)",
    }
    _, problems = _lighting(lux_sensor="hall-climate")
    assert problems == {"lighting[0].lux_sensor": (
        "sensor 'hall-climate' is not a lux sensor: it gives no illuminance_lx (needs a bh1750 or veml7700)")}
    bare = ConfigContext(device=CTX.device, sensors={}, relays={})
    problems_list = Problems("box.toml")
    parse_lighting(Table({**LIGHTING, "lux_sensor": "x"}, "lighting[0]", problems_list), bare)
    assert {p.key: p.reason for p in problems_list.items} == {
        "lighting[0].relay": "no relay 'street-lights' under [[actuators]] (declared: none declared)",
        "lighting[0].lux_sensor": "no sensor 'x' under [[sensors]] (declared: none declared)",
    }


def test_controller_config_a_cut_off_from_noon_belongs_to_its_evening() -> None:
    night = date(2026, 3, 2)
    assert CutoffWindow(720, 780).bounds(night) == (datetime(2026, 3, 2, 12, 0), datetime(2026, 3, 2, 13, 0))
    assert CutoffWindow(660, 780).bounds(night) == (datetime(2026, 3, 3, 11, 0), datetime(2026, 3, 3, 13, 0))


def test_controller_config_schedule_finds_a_cut_off_two_days_after_its_night() -> None:
    night = date(2026, 3, 2)
    schedule = CutoffSchedule(exceptions=(CutoffException(night, parse_window("06:00-05:00")),))
    active = schedule.active_at(datetime(2026, 3, 4, 4, 0))
    assert active is not None and active.night == night
    assert active.describe() == "cut-off 06:00-05:00 (exception for the night of 2026-03-02)"
    assert schedule.active_at(datetime(2026, 3, 4, 5, 0)) is None


def test_controller_config_lighting_thresholds_in_code_are_checked_too() -> None:
    with pytest.raises(ValueError, match="^off_above_lx must be above on_below_lx$"):
        LightingConfig("street", "street-lights", None, on_below_lx=50, off_above_lx=50)


def test_controller_config_events_are_checked() -> None:
    with pytest.raises(ValueError, match="^unknown event kind 'gossip'$"):
        Event("gossip", "street", "why", datetime(2026, 3, 2, tzinfo=UTC))
    with pytest.raises(ValueError, match="^event times must be timezone-aware$"):
        Event("decision", "street", "why", datetime(2026, 3, 2))
