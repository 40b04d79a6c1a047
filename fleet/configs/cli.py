"""`hameau-fleet config set|unset|show`: desired config fragments per device or group, and desired against reported."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fleet.app import open_fleet
from fleet.configs.desired import Outcome, set_fragment, unset_fragment
from fleet.configs.view import config_state, describe
from fleet.errors import FleetError


def default_user() -> str:
    """Who the CLI says acts when --user is not given: $USER, else "cli"."""
    return os.environ.get("USER") or "cli"


def add_db(parser: argparse.ArgumentParser) -> None:
    """The --db option every fleet command takes."""
    parser.add_argument("--db", default=None, help="store URL: sqlite:///path.db or postgresql://... "
                        "(default: fleet.db in $HAMEAU_FLEET_DATA or ~/.local/share/hameau-fleet)")


def _target(parser: argparse.ArgumentParser) -> None:
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--device", metavar="ID", help="the fragment of one device (merged last, wins)")
    target.add_argument("--group", metavar="NAME", help="the fragment of a group (merged by group priority)")


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `config` and its subcommands."""
    parser = commands.add_parser("config", help="desired box configs: set, unset, show")
    sub = parser.add_subparsers(dest="config_command", metavar="SUBCOMMAND", required=True)
    set_ = sub.add_parser("set", help="set a TOML fragment (box config tables except [device] and [link])")
    _target(set_)
    set_.add_argument("file", metavar="FILE", help="the TOML fragment")
    set_.add_argument("--user", default=None, help="who sets it (default: $USER)")
    set_.add_argument("--json", action="store_true", help="print the outcome as JSON")
    add_db(set_)
    set_.set_defaults(run=run_set)
    unset = sub.add_parser("unset", help="remove a device's or a group's fragment")
    _target(unset)
    unset.add_argument("--user", default=None, help="who removes it (default: $USER)")
    unset.add_argument("--json", action="store_true", help="print the outcome as JSON")
    add_db(unset)
    unset.set_defaults(run=run_unset)
    show = sub.add_parser("show", help="a device's desired config (version, content) against what it reported")
    show.add_argument("device", metavar="ID")
    show.add_argument("--json", action="store_true", help="print as JSON")
    add_db(show)
    show.set_defaults(run=run_show)


def guarded(name: str, action: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """Run `action`; a FleetError (or an unreadable file) is one line on stderr and exit status 2."""
    try:
        return action(args)
    except FleetError as error:
        print(f"hameau-fleet {name}: {error}", file=sys.stderr)
        return 2


def _scope(args: argparse.Namespace) -> tuple[str, str]:
    return ("device", args.device) if args.device is not None else ("group", args.group)


def _report(outcomes: list[Outcome], as_json: bool) -> None:
    if as_json:
        print(json.dumps([{"device": o.device, "version": o.version or None, "changed": o.changed,
                           "cleared": o.cleared} for o in outcomes]))
        return
    if not outcomes:
        print("no device reached (the group has no members yet)")
    for o in outcomes:
        if o.cleared:
            print(f"{o.device}: no fragment applies any more" + (
                f"; the retained config is cleared (v{o.version})" if o.changed else ""))
        else:
            print(f"{o.device}: desired config v{o.version}" + ("" if o.changed else " (unchanged)"))


def _set(args: argparse.Namespace) -> int:
    scope, name = _scope(args)
    try:
        text = Path(args.file).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise FleetError(f"{args.file}: cannot be read: {getattr(error, 'strerror', None) or error}") from None
    store = open_fleet(args.db)
    try:
        outcomes = set_fragment(store.db, scope, name, text, by=args.user or default_user(), now=time.time())
    finally:
        store.close()
    _report(outcomes, args.json)
    return 0


def _unset(args: argparse.Namespace) -> int:
    scope, name = _scope(args)
    store = open_fleet(args.db)
    try:
        outcomes = unset_fragment(store.db, scope, name, by=args.user or default_user(), now=time.time())
    finally:
        store.close()
    _report(outcomes, args.json)
    return 0


def _show(args: argparse.Namespace) -> int:
    store = open_fleet(args.db)
    try:
        state: dict[str, Any] | None = config_state(store.db, args.device)
    finally:
        store.close()
    if state is None:
        raise FleetError(f"no config known for device {args.device!r} (none set, none reported)")
    print(json.dumps(state, sort_keys=True) if args.json else "\n".join(describe(state)))
    return 0


def run_set(args: argparse.Namespace) -> int:
    """`config set`."""
    return guarded("config set", _set, args)


def run_unset(args: argparse.Namespace) -> int:
    """`config unset`."""
    return guarded("config unset", _unset, args)


def run_show(args: argparse.Namespace) -> int:
    """`config show`."""
    return guarded("config show", _show, args)
