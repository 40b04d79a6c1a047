"""Technician overrides as controllers see them: the one that holds now, and expiries said once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from edge.controllers.base import Event, Override


def override_key(override: Override) -> str:
    """A stable name for one stored override (the same order set twice gives the same key)."""
    state = "on" if override.on else "off"
    return f"{override.relay}|{state}|{override.set_at.isoformat()}|{override.until.isoformat()}"


def fmt_local(at: datetime, zone: ZoneInfo, now: datetime) -> str:
    """A time at the box: 'HH:MM' within the next day, else 'YYYY-MM-DD HH:MM'."""
    local = at.astimezone(zone)
    if timedelta(0) <= at - now < timedelta(hours=24) or timedelta(0) <= now - at < timedelta(hours=24):
        return local.strftime("%H:%M")
    return local.strftime("%Y-%m-%d %H:%M")


def describe(override: Override, zone: ZoneInfo, now: datetime) -> str:
    """'override on by technician until 02:00' (with the technician's reason if given)."""
    text = f"override {'on' if override.on else 'off'} by {override.by} until {fmt_local(override.until, zone, now)}"
    return f"{text} ({override.reason})" if override.reason else text


@dataclass(frozen=True, slots=True)
class OverrideReview:
    """The override holding for a relay now, the events to log, and what to remember."""

    active: Override | None
    events: tuple[Event, ...]
    applied_key: str
    expired_reported: tuple[str, ...]


#: The review when no override is stored for the relay: nothing holds, nothing to say or remember.
NO_OVERRIDE = OverrideReview(None, (), "", ())


def review(
    relay: str,
    overrides: Mapping[str, Override],
    now: datetime,
    *,
    source: str,
    zone: ZoneInfo,
    applied_key: str,
    expired_reported: tuple[str, ...],
) -> OverrideReview:
    """Pick the override that holds now; say once when one starts to apply and when one expired.

    An expired override never holds: it is ignored, and reported with one "override" event.
    """
    if not overrides:
        return NO_OVERRIDE
    mine = [o for o in overrides.values() if o.relay == relay]
    events: list[Event] = []
    active = max((o for o in mine if o.active(now)), key=lambda o: o.set_at, default=None)
    reported: list[str] = []
    for override in mine:
        key = override_key(override)
        if now < override.until:
            continue
        reported.append(key)
        if key not in expired_reported:
            events.append(Event(
                "override",
                source,
                f"{describe(override, zone, now)} expired: back to automatic control",
                now,
                _data(override, active=False, expired=True),
            ))
    new_key = ""
    if active is not None:
        new_key = override_key(active)
        if new_key != applied_key:
            events.append(Event("override", source, f"{describe(active, zone, now)}: applied", now,
                                _data(active, active=True, expired=False)))
    return OverrideReview(active, tuple(events), new_key, tuple(sorted(reported)))


def _data(override: Override, *, active: bool, expired: bool) -> dict[str, object]:
    return {
        "relay": override.relay,
        "on": override.on,
        "until": override.until.isoformat(),
        "by": override.by,
        "active": active,
        "expired": expired,
    }
