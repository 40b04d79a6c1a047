"""`hameau-fleet config set|unset|show`: desired config fragments per device or group, and desired against reported."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from fleet.cli_common import default_user, group_parser, opened, subcommand
from fleet.cli_users import user_scope
from fleet.configs.desired import Outcome, set_fragment, unset_fragment
from fleet.configs.view import config_state, describe
from fleet.errors import FleetError
from fleet.store.db import Database


def _target(parser: argparse.ArgumentParser) -> None:
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--device", metavar="ID", help="the fragment of one device (merged last, wins)")
    target.add_argument("--group", metavar="NAME", help="the fragment of a group (merged by group priority)")


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `config` and its subcommands."""
    sub = group_parser(commands, "config", "desired box configs: set, unset, show")
    set_ = subcommand(sub, "set", "set a TOML fragment (box config tables except [device] and [link])", _set)
    _target(set_)
    set_.add_argument("file", metavar="FILE", help="the TOML fragment")
    set_.add_argument("--user", default=None, help="who sets it (default: $USER)")
    unset = subcommand(sub, "unset", "remove a device's or a group's fragment", _unset)
    _target(unset)
    unset.add_argument("--user", default=None, help="who removes it (default: $USER)")
    show = subcommand(sub, "show", "a device's desired config (version, content) against what it reported", _show)
    show.add_argument("device", metavar="ID")


def _scope(args: argparse.Namespace) -> tuple[str, str]:
    return ("device", args.device) if args.device is not None else ("group", args.group)


def _check_reach(db: Database, user: str, scope: str, name: str, *, unset: bool) -> None:
    """A commune's user sets fragments of their commune's boxes and groups only: another's is unknown to them."""
    reach = user_scope(db, user)
    if reach.service or (reach.sees_device(db, name) if scope == "device" else reach.sees_group(db, name)):
        return
    if unset:
        raise FleetError(f"no config fragment for {scope} {name!r}")
    if scope == "group":
        raise FleetError(f"no group {name!r} in the registry: create it first")
    reach.require_device(db, name)


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
    by = args.user or default_user()
    with opened(args) as db:
        _check_reach(db, by, scope, name, unset=False)
        outcomes = set_fragment(db, scope, name, text, by=by, now=time.time())
    _report(outcomes, args.json)
    return 0


def _unset(args: argparse.Namespace) -> int:
    scope, name = _scope(args)
    by = args.user or default_user()
    with opened(args) as db:
        _check_reach(db, by, scope, name, unset=True)
        outcomes = unset_fragment(db, scope, name, by=by, now=time.time())
    _report(outcomes, args.json)
    return 0


def _show(args: argparse.Namespace) -> int:
    with opened(args) as db:
        state: dict[str, Any] | None = config_state(db, args.device)
    if state is None:
        raise FleetError(f"no config known for device {args.device!r} (none set, none reported)")
    print(json.dumps(state, sort_keys=True) if args.json else "\n".join(describe(state)))
    return 0
