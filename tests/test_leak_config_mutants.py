"""[[leak]] limits at their exact edges and the texts a technician reads: survivors of bench/mutation.py.

The limits are the configuration contract written out here: each key's range and unit, the defaults
of an omitted key (LeakConfig's documented ones), baseline_nights at least warmup_nights, and the
problem texts naming what is declared.
"""

from __future__ import annotations

from typing import Any

import pytest

from edge.config.model import DeviceConfig
from edge.config.reader import Problems, Table
from edge.controllers.fields import ConfigContext
from edge.controllers.leak.config import LeakConfig, parse_leak
from edge.parts.bh1750.config import BH1750Config
from edge.parts.pulse_meter.config import PulseMeterConfig
from edge.parts.relay.config import RelayConfig

CTX = ConfigContext(
    device=DeviceConfig("box", "Box", 45.187, 5.726, "Europe/Paris"),
    sensors={
        "water-main": PulseMeterConfig("water-main", "gpio", 60.0, 17, litres_per_pulse=1.0),
        "lux": BH1750Config("lux", "i2c1", 30.0),
    },
    relays={"main-valve": RelayConfig("main-valve", "gpio", 22), "pump": RelayConfig("pump", "gpio", 23)},
)
BASE = {"id": "leak-main", "meter": "water-main"}


def _parse(ctx: ConfigContext = CTX, **raw: Any) -> tuple[LeakConfig | None, dict[str, str]]:
    problems = Problems("box.toml")
    config = parse_leak(Table({**BASE, **raw}, "leak[0]", problems), ctx)
    return config, {p.key: p.reason for p in problems.items}


def test_leak_config_mutants_defaults_are_the_documented_ones() -> None:
    config, problems = _parse()
    assert problems == {}
    assert config == LeakConfig(id="leak-main", meter="water-main", meter_resolution_l=1.0)
    assert (config.verdict_delay_min, config.burst_min, config.max_gap_min, config.min_detectable_lph) == (15, 10, 15.0, 1.0)


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ({"meter_resolution_l": 0}, None),
        ({"meter_resolution_l": 1000}, None),
        ({"meter_resolution_l": -0.5}, ("meter_resolution_l", "-0.5 L is out of range [0, 1000] L")),
        ({"meter_resolution_l": 1000.5}, ("meter_resolution_l", "1000.5 L is out of range [0, 1000] L")),
        ({"verdict_delay_min": 1}, None),
        ({"verdict_delay_min": 180}, None),
        ({"verdict_delay_min": 0}, ("verdict_delay_min", "0 min is out of range [1, 180] min")),
        ({"verdict_delay_min": 181}, ("verdict_delay_min", "181 min is out of range [1, 180] min")),
        ({"verdict_delay_min": 2.5}, ("verdict_delay_min", None)),
        ({"bucket_min": 5}, None),
        ({"bucket_min": 240}, None),
        ({"bucket_min": 4}, ("bucket_min", "4 min is out of range [5, 240] min")),
        ({"bucket_min": 241}, ("bucket_min", "241 min is out of range [5, 240] min")),
        ({"warmup_nights": 3, "baseline_nights": 3}, None),
        ({"warmup_nights": 60, "baseline_nights": 120}, None),
        ({"warmup_nights": 2}, ("warmup_nights", "2 is out of range [3, 60]")),
        ({"warmup_nights": 61, "baseline_nights": 100}, ("warmup_nights", "61 is out of range [3, 60]")),
        ({"warmup_nights": 3, "baseline_nights": 2}, ("baseline_nights", "2 is out of range [3, 120]")),
        ({"baseline_nights": 121}, ("baseline_nights", "121 is out of range [3, 120]")),
        ({"night_burst_lph": 0}, ("night_burst_lph", "must be > 0, got 0")),
        ({"valve_relay": "Main Valve", "burst_lph": 900}, ("valve_relay", None)),
        ({"min_detectable_lph": 0}, ("min_detectable_lph", "must be > 0, got 0")),
        ({"cusum_k": 0}, None),
        ({"cusum_k": 10}, None),
        ({"cusum_k": -0.5}, ("cusum_k", "-0.5 is out of range [0, 10]")),
        ({"cusum_k": 10.5}, ("cusum_k", "10.5 is out of range [0, 10]")),
        ({"cusum_h": 0.5}, None),
        ({"cusum_h": 100}, None),
        ({"cusum_h": 0.4}, ("cusum_h", "0.4 is out of range [0.5, 100]")),
        ({"cusum_h": 100.5}, ("cusum_h", "100.5 is out of range [0.5, 100]")),
        ({"zero_flow_min": 5}, None),
        ({"zero_flow_min": 720}, None),
        ({"zero_flow_min": 4}, ("zero_flow_min", "4 min is out of range [5, 720] min")),
        ({"zero_flow_min": 721}, ("zero_flow_min", "721 min is out of range [5, 720] min")),
        ({"burst_min": 1}, None),
        ({"burst_min": 240}, None),
        ({"burst_min": 0}, ("burst_min", "0 min is out of range [1, 240] min")),
        ({"burst_min": 241}, ("burst_min", "241 min is out of range [1, 240] min")),
        ({"max_gap_min": 1}, None),
        ({"max_gap_min": 120}, None),
        ({"max_gap_min": 0.5}, ("max_gap_min", "0.5 min is out of range [1, 120] min")),
        ({"max_gap_min": 120.5}, ("max_gap_min", "120.5 min is out of range [1, 120] min")),
        ({"night_start": "05:00"}, ("night_end", "the night window is empty (night_start equals night_end)")),
        ({"meter": "Water Main"}, ("meter", None)),
    ],
)
def test_leak_config_mutants_limits(raw: dict[str, Any], problem: tuple[str, str | None] | None) -> None:
    config, problems = _parse(**raw)
    if problem is None:
        assert problems == {} and config is not None
        for key, value in raw.items():
            assert getattr(config, key) == value
    else:
        assert list(problems) == [f"leak[0].{problem[0]}"] and config is None
        if problem[1] is not None:
            assert problems[f"leak[0].{problem[0]}"] == problem[1]


