"""[[lighting]] sections: values, defaults, cut-off windows by night, and every mistake named by key."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest

from edge.config.model import DeviceConfig
from edge.config.reader import Invalid, Problems, Table
from edge.controllers.fields import ConfigContext
from edge.controllers.lighting.config import (
    CutoffException,
    CutoffSchedule,
    CutoffWindow,
    LightingConfig,
    parse_lighting,
    parse_window,
)
from edge.parts.bh1750.config import BH1750Config
from edge.parts.ds18b20.config import DS18B20Config
from edge.parts.relay.config import RelayConfig

CTX = ConfigContext(
    device=DeviceConfig("box", "Box", 45.187, 5.726, "Europe/Paris"),
    sensors={
        "lux-roof": BH1750Config("lux-roof", "i2c1", 30.0),
        "hall-temp": DS18B20Config("hall-temp", "w1", 60.0, "28-0316a2794aff"),
    },
    relays={"street-lights": RelayConfig("street-lights", "gpio", 22, safe_state=True)},
)


def _parse(raw: dict[str, Any]) -> tuple[LightingConfig | None, dict[str, str]]:
    problems = Problems("box.toml")
    config = parse_lighting(Table(raw, "lighting[0]", problems), CTX)
    return config, {p.key: p.reason for p in problems.items}


def test_lighting_config_reads_every_key() -> None:
    config, problems = _parse({
        "id": "street-main",
        "relay": "street-lights",
        "lux_sensor": "lux-roof",
        "on_below_lx": 25,
        "off_above_lx": 70.0,
        "confirm_s": 120,
        "sunset_offset_min": 10,
        "sunrise_offset_min": -15,
        "min_on_s": 600,
        "min_off_s": 240,
        "cutoff": {"default": "23:00-05:30", "sat": "00:30-05:30", "sun": "none"},
        "exceptions": [
            {"date": "2026-07-14", "cutoff": "none"},
            {"date": "2026-06-21", "cutoff": "02:00-05:00"},
        ],
    })
    assert problems == {}
    weekday, saturday = CutoffWindow(23 * 60, 5 * 60 + 30), CutoffWindow(30, 5 * 60 + 30)
    assert config == LightingConfig(
        id="street-main",
        relay="street-lights",
        lux_sensor="lux-roof",
        on_below_lx=25.0,
        off_above_lx=70.0,
        confirm_s=120.0,
        sunset_offset_min=10.0,
        sunrise_offset_min=-15.0,
        min_on_s=600.0,
        min_off_s=240.0,
        cutoff=CutoffSchedule(
            (weekday,) * 5 + (saturday, None),
            (CutoffException(date(2026, 7, 14), None), CutoffException(date(2026, 6, 21), CutoffWindow(120, 300))),
        ),
    )
    assert config.lux_input == "lux-roof.illuminance_lx"


def test_lighting_config_defaults() -> None:
    config, problems = _parse({"id": "street-main", "relay": "street-lights"})
    assert problems == {}
    assert config == LightingConfig("street-main", "street-lights")
    assert (config.on_below_lx, config.off_above_lx, config.confirm_s) == (30.0, 60.0, 180.0)
    assert (config.min_on_s, config.min_off_s) == (300.0, 300.0)
    assert config.cutoff.weekly == (None,) * 7
    assert config.lux_input is None


def test_lighting_config_names_unknown_relay_and_sensors() -> None:
    config, problems = _parse({"id": "street-main", "relay": "lamps", "lux_sensor": "hall-temp"})
    assert config is None
    assert problems == {
        "lighting[0].relay": "no relay 'lamps' under [[actuators]] (declared: street-lights)",
        "lighting[0].lux_sensor": "sensor 'hall-temp' is not a lux sensor: it gives no illuminance_lx (needs a bh1750 or veml7700)",
    }
    _, missing = _parse({"id": "street-main", "relay": "street-lights", "lux_sensor": "lux-attic"})
    assert missing == {
        "lighting[0].lux_sensor": "no sensor 'lux-attic' under [[sensors]] (declared: hall-temp, lux-roof)"
    }


def test_lighting_config_needs_off_threshold_above_on_threshold() -> None:
    config, problems = _parse({"id": "street-main", "relay": "street-lights", "on_below_lx": 50, "off_above_lx": 40})
    assert config is None
    assert problems == {"lighting[0].off_above_lx": "40 lx must be above on_below_lx (50 lx)"}


def test_lighting_config_names_bad_values() -> None:
    config, problems = _parse({
        "id": "Street Main",
        "relay": "street-lights",
        "confirm_s": -5,
        "sunset_offset_min": 300,
        "min_on_s": "5 min",
    })
    assert config is None
    assert set(problems) == {
        "lighting[0].id", "lighting[0].confirm_s", "lighting[0].sunset_offset_min", "lighting[0].min_on_s",
    }
    assert problems["lighting[0].confirm_s"] == "-5 s is out of range [0, 3600] s"
    assert problems["lighting[0].min_on_s"] == "expected a number, got a string '5 min'"


def test_lighting_config_names_bad_cutoff_windows_and_typos() -> None:
    config, problems = _parse({
        "id": "street-main",
        "relay": "street-lights",
        "cutoff": {"default": "23:00-05:30", "mon": "25:00-05:30", "tue": "23:00-23:00", "tues": "none"},
        "lightz": 1,
    })
    assert config is None
    assert problems["lighting[0].cutoff.mon"] == (
        "'25:00-05:30': '25:00' is not a time of day 'HH:MM' (00:00 to 23:59) (use 'HH:MM-HH:MM' or 'none')"
    )
    assert problems["lighting[0].cutoff.tue"].startswith("'23:00-23:00': a cut-off window cannot start and end")
    assert problems["lighting[0].cutoff.tues"] == "unknown key; did you mean 'tue'?"
    assert problems["lighting[0].lightz"].startswith("unknown key")


def test_lighting_config_names_bad_exceptions() -> None:
    config, problems = _parse({
        "id": "street-main",
        "relay": "street-lights",
        "exceptions": [
            {"date": "2026-07-14", "cutoff": "none"},
            {"date": "2026-07-14", "cutoff": "01:00-05:00"},
            {"date": "14/07/2026", "cutoff": "none"},
            {"date": "2026-08-15"},
        ],
    })
    assert config is None
    assert problems == {
        "lighting[0].exceptions[1].date": "the night of 2026-07-14 is already listed at lighting[0].exceptions[0]",
        "lighting[0].exceptions[2].date": "'14/07/2026' is not a date 'YYYY-MM-DD'",
        "lighting[0].exceptions[3].cutoff": "missing; expected 'HH:MM-HH:MM' or 'none'",
    }


def test_lighting_config_window_text_forms() -> None:
    assert parse_window("none") is None
    assert parse_window(" None ") is None
    assert str(parse_window("23:00 - 05:30")) == "23:00-05:30"
    with pytest.raises(Invalid):
        parse_window("23:00")
    with pytest.raises(ValueError):
        LightingConfig("x", "r", on_below_lx=60.0, off_above_lx=60.0)


def test_lighting_config_nights_are_named_after_their_evening() -> None:
    schedule = CutoffSchedule((CutoffWindow(23 * 60, 330),) * 5 + (CutoffWindow(30, 330), None))
    # Friday 23:30 is in Friday night's window; Saturday 23:30 is before Saturday night's 00:30 start.
    friday = schedule.active_at(datetime(2026, 1, 16, 23, 30))
    assert friday is not None and friday.night == date(2026, 1, 16)
    assert friday.describe() == "cut-off 23:00-05:30 (Friday night)"
    assert schedule.active_at(datetime(2026, 1, 17, 23, 30)) is None
    sunday_morning = schedule.active_at(datetime(2026, 1, 18, 1, 0))
    assert sunday_morning is not None and sunday_morning.night == date(2026, 1, 17)
    # Sunday night has no cut-off; Monday 05:00 is therefore lit.
    assert schedule.active_at(datetime(2026, 1, 19, 5, 0)) is None
    assert schedule.active_at(datetime(2026, 1, 19, 23, 0)) is not None
    assert schedule.active_at(datetime(2026, 1, 20, 5, 30)) is None
