"""The technician's commands on the local store, as data: status, relay overrides, alarms."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from edge.config.box import BoxConfig
from edge.controllers.events import Event
from edge.controllers.overrides import Override
from edge.runtime.lock import Holder
from edge.storage.schema import Alarm
from edge.storage.store import Store
from edge.technician.forecast import held_until
from edge.technician.link_status import link_report
from edge.technician.times import age_s as _age_s
from edge.technician.times import format_duration, parse_bounded_duration
from edge.technician.times import parse_time as _parse_time

DEFAULT_OVERRIDE = timedelta(hours=1)
MAX_OVERRIDE = timedelta(days=7)
MIN_OVERRIDE = timedelta(seconds=1)


class UnknownRelayError(ValueError):
    """The relay id is not one of this box's relays."""


def parse_duration(text: str) -> timedelta:
    """'90m', '2h', '1h30m', '3d' (also '45s') as a timedelta, positive and at most 7 days."""
    return parse_bounded_duration(text, MIN_OVERRIDE, MAX_OVERRIDE, what="an override",
                                  examples="90m, 2h, 1h30m or 3d", least_words="second", most_words="7 days")


def agent_stale_after_s(config: BoxConfig) -> float:
    """How old the snapshot of an agent run in this very process (a simulation, whose lock is not tested) may be
    before it is said not running: it writes its snapshot at each batched commit, so allow two commits."""
    return 2 * config.agent.commit_interval_s + 3 * config.agent.tick_s


@dataclass(frozen=True, slots=True)
class Liveness:
    """What a test of the agent's lock found: the live agent holding it, or None when no agent runs."""

    holder: Holder | None


def _override_dict(override: Override, now: datetime) -> dict[str, Any]:
    return {
        "on": override.on,
        "until": override.until.isoformat(),
        "set_at": override.set_at.isoformat(),
        "by": override.by,
        "reason": override.reason,
        "active": override.active(now),
    }


def _alarm_dict(alarm: Alarm, now: datetime) -> dict[str, Any]:
    return {**alarm.to_dict(), "age_s": _age_s(alarm.raised_at, now)}


def status_report(
    store: Store | None, config: BoxConfig, now: datetime, *, live: dict[str, Any] | None = None,
    db_error: str | None = None, liveness: Liveness | None = None,
) -> dict[str, Any]:
    """What the box sees and decides, from the agent's last snapshot, the overrides and the alarms.

    `store` is None when there is no database yet (the agent never ran) or it cannot be opened (`db_error`
    says why); `live` is the snapshot the agent keeps in RAM while its store is faulted (the fresher wins).
    `liveness` is what the test of the agent's lock found (whether it runs); None only for an agent run in
    this very process, whose fresh snapshot then says it runs.
    """
    snapshot = store.load_status() if store is not None else None
    snapshot = snapshot or {}
    if live is not None and str(live.get("at", "")) > str(snapshot.get("at", "")):
        snapshot = live
    seen_at = _parse_time(snapshot.get("at"))
    age_s = _age_s(seen_at, now)
    agent = dict(snapshot.get("agent") or {})
    stopped = agent.get("stopped") if isinstance(agent.get("stopped"), dict) else None
    if liveness is None:  # the agent runs in this process (a simulation): its snapshot's age tells
        running = stopped is None and age_s is not None and age_s <= agent_stale_after_s(config)
    else:
        running = liveness.holder is not None
    if liveness is not None and liveness.holder is not None:
        agent.update({"pid": liveness.holder.pid, "started_at": liveness.holder.since or agent.get("started_at")})
    agent.update({
        "running": running, "last_seen": snapshot.get("at"), "age_s": age_s,
        "stopped": None if running else stopped,
        "stopped_cleanly": None if running or not snapshot else stopped is not None,
        "lock_tested": liveness is not None,
    })
    sensors_in = snapshot.get("sensors") or {}
    sensor_ids = [s.id for s in config.sensors] + [i for i in sensors_in if i not in {s.id for s in config.sensors}]
    sensors = []
    for sensor_id in sensor_ids:
        entry = sensors_in.get(sensor_id) or {}
        sensor_at = _parse_time(entry.get("at"))
        sensors.append({
            "id": sensor_id,
            "health": entry.get("health", "unknown"),
            "fault": entry.get("fault"),
            "at": entry.get("at"),
            "age_s": _age_s(sensor_at, now),
            "readings": entry.get("readings") or {},
        })
    controllers = [{"id": cid, **c} for cid, c in (snapshot.get("controllers") or {}).items()]
    overrides = store.overrides() if store is not None else {}
    interlocks = snapshot.get("interlocks") or {}
    relays_in = snapshot.get("relays") or {}
    relay_ids = [a.id for a in config.actuators] + [i for i in relays_in if i not in {a.id for a in config.actuators}]
    relays = []
    for relay_id in relay_ids:
        entry = relays_in.get(relay_id) or {}
        override = overrides.get(relay_id)
        relays.append({
            "id": relay_id,
            "on": entry.get("on"),
            "decided_by": entry.get("decided_by"),
            "reason": entry.get("reason"),
            "until": entry.get("until"),
            "feedback": entry.get("feedback"),
            "override": None if override is None else _override_dict(override, now),
            "interlock": interlocks.get(relay_id),
        })
    return {
        "device": config.device.id,
        "name": config.device.name,
        "timezone": config.device.timezone,
        "now": now.isoformat(),
        "agent": agent,
        "database": {
            "path": str(config.agent.db_path),
            "exists": store is not None or db_error is not None,
            "size_bytes": store.size_bytes() if store is not None else 0,
            "error": db_error,
            "store": snapshot.get("store"),
        },
        "link": link_report(store.conn if store is not None else None, config, snapshot.get("link"), now,
                            running=running),
        "sensors": sensors,
        "controllers": controllers,
        "relays": relays,
        "alarms": [_alarm_dict(a, now) for a in store.latched_alarms()] if store is not None else [],
    }