def test_leak_config_mutants_texts_name_what_is_declared() -> None:
    _, problems = _parse(meter="water")
    assert problems == {"leak[0].meter": "no sensor 'water' under [[sensors]] (declared: lux, water-main)"}
    _, problems = _parse(meter="lux")
    assert problems == {"leak[0].meter": (
        "sensor 'lux' is not a water meter: it gives no 'volume_total_l' reading "
        "(a pulse_meter, or a modbus_meter with a register of that name)")}
    _, problems = _parse(valve_relay="valve", burst_lph=900)
    assert problems == {"leak[0].valve_relay": "no relay 'valve' under [[actuators]] (declared: main-valve, pump)"}
    _, problems = _parse(valve_relay="main-valve")
    assert problems == {"leak[0].valve_relay": (
        "a valve is closed only on a burst: set burst_lph (or night_burst_lph) too")}
    config, problems = _parse(valve_relay="main-valve", night_burst_lph=400)
    assert problems == {} and config is not None and config.night_burst_lph == 400
    bare = ConfigContext(device=CTX.device, sensors={}, relays={})
    _, problems = _parse(bare, valve_relay="valve", burst_lph=900)
    assert problems == {
        "leak[0].meter": "no sensor 'water-main' under [[sensors]] (declared: none declared)",
        "leak[0].valve_relay": "no relay 'valve' under [[actuators]] (declared: none declared)",
    }


def test_leak_config_mutants_a_wrong_meter_gives_no_resolution() -> None:
    # The resolution of a meter that is not one is 0 L, and an explicit one stands.
    _, problems = _parse(meter="lux", meter_resolution_l=2.0)
    assert list(problems) == ["leak[0].meter"]
    config, problems = _parse(meter_resolution_l=2.0)
    assert problems == {} and config is not None and config.meter_resolution_l == 2.0
