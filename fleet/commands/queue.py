"""Queue a command for a box: checked with the wire protocol's own rules, stored pending until serve sends it."""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Mapping
from typing import Any

from fleet import protocol
from fleet.errors import FleetError
from fleet.store.db import Database

#: Command states: pending (queued), sent (published), then the box's done/refused/failed, or expired unsent.
PENDING, SENT, DONE, REFUSED, FAILED, EXPIRED = "pending", "sent", "done", "refused", "failed", "expired"
STATES = (PENDING, SENT, DONE, REFUSED, FAILED, EXPIRED)
#: Longest time a command may wait to be sent and carried out: 7 days.
MAX_TTL_S = 7 * 86400.0


class CommandError(FleetError):
    """A command the fleet cannot queue (unknown action, bad args, bad device or expiry)."""


def check_command(device: str, action: str, args: Mapping[str, Any], expires_at: float, command_id: str) -> dict[str, Any]:
    """The args as the box will read them (protocol.parse_command's rules); CommandError saying why not."""
    message = protocol.Command(device, command_id, action, dict(args), expires_at).to_message()
    try:
        protocol.topic(device, "cmd")
        parsed = protocol.parse_command(device, protocol.encode(message))
    except (protocol.ProtocolError, TypeError, ValueError) as error:
        raise CommandError(f"command {action!r} for {device!r}: {error}") from None
    return dict(parsed.args)


def enqueue(
    db: Database,
    device: str,
    action: str,
    args: Mapping[str, Any],
    *,
    created_by: str,
    now: float,
    ttl_s: float,
) -> str:
    """Queue `action` for `device`, to be sent before now + ttl_s; its id. One INSERT: safe in a caller's transaction."""
    if not (isinstance(ttl_s, (int, float)) and math.isfinite(ttl_s) and 0 < ttl_s <= MAX_TTL_S):
        raise CommandError(f"ttl {ttl_s!r} s: must be > 0 and at most {MAX_TTL_S:g} s (7 days)")
    if not created_by:
        raise CommandError("created_by: say who asks (a user name, or the fleet part that queues it)")
    command_id = uuid.uuid4().hex
    expires_at = now + ttl_s
    checked = check_command(device, action, args, expires_at, command_id)
    db.execute(
        "INSERT INTO commands (id, device, action, args, created_by, created_at, expires_at, state)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (command_id, device, action, json.dumps(checked, sort_keys=True), created_by, now, expires_at, PENDING),
    )
    return command_id
