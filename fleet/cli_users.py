"""Who acts on the command line: a user of the fleet (`users` table), not disabled, with a role that may."""

from __future__ import annotations

from collections.abc import Sequence

from fleet.alarms.ack import ACK_ROLES
from fleet.registry.groups import get_user
from fleet.registry.model import RegistryError, User
from fleet.store.db import Database
from fleet.tenants.scope import SERVICE, Scope

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


def user_scope(db: Database, name: str) -> Scope:
    """What a user acting on the command line may touch: their commune's things, or all for a service user and
    for a name that is no fleet user (the operator's shell account: the command's own checks speak for it)."""
    user = get_user(db, name)
    return SERVICE if user is None else Scope(user.commune)
