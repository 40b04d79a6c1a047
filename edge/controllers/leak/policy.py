"""A leak watch's valve policy: what a latched burst alarm does to the valve, and what stops it.

Pure logic, no I/O. Per watch (edge/controllers/leak/config.py):
- `valve_policy = "alarm_only"` (the default on a village inlet): a burst raises its alarm, the valve stays
  open, and one event says the closure was withheld by policy. `"close"` (the default on a building): the
  valve closes on the burst.
- `reopen_after_min` (default 60; 0 = never): a closure no technician confirmed reopens by itself after that
  long (the alarm stays latched until acknowledged). A technician's confirmation (`hameau-edge valve confirm`)
  keeps the valve closed until the alarm is acknowledged.
- Hydrant inhibit: while the key switch `hydrant_input` is active, for `hydrant_hold_min` after it is
  released, and while a technician's `hameau-edge hydrant` command holds, the valve is never closed: an open
  valve stays open (the burst alarm says so), a valve the burst closed reopens. Once the inhibit ends, the
  valve closes only if the burst flow is still there.
Technicians' orders reach the controller as overrides keyed `<watch>/hydrant` and `<watch>/confirm`
(order_key), stored like relay overrides; they never name a relay, so no relay follows them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from edge.controllers.events import Event
from edge.controllers.overrides import Override, fmt_local

HYDRANT = "hydrant"
CONFIRM = "confirm"
#: The reading a digital input (edge/parts/digital_input) gives: 1.0 while active, 0.0 otherwise.
ACTIVE_READING = "active"


def order_key(watch: str, what: str) -> str:
    """The override key of a technician's order to a watch ('water/hydrant'); relay ids never hold '/'."""
    return f"{watch}/{what}"


@dataclass(frozen=True, slots=True)
class PolicyParams:
    """One watch's valve policy, from its config."""

    watch: str
    relay: str
    close: bool
    reopen_after_s: float
    hold_s: float
    switch: str | None
    zone: ZoneInfo
    #: How long the flow must stay above the burst threshold (burst_min).
    burst_s: float = 600.0


@dataclass(frozen=True, slots=True)
class PolicyState:
    """What the policy remembers: the hydrant inhibit's sources and what it did about the latched burst."""

    #: The key switch as last read, and when it was released (the hold runs from then; None: no hold).
    switch_on: bool = False
    released_at: float | None = None
    #: The technician's hydrant command announced as started (its override key), and its end.
    command: str = ""
    command_until: float | None = None
    #: When the burst closed the valve (None: not closed by it), and when it reopened by itself.
    closed_at: float | None = None
    reopened_at: float | None = None
    #: Who confirmed the closure and when.
    confirmed_by: str = ""
    confirmed_at: float | None = None
    #: Why the closure was withheld for the latched burst: "policy", "hydrant" ("" : it was not).
    withheld: str = ""
    #: When the hydrant inhibit that withheld it ended: the burst must then hold burst_min again on its own.
    freed_at: float | None = None
    #: The last confirmation order handled (its override key).
    confirm_seen: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {name: getattr(self, name) for name in self.__slots__}

    @staticmethod
    def from_dict(data: Mapping[str, Any] | None) -> PolicyState:
        """Inverse of to_dict (nothing remembered when absent)."""
        if not data:
            return PolicyState()
        return PolicyState(**{k: data[k] for k in PolicyState.__slots__ if k in data})


def _event(kind: str, p: PolicyParams, what: str, reason: str, now: datetime, **data: Any) -> Event:
    return Event(kind, p.watch, reason, now, {"relay": p.relay, "policy": what, **data})


def _minutes(seconds: float) -> str:
    return f"{seconds / 60.0:.0f} min"