@dataclass(frozen=True, slots=True)
class RelayOutcome:
    """What `hameau-edge relay` did: accepted or refused, and what to tell the technician."""

    relay: str
    action: str
    accepted: bool
    message: str
    override: Override | None = None


def set_relay(
    store: Store,
    config: BoxConfig,
    relay: str,
    action: str,
    now: datetime,
    *,
    duration: timedelta = DEFAULT_OVERRIDE,
    by: str = "technician",
    reason: str = "",
) -> RelayOutcome:
    """Force a relay on or off for `duration`, or give it back to its controller ('auto').

    Raises UnknownRelayError for an id the config does not know. An override the agent's last
    snapshot says is interlocked (frost protection, valve closed by a burst) is refused and the
    refusal recorded as an "override" event.
    """
    known = [a.id for a in config.actuators]
    if relay not in known:
        raise UnknownRelayError(f"no relay {relay!r} on this box; known relays: {', '.join(known) or 'none'}")
    if action not in ("on", "off", "auto"):
        raise ValueError(f"action must be on, off or auto, not {action!r}")
    if not timedelta(0) < duration <= MAX_OVERRIDE:
        raise ValueError("an override lasts more than no time and at most 7 days")
    tz = zoneinfo.ZoneInfo(config.device.timezone)
    if action == "auto":
        removed = store.clear_override(relay, now, by)
        if removed is None:
            return RelayOutcome(relay, action, True, f"{relay} had no override: it is already under automatic control")
        return RelayOutcome(relay, action, True, f"{relay} back to automatic control (override removed)")
    snapshot = store.load_status() or {}
    interlock = (snapshot.get("interlocks") or {}).get(relay)
    if interlock:
        store.add_event_now(Event(
            "override", by, f"{relay} {action} refused: {interlock}", now,
            {"action": "refused", "relay": relay, "on": action == "on", "interlock": interlock},
        ))
        seen = _parse_time(snapshot.get("at"))
        when = "" if seen is None else f" (agent's snapshot of {format_duration(_age_s(seen, now) or 0)} ago)"
        return RelayOutcome(relay, action, False, f"refused: {relay} is interlocked: {interlock}{when}")
    wanted = action == "on"
    held = held_until(store, config, relay, wanted, now)
    # Held back by a minimum on/off time, the override still gives the whole duration asked for.
    override = Override(relay, wanted, (held or now) + duration, now, by, reason)
    store.set_override(override)
    until = override.until.astimezone(tz)
    length = format_duration(duration.total_seconds())
    if held is None:
        message = f"{relay} forced {action.upper()} until {until:%a %d %b %H:%M %Z} (for {length})"
    else:
        which = "off" if wanted else "on"
        message = (f"{relay} held {which} for its minimum {which} time: switches {action.upper()} at "
                   f"{held.astimezone(tz):%H:%M}, until {until:%a %d %b %H:%M %Z} (for {length})")
    return RelayOutcome(relay, action, True, message, override)


def alarms_report(store: Store | None, config: BoxConfig, now: datetime) -> dict[str, Any]:
    """The latched alarms, oldest first."""
    alarms = store.latched_alarms() if store is not None else []
    return {
        "device": config.device.id,
        "timezone": config.device.timezone,
        "now": now.isoformat(),
        "alarms": [_alarm_dict(a, now) for a in alarms],
    }


def ack_alarm(store: Store, alarm_id: int, by: str, now: datetime) -> tuple[Alarm | None, bool]:
    """Acknowledge an alarm: (the alarm or None if unknown, whether it was latched until now)."""
    before = store.alarm(alarm_id)
    if before is None:
        return None, False
    return store.ack_alarm(alarm_id, by, now), before.latched
