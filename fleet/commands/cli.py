"""`hameau-fleet commands send|list|show`: commands to boxes, with their expiry and their results."""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from edge.config.reader import Invalid, parse_duration
from fleet.cli_common import (
    default_user,
    group_parser,
    one_line_errors,
    opened,
    subcommand,
)
from fleet.cli_users import COMMAND_ROLES, acting_user
from fleet.commands.queue import STATES, enqueue
from fleet.configs.view import when
from fleet.errors import FleetError
from fleet.store.db import Database
from fleet.tenants.scope import Scope

#: The commands table's columns, in the order command_dict reads them.
COLUMNS = ("id", "device", "action", "args", "created_by", "created_at", "expires_at", "state", "result",
           "sent_at", "done_at")
#: CLI action names -> protocol actions.
SEND = "hameau-fleet commands send"
MAX_LIMIT = 100_000
ACTIONS = {"override": "override", "clear": "clear_override", "ack-alarm": "ack_alarm", "status": "status",
           "reload-config": "reload_config"}


def duration_s(text: str) -> float:
    """A duration ("90m", "3h", "1h30m") in seconds; an argparse error saying what is accepted."""
    try:
        return parse_duration(text).total_seconds()
    except Invalid as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `commands` and its subcommands."""
    sub = group_parser(commands, "commands", "commands to boxes: send, list, show")
    send = one_line_errors(sub.add_parser("send", help="queue a command; serve sends it before it expires"),
                           SEND)
    send.add_argument("device", metavar="ID")
    actions = send.add_subparsers(dest="action", metavar="ACTION", required=True)
    override = subcommand(actions, "override", "hold a relay on or off for a while", _send, prog=SEND)
    override.add_argument("relay", metavar="RELAY")
    override.add_argument("--state", required=True, choices=("on", "off"))
    override.add_argument("--for", dest="for_s", required=True, type=duration_s, metavar="DURATION",
                          help="how long the override holds, e.g. 2h, 90m (at most 7 days)")
    override.add_argument("--reason", default=None, help="why (kept in the box's audit trail)")
    clear = subcommand(actions, "clear", "end a relay override: the relay's controller decides again", _send,
                       prog=SEND)
    clear.add_argument("relay", metavar="RELAY")
    ack = subcommand(actions, "ack-alarm", "acknowledge an alarm latched on the box", _send, prog=SEND)
    ack.add_argument("alarm", metavar="ALARM",
                     help="the box's alarm number (hameau-edge alarms), or the latched alarm's key")
    subcommand(actions, "status", "ask for the box's status report", _send, prog=SEND)
    subcommand(actions, "reload-config", "make the agent re-read its configuration", _send, prog=SEND)
    for action in actions.choices.values():
        action.add_argument("--ttl", dest="ttl_s", type=duration_s, default=600.0, metavar="DURATION",
                            help="expire if not carried out within this (default 10m)")
        action.add_argument("--user", default=None,
                            help=f"who asks: a {' or '.join(COMMAND_ROLES)} of the fleet (default: $USER)")
    list_ = subcommand(sub, "list", "commands, newest first", _list)
    list_.add_argument("--device", metavar="ID", default=None)
    list_.add_argument("--state", choices=STATES, default=None)
    list_.add_argument("--limit", type=int, default=50, help=f"at most this many (1..{MAX_LIMIT}, default 50)")
    show = subcommand(sub, "show", "one command: its state and the box's result", _show)
    show.add_argument("command_id", metavar="CMDID")


def command_args(args: argparse.Namespace, user: str) -> dict[str, Any]:
    """The protocol arguments of a checked `commands send` (the API builds the same namespace)."""
    if args.action == "override":
        checked: dict[str, Any] = {"relay": args.relay, "state": args.state, "duration_s": args.for_s}
        if args.reason:
            checked["reason"] = args.reason
        return checked
    if args.action == "clear":
        return {"relay": args.relay}
    if args.action == "ack-alarm":
        which = {"alarm_id": int(args.alarm)} if args.alarm.isdigit() else {"key": args.alarm}
        return {**which, "by": user}
    return {}


def command_dict(row: tuple[Any, ...]) -> dict[str, Any]:
    """A commands row (COLUMNS) as plain data, its JSON columns decoded."""
    item = dict(zip(COLUMNS, row, strict=True))
    item["args"] = json.loads(item["args"])
    item["result"] = None if item["result"] is None else json.loads(item["result"])
    return item


def fetch(db: Database, command_id: str) -> dict[str, Any] | None:
    """One command as plain data."""
    row = db.one(f"SELECT {', '.join(COLUMNS)} FROM commands WHERE id = ?", (command_id,))
    return None if row is None else command_dict(row)


def _send(args: argparse.Namespace) -> int:
    user = args.user or default_user()
    now = time.time()
    with opened(args) as db:
        with db.transaction() as tx:  # the command is checked first, then who asks: both or nothing
            command_id = enqueue(tx, args.device, ACTIONS[args.action], command_args(args, user),
                                 created_by=user, now=now, ttl_s=args.ttl_s)
            who = acting_user(tx, user, roles=COMMAND_ROLES, doing="send commands")
            Scope(who.commune).require_device(tx, args.device)  # another commune's box: as if unregistered
        command = fetch(db, command_id)
    assert command is not None
    if args.json:
        print(json.dumps(command, sort_keys=True))
    else:
        print(f"{command_id}: {command['action']} for {args.device} queued, expires {when(command['expires_at'])}")
    return 0


def _summary(c: dict[str, Any]) -> str:
    result = c["result"]
    detail = "" if result is None else f": {str(result.get('detail', ''))[:120]}"
    return f"{c['id']}  {when(c['created_at'])}  {c['device']}  {c['action']}  {c['state']}{detail}"


def _list(args: argparse.Namespace) -> int:
    where, params = [], []
    if args.device:
        where.append("device = ?")
        params.append(args.device)
    if args.state:
        where.append("state = ?")
        params.append(args.state)
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    if not 1 <= args.limit <= MAX_LIMIT:
        raise FleetError(f"--limit {args.limit}: must be within 1..{MAX_LIMIT}")
    with opened(args) as db:
        rows = db.query(
            f"SELECT {', '.join(COLUMNS)} FROM commands{clause} ORDER BY created_at DESC, id LIMIT ?",
            (*params, args.limit),
        )
    items = [command_dict(row) for row in rows]
    if args.json:
        print(json.dumps(items, sort_keys=True))
    else:
        print("\n".join(_summary(c) for c in items) if items else "no commands")
    return 0


def _show(args: argparse.Namespace) -> int:
    with opened(args) as db:
        command = fetch(db, args.command_id)
    if command is None:
        raise FleetError(f"no command {args.command_id!r}")
    if args.json:
        print(json.dumps(command, sort_keys=True))
        return 0
    lines = [
        f"{command['id']}: {command['action']} {json.dumps(command['args'], sort_keys=True)} for {command['device']}",
        f"  state    {command['state']}",
        f"  asked    {when(command['created_at'])} by {command['created_by']}, expires {when(command['expires_at'])}",
        f"  sent     {when(command['sent_at'])}",
    ]
    result = command["result"]
    if result is not None:
        lines.append(f"  result   {result['status']} at {when(command['done_at'])}")
        detail = str(result.get("detail", ""))
        try:
            lines += ["    " + line for line in json.dumps(json.loads(detail), indent=2).splitlines()]
        except ValueError:
            lines.append(f"    {detail}")
    elif command["state"] == "expired":
        lines.append(f"  expired  {when(command['done_at'])}, never sent")
    print("\n".join(lines))
    return 0
