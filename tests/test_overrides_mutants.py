"""Override texts and memory, relay-controller plumbing: survivors of a mutation run (bench/mutation.py).

The README's contract, written out here: a technician reads the end of an override as 'HH:MM'
when it is within a day of now (either way), with its date otherwise; what a controller
remembers of overrides survives a restart, an absent key meaning nothing remembered.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from edge.config.model import DeviceConfig
from edge.controllers.lighting.config import CutoffSchedule, LightingConfig
from edge.controllers.lighting.controller import LightingController, LightingState
from edge.controllers.overrides import OverrideMemory, fmt_local

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 7, 14, 20, 0, tzinfo=UTC)  # 22:00 in Paris


@pytest.mark.parametrize(
    ("at", "shown"),
    [
        (NOW, "22:00"),
        (NOW + timedelta(hours=4), "02:00"),
        (NOW + timedelta(hours=23, minutes=59), "21:59"),
        (NOW + timedelta(hours=24), "2026-07-15 22:00"),
        (NOW + timedelta(hours=24, minutes=30), "2026-07-15 22:30"),
        (NOW - timedelta(hours=1), "21:00"),
        (NOW - timedelta(hours=23, minutes=59), "22:01"),
        (NOW - timedelta(hours=24), "2026-07-13 22:00"),
        (NOW - timedelta(hours=24, minutes=30), "2026-07-13 21:30"),
    ],
)
def test_overrides_end_time_is_short_within_a_day_either_way(at: datetime, shown: str) -> None:
    assert fmt_local(at, PARIS, NOW) == shown


def test_overrides_memory_keys_missing_from_an_older_state_mean_nothing_remembered() -> None:
    assert OverrideMemory.from_dict({"expired": ["a"]}) == OverrideMemory("", ("a",), ())
    assert OverrideMemory.from_dict({"applied": "k"}) == OverrideMemory("k", (), ())
    assert OverrideMemory.from_dict({"refused": ["b"]}) == OverrideMemory("", (), ("b",))
    memory = OverrideMemory("k", ("a",), ("b",))
    assert OverrideMemory.from_dict(json.loads(json.dumps(memory.to_dict()))) == memory


def test_overrides_relay_controller_state_json_and_jobs() -> None:
    device = DeviceConfig("box", "Box", 45.187, 5.726, "Europe/Paris")
    controller = LightingController(LightingConfig("street-main", "street-lights", None, cutoff=CutoffSchedule()), device)
    state = LightingState(mode="lux", reason="lux 5.0 lx below 30 lx for 3 min", on=True, changed_at_s=12.0)
    text = controller.state_to_json(state, json.dumps)
    assert json.loads(text) == controller.state_to_dict(state)
    assert controller.state_from_dict(json.loads(text)) == state
    with pytest.raises(KeyError, match="controller 'street-main' has no job 'nightly'"):
        controller.run_job("nightly", state, NOW)
