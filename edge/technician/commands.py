"""`hameau-edge status | relay | alarms | hydrant | valve`: the technician's commands on the box's local store."""

from __future__ import annotations

import argparse
import json
import os
import pwd
import sqlite3
import sys
from datetime import timedelta
from pathlib import Path

from edge.config.box import BoxConfig
from edge.config.loader import ConfigError, load_config
from edge.runtime.clock import SystemClock
from edge.runtime.lock import agent_holder
from edge.storage.device import device_refusal
from edge.storage.keeping import runtime_status_read
from edge.storage.place import runtime_status_path
from edge.storage.schema import NewerSchemaError
from edge.storage.store import Store
from edge.technician.render import render_alarms, render_status
from edge.technician.reports import (
    Liveness,
    UnknownRelayError,
    ack_alarm,
    alarms_report,
    parse_duration,
    set_relay,
    status_report,
)
from edge.technician.valve import add_valve_commands, run_valve_command

COMMANDS = frozenset({"status", "relay", "alarms", "hydrant", "valve"})
DEFAULT_CONFIG = "/etc/hameau/box.toml"
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_REFUSED = 3
SQLITE_MAX_INTEGER = 2**63 - 1


def _duration(text: str) -> timedelta:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _alarm_id(text: str) -> int:
    """An alarm number as `alarms` lists it (#ID): a positive integer SQLite can hold."""
    try:
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an alarm number (the #ID in the list)") from None
    if not 1 <= number <= SQLITE_MAX_INTEGER:
        raise argparse.ArgumentTypeError(f"{text} is not an alarm number: alarms are numbered from 1 up to {SQLITE_MAX_INTEGER}")
    return number


def add_technician_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add status, relay, alarms, hydrant and valve to `hameau-edge`'s subcommands."""
    config_help = f"the box's TOML config (default: $HAMEAU_CONFIG, else {DEFAULT_CONFIG})"

    status = subparsers.add_parser(
        "status", help="what the box sees and decides: sensors, controllers, relays, alarms",
        description="Show each sensor's last value, age and health, each controller's state and reason, each "
        "relay's state, who decided it and until when, latched alarms and the database size. Exit status 1 "
        "when the agent is not running.",
    )
    status.add_argument("--config", help=config_help)
    status.add_argument("--json", action="store_true", help="print one JSON object")

    relay = subparsers.add_parser(
        "relay", help="force a relay on or off for a while, or give it back to automatic control",
        description="Override a relay until an expiry (recorded as an event). Refused (exit status 3) while an "
        "interlock forbids it, e.g. frost protection or a valve closed after a burst.",
    )
    relay.add_argument("relay_id", metavar="ID", help="the relay's id in the config")
    relay.add_argument("action", choices=("on", "off", "auto"), help="on, off, or auto (remove the override)")
    relay.add_argument(
        "--for", dest="duration", type=_duration, default=timedelta(hours=1), metavar="DURATION",
        help="how long the override lasts: 90m, 2h, 1h30m, 3d (at most 7 days; default 1h)",
    )
    relay.add_argument("--reason", default="", help="why, in words (kept with the event)")
    relay.add_argument("--config", help=config_help)

    alarms = subparsers.add_parser(
        "alarms", help="list latched alarms, or acknowledge one: alarms ack ID",
        description="List latched alarms with their evidence; 'alarms ack ID' acknowledges one.",
    )
    alarms.add_argument("ack", nargs="?", choices=("ack",), help="acknowledge the alarm ID")
    alarms.add_argument(
        "alarm_id", nargs="?", type=_alarm_id, metavar="ID", help="the alarm's number (#ID in the list)"
    )
    alarms.add_argument("--json", action="store_true", help="print one JSON object")
    alarms.add_argument("--config", help=config_help)
    add_valve_commands(subparsers, config_help)


def _technician() -> str:
    """Who is at the keyboard, for events: the SSH user behind sudo if any."""
    name = os.environ.get("SUDO_USER") or os.environ.get("USER") or os.environ.get("LOGNAME")
    if not name:
        try:
            name = pwd.getpwuid(os.getuid()).pw_name
        except KeyError:
            name = str(os.getuid())
    return f"technician:{name}"


def run_technician(args: argparse.Namespace) -> int:
    """Run status, relay, alarms, hydrant or valve; return the exit status."""
    path = args.config or os.environ.get("HAMEAU_CONFIG") or DEFAULT_CONFIG
    try:
        config = load_config(path)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return EXIT_USAGE
    clock = SystemClock()
    db_path = config.agent.db_path
    refusal = device_refusal(db_path, config.device.id, config.path)
    if refusal is not None:  # a database belongs to one device
        print(refusal, file=sys.stderr)
        return EXIT_USAGE
    try:
        if args.command == "status":
            return _status(config, db_path, clock, as_json=args.json)
        if args.command == "alarms" and args.ack is None:
            return _list_alarms(config, db_path, clock, as_json=args.json)
        with Store(db_path, commit_interval_s=config.agent.commit_interval_s, monotonic=clock.monotonic) as store:
            if args.command == "relay":
                return _relay(store, config, args, clock)
            if args.command in ("hydrant", "valve"):
                return run_valve_command(store, config, args, clock.now(), _technician)
            return _ack(store, args.alarm_id, clock)
    except (sqlite3.Error, OSError, NewerSchemaError) as exc:
        print(f"cannot use the database {db_path}: {exc}", file=sys.stderr)
        return EXIT_FAILED


def _open_existing(db_path: Path, config: BoxConfig, clock: SystemClock) -> Store | None:
    """The store if the agent ever created it: reading must not create an empty database."""
    if not db_path.exists():
        return None
    return Store(db_path, commit_interval_s=config.agent.commit_interval_s, monotonic=clock.monotonic)


def _status(config: BoxConfig, db_path: Path, clock: SystemClock, *, as_json: bool) -> int:
    # The agent may be running without its database: its snapshot is then in RAM, and the file may not open.
    live = runtime_status_read(runtime_status_path(db_path))
    store, error = None, None
    try:
        store = _open_existing(db_path, config, clock)
    except (sqlite3.Error, OSError, NewerSchemaError) as exc:
        error = str(exc)
    try:
        report = status_report(store, config, clock.now(), live=live, db_error=error,
                               liveness=Liveness(agent_holder(db_path)))
    finally:
        if store is not None:
            store.close()
    print(json.dumps(report, ensure_ascii=False) if as_json else render_status(report))
    return EXIT_OK if report["agent"]["running"] else EXIT_FAILED


def _list_alarms(config: BoxConfig, db_path: Path, clock: SystemClock, *, as_json: bool) -> int:
    store = _open_existing(db_path, config, clock)
    try:
        report = alarms_report(store, config, clock.now())
    finally:
        if store is not None:
            store.close()
    print(json.dumps(report, ensure_ascii=False) if as_json else render_alarms(report))
    return EXIT_OK


def _relay(store: Store, config: BoxConfig, args: argparse.Namespace, clock: SystemClock) -> int:
    try:
        outcome = set_relay(
            store, config, args.relay_id, args.action, clock.now(),
            duration=args.duration, by=_technician(), reason=args.reason,
        )
    except UnknownRelayError as exc:
        print(exc, file=sys.stderr)
        return EXIT_USAGE
    if not outcome.accepted:
        print(outcome.message, file=sys.stderr)
        return EXIT_REFUSED
    print(outcome.message)
    return EXIT_OK


def _ack(store: Store, alarm_id: int | None, clock: SystemClock) -> int:
    if alarm_id is None:
        print("alarms ack needs the alarm's number: hameau-edge alarms ack ID", file=sys.stderr)
        return EXIT_USAGE
    alarm, was_latched = ack_alarm(store, alarm_id, _technician(), clock.now())
    if alarm is None:
        latched = ", ".join(f"#{a.id}" for a in store.latched_alarms()) or "none"
        print(f"no alarm #{alarm_id}; latched alarms: {latched}", file=sys.stderr)
        return EXIT_USAGE
    if not was_latched:
        print(f"alarm #{alarm_id} ({alarm.kind}) was already acknowledged by {alarm.acked_by}")
        return EXIT_OK
    print(f"alarm #{alarm_id} ({alarm.kind} from {alarm.source}) acknowledged; the agent clears it at its next tick")
    return EXIT_OK
