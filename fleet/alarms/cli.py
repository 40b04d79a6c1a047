"""`hameau-fleet alarms list|show|ack`: the fleet's alarms on the command line (one-line errors, exit 2)."""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from fleet.alarms.ack import MIN_PREFIX, AlarmError, acknowledge, resolve
from fleet.alarms.model import KINDS, Alarm
from fleet.alarms.table import get_alarm, list_alarms
from fleet.cli_common import group_parser, opened, subcommand
from fleet.cli_common import when_s as when  # seconds: alarms are read to the second
from fleet.cli_users import user_scope
from fleet.store.db import Database
from fleet.tenants.communes import require_commune
from fleet.tenants.scope import Scope


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `alarms` and its subcommands to the command line."""
    group = group_parser(commands, "alarms", "the fleet's alarms: list, show, acknowledge")
    listing = subcommand(group, "list", "alarms: open ones first, critical first, then the latest", _list)
    listing.add_argument("--open", action="store_true", help="only the alarms still open")
    listing.add_argument("--device", default=None, help="only this device's alarms")
    listing.add_argument("--kind", default=None, choices=KINDS, help="only alarms of this kind")
    listing.add_argument("--commune", default=None, metavar="NAME", help="only the alarms of this commune's boxes")
    show = subcommand(group, "show", "one alarm in full: its evidence, its acknowledgement", _show)
    show.add_argument("id", metavar="ID", help="the alarm's id (or its first 6+ characters)")
    ack = subcommand(group, "ack", "acknowledge an alarm as a named user (the box's own alarm on the box too)", _ack)
    ack.add_argument("id", metavar="ID", help="the alarm's id (or its first 6+ characters)")
    ack.add_argument("--user", required=True, help="who acknowledges (a user of the fleet: hameau-fleet users)")
    ack.add_argument("--note", default=None, help="why, or what was done")


def _line(a: Alarm) -> str:
    acked = f"  acked by {a.acked_by}" if a.acked_by else ""
    count = f" x{a.count}" if a.count > 1 else ""
    return (f"{a.id[:12]}  {a.state:<7} {a.severity:<8} {a.device}  {a.kind} ({a.source}){count}"
            f"  {when(a.first_seen)} .. {when(a.last_seen)}{acked}\n    {a.message}")


def _list(args: argparse.Namespace) -> int:
    with opened(args) as db:
        alarms = list_alarms(db, open_only=args.open, device=args.device, kind=args.kind)
        if args.commune is not None:
            boxes = Scope(require_commune(db, args.commune).name).devices(db) or frozenset()
            alarms = [a for a in alarms if a.device in boxes]
    if args.json:
        print(json.dumps([a.to_dict() for a in alarms], indent=2, ensure_ascii=False))
    elif not alarms:
        print("no alarms" + (" open" if args.open else ""))
    else:
        print("\n".join(_line(a) for a in alarms))
    return 0


def _details(a: Alarm) -> list[str]:
    lines = [
        f"alarm {a.id}: {a.kind} from {a.source} on {a.device}, {a.severity}, {a.state}",
        f"  {a.message}",
        f"  first seen {when(a.first_seen)}, last seen {when(a.last_seen)}, {a.count} time(s)",
    ]
    if a.cleared_at is not None:
        lines.append(f"  cleared {when(a.cleared_at)}: {a.cleared_by}")
    if a.acked_by is not None:
        note = f": {a.ack_note}" if a.ack_note else ""
        lines.append(f"  acknowledged by {a.acked_by} at {when(a.acked_at)}{note}")
    if a.box_ref:
        sent = f" (command {a.ack_command})" if a.ack_command else ""
        lines.append(f"  the box's alarm {a.box_ref}{sent}")
    lines.append("  evidence: " + json.dumps(a.evidence, sort_keys=True, ensure_ascii=False))
    return lines


def _show(args: argparse.Namespace) -> int:
    with opened(args) as db:
        alarm = get_alarm(db, resolve(db, args.id))
    assert alarm is not None
    print(json.dumps(alarm.to_dict(), indent=2, ensure_ascii=False) if args.json else "\n".join(_details(alarm)))
    return 0


def resolve_in(db: Database, text: str, scope: Scope) -> str:
    """The alarm `text` names (its id or a unique 6+ prefix) among those of `scope`'s boxes: another commune's
    alarm is answered as one that does not exist."""
    if scope.service:
        return resolve(db, text)
    wanted = text.strip().lower()
    if len(wanted) < MIN_PREFIX:
        return resolve(db, text)  # the same refusal, which names no alarm
    condition, params = scope.device_sql("device")
    found = [] if any(ch not in "0123456789abcdef" for ch in wanted) else [str(r[0]) for r in db.query(
        f"SELECT id FROM alarms WHERE id LIKE ? AND {condition} ORDER BY id LIMIT 2", (wanted + "%", *params))]
    if not found:
        raise AlarmError(f"no alarm {text!r}")
    if len(found) > 1 and wanted not in found:
        raise AlarmError(f"alarm {text!r} is ambiguous ({', '.join(found)}...): give more characters")
    return wanted if wanted in found else found[0]


def _ack(args: argparse.Namespace) -> int:
    with opened(args) as db:
        alarm_id = resolve_in(db, args.id, user_scope(db, args.user))
        done = acknowledge(db, alarm_id, args.user, note=args.note, now=time.time())
    result: dict[str, Any] = {"alarm": done.alarm.to_dict(), "command": done.command_id}
    if args.json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
        return 0
    print(f"alarm {done.alarm.id} ({done.alarm.kind} on {done.alarm.device}) acknowledged by {args.user}")
    if done.command_id is not None:
        print(f"the box is told to acknowledge its alarm {done.alarm.box_ref} (command {done.command_id})")
    if done.alarm.state == "cleared":
        print(f"cleared: {done.alarm.cleared_by}")
    return 0
