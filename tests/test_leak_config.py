"""[[leak]] sections: values, defaults, meter resolution, and every mistake named by key."""

from __future__ import annotations

from datetime import time
from typing import Any

from drivers.registers import RegisterSpec
from edge.config.model import DeviceConfig
from edge.config.reader import Problems, Table
from edge.controllers.fields import ConfigContext
from edge.controllers.leak.config import LeakConfig, parse_leak
from edge.parts.bh1750.config import BH1750Config
from edge.parts.modbus_meter.config import ModbusMeterConfig
from edge.parts.pulse_meter.config import PulseMeterConfig
from edge.parts.relay.config import RelayConfig

CTX = ConfigContext(
    device=DeviceConfig("box", "Box", 45.187, 5.726, "Europe/Paris"),
    sensors={
        "water-main": PulseMeterConfig("water-main", "gpio", 60.0, 17, litres_per_pulse=1.0),
        "inlet": PulseMeterConfig("inlet", "gpio", 60.0, 18, pulses_per_litre=0.1),
        "modbus-water": ModbusMeterConfig(
            "modbus-water", "rs485", 60.0, 3, (RegisterSpec("volume_total_l", 0, "volume"),)
        ),
        "modbus-power": ModbusMeterConfig(
            "modbus-power", "rs485", 60.0, 4, (RegisterSpec("active_power_w", 0, "active_power"),)
        ),
        "lux": BH1750Config("lux", "i2c1", 30.0),
    },
    relays={"main-valve": RelayConfig("main-valve", "gpio", 22)},
)


def _parse(raw: dict[str, Any]) -> tuple[LeakConfig | None, dict[str, str]]:
    problems = Problems("box.toml")
    config = parse_leak(Table(raw, "leak[0]", problems), CTX)
    return config, {p.key: p.reason for p in problems.items}


def test_leak_config_reads_every_key() -> None:
    config, problems = _parse({
        "id": "leak-main", "meter": "water-main", "night_start": "00:30", "night_end": "04:30",
        "bucket_min": 30, "warmup_nights": 5, "baseline_nights": 21, "min_detectable_lph": 2.0,
        "cusum_k": 0.5, "cusum_h": 5.0, "continuous_flow": False, "zero_flow_min": 45, "burst_lph": 1500.0,
        "night_burst_lph": 600.0, "burst_min": 10, "valve_relay": "main-valve", "valve_closed_when": "off",
        "max_gap_min": 20.0,
    })
    assert problems == {}
    assert config == LeakConfig(
        id="leak-main", meter="water-main", night_start=time(0, 30), night_end=time(4, 30), bucket_min=30,
        warmup_nights=5, baseline_nights=21, min_detectable_lph=2.0, cusum_k=0.5, cusum_h=5.0,
        continuous_flow=False, zero_flow_min=45, burst_lph=1500.0, night_burst_lph=600.0, burst_min=10,
        valve_relay="main-valve", valve_closed_when="off", max_gap_min=20.0, meter_resolution_l=1.0,
    )
    assert config.input_key == "water-main.volume_total_l" and config.night_minutes == 240


def test_leak_config_defaults() -> None:
    config, problems = _parse({"id": "leak-main", "meter": "water-main"})
    assert problems == {} and config is not None
    assert (config.night_start, config.night_end, config.bucket_min) == (time(1, 0), time(5, 0), 60)
    assert (config.warmup_nights, config.baseline_nights, config.cusum_k, config.cusum_h) == (14, 42, 1.0, 4.0)
    assert config.continuous_flow and config.zero_flow_min == 60 and config.burst_lph is None
    assert config.valve_relay is None and config.valve_closed_when == "on"


def test_leak_config_meter_resolution_comes_from_the_meter() -> None:
    inlet, _ = _parse({"id": "leak-inlet", "meter": "inlet"})
    modbus, _ = _parse({"id": "leak-modbus", "meter": "modbus-water"})
    forced, _ = _parse({"id": "leak-forced", "meter": "modbus-water", "meter_resolution_l": 0.5})
    assert inlet is not None and inlet.meter_resolution_l == 10.0
    assert modbus is not None and modbus.meter_resolution_l == 0.0
    assert forced is not None and forced.meter_resolution_l == 0.5


def test_leak_config_night_across_midnight() -> None:
    config, problems = _parse({"id": "leak", "meter": "water-main", "night_start": "23:00", "night_end": "05:00"})
    assert problems == {} and config is not None and config.night_minutes == 360


def test_leak_config_unknown_meter_lists_sensors() -> None:
    _, problems = _parse({"id": "leak", "meter": "water-mian"})
    assert "no sensor 'water-mian'" in problems["leak[0].meter"] and "water-main" in problems["leak[0].meter"]


def test_leak_config_meter_must_be_a_water_meter() -> None:
    _, lux = _parse({"id": "leak", "meter": "lux"})
    _, power = _parse({"id": "leak", "meter": "modbus-power"})
    assert "not a water meter" in lux["leak[0].meter"]
    assert "'modbus-power' is not a water meter: it gives no 'volume_total_l' reading" in power["leak[0].meter"]


def test_leak_config_valve_must_exist_and_needs_a_burst_threshold() -> None:
    _, missing = _parse({"id": "leak", "meter": "water-main", "valve_relay": "vlave", "burst_lph": 900.0})
    _, no_burst = _parse({"id": "leak", "meter": "water-main", "valve_relay": "main-valve"})
    assert "no relay 'vlave'" in missing["leak[0].valve_relay"] and "main-valve" in missing["leak[0].valve_relay"]
    assert "set burst_lph" in no_burst["leak[0].valve_relay"]


def test_leak_config_bad_times_and_windows() -> None:
    _, bad_time = _parse({"id": "leak", "meter": "water-main", "night_start": "1:00"})
    _, empty = _parse({"id": "leak", "meter": "water-main", "night_start": "05:00"})
    _, uneven = _parse({"id": "leak", "meter": "water-main", "bucket_min": 45})
    assert "'1:00' is not a time of day 'HH:MM'" in bad_time["leak[0].night_start"]
    assert "empty" in empty["leak[0].night_end"]
    assert "240 min" in uneven["leak[0].bucket_min"] and "45 min" in uneven["leak[0].bucket_min"]


def test_leak_config_ranges_choices_and_typos() -> None:
    config, problems = _parse({
        "id": "Leak", "meter": "water-main", "cusum_h": 0.0, "valve_closed_when": "closed",
        "warmup_nights": 10, "baseline_nights": 8, "burst_lph": -1.0, "zero_flow_mins": 30,
    })
    assert config is None
    assert "lower-case" in problems["leak[0].id"]
    assert "out of range" in problems["leak[0].cusum_h"]
    assert "is not one of 'on', 'off'" in problems["leak[0].valve_closed_when"]
    assert "at least warmup_nights (10)" in problems["leak[0].baseline_nights"]
    assert "must be > 0" in problems["leak[0].burst_lph"]
    assert "did you mean 'zero_flow_min'" in problems["leak[0].zero_flow_mins"]


def test_leak_config_missing_keys() -> None:
    config, problems = _parse({})
    assert config is None
    assert set(problems) == {"leak[0].id", "leak[0].meter"}