def observe(
    ps: PolicyState, p: PolicyParams, switch: bool | None, orders: Mapping[str, Override], now: datetime,
    events: list[Event],
) -> PolicyState:
    """Follow the inhibit's sources: the key switch (None: not readable now, kept as it was) and the command."""
    now_s = now.timestamp()
    s = ps
    if switch is not None and switch != s.switch_on:
        if switch:
            events.append(_event("interlock", p, "hydrant_started",
                                 f"hydrant inhibit started: key switch {p.switch} active; valve {p.relay} "
                                 "will not be closed", now, source="input"))
            s = replace(s, switch_on=True, released_at=None)
        else:
            until = fmt_local(datetime.fromtimestamp(now_s + p.hold_s, now.tzinfo), p.zone, now)
            events.append(_event("interlock", p, "hydrant_held",
                                 f"key switch {p.switch} released: hydrant inhibit held {_minutes(p.hold_s)} more, "
                                 f"until {until}", now, source="input"))
            s = replace(s, switch_on=False, released_at=now_s)
    if not s.switch_on and s.released_at is not None and now_s >= s.released_at + p.hold_s:
        events.append(_event("interlock", p, "hydrant_ended",
                             f"hydrant inhibit ended: key switch {p.switch} released {_minutes(now_s - s.released_at)} "
                             "ago", now, source="input"))
        s = replace(s, released_at=None)
    order = orders.get(order_key(p.watch, HYDRANT))
    current = order if order is not None and order.active(now) else None
    if s.command and (current is None or current.key != s.command):
        over = s.command_until is not None and now_s >= s.command_until
        why = "its period is over" if over else "withdrawn by a technician"
        events.append(_event("interlock", p, "hydrant_ended", f"hydrant inhibit by command ended: {why}", now,
                             source="command"))
        s = replace(s, command="", command_until=None)
    if current is not None and current.key != s.command:
        text = f"hydrant inhibit started by {current.by} until {fmt_local(current.until, p.zone, now)} (command)"
        text += f" ({current.reason})" if current.reason else ""
        events.append(_event("interlock", p, "hydrant_started", f"{text}; valve {p.relay} will not be closed", now,
                             source="command", by=current.by, until=current.until.isoformat()))
        s = replace(s, command=current.key, command_until=current.until.timestamp())
    return s


def inhibit_reason(ps: PolicyState, p: PolicyParams, now: datetime) -> str:
    """Why the valve may not be closed now ("" when it may): the hydrant in use, and by what."""
    now_s = now.timestamp()
    why = []
    if ps.switch_on:
        why.append(f"key switch {p.switch} active")
    elif ps.released_at is not None and now_s < ps.released_at + p.hold_s:
        until = datetime.fromtimestamp(ps.released_at + p.hold_s, now.tzinfo)
        why.append(f"key switch {p.switch} released, held until {fmt_local(until, p.zone, now)}")
    if ps.command and ps.command_until is not None:  # observe() ends it at command_until
        until = datetime.fromtimestamp(ps.command_until, now.tzinfo)
        why.append(f"technician's command until {fmt_local(until, p.zone, now)}")
    return f"hydrant in use ({'; '.join(why)})" if why else ""


def burst_note(ps: PolicyState, p: PolicyParams, now: datetime) -> str:
    """What a burst alarm raised now does to the valve, for the alarm's reason."""
    if not p.close:
        return f"; valve {p.relay} left open: valve policy is alarm only"
    inhibit = inhibit_reason(ps, p, now)
    return f"; valve {p.relay} left open: {inhibit}" if inhibit else f"; closing valve {p.relay}"


def held_closed(ps: PolicyState, p: PolicyParams) -> bool:
    """Whether the burst holds the valve closed now (what the interlock on opening overrides guards)."""
    return p.close and ps.closed_at is not None and ps.reopened_at is None


def _confirm(ps: PolicyState, p: PolicyParams, orders: Mapping[str, Override], now: datetime,
             events: list[Event]) -> PolicyState:
    order = orders.get(order_key(p.watch, CONFIRM))
    if order is None or order.key == ps.confirm_seen:
        return ps
    ps = replace(ps, confirm_seen=order.key)
    set_s = order.set_at.timestamp()
    if held_closed(ps, p) and ps.confirmed_at is None and ps.closed_at is not None and set_s >= ps.closed_at:
        events.append(_event("override", p, "confirmed",
                             f"closure of valve {p.relay} confirmed by {order.by}: it stays closed until the burst "
                             "alarm is acknowledged", now, by=order.by))
        return replace(ps, confirmed_by=order.by, confirmed_at=set_s)
    events.append(_event("override", p, "confirm_ignored",
                         f"confirmation by {order.by} ignored: valve {p.relay} is not held closed by a burst", now,
                         by=order.by))
    return ps


