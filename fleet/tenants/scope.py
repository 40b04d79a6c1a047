"""Who sees what: a user of a commune sees and acts on that commune's boxes only; a service user on all.

Every read and every action that names a box, an alarm, a command, a user, a group or a commune goes through
a `Scope`. Something outside the scope is answered exactly as something that does not exist (a commune's user
cannot even learn that another commune's box id is taken).
"""

from __future__ import annotations

from dataclasses import dataclass

from fleet.registry.model import RegistryError
from fleet.store.db import Database


class OutOfScope(RegistryError):
    """A box, user, group, alarm or commune the acting user may not see: said as if it did not exist."""


@dataclass(frozen=True, slots=True)
class Scope:
    """The communes a user may see: one (`commune`), or every one and the service's own (`commune` None)."""

    commune: str | None = None

    @property
    def service(self) -> bool:
        """Whether this is the whole service's scope (an intercommunal user)."""
        return self.commune is None

    def sees_commune(self, name: str | None) -> bool:
        """Whether things of commune `name` (None: the service's own) are in scope."""
        return self.commune is None or name == self.commune

    def device_sql(self, column: str = "device") -> tuple[str, tuple[str, ...]]:
        """An SQL condition (with its parameters) keeping rows whose `column` is a box in scope; TRUE for all."""
        if self.commune is None:
            return "1 = 1", ()
        return f"{column} IN (SELECT device FROM registry WHERE commune = ?)", (self.commune,)

    def devices(self, db: Database) -> frozenset[str] | None:
        """The registered boxes in scope (revoked ones too), or None for every box."""
        if self.commune is None:
            return None
        rows = db.query("SELECT device FROM registry WHERE commune = ?", (self.commune,))
        return frozenset(str(r[0]) for r in rows)

    def sees_device(self, db: Database, device: str) -> bool:
        """Whether box `device` is in scope (an unregistered box: only the service's)."""
        if self.commune is None:
            return True
        row = db.one("SELECT commune FROM registry WHERE device = ?", (device,))
        return row is not None and row[0] == self.commune

    def require_device(self, db: Database, device: str) -> str:
        """`device` when in scope; OutOfScope worded as an unregistered box otherwise."""
        if not self.sees_device(db, device):
            raise OutOfScope(f"device {device[:80]!r} is not registered")
        return device

    def sees_user(self, db: Database, name: str) -> bool:
        """Whether user `name` is in scope (a commune's user never sees the service's users)."""
        if self.commune is None:
            return True
        row = db.one("SELECT commune FROM users WHERE name = ?", (name,))
        return row is not None and row[0] == self.commune

    def sees_group(self, db: Database, name: str) -> bool:
        """Whether group `name` is in scope."""
        if self.commune is None:
            return True
        row = db.one("SELECT commune FROM groups WHERE name = ?", (name,))
        return row is not None and row[0] == self.commune

    def sees_alarm(self, db: Database, alarm_id: str) -> bool:
        """Whether the alarm `alarm_id` is of a box in scope."""
        row = db.one("SELECT device FROM alarms WHERE id = ?", (alarm_id,))
        return row is not None and self.sees_device(db, str(row[0]))


#: The whole service's scope.
SERVICE = Scope(None)


def scope_of(db: Database, user: str) -> Scope:
    """The scope of a fleet user (RegistryError when unknown)."""
    row = db.one("SELECT commune FROM users WHERE name = ?", (user,))
    if row is None:
        raise RegistryError(f"no user {user[:80]!r}")
    return Scope(None if row[0] is None else str(row[0]))
