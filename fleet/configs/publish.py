"""Serve's job for desired configs and commands: recompute desired configs whose inputs changed, publish each
newer desired config retained (QoS 1) on hameau/v1/{device}/config, send pending commands (QoS 1, not retained)
on hameau/v1/{device}/cmd, and mark commands expired unsent.

Safe with several serve processes: a config is published under a per-device lock inside a transaction that
re-reads the row, and a command is claimed by an UPDATE ... WHERE state = 'pending' before it is published, so
each is published once per change (a retained config published twice would be harmless anyway).
"""

from __future__ import annotations

import json
import logging

from fleet import protocol
from fleet.commands.queue import EXPIRED, PENDING, SENT
from fleet.configs.desired import refresh_stale
from fleet.serve.jobs import Job, JobContext
from fleet.store.db import Database

LOG = logging.getLogger("hameau.fleet.configs")

#: How often serve looks for configs and commands to publish.
INTERVAL_S = 1.0
#: Most configs / commands published per turn (the rest wait for the next turn).
PER_TURN = 200
#: A command sent without a result by then is sent again (same id: the box carries out an id once, and says
#: so), until its expiry: the box was offline, or reconnecting, when it went, and commands are not retained.
RESEND_AFTER_S = 60.0


def config_payload(device: str, version: int, body: str | None) -> bytes:
    """The retained `config` payload the box parses (protocol.parse_config); empty clears the retained one."""
    if body is None:
        return b""
    return protocol.encode(protocol.Config(device, version, json.loads(body)).to_message())


def publish_configs(ctx: JobContext) -> int:
    """Publish every desired config newer than the one published; the number published."""
    db: Database = ctx.db
    due = db.query(
        "SELECT device FROM device_configs WHERE desired_version > coalesce(published_version, 0)"
        " ORDER BY device LIMIT ?",
        (PER_TURN,),
    )
    published = 0
    for (device,) in due:
        with db.transaction():
            db.lock(f"hameau-fleet-config:{device}")
            row = db.one(
                "SELECT desired_version, desired_body FROM device_configs WHERE device = ?"
                " AND desired_version > coalesce(published_version, 0)",
                (device,),
            )
            if row is None:
                continue  # another serve process published it meanwhile
            version, body = int(row[0]), row[1]
            ctx.publish(protocol.topic(device, "config"), config_payload(device, version, body), 1, True)
            db.execute(
                "UPDATE device_configs SET published_version = ?, published_at = ? WHERE device = ?",
                (version, ctx.now, device),
            )
            published += 1
            LOG.info("config v%d %s for %s", version, "published" if body else "cleared", device)
    return published


def publish_commands(ctx: JobContext) -> int:
    """Mark expired unsent commands expired, then claim and send pending ones; the number sent."""
    db: Database = ctx.db
    if db.scalar("SELECT count(*) FROM commands WHERE state = ? AND expires_at <= ?", (PENDING, ctx.now)):
        db.execute(  # reads first: no write (no SQLite write lock) on a turn with nothing to expire
            "UPDATE commands SET state = ?, done_at = ? WHERE state = ? AND expires_at <= ?",
            (EXPIRED, ctx.now, PENDING, ctx.now),
        )
    due = db.query(
        "SELECT id, device, action, args, expires_at FROM commands WHERE state = ? AND expires_at > ?"
        " ORDER BY created_at, id LIMIT ?",
        (PENDING, ctx.now, PER_TURN),
    )
    sent = 0
    for command_id, device, action, args, expires_at in due:
        with db.transaction():
            claimed = db.execute(
                "UPDATE commands SET state = ?, sent_at = ? WHERE id = ? AND state = ? AND expires_at > ?",
                (SENT, ctx.now, command_id, PENDING, ctx.now),
            ).rowcount
            if claimed != 1:
                continue  # another serve process sent it, or it expired meanwhile
            message = protocol.Command(device, command_id, action, json.loads(args), float(expires_at))
            ctx.publish(protocol.topic(device, "cmd"), protocol.encode(message.to_message()), 1, False)
            sent += 1
            LOG.info("command %s (%s) sent to %s", command_id, action, device)
    return sent + _resend(ctx)


def _resend(ctx: JobContext) -> int:
    """Send again the commands sent RESEND_AFTER_S ago or more that have no result yet and have not expired."""
    db: Database = ctx.db
    waiting = db.query(
        "SELECT id, device, action, args, expires_at, sent_at FROM commands WHERE state = ? AND expires_at > ?"
        " AND sent_at <= ? ORDER BY sent_at, id LIMIT ?",
        (SENT, ctx.now, ctx.now - RESEND_AFTER_S, PER_TURN),
    )
    sent = 0
    for command_id, device, action, args, expires_at, sent_at in waiting:
        with db.transaction():
            claimed = db.execute(
                "UPDATE commands SET sent_at = ? WHERE id = ? AND state = ? AND sent_at = ?",
                (ctx.now, command_id, SENT, sent_at),
            ).rowcount
            if claimed != 1:
                continue  # answered meanwhile, or another serve process sent it again
            message = protocol.Command(device, command_id, action, json.loads(args), float(expires_at))
            ctx.publish(protocol.topic(device, "cmd"), protocol.encode(message.to_message()), 1, False)
            sent += 1
            LOG.info("command %s (%s) sent again to %s: no result yet", command_id, action, device)
    return sent


def run(ctx: JobContext) -> None:
    """One turn: desired configs recomputed if their inputs changed, then configs and commands published."""
    refresh_stale(ctx.db, now=ctx.now)
    publish_configs(ctx)
    publish_commands(ctx)


def job() -> Job:
    """The job serve runs (fleet/app.py)."""
    return Job("configs-and-commands", INTERVAL_S, run)
