"""The fleet overview: each registered box with its place, groups, health, last contact and open alarms."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from fleet.registry.devices import list_devices
from fleet.registry.health import device_health
from fleet.registry.model import Device
from fleet.store.db import Database
from fleet.tenants.scope import SERVICE, Scope

SEVERITIES = ("critical", "warning", "info")


@dataclass(frozen=True, slots=True)
class BoxRow:
    """One box as the overview and the map show it (times are epoch seconds, None when unknown)."""

    device: str
    site: str
    latitude: float | None
    longitude: float | None
    groups: tuple[str, ...]
    state: str
    since: float | None
    #: The latest of the box's last status and its newest record's arrival.
    last_contact: float | None
    critical: int
    warning: int
    info: int
    revoked: bool

    @property
    def open_alarms(self) -> int:
        """Open alarms of every severity."""
        return self.critical + self.warning + self.info

    @property
    def health(self) -> str:
        """One word for colours: alarm (a critical alarm open), warning, ok, offline or unknown."""
        if self.critical:
            return "alarm"
        if self.state in ("offline", "revoked"):
            return "offline"
        if self.warning:
            return "warning"
        if self.state == "online":
            return "ok"
        return "unknown"


@dataclass(frozen=True, slots=True)
class Overview:
    """Every box, and the open alarms of the fleet by severity."""

    boxes: tuple[BoxRow, ...]
    critical: int
    warning: int
    info: int


def scoped_groups(db: Database, devices: Sequence[Device], scope: Scope) -> list[Device]:
    """The devices with only the groups `scope` sees (a commune's user: not the service's own groups)."""
    if scope.service:
        return list(devices)
    seen = {str(r[0]) for r in db.query("SELECT name FROM groups WHERE commune = ?", (scope.commune,))}
    return [replace(d, groups=tuple(g for g in d.groups if g in seen)) for d in devices]


def _open_by_severity(db: Database) -> dict[str, dict[str, int]]:
    rows = db.query("SELECT device, severity, count(*) FROM alarms WHERE state = 'open' GROUP BY device, severity")
    found: dict[str, dict[str, int]] = {}
    for device, severity, count in rows:
        found.setdefault(str(device), {})[str(severity)] = int(count)
    return found


def _latest(*times: float | None) -> float | None:
    known = [t for t in times if t is not None]
    return max(known) if known else None


def fleet_overview(db: Database, *, group: str | None = None, include_revoked: bool = False,
                   scope: Scope = SERVICE) -> Overview:
    """The registered boxes in `scope` (one group's when given), in id order, with their health and open alarms."""
    devices = scoped_groups(db, list_devices(db, group=group, include_revoked=include_revoked,
                                             commune=scope.commune), scope)
    health = {h.device: h for h in device_health(db, devices)}
    alarms = _open_by_severity(db)
    boxes = []
    for d in devices:
        h = health[d.device]
        counts = alarms.get(d.device, {})
        boxes.append(BoxRow(
            device=d.device, site=d.site, latitude=d.latitude, longitude=d.longitude, groups=d.groups,
            state=h.state, since=h.since, last_contact=_latest(h.last_seen, h.last_record_at),
            critical=counts.get("critical", 0), warning=counts.get("warning", 0), info=counts.get("info", 0),
            revoked=d.revoked_at is not None,
        ))
    return Overview(
        tuple(boxes), *(sum(getattr(b, s) for b in boxes) for s in SEVERITIES)
    )
