"""`hameau-fleet notify outbox|retry`: the notification outbox on the command line (one-line errors, exit 2)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, NoReturn

from fleet.app import open_fleet
from fleet.errors import FleetError
from fleet.notify.outbox import counts
from fleet.notify.transport import redact_url
from fleet.store.db import Database

DB_HELP = ("store URL: sqlite:////abs/path.db or postgresql://USER@HOST/DB "
           "(default: fleet.db in $HAMEAU_FLEET_DATA or ~/.local/share/hameau-fleet)")
STATES = ("pending", "sent", "failed")
Run = Callable[[argparse.Namespace], int]


def _one_line(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    def error(message: str) -> NoReturn:
        print(f"{parser.prog}: {message}", file=sys.stderr)
        raise SystemExit(2)

    parser.error = error  # type: ignore[method-assign]
    return parser


def _sub(group: argparse._SubParsersAction, name: str, help_text: str, run: Run  # type: ignore[type-arg]
         ) -> argparse.ArgumentParser:
    parser = _one_line(group.add_parser(name, help=help_text, description=help_text))
    parser.add_argument("--db", default=None, metavar="URL", help=DB_HELP)
    parser.add_argument("--json", action="store_true", help="print JSON for scripts")

    def guarded(args: argparse.Namespace) -> int:
        try:
            return run(args)
        except FleetError as error:
            print(f"{parser.prog}: {error}", file=sys.stderr)
            return 2

    parser.set_defaults(run=guarded)
    return parser


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `notify` and its subcommands to the command line."""
    top = _one_line(commands.add_parser("notify", help="notifications: the outbox, retrying failed messages",
                                        description="Notifications: the outbox, retrying failed messages."))
    group = top.add_subparsers(dest="notify_command", metavar="SUBCOMMAND")
    outbox = _sub(group, "outbox", "messages queued, sent and given up on, newest first; counts per state",
                  _outbox)
    outbox.add_argument("--state", choices=STATES, default=None, help="only messages in this state")
    outbox.add_argument("--limit", type=int, default=50, help="at most this many messages (default 50)")
    retry = _sub(group, "retry", "send failed messages again (from a first attempt, now)", _retry)
    retry.add_argument("ids", nargs="*", metavar="ID", help="message ids (as `notify outbox` shows them)")
    retry.add_argument("--failed", action="store_true", help="every failed message")


@contextmanager
def _opened(args: argparse.Namespace) -> Iterator[Database]:
    store = open_fleet(args.db)
    try:
        yield store.db
    finally:
        store.close()


def _when(ts: float | None) -> str:
    return "-" if ts is None else datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _rows(db: Database, state: str | None, limit: int) -> list[dict[str, Any]]:
    where, params = ("WHERE state = ?", [state]) if state else ("", [])
    columns = ("id", "channel", "target", "kind", "subject", "state", "attempts", "next_attempt_at",
               "last_error", "created_at", "sent_at")
    rows = [dict(zip(columns, row, strict=True)) for row in db.query(
        f"SELECT {', '.join(columns)} FROM notify_outbox {where} ORDER BY created_at DESC, id LIMIT ?",
        (*params, limit))]
    for row in rows:
        if row["channel"] == "webhook":
            row["target"] = redact_url(row["target"])
    return rows


def _outbox(args: argparse.Namespace) -> int:
    if args.limit < 1:
        raise FleetError(f"--limit {args.limit}: must be 1 or more")
    with _opened(args) as db:
        rows = _rows(db, args.state, args.limit)
        totals = counts(db)
    by_state = {state: sum(n for (_, s), n in totals.items() if s == state) for state in STATES}
    if args.json:
        print(json.dumps({"counts": by_state, "messages": rows}, indent=2, ensure_ascii=False))
        return 0
    print(", ".join(f"{n} {state}" for state, n in by_state.items()))
    for r in rows:
        due = f", next {_when(r['next_attempt_at'])}" if r["state"] == "pending" else ""
        sent = f" {_when(r['sent_at'])}" if r["state"] == "sent" else ""
        print(f"{r['id']}  {r['state']}{sent}  {r['channel']} {r['target']}  {r['kind']}: {r['subject']}")
        print(f"    created {_when(r['created_at'])}, {r['attempts']} attempt(s){due}"
              + (f"; last error: {r['last_error']}" if r["last_error"] else ""))
    return 0


def _retry(args: argparse.Namespace) -> int:
    if not args.ids and not args.failed:
        raise FleetError("name message ids, or --failed for every failed message")
    now = time.time()
    with _opened(args) as db, db.transaction():
        ids = list(args.ids)
        for message_id in ids:
            state = db.scalar("SELECT state FROM notify_outbox WHERE id = ?", (message_id,))
            if state is None:
                raise FleetError(f"no message {message_id!r} in the outbox")
            if state != "failed":
                raise FleetError(f"message {message_id} is {state}, not failed")
        if args.failed:
            ids += [str(i) for (i,) in db.query("SELECT id FROM notify_outbox WHERE state = 'failed'")]
        db.executemany("UPDATE notify_outbox SET state = 'pending', attempts = 0, next_attempt_at = ?"
                       " WHERE id = ? AND state = 'failed'", [(now, i) for i in dict.fromkeys(ids)])
    done = list(dict.fromkeys(ids))
    print(json.dumps({"retried": done}) if args.json else f"{len(done)} message(s) queued again")
    return 0
