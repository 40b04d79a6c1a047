"""What a simulation measures: lighting hours against an astronomical clock, leak delays, heating comfort."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from drivers.sim.world import World
from edge.config.box import BoxConfig
from edge.simulation.sync_report import sync_sentence
from edge.simulation.traces import Timeline, Traces

#: The sun's centre is this far below the horizon at sunset and sunrise (refraction and disc).
SUNSET_ELEVATION_DEG = -0.833
CIVIL_NIGHT_ELEVATION_DEG = -6.0
#: A night-flow alarm comes the morning after the night it measured: a leak that ended
#: less than this long before an alarm still explains it.
LEAK_GRACE = timedelta(hours=30)


#: Why a circuit was dark in civil night outside its cut-off: the mains was off, the circuit followed the
#: astronomical clock because its lux sensor was faulted, or the agent decided so (anything else).
DARK_CAUSES: tuple[str, ...] = ("power_cut", "sensor_fallback", "agent")


@dataclass
class _Circuit:
    on_s: float = 0.0
    baseline_on_s: float = 0.0
    dark_unlit_s: dict[str, float] = field(default_factory=lambda: dict.fromkeys(DARK_CAUSES, 0.0))
    switches: int = 0
    last_on: bool | None = None


@dataclass(frozen=True, slots=True)
class Street:
    """What a person in the street sees during one step: the loads powered, and the circuits on fallback.

    Taken at the start of the step, before the agent's tick that ends it: a relay the agent switches at
    that tick changes the lamps from that instant on, so the step is seen as the relays held it.
    """

    powered: bool
    #: Each relay's load powered (its contactor closed and the mains on).
    loads: dict[str, bool]
    #: Lighting circuits on the astronomical clock because their lux sensor is faulted.
    fallback: frozenset[str]
    #: Each running controller's mode (none while the box is off).
    modes: Mapping[str, str] = field(default_factory=dict)


@dataclass
class _Zone:
    min_temperature_c: float = float("inf")
    comfort_missed_s: float = 0.0
    #: Time inside the zone's comfort periods (what comfort_missed_s is out of).
    comfort_scheduled_s: float = 0.0
    heater_on_s: float = 0.0


@dataclass
class Recorder:
    """Observes the simulated box every step and turns the run into the report."""

    config: BoxConfig
    world: World
    circuits: dict[str, _Circuit] = field(default_factory=dict)
    zones: dict[str, _Zone] = field(default_factory=dict)
    #: Every step kept for the HTML report's charts (None: not kept).
    traces: Traces | None = None

    def __post_init__(self) -> None:
        self._tz = ZoneInfo(self.config.device.timezone)
        self.circuits = {c.id: _Circuit() for c in self.config.lighting}
        self.zones = {h.id: _Zone() for h in self.config.heating}
        self._relays = tuple({c.relay: None for c in (*self.config.lighting, *self.config.heating)})
        self._zone_of = {
            h.id: next(z.id for z in self.world.spec.zones if h.thermometer in z.thermometers)
            for h in self.config.heating
            if any(h.thermometer in z.thermometers for z in self.world.spec.zones)
        }
        self.timeline = Timeline(self.config, self.world, self._tz, self._zone_of)

    def street(self, now: datetime, modes: Mapping[str, str] | None = None) -> Street:
        """What the street sees from `now` until the next tick (`modes`: each controller's mode, if running)."""
        powered = self.world.powered(now)
        parts = self.world.parts
        loads = {r: powered and parts.relay_energised(r) for r in self._relays}
        modes = modes or {}
        fallback = frozenset(c.id for c in self.config.lighting if modes.get(c.id) == "astronomical")
        return Street(powered, loads, fallback, dict(modes))

    def observe(self, now: datetime, dt_s: float, street: Street | None = None,
                setpoints: Mapping[str, float | None] | None = None) -> None:
        """Account one step that started at `now` and lasted `dt_s`, as the street saw it (`street`)."""
        seen = street if street is not None else self.street(now)
        elevation = self.world.sun_elevation_deg(now)
        local: datetime | None = None  # worked out only when a schedule is asked
        for cfg in self.config.lighting:
            circuit = self.circuits[cfg.id]
            on = seen.loads[cfg.relay]
            if circuit.last_on is not None and on != circuit.last_on:
                circuit.switches += 1
            circuit.last_on = on
            circuit.on_s += dt_s if on else 0.0
            circuit.baseline_on_s += dt_s if elevation < SUNSET_ELEVATION_DEG else 0.0
            if elevation < CIVIL_NIGHT_ELEVATION_DEG and not on:
                local = local or now.astimezone(self._tz)
                if cfg.cutoff.active_at(local) is None:
                    cause = "power_cut" if not seen.powered else "sensor_fallback" if cfg.id in seen.fallback else "agent"
                    circuit.dark_unlit_s[cause] += dt_s
        for cfg in self.config.heating:
            if cfg.id not in self._zone_of:
                continue
            zone = self.zones[cfg.id]
            temperature_c = self.world.zone_temperature_c(self._zone_of[cfg.id])
            zone.min_temperature_c = min(zone.min_temperature_c, temperature_c)
            zone.heater_on_s += dt_s if seen.loads[cfg.relay] else 0.0
            local = local or now.astimezone(self._tz)
            if cfg.schedule.period_at(local) is not None:
                zone.comfort_scheduled_s += dt_s
                if temperature_c < cfg.comfort_c - cfg.hysteresis_c:
                    zone.comfort_missed_s += dt_s
        self.timeline.observe(now, seen.powered, seen.loads, elevation, seen.modes)
        if self.traces is not None:
            self.traces.observe(now, seen.loads, self.world, self.config, self._zone_of, setpoints or {})

    def report(self, db_path: Path, start: datetime, end: datetime) -> dict[str, Any]:
        """The report, reading alarms and faults back from the agent's own database."""
        with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as db:
            events = db.execute(
                "SELECT ts, kind, source, reason, data FROM events WHERE kind IN ('alarm', 'fault', 'fault_cleared') "
                "ORDER BY ts, id"
            ).fetchall()
        return {
            "timezone": self.config.device.timezone,
            "start": start.astimezone(self._tz).isoformat(),
            "end": end.astimezone(self._tz).isoformat(),
            "lighting": {cid: _lighting(c) for cid, c in self.circuits.items()},
            "leak": self._leaks(events, end),
            "heating": {zid: _heating(z) for zid, z in self.zones.items()},
            "faults": _faults(events, self._tz),
            "timeline": self.timeline.report(db_path, end),
        }

    def _leaks(self, events: list[tuple], end: datetime) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for cfg in self.config.leak:
            alarms = [
                {"kind": json.loads(data).get("alarm_kind", "alarm"), "raised_at": _iso(ts, self._tz), "reason": reason}
                for ts, kind, source, reason, data in events
                if kind == "alarm" and source == cfg.id
            ]
            incidents = [i for i in self.world.water_events(cfg.meter) if i.start < end]
            detections = []
            for incident in incidents:
                stop = (incident.end or end) + LEAK_GRACE
                hit = next(
                    (a for a in alarms if incident.start <= datetime.fromisoformat(a["raised_at"]) < stop), None
                )
                delay_h = None
                if hit is not None:
                    delay_h = (datetime.fromisoformat(hit["raised_at"]) - incident.start).total_seconds() / 3600
                detections.append({
                    "kind": incident.kind,
                    "start": incident.start.astimezone(self._tz).isoformat(),
                    "rate_lph": incident.rate_lph,
                    "detected_after_h": None if delay_h is None else round(delay_h, 2),
                })
            false_alarms = [
                a for a in alarms
                if not any(
                    i.start <= datetime.fromisoformat(a["raised_at"]) < (i.end or end) + LEAK_GRACE for i in incidents
                )
            ]
            # Legitimate use by date (a holiday, a fete, a tank filled): an alarm it explains is a false alarm.
            uses = [u for u in self.world.spec.water.uses if u.meter == cfg.meter and u.start < end]
            during_use = [
                a for a in false_alarms
                if any(u.start <= datetime.fromisoformat(a["raised_at"]) < u.end + LEAK_GRACE for u in uses)
            ]
            result[cfg.meter] = {
                "watch": cfg.id,
                "alarms": alarms,
                "incidents": detections,
                "false_alarms": len(false_alarms),
                "false_alarm_list": false_alarms,
                "legitimate_uses": [
                    {"kind": u.kind, "start": u.start.astimezone(self._tz).isoformat(),
                     "end": u.end.astimezone(self._tz).isoformat(), "rate_lph": u.rate_lph}
                    for u in uses
                ],
                "false_alarms_during_legitimate_use": len(during_use),
            }
        return result


def _iso(ts: float, tz: ZoneInfo) -> str:
    """A stored time as ISO 8601 at the box, with its offset."""
    return datetime.fromtimestamp(ts, UTC).astimezone(tz).isoformat()


def _lighting(c: _Circuit) -> dict[str, Any]:
    return {
        "on_hours": round(c.on_s / 3600, 2),
        "baseline_on_hours": round(c.baseline_on_s / 3600, 2),
        "dark_unlit_minutes": round(sum(c.dark_unlit_s.values()) / 60, 1),
        "dark_unlit_minutes_by_cause": {cause: round(s / 60, 1) for cause, s in c.dark_unlit_s.items()},
        "switches": c.switches,
    }


def _heating(z: _Zone) -> dict[str, Any]:
    return {
        "min_temperature_c": round(z.min_temperature_c, 2),
        "comfort_minutes_missed": round(z.comfort_missed_s / 60, 1),
        "comfort_minutes_scheduled": round(z.comfort_scheduled_s / 60, 1),
        "heater_on_hours": round(z.heater_on_s / 3600, 2),
    }


def _faults(events: list[tuple], tz: ZoneInfo) -> list[dict[str, Any]]:
    open_faults: dict[str, dict[str, Any]] = {}
    result: list[dict[str, Any]] = []
    for ts, kind, source, reason, data in events:
        if kind == "fault":
            entry = {
                "source": source, "code": json.loads(data).get("code"), "reason": reason,
                "start": _iso(ts, tz), "end": None,
            }
            if source in open_faults:
                open_faults[source]["end"] = _iso(ts, tz)
            open_faults[source] = entry
            result.append(entry)
        elif kind == "fault_cleared" and source in open_faults:
            open_faults.pop(source)["end"] = _iso(ts, tz)
    return result


def _causes(by_cause: Mapping[str, float]) -> str:
    """' (power cut 45 min, agent 2 min)' for the causes with dark minutes, '' if none."""
    words = {"power_cut": "power cut", "sensor_fallback": "lux sensor fallback", "agent": "agent"}
    named = [f"{words.get(cause, cause)} {minutes:g} min" for cause, minutes in by_cause.items() if minutes]
    return f" ({', '.join(named)})" if named else ""


def format_report(report: dict[str, Any]) -> str:
    """The simulation report as text, times at the box with their zone."""
    zone = ZoneInfo(report["timezone"])

    def local(iso: str) -> str:
        return datetime.fromisoformat(iso).astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")

    lines = [f"simulated {report['days']:g} days from {local(report['start'])} in {report['run_s']:g} s", ""]
    for cid, c in report["lighting"].items():
        saved = 100 * (1 - c["on_hours"] / c["baseline_on_hours"]) if c["baseline_on_hours"] else 0.0
        lines.append(
            f"lighting {cid}: lit {c['on_hours']:g} h against {c['baseline_on_hours']:g} h for a dusk-to-dawn "
            f"clock ({saved:.0f} % saved), dark and unlit outside the cut-off {c['dark_unlit_minutes']:g} min"
            f"{_causes(c.get('dark_unlit_minutes_by_cause', {}))}, {c['switches']} switchings"
        )
    for meter, leak in report["leak"].items():
        count = len(leak["alarms"])
        lines.append(f"leak watch {leak['watch']} on {meter}: {count} alarm(s), {leak['false_alarms']} false")
        if leak.get("legitimate_uses"):
            lines.append(f"  {len(leak['legitimate_uses'])} legitimate use(s) declared, "
                         f"{leak['false_alarms_during_legitimate_use']} false alarm(s) during them")
        for incident in leak["incidents"]:
            found = incident["detected_after_h"]
            when = "never detected" if found is None else f"detected after {found:g} h"
            lines.append(f"  {incident['kind']} of {incident['rate_lph']:g} L/h from {local(incident['start'])}: {when}")
    for zid, z in report["heating"].items():
        lines.append(
            f"heating {zid}: coldest {z['min_temperature_c']:g} °C, "
            f"comfort missed {z['comfort_minutes_missed']:g} of {z.get('comfort_minutes_scheduled', 0):g} min "
            f"in comfort periods, heater on {z['heater_on_hours']:g} h"
        )
    sync = sync_sentence(report.get("sync"))
    if sync is not None:
        lines.append(sync[0].lower() + sync[1:])
    lines.append(f"faults: {len(report['faults'])}")
    for fault in report["faults"]:
        end = local(fault["end"]) if fault["end"] else "the end"
        lines.append(f"  {fault['source']} {fault['code']} from {local(fault['start'])} to {end}")
    return "\n".join(lines)
