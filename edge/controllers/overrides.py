"""Technician overrides, in one place: what one is, which holds now, what it says, and when it is refused.

Every controller reviews the overrides of its relays here (lighting, heating, the leak watch's valve),
the relay bank asks here who decided a relay, and the agent asks here which overrides expired.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from edge.controllers.events import Event

#: What "on" and "off" mean for most relays; a valve names them after what the water does.
ON_OFF: tuple[str, str] = ("off", "on")


@dataclass(frozen=True, slots=True)
class Override:
    """A technician's order for a relay until a given time."""

    relay: str
    on: bool
    until: datetime
    set_at: datetime
    by: str = "technician"
    reason: str = ""

    def active(self, now: datetime) -> bool:
        """Whether the override still holds at `now`."""
        return self.set_at <= now < self.until

    def over(self, now: datetime) -> bool:
        """Whether the override has expired by `now` (it will never hold again)."""
        return now >= self.until

    @property
    def key(self) -> str:
        """A stable name for this order (the same order set twice gives the same key)."""
        state = "on" if self.on else "off"
        return f"{self.relay}|{state}|{self.set_at.isoformat()}|{self.until.isoformat()}"


def override_key(override: Override) -> str:
    """`override.key` (kept for callers that map over overrides)."""
    return override.key


def holding(overrides: Mapping[str, Override], relay: str, now: datetime) -> Override | None:
    """The override that holds for a relay now (the latest set, if several), or None."""
    candidates = [o for o in overrides.values() if o.relay == relay and o.active(now)]
    return max(candidates, key=lambda o: o.set_at, default=None)


def expired(overrides: Mapping[str, Override], now: datetime) -> list[str]:
    """The relays whose stored override is over at `now` (for the agent to clear)."""
    return [relay for relay, override in overrides.items() if override.over(now)]


def fmt_local(at: datetime, zone: ZoneInfo, now: datetime) -> str:
    """A time at the box: 'HH:MM' within a day of now, else 'YYYY-MM-DD HH:MM'."""
    local = at.astimezone(zone)
    if timedelta(0) <= at - now < timedelta(hours=24) or timedelta(0) <= now - at < timedelta(hours=24):
        return local.strftime("%H:%M")
    return local.strftime("%Y-%m-%d %H:%M")


def describe(override: Override, zone: ZoneInfo, now: datetime, names: tuple[str, str] = ON_OFF) -> str:
    """'override on by technician until 02:00' (with the technician's reason if given)."""
    text = f"override {names[override.on]} by {override.by} until {fmt_local(override.until, zone, now)}"
    return f"{text} ({override.reason})" if override.reason else text


@dataclass(frozen=True, slots=True)
class OverrideMemory:
    """What a controller remembers of its overrides, so each is announced once."""

    #: The override last announced as applied.
    applied: str = ""
    #: Expired overrides already reported.
    expired: tuple[str, ...] = ()
    #: Overrides already refused by an interlock.
    refused: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"applied": self.applied, "expired": list(self.expired), "refused": list(self.refused)}

    @staticmethod
    def from_dict(data: Mapping[str, Any] | None) -> OverrideMemory:
        """Inverse of to_dict (nothing remembered when absent)."""
        if not data:
            return OverrideMemory()
        return OverrideMemory(
            str(data.get("applied", "")), tuple(data.get("expired", ())), tuple(data.get("refused", ()))
        )


@dataclass(frozen=True, slots=True)
class OverrideReview:
    """The override a controller follows now, the one it refuses if any, the events to log, what to remember."""

    active: Override | None
    refused: Override | None
    events: tuple[Event, ...]
    memory: OverrideMemory


#: The review when no override is stored for the relay: nothing holds, nothing to say or remember.
NO_OVERRIDE = OverrideReview(None, None, (), OverrideMemory())


def review(
    relay: str,
    overrides: Mapping[str, Override],
    now: datetime,
    *,
    source: str,
    zone: ZoneInfo,
    memory: OverrideMemory,
    interlock: Callable[[Override], str] | None = None,
    names: tuple[str, str] = ON_OFF,
) -> OverrideReview:
    """Pick the override that holds now, unless an interlock refuses it; say each thing once.

    `interlock(override)` gives the reason a safety rule forbids that override now ("" if none):
    the override is then not followed and one "interlock" event says so. An expired override never
    holds: it is ignored, and reported with one "override" event.
    """
    if not overrides:
        return NO_OVERRIDE
    mine = [o for o in overrides.values() if o.relay == relay]
    events: list[Event] = []
    reported: list[str] = []
    for override in mine:
        if not override.over(now):
            continue
        reported.append(override.key)
        if override.key not in memory.expired:
            events.append(Event(
                "override", source, f"{describe(override, zone, now, names)} expired: back to automatic control",
                now, _data(override, active=False, expired=True),
            ))
    current = holding(overrides, relay, now)
    present = {o.key for o in mine}
    refused_keys = tuple(k for k in memory.refused if k in present)
    why = interlock(current) if current is not None and interlock is not None else ""
    active: Override | None = None
    refused: Override | None = None
    applied = ""
    if current is not None and why:
        refused = current
        if current.key not in refused_keys:
            refused_keys = (*refused_keys, current.key)
            events.append(Event(
                "interlock", source, f"{describe(current, zone, now, names)} refused: {why}", now,
                {**_data(current, active=False, expired=False), "interlock": why},
            ))
    elif current is not None:
        active, applied = current, current.key
        if applied != memory.applied:
            events.append(Event("override", source, f"{describe(current, zone, now, names)}: applied", now,
                                _data(current, active=True, expired=False)))
    kept = OverrideMemory(applied, tuple(sorted(reported)), refused_keys)
    return OverrideReview(active, refused, tuple(events), memory if kept == memory else kept)


def _data(override: Override, *, active: bool, expired: bool) -> dict[str, object]:
    return {
        "relay": override.relay,
        "on": override.on,
        "until": override.until.isoformat(),
        "by": override.by,
        "active": active,
        "expired": expired,
    }
