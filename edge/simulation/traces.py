"""What a simulation keeps for its story and its charts: a small timeline (in the report) and per-step traces.

The timeline goes into the report as `timeline`: sunsets and sunrises, each lamp switching with why, each
spell a heating zone ran blind (no thermometer) with the coldest it got, the nights the leak watches judged,
and what the world did (storms, cold snaps, sensor faults, power cuts). The traces (every step: outdoor lux,
lamps, cut-off, zone temperatures and setpoints) are kept only when asked, for the HTML report.
"""

from __future__ import annotations

import json
import sqlite3
from array import array
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from drivers.sim.world import World
from edge.config.box import BoxConfig

#: The sun's centre is this far below the horizon at sunset and sunrise (refraction and disc).
SUNSET_ELEVATION_DEG = -0.833
#: The leak watch's nightly analysis, as its `job` events name it.
NIGHTLY_JOB = "nightly"


def _iso(when: datetime, tz: ZoneInfo) -> str:
    return when.astimezone(tz).isoformat(timespec="seconds")


@dataclass
class _Blind:
    """A spell a heating zone ran without a thermometer (its controller in `fallback` mode)."""

    start: datetime
    end: datetime | None = None
    min_c: float = float("inf")
    min_outdoor_c: float = float("inf")


@dataclass
class Timeline:
    """The few moments a story needs, gathered step by step."""

    config: BoxConfig
    world: World
    tz: ZoneInfo
    #: Heating controller id -> the world's zone id.
    zone_of: Mapping[str, str]
    sun: list[dict[str, str]] = field(default_factory=list)
    switchings: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    blind: dict[str, list[_Blind]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.switchings = {c.id: [] for c in self.config.lighting}
        self.blind = {h.id: [] for h in self.config.heating if h.id in self.zone_of}
        self._elevation: float | None = None
        self._lit: dict[str, bool] = {}
        self._powered = True

    def observe(self, now: datetime, powered: bool, loads: Mapping[str, bool], elevation: float,
                modes: Mapping[str, str]) -> None:
        """Take in one step that started at `now`: mains, loads powered, sun, each controller's mode."""
        before = self._elevation
        if before is not None and (before < SUNSET_ELEVATION_DEG) != (elevation < SUNSET_ELEVATION_DEG):
            self.sun.append({"sunset" if elevation < SUNSET_ELEVATION_DEG else "sunrise": _iso(now, self.tz)})
        self._elevation = elevation
        local: datetime | None = None
        for cfg in self.config.lighting:
            on = loads[cfg.relay]
            was = self._lit.get(cfg.id)
            self._lit[cfg.id] = on
            if was is None or was == on:
                continue
            local = local or now.astimezone(self.tz)
            cut_now = cfg.cutoff.active_at(local) is not None
            cut_before = cfg.cutoff.active_at(local - timedelta(minutes=1)) is not None
            if powered != self._powered:
                why = "power"
            elif not on and cut_now:
                why = "cutoff"
            elif on and cut_before and not cut_now:
                why = "cutoff_end"
            elif modes.get(cfg.id) == "astronomical":
                why = "sun_clock"
            else:
                why = "light"
            self.switchings[cfg.id].append({"at": _iso(now, self.tz), "on": on, "why": why})
        self._powered = powered
        for hid, spells in self.blind.items():
            open_spell = spells[-1] if spells and spells[-1].end is None else None
            if modes.get(hid) == "fallback":
                if open_spell is None:
                    open_spell = _Blind(now)
                    spells.append(open_spell)
                open_spell.min_c = min(open_spell.min_c, self.world.zone_temperature_c(self.zone_of[hid]))
                open_spell.min_outdoor_c = min(open_spell.min_outdoor_c, self.world.outdoor_c)
            elif open_spell is not None and hid in modes:
                open_spell.end = now

    def report(self, db_path: Path, end: datetime) -> dict[str, Any]:
        """The timeline as the report holds it (the nights read back from the agent's database)."""
        tz = self.tz
        spec = self.world.spec
        loads = {a.id: a.load_w for a in self.config.actuators}
        return {
            "box": {"id": self.config.device.id, "name": self.config.device.name},
            "sun": self.sun,
            "lighting": {
                c.id: {"relay": c.relay, "lux_sensor": c.lux_sensor, "load_w": loads.get(c.relay, 0.0),
                       "on_below_lx": c.on_below_lx, "off_above_lx": c.off_above_lx,
                       "switchings": self.switchings[c.id]}
                for c in self.config.lighting
            },
            "heating": {
                h.id: {
                    "frost_c": h.frost_c, "eco_c": h.eco_c, "comfort_c": h.comfort_c,
                    "blind": [
                        {"start": _iso(b.start, tz), "end": _iso(b.end or end, tz), "min_c": round(b.min_c, 2),
                         "min_outdoor_c": round(b.min_outdoor_c, 2)}
                        for b in self.blind.get(h.id, ())
                    ],
                }
                for h in self.config.heating
            },
            "nights": _nights(self.config, db_path),
            "world": {
                "storms": [{"start": _iso(s.start, tz), "end": _iso(s.end, tz), "light_pct": s.light_pct}
                           for s in spec.light.storms if s.start < end],
                "cold_snaps": [{"start": _iso(s.start, tz), "end": _iso(s.end, tz), "temperature_c": s.temperature_c}
                               for s in spec.outdoor.cold_snaps if s.start < end],
                "sensor_faults": [{"sensor": f.sensor, "kind": f.kind, "start": _iso(f.start, tz),
                                   "end": _iso(f.end, tz)} for f in spec.faults if f.start < end],
                "water": [{"meter": w.meter, "kind": w.kind, "start": _iso(w.start, tz),
                           "end": _iso(min(w.end or end, end), tz), "rate_lph": w.rate_lph}
                          for w in self.world.water_events() if w.start < end],
                "power_cuts": [{"start": _iso(c.start, tz), "end": _iso(c.end, tz)}
                               for c in spec.power_cuts if c.start < end],
            },
        }


def _nights(config: BoxConfig, db_path: Path) -> dict[str, list[dict[str, Any]]]:
    """Per water meter, each night its watch judged: the minimum night flow and the baseline it was held to."""
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as db:
        rows = db.execute("SELECT source, data FROM events WHERE kind = 'job' ORDER BY ts, id").fetchall()
    watches = {w.id: w.meter for w in config.leak}
    nights: dict[str, list[dict[str, Any]]] = {w.meter: [] for w in config.leak}
    for source, data in rows:
        if source not in watches:
            continue
        record = json.loads(data)
        if record.get("job") != NIGHTLY_JOB or "date" not in record:
            continue
        nights[watches[source]].append(
            {"night": record["date"], "mnf_lph": record.get("mnf_lph"), "baseline_lph": record.get("baseline_lph")}
        )
    return nights


@dataclass
class Traces:
    """Every step of a run, for charts: outdoor lux, each circuit's lamps and cut-off, each zone's temperatures."""

    t_s: array = field(default_factory=lambda: array("d"))
    lux: array = field(default_factory=lambda: array("f"))
    outdoor_c: array = field(default_factory=lambda: array("f"))
    lamps: dict[str, array] = field(default_factory=dict)
    cutoff: dict[str, array] = field(default_factory=dict)
    temperature_c: dict[str, array] = field(default_factory=dict)
    setpoint_c: dict[str, array] = field(default_factory=dict)
    heater: dict[str, array] = field(default_factory=dict)

    def observe(self, now: datetime, loads: Mapping[str, bool], world: World, config: BoxConfig,
                zone_of: Mapping[str, str], setpoints: Mapping[str, float | None]) -> None:
        """Keep one step that started at `now` (`setpoints`: each heating controller's, None if unknown)."""
        self.t_s.append(now.timestamp())
        self.lux.append(world.illuminance)
        self.outdoor_c.append(world.outdoor_c)
        local = now.astimezone(ZoneInfo(config.device.timezone)) if config.lighting else now
        for cfg in config.lighting:
            self.lamps.setdefault(cfg.id, array("b")).append(loads[cfg.relay])
            self.cutoff.setdefault(cfg.id, array("b")).append(cfg.cutoff.active_at(local) is not None)
        for cfg in config.heating:
            if cfg.id not in zone_of:
                continue
            self.temperature_c.setdefault(cfg.id, array("f")).append(world.zone_temperature_c(zone_of[cfg.id]))
            setpoint = setpoints.get(cfg.id)
            self.setpoint_c.setdefault(cfg.id, array("f")).append(float("nan") if setpoint is None else setpoint)
            self.heater.setdefault(cfg.id, array("b")).append(loads[cfg.relay])


def epoch(iso: str) -> float:
    """Epoch seconds of an ISO 8601 time with its offset."""
    return datetime.fromisoformat(iso).astimezone(UTC).timestamp()
