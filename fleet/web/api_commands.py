"""`/api/v1/devices/{device}/commands`: queue a command for a box (technician), list a box's commands.

A command is checked exactly as `hameau-fleet commands send` checks it: the same actions and arguments
(fleet/commands/cli.py), the same durations, the wire protocol's own rules (fleet/commands/queue.enqueue), and
the same user check, in one transaction.
"""

from __future__ import annotations

import argparse
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query

from fleet.cli_users import COMMAND_ROLES, acting_user
from fleet.commands import cli as commands_cli
from fleet.commands.queue import STATES, enqueue
from fleet.errors import FleetError
from fleet.store.db import Database
from fleet.web.accounts import Session
from fleet.web.api_fleet import registered
from fleet.web.api_models import CommandIn, CommandOut, ErrorOut
from fleet.web.auth import TECHNICIAN, VIEWER
from fleet.web.deps import WebContext, get_db, web_context

router = APIRouter(tags=["commands"])
#: What each action needs besides the device (the CLI's positionals and required options).
NEEDS = {"override": ("relay", "state", "for_"), "clear": ("relay",), "ack-alarm": ("alarm",)}
_FIELDS = {"relay": "relay", "state": "state", "for_": "for", "alarm": "alarm"}


def _duration_s(text: str, field: str) -> float:
    try:
        return commands_cli.duration_s(text)
    except argparse.ArgumentTypeError as error:
        raise HTTPException(status_code=400, detail=f"{field}: {error}") from None


def _namespace(command: CommandIn) -> argparse.Namespace:
    missing = [_FIELDS[name] for name in NEEDS.get(command.action, ()) if getattr(command, name) is None]
    if missing:
        raise HTTPException(status_code=400, detail=f"{command.action}: give {', '.join(missing)}")
    return argparse.Namespace(
        action=command.action, relay=command.relay, state=command.state, reason=command.reason, alarm=command.alarm,
        for_s=None if command.for_ is None else _duration_s(command.for_, "for"),
    )


@router.post("/api/v1/devices/{device}/commands", response_model=CommandOut, status_code=201,
             responses={400: {"model": ErrorOut}, 404: {"model": ErrorOut}})
def send(device: str, command: CommandIn, session: Annotated[Session, Depends(TECHNICIAN)],
         db: Annotated[Database, Depends(get_db)], ctx: Annotated[WebContext, Depends(web_context)]) -> CommandOut:
    """Queue a command for a box as the logged-in user; serve sends it before it expires."""
    registered(db, device, session.scope)
    args = _namespace(command)
    ttl_s = _duration_s(command.ttl, "ttl")
    try:
        with db.transaction() as tx:
            command_id = enqueue(tx, device, commands_cli.ACTIONS[command.action],
                                 commands_cli.command_args(args, session.user), created_by=session.user, now=ctx.now(),
                                 ttl_s=ttl_s)
            acting_user(tx, session.user, roles=COMMAND_ROLES, doing="send commands")
    except FleetError as error:
        raise HTTPException(status_code=400, detail=str(error)) from None
    stored = commands_cli.fetch(db, command_id)
    assert stored is not None
    return CommandOut.model_validate(stored)


@router.get("/api/v1/devices/{device}/commands", response_model=list[CommandOut], responses={404: {"model": ErrorOut}})
def commands(device: str, session: Annotated[Session, Depends(VIEWER)], db: Annotated[Database, Depends(get_db)],
             state: Annotated[str | None, Query(description=f"one of {', '.join(STATES)}")] = None,
             limit: Annotated[int, Query(ge=1, le=commands_cli.MAX_LIMIT)] = 50) -> list[CommandOut]:
    """A box's commands, newest first."""
    registered(db, device, session.scope)
    if state is not None and state not in STATES:
        raise HTTPException(status_code=400, detail=f"state {state!r}: expected one of {', '.join(STATES)}")
    where = " AND state = ?" if state is not None else ""
    rows = db.query(f"SELECT {', '.join(commands_cli.COLUMNS)} FROM commands WHERE device = ?{where}"
                    " ORDER BY created_at DESC, id LIMIT ?", (device, *((state,) if state is not None else ()), limit))
    return [CommandOut.model_validate(commands_cli.command_dict(row)) for row in rows]
