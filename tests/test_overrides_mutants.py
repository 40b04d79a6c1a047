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
from edge.controllers.events import Event
from edge.controllers.lighting.config import CutoffSchedule, LightingConfig
from edge.controllers.lighting.controller import LightingController, LightingState
from edge.controllers.overrides import Override, OverrideMemory, fmt_local, review

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


# What `review` says of each override, as the agent stores and sends it: the kind, who speaks (the
# controller), the technician's words (a valve's on and off named after the water: "close", "open"),
# and the data of the order as set in the test (relay, on, end, who), whether it holds now and whether
# it is over.
VALVE = ("close", "open")


def _order(on: bool, until: datetime, set_at: datetime, by: str = "technician") -> Override:
    return Override("inlet-valve", on, until, set_at, by=by)


def _data(order: Override, *, active: bool, expired: bool) -> dict[str, object]:
    return {"relay": "inlet-valve", "on": order.on, "until": order.until.isoformat(), "by": order.by,
            "active": active, "expired": expired}


def test_overrides_every_expired_order_is_reported_whatever_comes_before_it() -> None:
    holding_now = _order(False, NOW + timedelta(hours=4), NOW - timedelta(hours=1), by="mayor")
    over = _order(True, NOW - timedelta(hours=1), NOW - timedelta(hours=3))
    older = _order(False, NOW - timedelta(hours=2), NOW - timedelta(hours=5))
    elsewhere = Override("street-lights", True, NOW - timedelta(hours=1), NOW - timedelta(hours=2))
    orders = {"a": holding_now, "b": over, "c": elsewhere, "d": older}
    seen = review("inlet-valve", orders, NOW, source="leak-inlet", zone=PARIS, memory=OverrideMemory(), names=VALVE)
    assert seen.active == holding_now and seen.refused is None
    assert seen.events == (
        Event("override", "leak-inlet", "override open by technician until 21:00 expired: back to automatic control",
              NOW, _data(over, active=False, expired=True)),
        Event("override", "leak-inlet", "override close by technician until 20:00 expired: back to automatic control",
              NOW, _data(older, active=False, expired=True)),
        Event("override", "leak-inlet", "override close by mayor until 02:00: applied", NOW,
              _data(holding_now, active=True, expired=False)),
    )
    assert seen.memory == OverrideMemory(holding_now.key, tuple(sorted((over.key, older.key))), ())
    again = review("inlet-valve", orders, NOW + timedelta(minutes=1), source="leak-inlet", zone=PARIS,
                   memory=seen.memory, names=VALVE)
    assert again.events == () and again.active == holding_now


def test_overrides_expired_alone_leaves_nothing_applied() -> None:
    over = _order(True, NOW - timedelta(hours=1), NOW - timedelta(hours=3))
    seen = review("inlet-valve", {"b": over}, NOW, source="leak-inlet", zone=PARIS,
                  memory=OverrideMemory(applied=over.key))
    assert seen.active is None
    assert [e.reason for e in seen.events] == ["override on by technician until 21:00 expired: back to automatic control"]
    assert seen.memory == OverrideMemory("", (over.key,), ())


def test_overrides_an_order_an_interlock_forbids_is_refused_once_with_why() -> None:
    why = "burst alarm leak-inlet/burst latched: the valve stays closed until the alarm is acknowledged"
    opening = _order(True, NOW + timedelta(hours=4), NOW - timedelta(minutes=5))

    def interlock(order: Override) -> str:
        return why if order.on else ""  # this valve is closed with its relay off: on opens it

    seen = review("inlet-valve", {"a": opening}, NOW, source="leak-inlet", zone=PARIS, memory=OverrideMemory(),
                  interlock=interlock, names=VALVE)
    assert (seen.active, seen.refused) == (None, opening)
    assert seen.events == (
        Event("interlock", "leak-inlet", f"override open by technician until 02:00 refused: {why}", NOW,
              {**_data(opening, active=False, expired=False), "interlock": why}),
    )
    assert seen.memory == OverrideMemory("", (), (opening.key,))
    again = review("inlet-valve", {"a": opening}, NOW + timedelta(minutes=1), source="leak-inlet", zone=PARIS,
                   memory=seen.memory, interlock=interlock, names=VALVE)
    assert (again.events, again.refused, again.memory) == ((), opening, seen.memory)
