"""Serve's Home Assistant job: publish each entity's discovery config (retained) when it is new or changed, its
state when a newer record came in, each box's availability from its online status; and clear them all (empty
retained payloads) once the box is revoked.

Safe with several serve processes: every publish is claimed first by an UPDATE conditioned on what was read
(`... IS NOT DISTINCT FROM` the old digest, seq or availability) inside a transaction holding a per-device lock,
so one process publishes each change (a retained message published twice would be harmless anyway).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any

from fleet.homeassistant.discovery import DeviceInfo, config, digest, encode
from fleet.homeassistant.entities import OFFLINE, ONLINE, Entity, Topics
from fleet.homeassistant.known import UNKNOWN, add_desired_relays
from fleet.homeassistant.settings import HomeAssistantSettings
from fleet.serve.jobs import Job, JobContext
from fleet.store.db import Database

LOG = logging.getLogger("hameau.fleet.homeassistant")

#: Held (PostgreSQL advisory lock, per device) while a box's messages are claimed and published.
LOCK = "hameau-fleet-homeassistant"
#: Most devices handled per turn (the rest wait for the next turn).
PER_TURN = 500

_ROWS = (
    "SELECT e.device, e.component, e.source, e.name, e.seq, e.value, e.published_seq, e.config_digest,"
    " r.site, r.revoked_at, d.version, d.online, h.availability"
    " FROM ha_entities e"
    " LEFT JOIN registry r ON r.device = e.device"
    " LEFT JOIN devices d ON d.id = e.device"
    " LEFT JOIN ha_devices h ON h.device = e.device"
    " ORDER BY e.device, e.component, e.source, e.name"
)
_KEY = "device = ? AND component = ? AND source = ? AND name = ?"


@dataclass(slots=True)
class Turn:
    """What one turn published: configs (re)published, configs cleared, states, availability messages."""

    configs: int = 0
    cleared: int = 0
    states: int = 0
    availability: int = 0
    devices: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Row:
    entity: Entity
    seq: int
    value: str
    published_seq: int | None
    config_digest: str | None


def job(settings: HomeAssistantSettings) -> Job:
    """The serve job publishing Home Assistant's discovery, state and availability messages."""
    return Job("homeassistant", settings.interval_s, lambda ctx: publish(ctx, settings))


def publish(ctx: JobContext, settings: HomeAssistantSettings) -> Turn:
    """One turn: every change since the last turn published (see the module's docstring)."""
    topics = Topics(settings.discovery_prefix, settings.state_prefix)
    turn = Turn()
    add_desired_relays(ctx.db)
    rows = ctx.db.query(_ROWS)
    for device, group in groupby(rows, key=lambda row: row[0]):
        if len(turn.devices) >= PER_TURN:
            break
        items = list(group)
        first = items[0]
        site, revoked_at, version, online, availability = first[8:13]
        revoked = revoked_at is not None
        info = DeviceInfo(device, settings.manufacturer, version, site)
        entities = [_Row(Entity(r[0], r[1], r[2], r[3]), int(r[4]), r[5], r[6], r[7]) for r in items]
        wanted = None if revoked else (ONLINE if online == 1 else OFFLINE)
        if _pending(entities, info, topics, revoked) or wanted != availability:
            turn.devices.append(device)
            _publish_device(ctx, topics, info, entities, revoked, (availability, wanted), turn)
    return turn


def _config_bytes(row: _Row, info: DeviceInfo, topics: Topics, revoked: bool) -> bytes | None:
    return None if revoked else encode(config(row.entity, info, topics))


def _pending(rows: Sequence[_Row], info: DeviceInfo, topics: Topics, revoked: bool) -> bool:
    for row in rows:
        data = _config_bytes(row, info, topics, revoked)
        if (None if data is None else digest(data)) != row.config_digest:
            return True
        if _state_due(row, revoked):
            return True
    return False


def _state_due(row: _Row, revoked: bool) -> bool:
    return not revoked and row.seq != row.published_seq and row.value != UNKNOWN


def _claim(db: Database, sql: str, args: tuple[Any, ...]) -> bool:
    return db.execute(sql, args).rowcount == 1


def _publish_device(
    ctx: JobContext, topics: Topics, info: DeviceInfo, rows: Sequence[_Row], revoked: bool,
    availability: tuple[str | None, str | None], turn: Turn,
) -> None:
    db = ctx.db
    with db.transaction():
        db.lock(f"{LOCK}:{info.device}")
        for row in rows:
            e = row.entity
            key = (e.device, e.component, e.source, e.name)
            data = _config_bytes(row, info, topics, revoked)
            new_digest = None if data is None else digest(data)
            if new_digest != row.config_digest and _claim(
                db, f"UPDATE ha_entities SET config_digest = ? WHERE {_KEY} AND config_digest IS NOT DISTINCT FROM ?",
                (new_digest, *key, row.config_digest),
            ):
                ctx.publish(topics.config(e), data or b"", 1, True)
                if data is None:
                    ctx.publish(topics.state(e), b"", 1, True)
                    turn.cleared += 1
                else:
                    turn.configs += 1
            if _state_due(row, revoked) and _claim(
                db, f"UPDATE ha_entities SET published_seq = ? WHERE {_KEY} AND seq = ?"
                " AND published_seq IS NOT DISTINCT FROM ?",
                (row.seq, *key, row.seq, row.published_seq),
            ):
                ctx.publish(topics.state(e), row.value.encode("utf-8"), 1, True)
                turn.states += 1
        old, new = availability
        if old != new:
            db.execute("INSERT INTO ha_devices (device, availability) VALUES (?, NULL) ON CONFLICT (device) DO NOTHING",
                       (info.device,))
            if _claim(db, "UPDATE ha_devices SET availability = ? WHERE device = ? AND availability IS NOT DISTINCT FROM ?",
                      (new, info.device, old)):
                ctx.publish(topics.availability(info.device), (new or "").encode("utf-8"), 1, True)
                turn.availability += 1
    if revoked:
        LOG.info("Home Assistant: %s is revoked: its discovery configs are cleared", info.device)
