"""Who acts on the command line: a user of the fleet (`users` table), not disabled, with a role that may."""

from __future__ import annotations

from collections.abc import Sequence

from fleet.alarms.ack import ACK_ROLES
from fleet.registry.groups import get_user
from fleet.registry.model import RegistryError, User
from fleet.store.db import Database

#: Who may send a command to a box: the same people as may acknowledge an alarm (a viewer only looks).
COMMAND_ROLES = ACK_ROLES


def acting_user(db: Database, name: str, *, roles: Sequence[str] | None = None, doing: str = "act") -> User:
    """The user `name`; RegistryError when unknown, disabled, or (with `roles`) of a role that may not."""
    user = get_user(db, name)
    if user is None:
        raise RegistryError(f"no user {name[:80]!r} (add one with hameau-fleet users add)")
    if user.disabled_at is not None:
        raise RegistryError(f"user {name!r} is disabled")
    if roles is not None and user.role not in roles:
        raise RegistryError(f"user {name!r} is a {user.role}: only a {' or '.join(roles)} may {doing}")
    return user
