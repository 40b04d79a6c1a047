"""`hameau-edge hydrant | valve confirm`: a technician's orders to a leak watch's valve policy, on the store.

They are stored as overrides keyed `<watch>/hydrant` and `<watch>/confirm` (edge/controllers/leak/policy.py),
the way relay overrides are: committed at once with their event, and read by the agent at its next tick.
"""

from __future__ import annotations

import argparse
import sys
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from edge.config.box import BoxConfig
from edge.controllers.events import Event
from edge.controllers.leak.config import LeakConfig
from edge.controllers.leak.policy import CONFIRM, HYDRANT, order_key
from edge.controllers.overrides import Override
from edge.storage.store import Store
from edge.technician.times import (
    age_s,
    format_duration,
    parse_bounded_duration,
    parse_time,
)

MIN_HYDRANT = timedelta(minutes=1)
MAX_HYDRANT = timedelta(days=7)
DEFAULT_HYDRANT = timedelta(hours=3)
#: How long a confirmation waits in the store for the agent (it reads it at its next tick, or when it starts).
CONFIRM_KEPT = timedelta(days=1)
EXIT_OK, EXIT_USAGE, EXIT_REFUSED = 0, 2, 3


class UnknownWatchError(ValueError):
    """The name is neither a leak watch with a valve nor its valve relay."""


@dataclass(frozen=True, slots=True)
class ValveOutcome:
    """What the command did: accepted or refused, and what to tell the technician."""

    watch: str
    accepted: bool
    message: str


def parse_hydrant_duration(text: str) -> timedelta:
    """'90m', '3h', '2d': at least a minute and at most 7 days."""
    return parse_bounded_duration(text, MIN_HYDRANT, MAX_HYDRANT, what="a hydrant inhibit",
                                  examples="90m, 3h or 1d", least_words="minute", most_words="7 days")


def find_watch(config: BoxConfig, name: str) -> LeakConfig:
    """The leak watch with a valve named `name`, or whose valve relay is `name`."""
    watches = [w for w in config.leak if w.valve_relay is not None]
    for watch in watches:
        if name in (watch.id, watch.valve_relay):
            return watch
    known = ", ".join(f"{w.id} (valve {w.valve_relay})" for w in watches) or "none"
    raise UnknownWatchError(f"no leak watch with a valve named {name!r}; watches with a valve: {known}")


def set_hydrant(
    store: Store, config: BoxConfig, name: str, action: str, now: datetime, *,
    duration: timedelta = DEFAULT_HYDRANT, by: str = "technician", reason: str = "",
) -> ValveOutcome:
    """Forbid closing a watch's valve for `duration` ('on'), or lift that order early ('off')."""
    watch = find_watch(config, name)
    key = order_key(watch.id, HYDRANT)
    if action == "off":
        removed = store.clear_override(key, now, by)
        if removed is None:
            return ValveOutcome(watch.id, True, f"{watch.id} had no hydrant inhibit by command")
        return ValveOutcome(watch.id, True, f"hydrant inhibit on {watch.id} lifted: valve {watch.valve_relay} "
                                            "may close again on a burst")
    if not MIN_HYDRANT <= duration <= MAX_HYDRANT:
        raise ValueError("a hydrant inhibit lasts at least a minute and at most 7 days")
    store.set_override(Override(key, True, now + duration, now, by, reason or "hydrant in use"))
    until = (now + duration).astimezone(zoneinfo.ZoneInfo(config.device.timezone))
    return ValveOutcome(watch.id, True, f"valve {watch.valve_relay} of {watch.id} will not be closed until "
                                        f"{until:%a %d %b %H:%M %Z} (hydrant in use, for "
                                        f"{format_duration(duration.total_seconds())})")


def confirm_closure(store: Store, config: BoxConfig, name: str, now: datetime, *, by: str = "technician",
                    reason: str = "") -> ValveOutcome:
    """Keep a valve a burst closed shut until its alarm is acknowledged (no automatic reopening).

    Refused when the agent's last snapshot shows the valve not held closed by a burst.
    """
    watch = find_watch(config, name)
    relay = watch.valve_relay
    snapshot = store.load_status() or {}
    if not (snapshot.get("interlocks") or {}).get(relay or ""):
        seen = parse_time(snapshot.get("at"))
        when = "" if seen is None else f" (agent's snapshot of {format_duration(age_s(seen, now) or 0)} ago)"
        message = f"refused: valve {relay} of {watch.id} is not held closed by a burst{when}: nothing to confirm"
        store.add_event_now(Event("override", by, f"closure confirmation of {relay} {message}", now,
                                  {"action": "refused", "relay": relay, "watch": watch.id}))
        return ValveOutcome(watch.id, False, message)
    store.set_override(Override(order_key(watch.id, CONFIRM), True, now + CONFIRM_KEPT, now, by,
                                reason or "closure confirmed"))
    return ValveOutcome(watch.id, True, f"closure of valve {relay} confirmed: it stays closed until the burst "
                                        f"alarm of {watch.id} is acknowledged")


def _hydrant_duration(text: str) -> timedelta:
    try:
        return parse_hydrant_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_valve_commands(subparsers: argparse._SubParsersAction, config_help: str) -> None:
    """Add hydrant and valve to `hameau-edge`'s subcommands."""
    hydrant = subparsers.add_parser(
        "hydrant", help="a hydrant is in use: forbid closing a leak watch's valve for a while",
        description="While it holds, a burst raises its alarm but never closes the valve (a valve it closed "
        "reopens). 'off' lifts it early. Recorded as an event.",
    )
    hydrant.add_argument("target", metavar="WATCH", help="the leak watch's id, or its valve relay's")
    hydrant.add_argument("action", nargs="?", choices=("on", "off"), default="on", help="on (default) or off")
    hydrant.add_argument(
        "--for", dest="duration", type=_hydrant_duration, default=DEFAULT_HYDRANT, metavar="DURATION",
        help="how long: 90m, 3h, 1d (at least 1 minute, at most 7 days; default 3h)",
    )
    hydrant.add_argument("--reason", default="", help="why, in words (kept with the event)")
    hydrant.add_argument("--config", help=config_help)
    valve = subparsers.add_parser(
        "valve", help="valve confirm WATCH: keep a valve a burst closed shut until the alarm is acknowledged",
        description="Confirm a closure: the valve does not reopen by itself after reopen_after_min. Refused "
        "(exit status 3) when the valve is not held closed by a burst.",
    )
    valve.add_argument("action", choices=("confirm",), help="confirm the closure")
    valve.add_argument("target", metavar="WATCH", help="the leak watch's id, or its valve relay's")
    valve.add_argument("--reason", default="", help="why, in words (kept with the event)")
    valve.add_argument("--config", help=config_help)


def run_valve_command(store: Store, config: BoxConfig, args: argparse.Namespace, now: datetime,
                      technician: Callable[[], str]) -> int:
    """Run hydrant or valve confirm on an open store; the exit status."""
    try:
        if args.command == "hydrant":
            outcome = set_hydrant(store, config, args.target, args.action, now, duration=args.duration,
                                  by=technician(), reason=args.reason)
        else:
            outcome = confirm_closure(store, config, args.target, now, by=technician(), reason=args.reason)
    except UnknownWatchError as exc:
        print(exc, file=sys.stderr)
        return EXIT_USAGE
    if not outcome.accepted:
        print(outcome.message, file=sys.stderr)
        return EXIT_REFUSED
    print(outcome.message)
    return EXIT_OK
