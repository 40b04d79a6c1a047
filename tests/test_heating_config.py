"""[[heating]] sections: values, defaults, weekly schedules, and every mistake named by key."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from edge.config.model import DeviceConfig
from edge.config.reader import Problems, Table
from edge.controllers.fields import ConfigContext
from edge.controllers.heating.config import (
    ComfortPeriod,
    HeatingConfig,
    WeeklySchedule,
    parse_heating,
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
    relays={"hall-heating": RelayConfig("hall-heating", "gpio", 24)},
)
BASE = {"id": "hall", "relay": "hall-heating", "thermometer": "hall-climate"}


def _parse(raw: dict[str, Any]) -> tuple[HeatingConfig | None, dict[str, str]]:
    problems = Problems("box.toml")
    config = parse_heating(Table(raw, "heating[0]", problems), CTX)
    return config, {p.key: p.reason for p in problems.items}


def test_heating_config_reads_every_key() -> None:
    config, problems = _parse({
        **BASE,
        "comfort_c": 20,
        "eco_c": 15.5,
        "frost_c": 6.0,
        "hysteresis_c": 0.3,
        "min_on_s": 600,
        "min_off_s": 420,
        "fallback_duty": 0.5,
        "fallback_period_s": 7200,
        "stale_after_s": 600,
        "schedule": {"default": ["09:00-17:00"], "mon": ["08:00-12:00", "13:30-18:00"], "sun": []},
    })
    assert problems == {}
    office = (ComfortPeriod(9 * 60, 17 * 60),)
    monday = (ComfortPeriod(8 * 60, 12 * 60), ComfortPeriod(13 * 60 + 30, 18 * 60))
    assert config == HeatingConfig(
        id="hall",
        relay="hall-heating",
        thermometer="hall-climate",
        comfort_c=20.0,
        eco_c=15.5,
        frost_c=6.0,
        hysteresis_c=0.3,
        min_on_s=600.0,
        min_off_s=420.0,
        fallback_duty=0.5,
        fallback_period_s=7200.0,
        stale_after_s=600.0,
        schedule=WeeklySchedule((monday,) + (office,) * 5 + ((),)),
    )
    assert config.temperature_input == "hall-climate.temperature_c"


def test_heating_config_defaults() -> None:
    config, problems = _parse(dict(BASE))
    assert problems == {}
    assert config is not None
    assert (config.comfort_c, config.eco_c, config.frost_c, config.hysteresis_c) == (19.0, 16.0, 7.0, 0.5)
    assert (config.min_on_s, config.min_off_s) == (300.0, 300.0)
    assert (config.fallback_duty, config.fallback_period_s, config.stale_after_s) == (0.6, 3600.0, 900.0)
    assert config.schedule == WeeklySchedule()


def test_heating_config_names_unknown_relay_and_wrong_sensor() -> None:
    config, problems = _parse({"id": "hall", "relay": "boiler", "thermometer": "lux-roof"})
    assert config is None
    assert problems == {
        "heating[0].relay": "no relay 'boiler' under [[actuators]] (declared: hall-heating)",
        "heating[0].thermometer": "sensor 'lux-roof' is not a thermometer: it gives no temperature_c (needs a ds18b20 or sht31)",
    }
    _, missing = _parse({"id": "hall", "relay": "hall-heating"})
    assert missing == {"heating[0].thermometer": "missing; expected a string"}


def test_heating_config_keeps_setpoints_in_order() -> None:
    config, problems = _parse({**BASE, "frost_c": 8, "eco_c": 7, "comfort_c": 6})
    assert config is None
    assert problems == {
        "heating[0].eco_c": "7 °C is below frost_c (8 °C)",
        "heating[0].comfort_c": "6 °C is below eco_c (7 °C)",
    }
    _, too_low = _parse({**BASE, "frost_c": 1})
    assert too_low == {"heating[0].frost_c": "1 °C is out of range [3, 15] °C"}


def test_heating_config_fallback_duty_must_fit_the_minimum_times() -> None:
    _, zero = _parse({**BASE, "fallback_duty": 0})
    assert zero == {"heating[0].fallback_duty": "0 is out of range [0.05, 1]"}
    _, short = _parse({**BASE, "fallback_duty": 0.05, "fallback_period_s": 3600, "min_on_s": 300})
    assert short == {"heating[0].fallback_duty": "0.05 of 3600 s is shorter than min_on_s (300 s)"}
    _, no_rest = _parse({**BASE, "fallback_duty": 0.95, "min_off_s": 600})
    assert no_rest == {"heating[0].fallback_duty": "the off part of 3600 s is shorter than min_off_s (600 s)"}
    always, problems = _parse({**BASE, "fallback_duty": 1.0, "min_off_s": 600})
    assert problems == {}
    assert always is not None and always.fallback_duty == 1.0


def test_heating_config_names_bad_schedules() -> None:
    config, problems = _parse({
        **BASE,
        "schedule": {
            "mon": ["08:00-12:00", "11:00-14:00"],
            "tue": ["22:00-02:00"],
            "wed": "08:00-12:00",
            "thu": [8],
            "fri": ["08:00-24:00"],
            "weekend": [],
        },
    })
    assert config is None
    assert problems == {
        "heating[0].schedule.mon": "periods 08:00-12:00 and 11:00-14:00 overlap",
        "heating[0].schedule.tue": "'22:00-02:00' ends before it starts (periods cannot cross midnight; split them)",
        "heating[0].schedule.wed": "expected an array, got a string '08:00-12:00'",
        "heating[0].schedule.thu": "expected periods 'HH:MM-HH:MM', got 8",
        "heating[0].schedule.weekend": "unknown key; did you mean 'wed'?",
    }


def test_heating_config_schedule_periods_by_local_time() -> None:
    schedule = WeeklySchedule(((ComfortPeriod(8 * 60, 12 * 60),),) + ((),) * 5 + ((ComfortPeriod(22 * 60, 24 * 60),),))
    assert schedule.period_at(datetime(2026, 1, 12, 8, 0)) == ComfortPeriod(480, 720)
    assert schedule.period_at(datetime(2026, 1, 12, 12, 0)) is None
    assert schedule.period_at(datetime(2026, 1, 18, 23, 59)) == ComfortPeriod(1320, 1440)
    assert str(ComfortPeriod(1320, 1440)) == "22:00-24:00"
    with pytest.raises(ValueError):
        ComfortPeriod(600, 600)
    with pytest.raises(ValueError):
        HeatingConfig("hall", "r", "t", eco_c=5.0)


def test_heating_config_reads_optimum_start_keys() -> None:
    config, problems = _parse({**BASE, "max_preheat_min": 480, "preheat_rate_c_per_h": 0.8})
    assert problems == {}
    assert config is not None and (config.max_preheat_min, config.preheat_rate_c_per_h) == (480.0, 0.8)
    default, _ = _parse(dict(BASE))
    assert default is not None and (default.max_preheat_min, default.preheat_rate_c_per_h) == (180.0, 2.0)
    off, _ = _parse({**BASE, "max_preheat_min": 0})
    assert off is not None and off.max_preheat_min == 0.0
    _, wrong = _parse({**BASE, "max_preheat_min": 1500, "preheat_rate_c_per_h": 0})
    assert wrong == {
        "heating[0].max_preheat_min": "1500 min is out of range [0, 1440] min",
        "heating[0].preheat_rate_c_per_h": "0 °C/h is out of range [0.1, 20] °C/h",
    }
    with pytest.raises(ValueError):
        HeatingConfig("hall", "r", "t", preheat_rate_c_per_h=0.0)


def test_heating_config_reads_the_second_and_outdoor_thermometers_and_the_frost_margin() -> None:
    ctx_sensors = {**CTX.sensors, "cab-temp": SHT31Config("cab-temp", "i2c1", 60.0, address=0x45)}
    problems = Problems("box.toml")
    raw = {**BASE, "second_thermometer": "cab-temp", "disagree_margin_c": 2.5, "disagree_after_s": 600,
           "frost_margin_c": 4.0, "design_outdoor_c": -25}
    ctx = ConfigContext(CTX.device, ctx_sensors, CTX.relays)
    config = parse_heating(Table(raw, "heating[0]", problems), ctx)
    assert problems.items == [] and config is not None
    assert config.thermometers == ("hall-climate", "cab-temp")
    assert (config.disagree_margin_c, config.disagree_after_s) == (2.5, 600.0)
    assert (config.frost_margin_c, config.design_outdoor_c, config.outdoor_thermometer) == (4.0, -25.0, None)
    default, _ = _parse(BASE)
    assert default is not None
    assert (default.second_thermometer, default.disagree_margin_c, default.disagree_after_s) == (None, 3.0, 1800.0)
    assert (default.frost_margin_c, default.design_outdoor_c) == (3.0, -20.0)


def test_heating_config_names_a_second_or_outdoor_thermometer_that_cannot_be_one() -> None:
    _, problems = _parse({**BASE, "second_thermometer": "hall-climate", "outdoor_thermometer": "lux-roof"})
    assert "already the zone's thermometer" in problems["heating[0].second_thermometer"]
    assert "not a thermometer" in problems["heating[0].outdoor_thermometer"]
    _, problems = _parse({**BASE, "outdoor_thermometer": "hall-climate", "frost_margin_c": 0.1})
    assert "of the zone itself" in problems["heating[0].outdoor_thermometer"]
    assert "heating[0].frost_margin_c" in problems
