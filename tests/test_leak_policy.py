"""The valve policy alone (edge/controllers/leak/policy.py): what a latched burst does to the valve, and what stops it.

Times are written in the scenario: a burst latched at 03:10 local, reopen_after_min 60, hydrant_hold_min 20.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from edge.controllers.events import Event
from edge.controllers.leak.policy import (
    CONFIRM,
    HYDRANT,
    PolicyParams,
    PolicyState,
    burst_note,
    held_closed,
    inhibit_reason,
    observe,
    order_key,
    valve,
)
from edge.controllers.overrides import Override

PARIS = ZoneInfo("Europe/Paris")
T0 = datetime(2026, 11, 8, 3, 10, tzinfo=PARIS)
MIN = timedelta(minutes=1)


def _params(*, close: bool = True, reopen_min: float = 60, hold_min: float = 20) -> PolicyParams:
    """burst_min 10."""
    return PolicyParams("leak-main", "main-valve", close, reopen_min * 60.0, hold_min * 60.0, "fire-key", PARIS,
                        600.0)


def _order(what: str, set_at: datetime, minutes: float = 60, by: str = "technician:anne") -> dict[str, Override]:
    key = order_key("leak-main", what)
    return {key: Override(key, True, set_at + timedelta(minutes=minutes), set_at, by)}


def _valve(ps: PolicyState, p: PolicyParams, now: datetime, *, burst: bool = True,
           above_since: datetime | None = T0 - 10 * MIN,
           orders: dict[str, Override] | None = None) -> tuple[PolicyState, bool, str, list[Event]]:
    """The burst latched at T0 (or none), the flow above its threshold since `above_since` (None: not above)."""
    events: list[Event] = []
    above = (None if above_since is None else above_since.timestamp(), now.timestamp())
    found, closed, why = valve(ps, p, T0.timestamp() if burst else None, above, orders or {}, now, events)
    return found, closed, why, events


def _kinds(events: list[Event]) -> list[str]:
    return [e.data["policy"] for e in events]


def test_leak_policy_alarm_only_leaves_the_valve_open_and_says_so_once() -> None:
    p = _params(close=False)
    ps, closed, why, events = _valve(PolicyState(), p, T0)
    assert not closed and "withheld by policy" in why
    assert _kinds(events) == ["withheld"] and events[0].kind == "decision"
    ps, closed, _, events = _valve(ps, p, T0 + 3 * MIN)
    assert not closed and events == []
    assert burst_note(ps, p, T0) == "; valve main-valve left open: valve policy is alarm only"
    assert not held_closed(ps, p)


def test_leak_policy_close_reopens_after_reopen_after_min_unless_confirmed() -> None:
    p = _params(reopen_min=60)
    ps, closed, why, events = _valve(PolicyState(), p, T0)
    assert closed and held_closed(ps, p) and events == []
    assert "reopens at 04:10 unless a technician confirms" in why
    ps, closed, _, events = _valve(ps, p, T0 + 60 * MIN - timedelta(seconds=1))
    assert closed and events == []
    ps, closed, why, events = _valve(ps, p, T0 + 60 * MIN)
    assert not closed and _kinds(events) == ["auto_reopened"] and "after 60 min" in events[0].reason
    assert not held_closed(ps, p)
    # Still latched and still flowing: the policy acted once for this alarm.
    ps, closed, _, events = _valve(ps, p, T0 + 120 * MIN)
    assert not closed and events == []


def test_leak_policy_confirmation_keeps_the_valve_closed_until_the_alarm_is_cleared() -> None:
    p = _params(reopen_min=60)
    ps, closed, _, _ = _valve(PolicyState(), p, T0)
    orders = _order(CONFIRM, T0 + 20 * MIN)
    ps, closed, why, events = _valve(ps, p, T0 + 21 * MIN, orders=orders)
    assert closed and _kinds(events) == ["confirmed"] and events[0].kind == "override"
    assert "confirmed by technician:anne" in why
    ps, closed, _, events = _valve(ps, p, T0 + 7 * 24 * 60 * MIN, orders=orders)
    assert closed and events == []
    ps, closed, why, events = _valve(ps, p, T0 + 7 * 24 * 60 * MIN, burst=False, orders=orders)
    assert not closed and why == "no burst: water supply open" and ps.closed_at is None and ps.confirmed_at is None


def test_leak_policy_confirmation_before_the_closure_or_after_a_reopening_is_ignored() -> None:
    p = _params(reopen_min=60)
    early = _order(CONFIRM, T0 - MIN)
    ps, closed, _, events = _valve(PolicyState(), p, T0, orders=early)
    assert closed and _kinds(events) == ["confirm_ignored"]
    ps, closed, _, events = _valve(ps, p, T0 + 60 * MIN, orders=early)
    assert not closed and _kinds(events) == ["auto_reopened"]
    ps, closed, _, events = _valve(ps, p, T0 + 61 * MIN, orders=_order(CONFIRM, T0 + 61 * MIN))
    assert not closed and _kinds(events) == ["confirm_ignored"]


def test_leak_policy_reopen_after_zero_never_reopens() -> None:
    p = _params(reopen_min=0)
    ps, closed, why, _ = _valve(PolicyState(), p, T0)
    assert closed and why == "burst alarm latched"
    ps, closed, _, events = _valve(ps, p, T0 + 30 * 24 * 60 * MIN)
    assert closed and events == []


def test_leak_policy_key_switch_inhibits_closing_and_holds_after_release() -> None:
    p = _params(hold_min=20)
    events: list[Event] = []
    on_at, off_at = T0 - 10 * MIN, T0 + 30 * MIN
    ps = observe(PolicyState(), p, True, {}, on_at, events)
    assert _kinds(events) == ["hydrant_started"] and events[0].data["source"] == "input"
    assert inhibit_reason(ps, p, T0) == "hydrant in use (key switch fire-key active)"
    assert burst_note(ps, p, T0) == "; valve main-valve left open: hydrant in use (key switch fire-key active)"
    ps, closed, _, events = _valve(ps, p, T0)
    assert not closed and _kinds(events) == ["left_open"] and events[0].kind == "interlock"
    events = []
    ps = observe(ps, p, False, {}, off_at, events)
    assert _kinds(events) == ["hydrant_held"] and "held 20 min more, until 04:00" in events[0].reason
    events = []
    ps = observe(ps, p, None, {}, off_at + 20 * MIN - timedelta(seconds=1), events)  # unreadable: kept
    assert events == [] and "held until 04:00" in inhibit_reason(ps, p, off_at + 19 * MIN)
    ps, closed, _, events = _valve(ps, p, off_at + 19 * MIN)
    assert not closed and events == []
    ps = observe(ps, p, False, {}, off_at + 20 * MIN, events)
    assert _kinds(events) == ["hydrant_ended"] and inhibit_reason(ps, p, off_at + 20 * MIN) == ""
    # The burst still flows: it must hold burst_min on its own after the inhibit before the valve closes.
    ps, closed, _, events = _valve(ps, p, off_at + 20 * MIN)
    assert not closed and _kinds(events) == ["left_open"] and "holds 10 min from now" in events[0].reason
    ps, closed, _, events = _valve(ps, p, off_at + 30 * MIN - timedelta(seconds=1))
    assert not closed and events == []
    ps, closed, _, events = _valve(ps, p, off_at + 30 * MIN)
    assert closed and events == []


def test_leak_policy_after_the_inhibit_a_burst_no_longer_flowing_leaves_the_valve_open() -> None:
    p = _params(hold_min=0)
    events: list[Event] = []
    ps = observe(PolicyState(), p, True, {}, T0 - MIN, events)
    ps, closed, _, _ = _valve(ps, p, T0)
    ps = observe(ps, p, False, {}, T0 + 30 * MIN, events)
    assert _kinds(events)[-2:] == ["hydrant_held", "hydrant_ended"]
    ps, closed, why, events = _valve(ps, p, T0 + 30 * MIN, above_since=None)
    assert not closed and _kinds(events) == ["left_open"] and "no burst flow held" in why
    ps, closed, _, events = _valve(ps, p, T0 + 50 * MIN, above_since=None)
    assert not closed and events == []
    back = T0 + 60 * MIN  # the burst comes back: closed once it has held burst_min
    ps, closed, _, events = _valve(ps, p, back + 10 * MIN - timedelta(seconds=1), above_since=back)
    assert not closed and events == []
    ps, closed, _, events = _valve(ps, p, back + 10 * MIN, above_since=back)
    assert closed and events == []


def test_leak_policy_hydrant_command_reopens_a_closed_valve_until_its_period_is_over() -> None:
    p = _params(reopen_min=0)
    ps, closed, _, _ = _valve(PolicyState(), p, T0)
    orders = _order(HYDRANT, T0 + 5 * MIN, minutes=30)
    events: list[Event] = []
    ps = observe(ps, p, None, orders, T0 + 5 * MIN, events)
    assert _kinds(events) == ["hydrant_started"] and events[0].data["source"] == "command"
    assert "until 03:45" in events[0].reason
    ps, closed, _, events = _valve(ps, p, T0 + 5 * MIN, orders=orders)
    assert not closed and _kinds(events) == ["reopened_hydrant"]
    events = []
    ps = observe(ps, p, None, orders, T0 + 35 * MIN - timedelta(seconds=1), events)
    assert events == [] and inhibit_reason(ps, p, T0 + 34 * MIN) != ""
    ps = observe(ps, p, None, orders, T0 + 35 * MIN, events)
    assert _kinds(events) == ["hydrant_ended"] and "its period is over" in events[0].reason
    ps, closed, _, _ = _valve(ps, p, T0 + 35 * MIN, orders=orders)
    assert not closed
    ps, closed, _, _ = _valve(ps, p, T0 + 45 * MIN, orders=orders)
    assert closed


def test_leak_policy_hydrant_command_withdrawn_ends_the_inhibit() -> None:
    p = _params()
    events: list[Event] = []
    ps = observe(PolicyState(), p, None, _order(HYDRANT, T0, minutes=180), T0, events)
    ps = observe(ps, p, None, {}, T0 + 10 * MIN, events)
    assert _kinds(events) == ["hydrant_started", "hydrant_ended"] and "withdrawn" in events[1].reason
    started = observe(PolicyState(), p, None, _order(HYDRANT, T0, minutes=180), T0, [])
    assert _valve(started, p, T0 + MIN, burst=False)[2] == (
        "no burst: water supply open; hydrant in use (technician's command until 06:10)")
    assert inhibit_reason(ps, p, T0 + 10 * MIN) == ""


def test_leak_policy_state_round_trips_through_json_ready_form() -> None:
    p = _params()
    ps, _, _, _ = _valve(PolicyState(), p, T0, orders=_order(CONFIRM, T0))
    assert PolicyState.from_dict(ps.to_dict()) == ps
    assert PolicyState.from_dict(None) == PolicyState()
    assert ps.closed_at == T0.timestamp() and ps.confirm_seen
