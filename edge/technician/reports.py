"""The technician's commands on the local store: status, relay overrides, alarms (data, then text)."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from edge.config import reader as config_reader
from edge.config.box import BoxConfig
from edge.controllers.events import Event
from edge.controllers.overrides import Override
from edge.storage.schema import Alarm
from edge.storage.store import Store

DEFAULT_OVERRIDE = timedelta(hours=1)
MAX_OVERRIDE = timedelta(days=7)
_EVIDENCE_WIDTH = 100


class UnknownRelayError(ValueError):
    """The relay id is not one of this box's relays."""


def parse_duration(text: str) -> timedelta:
    """'90m', '2h', '1h30m', '3d' (also '45s') as a timedelta, positive and at most 7 days."""
    try:
        duration = config_reader.parse_duration(text)
    except config_reader.Invalid as exc:
        raise ValueError(f"{exc}; an override needs a positive duration such as 90m, 2h, 1h30m or 3d") from None
    if duration > MAX_OVERRIDE:
        raise ValueError(f"{text!r} is longer than the 7 days an override may last")
    return duration


def format_duration(seconds: float) -> str:
    """A duration as a technician says it: '45 s', '12 min', '1 h 30 min', '3 d 2 h'."""
    s = int(round(abs(seconds)))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min"
    if s < 86_400:
        h, m = divmod(s // 60, 60)
        return f"{h} h" + (f" {m} min" if m else "")
    d, h = divmod(s // 3600, 24)
    return f"{d} d" + (f" {h} h" if h else "")


def agent_stale_after_s(config: BoxConfig) -> float:
    """How old the agent's snapshot may be before we say the agent is not running.

    The agent saves its snapshot every tick but writes it at each batched commit, so allow two commits.
    """
    return 2 * config.agent.commit_interval_s + 3 * config.agent.tick_s


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        return None
    return at if at.tzinfo is not None else None


def _age_s(at: datetime | None, now: datetime) -> float | None:
    return None if at is None else (now - at).total_seconds()


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


def status_report(store: Store | None, config: BoxConfig, now: datetime) -> dict[str, Any]:
    """What the box sees and decides, from the agent's last snapshot, the overrides and the alarms.

    `store` is None when there is no database yet (the agent never ran).
    """
    snapshot = store.load_status() if store is not None else None
    snapshot = snapshot or {}
    seen_at = _parse_time(snapshot.get("at"))
    age_s = _age_s(seen_at, now)
    running = age_s is not None and age_s <= agent_stale_after_s(config)
    agent = dict(snapshot.get("agent") or {})
    agent.update({"running": running, "last_seen": snapshot.get("at"), "age_s": age_s})
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
            "exists": store is not None,
            "size_bytes": store.size_bytes() if store is not None else 0,
        },
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
    override = Override(relay, action == "on", now + duration, now, by, reason)
    store.set_override(override)
    until = override.until.astimezone(tz)
    length = format_duration(duration.total_seconds())
    message = f"{relay} forced {action.upper()} until {until:%a %d %b %H:%M %Z} (for {length})"
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


# -- text ----------------------------------------------------------------------------------------


def _local(iso: str | None, tz: zoneinfo.ZoneInfo) -> str:
    at = _parse_time(iso)
    return "?" if at is None else f"{at.astimezone(tz):%a %d %b %H:%M %Z}"


def _ago(age_s: float | None) -> str:
    if age_s is None:
        return "never"
    return f"in {format_duration(-age_s)}" if age_s < 0 else f"{format_duration(age_s)} ago"


def _size(n_bytes: int) -> str:
    if n_bytes < 1000:
        return f"{n_bytes} B"
    value = float(n_bytes)
    for unit in ("kB", "MB", "GB"):
        value /= 1000
        if value < 1000 or unit == "GB":
            break
    return f"{value:.1f} {unit}"


def _value(name: str, entry: dict[str, Any]) -> str:
    value, unit = entry.get("value"), entry.get("unit", "")
    text = f"{value:.6g}" if isinstance(value, (int, float)) else str(value)
    return f"{name} = {text}" + ("" if unit in ("", "1") else f" {unit}")


def evidence_summary(evidence: dict[str, Any], width: int = _EVIDENCE_WIDTH) -> str:
    """'key=value, ...' cut to `width` characters."""
    parts = []
    for key, value in evidence.items():
        text = f"{value:.6g}" if isinstance(value, float) else str(value)
        parts.append(f"{key}={text}")
    summary = ", ".join(parts)
    return summary if len(summary) <= width else summary[: width - 3] + "..."


def render_status(report: dict[str, Any]) -> str:
    """The status report as text for a terminal."""
    tz = zoneinfo.ZoneInfo(report["timezone"])
    agent, db = report["agent"], report["database"]
    name = f" ({report['name']})" if report.get("name") else ""
    lines = [f"hameau status: {report['device']}{name} at {_local(report['now'], tz)}"]
    if agent["last_seen"] is None:
        lines.append("AGENT HAS NEVER RUN: no status snapshot in the database")
    elif agent["running"]:
        lines.append(
            f"agent: running, pid {agent.get('pid', '?')}, version {agent.get('version', '?')}, "
            f"started {_local(agent.get('started_at'), tz)}; snapshot {_ago(agent['age_s'])}"
        )
    else:
        lines.append(
            f"AGENT NOT RUNNING: last seen {_ago(agent['age_s'])} ({_local(agent['last_seen'], tz)}); "
            "values below are from then"
        )
    where = f"{db['path']}, {_size(db['size_bytes'])}" if db["exists"] else f"{db['path']} (does not exist yet)"
    lines += [f"database: {where}", "", "sensors:"]
    width = max((len(s["id"]) for s in report["sensors"]), default=0)
    for s in report["sensors"]:
        values = ", ".join(_value(n, e) for n, e in s["readings"].items()) or "no value"
        if s["age_s"] is not None:
            values += f", {_ago(s['age_s'])}"
        elif not s["readings"]:
            values += " yet"
        health = s["health"].upper() if s["health"] != "ok" else "ok"
        fault = f" ({s['fault']})" if s["fault"] else ""
        lines.append(f"  {s['id']:<{width}}  {health:<7} {values}{fault}")
    lines += ["", "controllers:"]
    if not report["controllers"]:
        lines.append("  (none reported)")
    for c in report["controllers"]:
        lines.append(f"  {c['id']}  {c.get('kind', '?')}, mode {c.get('mode', '?')}: {c.get('reason', '')}")
    lines += ["", "relays:"]
    width = max((len(r["id"]) for r in report["relays"]), default=0)
    for r in report["relays"]:
        state = "?" if r["on"] is None else ("ON" if r["on"] else "OFF")
        line = f"  {r['id']:<{width}}  {state:<3}" + (" (no state reported)" if r["on"] is None else "")
        if r["decided_by"]:
            line += f" by {r['decided_by']}: {r['reason'] or ''}"
        if r["until"]:
            line += f" until {_local(r['until'], tz)}"
        if r["feedback"] is not None and r["on"] is not None and r["feedback"] != r["on"]:
            line += f"  FEEDBACK SAYS {'ON' if r['feedback'] else 'OFF'}"
        lines.append(line.rstrip())
        if r["interlock"]:
            lines.append(f"  {'':<{width}}  interlock: {r['interlock']} (overrides refused)")
        o = r["override"]
        if o is not None:
            until_age = (datetime.fromisoformat(report["now"]) - datetime.fromisoformat(o["until"])).total_seconds()
            expiry = f"expires {_ago(until_age)}" if o["active"] else f"expired {_ago(until_age)}"
            lines.append(
                f"  {'':<{width}}  override: {'ON' if o['on'] else 'OFF'} until {_local(o['until'], tz)} "
                f"({expiry}), set by {o['by']}" + (f": {o['reason']}" if o["reason"] else "")
            )
    lines += ["", _alarms_text(report["alarms"], tz)]
    return "\n".join(lines)


def _alarms_text(alarms: list[dict[str, Any]], tz: zoneinfo.ZoneInfo) -> str:
    if not alarms:
        return "no latched alarm"
    lines = [f"{len(alarms)} latched alarm{'s' if len(alarms) > 1 else ''}:"]
    for a in alarms:
        lines.append(
            f"  #{a['id']}  {a['kind']} from {a['source']}, raised {_local(a['raised_at'], tz)} "
            f"({_ago(a['age_s'])}): {a['reason']}"
        )
        if a["evidence"]:
            lines.append(f"       evidence: {evidence_summary(a['evidence'])}")
    lines.append("  acknowledge with: hameau-edge alarms ack ID")
    return "\n".join(lines)


def render_alarms(report: dict[str, Any]) -> str:
    """The latched alarms as text for a terminal."""
    return _alarms_text(report["alarms"], zoneinfo.ZoneInfo(report["timezone"]))
