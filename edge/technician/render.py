"""The technician's reports as text for a terminal: status and latched alarms."""

from __future__ import annotations

import zoneinfo
from datetime import datetime
from typing import Any

from edge.technician.times import format_duration
from edge.technician.times import parse_time as _parse_time

_EVIDENCE_WIDTH = 100


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


def _store_lines(store: dict[str, Any], tz: zoneinfo.ZoneInfo, running: bool) -> list[str]:
    """The agent's store, when something is wrong with it."""
    lines = []
    fault, buffered, dropped = store.get("fault"), store.get("buffered") or {}, store.get("dropped") or {}
    if fault and running:
        lines.append(
            f"STORE FAULT: the agent runs without its database since {_local(fault.get('since'), tz)}: "
            f"{fault.get('cause')} ({fault.get('class')}); {buffered.get('readings', 0)} readings and "
            f"{buffered.get('events', 0)} events wait in memory; retry in {fault.get('next_retry_s', '?')} s"
        )
    if dropped.get("readings") or dropped.get("events"):
        lines.append(f"dropped from the full memory buffer: {dropped.get('readings', 0)} readings, "
                     f"{dropped.get('events', 0)} events")
    for path in store.get("moved_aside") or ():
        lines.append(f"broken database moved aside to {path}")
    return lines


def _lane_text(name: str, lane: dict[str, Any]) -> str:
    if not lane["records"]:
        return f"{name} 0"
    oldest = "oldest ?" if lane["oldest_age_s"] is None else f"oldest {format_duration(lane['oldest_age_s'])}"
    return f"{name} {lane['records']} ({_size(lane['bytes'])}, {oldest})"


def _link_lines(link: dict[str, Any], now_iso: str, tz: zoneinfo.ZoneInfo) -> list[str]:
    """The link to the fleet: connected or not since when, the last ack, the outbox's backlog, what went wrong."""
    if not link["configured"]:
        return ["link: not configured (no [link] table): nothing is sent to the fleet"]
    line = f"link: to {link['broker']}, "
    if link["since"] is not None:
        state = "connected" if link["connected"] else "NOT CONNECTED"
        line += f"{state} since {_moment(link['since'], now_iso, tz)} ({_ago(link['since_age_s'])})"
        line += "" if link["connected"] or not link["last_error"] else f": {link['last_error']}"
    else:
        line += "not connected: the agent is not running" if not link["agent_running"] else "no report from the agent yet"
    line += f"; last ack from the fleet {_ago(link['last_ack_age_s'])}"
    lines = [line]
    outbox = link["outbox"]
    if outbox is not None and "error" in outbox:
        lines.append(f"  outbox: cannot be read ({outbox['error']})")
    elif outbox is not None and not outbox["records"]:
        lines.append("  outbox: empty (the fleet acknowledged everything)")
    elif outbox is not None:
        lanes = ", ".join(_lane_text(name, lane) for name, lane in outbox["lanes"].items())
        lines.append(f"  outbox: {outbox['records']} records ({_size(outbox['bytes'])}) to send: {lanes}")
    thinned = {name: lane["thinned"] for name, lane in (outbox or {}).get("lanes", {}).items() if lane["thinned"]}
    if thinned:
        lines.append("  thinned under the disk budget: " + ", ".join(f"{n} {c} records" for n, c in thinned.items()))
    if link["last_rejection"]:
        lines.append(f"  last rejected message {_ago(link['last_rejection_age_s'])} ({link['rejected']} in all): "
                     f"{link['last_rejection'][:200]}")
    if link["loop_restarts"]:
        times = "once" if link["loop_restarts"] == 1 else f"{link['loop_restarts']} times"
        lines.append(f"  MQTT network loop restarted {times} (the link noticed and reconnected)")
    return lines


def _moment(iso: str | None, now_iso: str, tz: zoneinfo.ZoneInfo) -> str:
    """A time to the second: '10:02:13 CET' today, 'Fri 27 Nov 10:02:13 CET' another day."""
    at, now = _parse_time(iso), _parse_time(now_iso)
    if at is None:
        return "?"
    at = at.astimezone(tz)
    same_day = now is not None and now.astimezone(tz).date() == at.date()
    return f"{at:%H:%M:%S %Z}" if same_day else f"{at:%a %d %b %H:%M:%S %Z}"


def _agent_line(agent: dict[str, Any], now_iso: str, tz: zoneinfo.ZoneInfo) -> str:
    """Whether the agent runs (its lock says), else how and when it stopped."""
    if agent["running"]:
        pid = agent.get("pid") if agent.get("pid") is not None else "?"
        snapshot = f"snapshot {_ago(agent['age_s'])}" if agent["last_seen"] else "no snapshot yet"
        return (f"agent: running, pid {pid}, since {_local(agent.get('started_at'), tz)}, "
                f"version {agent.get('version', '?')}; {snapshot}")
    if agent["last_seen"] is None:
        return "AGENT HAS NEVER RUN: no status snapshot in the database"
    stopped = agent.get("stopped")
    if stopped:
        by = f" by {stopped['by']}" if stopped.get("by") else " (a clean stop)"
        return (f"agent: not running; stopped at {_moment(stopped.get('at'), now_iso, tz)}{by}, "
                f"{_ago(agent['age_s'])}; relays below are as it left them")
    return (f"AGENT NOT RUNNING: last seen {_moment(agent['last_seen'], now_iso, tz)}, {_ago(agent['age_s'])} "
            "(it did not stop cleanly); values below are from then")


def render_status(report: dict[str, Any]) -> str:
    """The status report as text for a terminal."""
    tz = zoneinfo.ZoneInfo(report["timezone"])
    agent, db = report["agent"], report["database"]
    name = f" ({report['name']})" if report.get("name") else ""
    lines = [f"hameau status: {report['device']}{name} at {_local(report['now'], tz)}"]
    lines.append(_agent_line(agent, report["now"], tz))
    where = f"{db['path']}, {_size(db['size_bytes'])}" if db["exists"] else f"{db['path']} (does not exist yet)"
    lines.append(f"database: {where}" + (f": CANNOT BE OPENED ({db['error']})" if db.get("error") else ""))
    lines += _store_lines(db.get("store") or {}, tz, agent["running"])
    lines += _link_lines(report["link"], report["now"], tz) + ["", "sensors:"]
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
