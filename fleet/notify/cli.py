"""`hameau-fleet notify outbox|retry`: the notification outbox on the command line (one-line errors, exit 2)."""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from fleet.cli_common import group_parser, opened, subcommand, when_s
from fleet.errors import FleetError
from fleet.notify.outbox import counts
from fleet.notify.transport import redact_url
from fleet.store.db import Database

STATES = ("pending", "sent", "failed")
MAX_LIMIT = 100_000


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `notify` and its subcommands to the command line."""
    group = group_parser(commands, "notify", "notifications: the outbox, retrying failed messages")
    outbox = subcommand(group, "outbox", "messages queued, sent and given up on, newest first; counts per state",
                        _outbox)
    outbox.add_argument("--state", choices=STATES, default=None, help="only messages in this state")
    outbox.add_argument("--limit", type=int, default=50, help="at most this many messages (default 50)")
    retry = subcommand(group, "retry", "send failed messages again (from a first attempt, now)", _retry)
    retry.add_argument("ids", nargs="*", metavar="ID", help="message ids (as `notify outbox` shows them)")
    retry.add_argument("--failed", action="store_true", help="every failed message")


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
    if not 1 <= args.limit <= MAX_LIMIT:
        raise FleetError(f"--limit {args.limit}: must be within 1..{MAX_LIMIT}")
    with opened(args) as db:
        rows = _rows(db, args.state, args.limit)
        totals = counts(db)
    by_state = {state: sum(n for (_, s), n in totals.items() if s == state) for state in STATES}
    if args.json:
        print(json.dumps({"counts": by_state, "messages": rows}, indent=2, ensure_ascii=False))
        return 0
    print(", ".join(f"{n} {state}" for state, n in by_state.items()))
    for r in rows:
        due = f", next {when_s(r['next_attempt_at'])}" if r["state"] == "pending" else ""
        sent = f" {when_s(r['sent_at'])}" if r["state"] == "sent" else ""
        print(f"{r['id']}  {r['state']}{sent}  {r['channel']} {r['target']}  {r['kind']}: {r['subject']}")
        print(f"    created {when_s(r['created_at'])}, {r['attempts']} attempt(s){due}"
              + (f"; last error: {r['last_error']}" if r["last_error"] else ""))
    return 0


def _retry(args: argparse.Namespace) -> int:
    if not args.ids and not args.failed:
        raise FleetError("name message ids, or --failed for every failed message")
    now = time.time()
    with opened(args) as db, db.transaction():
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