def _closed_why(ps: PolicyState, p: PolicyParams, now: datetime) -> str:
    if ps.confirmed_at is not None:
        return f"burst alarm latched; closure confirmed by {ps.confirmed_by}"
    if p.reopen_after_s > 0 and ps.closed_at is not None:
        due = fmt_local(datetime.fromtimestamp(ps.closed_at + p.reopen_after_s, now.tzinfo), p.zone, now)
        return f"burst alarm latched; reopens at {due} unless a technician confirms the closure"
    return "burst alarm latched"


def valve(
    ps: PolicyState, p: PolicyParams, burst_raised_at: float | None, above: tuple[float | None, float | None],
    orders: Mapping[str, Override], now: datetime, events: list[Event],
) -> tuple[PolicyState, bool, str]:
    """Whether the valve is closed now and why, for the burst alarm latched since `burst_raised_at` (or None).

    `above`: since when the flow has stayed at or above the burst threshold (None: it is not) and the time of
    the meter's latest sample. The valve closes once that has held burst_min, counted after a hydrant inhibit
    that withheld the closure (a flow averaged over a window lags: the hydrant's draw is not the burst's).
    """
    ps = _confirm(ps, p, orders, now, events)
    if burst_raised_at is None:
        if ps.closed_at is not None or ps.reopened_at is not None or ps.confirmed_at is not None or ps.withheld:
            ps = replace(ps, closed_at=None, reopened_at=None, confirmed_by="", confirmed_at=None, withheld="",
                         freed_at=None)
        inhibit = inhibit_reason(ps, p, now)
        return ps, False, f"no burst: water supply open; {inhibit}" if inhibit else "no burst: water supply open"
    now_s = now.timestamp()
    if not p.close:
        if ps.withheld != "policy":
            events.append(_event("decision", p, "withheld",
                                 f"closure of valve {p.relay} withheld by policy (valve_policy = alarm_only): "
                                 "burst alarm only", now))
            ps = replace(ps, withheld="policy")
        return ps, False, "burst alarm latched; closure withheld by policy (alarm only)"
    if ps.reopened_at is not None:
        return ps, False, (f"reopened automatically after {_minutes(p.reopen_after_s)} without a technician's "
                           "confirmation; burst alarm still latched")
    inhibit = inhibit_reason(ps, p, now)
    if ps.closed_at is not None:
        if inhibit:
            events.append(_event("interlock", p, "reopened_hydrant",
                                 f"valve {p.relay} reopened: {inhibit}; burst alarm still latched", now))
            ps = replace(ps, closed_at=None, confirmed_by="", confirmed_at=None, withheld="hydrant", freed_at=None)
            return ps, False, f"burst alarm latched; valve left open: {inhibit}"
        due_s = ps.closed_at + p.reopen_after_s
        if p.reopen_after_s > 0 and ps.confirmed_at is None and now_s >= due_s:
            events.append(_event("decision", p, "auto_reopened",
                                 f"valve {p.relay} reopened automatically after {_minutes(now_s - ps.closed_at)}: "
                                 "no technician confirmed the closure (burst alarm still latched)", now))
            return replace(ps, reopened_at=now_s), False, (
                f"reopened automatically after {_minutes(p.reopen_after_s)} without a technician's confirmation; "
                "burst alarm still latched")
        return ps, True, _closed_why(ps, p, now)
    if inhibit:
        if ps.withheld != "hydrant" or ps.freed_at is not None:
            events.append(_event("interlock", p, "left_open", f"valve {p.relay} left open: {inhibit}", now))
            ps = replace(ps, withheld="hydrant", freed_at=None)
        return ps, False, f"burst alarm latched; valve left open: {inhibit}"
    if ps.withheld == "hydrant" and ps.freed_at is None:
        events.append(_event("decision", p, "left_open",
                             f"hydrant inhibit over: valve {p.relay} left open; it closes if the burst flow holds "
                             f"{_minutes(p.burst_s)} from now (burst alarm still latched)", now))
        ps = replace(ps, freed_at=now_s)
    since, last_at = above
    if since is not None and ps.freed_at is not None:
        since = max(since, ps.freed_at)
    if since is not None and last_at is not None and last_at - since >= p.burst_s:
        ps = replace(ps, closed_at=now_s, withheld="", freed_at=None)
        return ps, True, _closed_why(ps, p, now)
    return ps, False, "burst alarm latched; no burst flow held since the hydrant inhibit: valve left open"
