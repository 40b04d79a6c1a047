"""`hameau-fleet commands send|list|show`: commands to boxes, with their expiry and their results."""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from typing import Any

from edge.config.reader import Invalid, parse_duration
from fleet.app import open_fleet
from fleet.commands.queue import STATES, enqueue
from fleet.configs.cli import add_db, default_user, guarded
from fleet.configs.view import when
from fleet.errors import FleetError
from fleet.store.db import Database

_COLUMNS = ("id", "device", "action", "args", "created_by", "created_at", "expires_at", "state", "result",
            "sent_at", "done_at")
#: CLI action names -> protocol actions.
ACTIONS = {"override": "override", "clear": "clear_override", "ack-alarm": "ack_alarm", "status": "status",
           "reload-config": "reload_config"}


def _duration_s(text: str) -> float:
    try:
        return parse_duration(text).total_seconds()
    except Invalid as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `commands` and its subcommands."""
    parser = commands.add_parser("commands", help="commands to boxes: send, list, show")
    sub = parser.add_subparsers(dest="commands_command", metavar="SUBCOMMAND", required=True)
    send = sub.add_parser("send", help="queue a command; serve sends it before it expires")
    send.add_argument("device", metavar="ID")
    actions = send.add_subparsers(dest="action", metavar="ACTION", required=True)
    override = actions.add_parser("override", help="hold a relay on or off for a while")
    override.add_argument("relay", metavar="RELAY")
    override.add_argument("--state", required=True, choices=("on", "off"))
    override.add_argument("--for", dest="for_s", required=True, type=_duration_s, metavar="DURATION",
                          help="how long the override holds, e.g. 2h, 90m (at most 7 days)")
    override.add_argument("--reason", default=None, help="why (kept in the box's audit trail)")
    clear = actions.add_parser("clear", help="end a relay override: the relay's controller decides again")
    clear.add_argument("relay", metavar="RELAY")
    ack = actions.add_parser("ack-alarm", help="acknowledge an alarm latched on the box")
    ack.add_argument("alarm", metavar="ALARM",
                     help="the box's alarm number (hameau-edge alarms), or the latched alarm's key")
    actions.add_parser("status", help="ask for the box's status report")
    actions.add_parser("reload-config", help="make the agent re-read its configuration")
    for action in actions.choices.values():
        action.add_argument("--ttl", dest="ttl_s", type=_duration_s, default=600.0, metavar="DURATION",
                            help="expire if not carried out within this (default 10m)")
        action.add_argument("--user", default=None, help="who asks (default: $USER)")
        action.add_argument("--json", action="store_true", help="print the command as JSON")
        add_db(action)
        action.set_defaults(run=run_send)
    list_ = sub.add_parser("list", help="commands, newest first")
    list_.add_argument("--device", metavar="ID", default=None)
    list_.add_argument("--state", choices=STATES, default=None)
    list_.add_argument("--limit", type=int, default=50)
    list_.add_argument("--json", action="store_true")
    add_db(list_)
    list_.set_defaults(run=run_list)
    show = sub.add_parser("show", help="one command: its state and the box's result")
    show.add_argument("command_id", metavar="CMDID")
    show.add_argument("--json", action="store_true")
    add_db(show)
    show.set_defaults(run=run_show)


def _args(args: argparse.Namespace, user: str) -> dict[str, Any]:
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


def _as_dict(row: tuple[Any, ...]) -> dict[str, Any]:
    item = dict(zip(_COLUMNS, row, strict=True))
    item["args"] = json.loads(item["args"])
    item["result"] = None if item["result"] is None else json.loads(item["result"])
    return item


def fetch(db: Database, command_id: str) -> dict[str, Any] | None:
    """One command as plain data."""
    row = db.one(f"SELECT {', '.join(_COLUMNS)} FROM commands WHERE id = ?", (command_id,))
    return None if row is None else _as_dict(row)


def _send(args: argparse.Namespace) -> int:
    user = args.user or default_user()
    now = time.time()
    store = open_fleet(args.db)
    try:
        command_id = enqueue(store.db, args.device, ACTIONS[args.action], _args(args, user),
                             created_by=user, now=now, ttl_s=args.ttl_s)
        command = fetch(store.db, command_id)
    finally:
        store.close()
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
    store = open_fleet(args.db)
    try:
        rows = store.db.query(
            f"SELECT {', '.join(_COLUMNS)} FROM commands{clause} ORDER BY created_at DESC, id LIMIT ?",
            (*params, max(1, args.limit)),
        )
    finally:
        store.close()
    items = [_as_dict(row) for row in rows]
    if args.json:
        print(json.dumps(items, sort_keys=True))
    else:
        print("\n".join(_summary(c) for c in items) if items else "no commands")
    return 0


def _show(args: argparse.Namespace) -> int:
    store = open_fleet(args.db)
    try:
        command = fetch(store.db, args.command_id)
    finally:
        store.close()
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


def _run(name: str, action: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    return lambda args: guarded(name, action, args)


run_send = _run("commands send", _send)
run_list = _run("commands list", _list)
run_show = _run("commands show", _show)
