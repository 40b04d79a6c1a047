"""Each heated zone's temperature against its setpoint and the frost line.

With the zone in the fleet's desired config: its thermometers' temperature_c readings, the setpoint of its
weekly schedule (comfort_c in comfort periods, eco_c otherwise; an optimum start or an override is not
drawn) and its frost_c. Without: the temperature and setpoint its decision events carry (the controller's
own figures, at each switch) and the box's default frost line (7 °C).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from edge.controllers.heating.config import (
    DEFAULT_FROST_C,
    TEMPERATURE_READING,
    HeatingConfig,
)
from fleet.store.db import Database
from fleet.web.views.box_config import BoxSetup
from fleet.web.views.series import events, readings, thin

DAYS = 7


@dataclass(frozen=True, slots=True)
class ZoneTemperatures:
    """A zone over [start, end): temperature per thermometer, the setpoint steps, the frost line."""

    zone: str
    start: float
    end: float
    temperatures: tuple[tuple[str, tuple[tuple[float, float], ...]], ...]
    setpoint: tuple[tuple[float, float], ...]
    frost_c: float
    #: "config" or "decisions".
    source: str


def schedule_setpoints(cfg: HeatingConfig, first: date, last: date, zone: ZoneInfo) -> tuple[tuple[float, float], ...]:
    """The schedule's setpoint as steps (time, °C) over local days first..last: comfort_c in its periods, else eco_c."""
    steps: list[tuple[float, float]] = []
    day = first
    while day <= last:
        midnight = datetime.combine(day, datetime.min.time(), zone)
        steps.append((midnight.timestamp(), cfg.eco_c))
        for period in cfg.schedule.days[day.weekday()]:
            steps.append(((midnight + timedelta(minutes=period.start_min)).timestamp(), cfg.comfort_c))
            end = midnight + timedelta(minutes=period.end_min)
            steps.append((datetime.combine(end.date(), end.time(), zone).timestamp(), cfg.eco_c))
        day += timedelta(days=1)
    merged: list[tuple[float, float]] = []
    for ts, value in sorted(steps):
        if merged and merged[-1][0] == ts:
            merged[-1] = (ts, value)
        elif not merged or merged[-1][1] != value:
            merged.append((ts, value))
    return tuple(merged)


def zone_temperatures(db: Database, device: str, setup: BoxSetup, zone: ZoneInfo, now: float, days: int = DAYS
                      ) -> tuple[ZoneTemperatures, ...]:
    """Each heated zone (in the config, or with stored decisions) over the last `days` local days."""
    last = datetime.fromtimestamp(now, zone).date()
    first = last - timedelta(days=days - 1)
    start = datetime.combine(first, datetime.min.time(), zone).timestamp()
    end = min(now, datetime.combine(last + timedelta(days=1), datetime.min.time(), zone).timestamp())
    decisions: dict[str, list[tuple[float, float | None, float | None]]] = {}
    for e in events(db, device, start, end):
        if "setpoint_c" in e.data and "relay" in e.data:
            t, s = e.data.get("temperature_c"), e.data.get("setpoint_c")
            decisions.setdefault(e.source, []).append((
                e.ts, float(t) if isinstance(t, int | float) else None, float(s) if isinstance(s, int | float) else None,
            ))
    configs = {c.id: c for c in setup.heating}
    out = []
    for zone_id in sorted(set(configs) | set(decisions)):
        cfg = configs.get(zone_id)
        if cfg is not None:
            found = readings(db, device, TEMPERATURE_READING, start, end, cfg.thermometers)
            temps = tuple((s, thin(found.get(s, []), start, end)) for s in cfg.thermometers)
            out.append(ZoneTemperatures(zone_id, start, end, temps, schedule_setpoints(cfg, first, last, zone),
                                        cfg.frost_c, "config"))
        else:
            mine = decisions[zone_id]
            temps = ((zone_id, tuple((ts, t) for ts, t, _ in mine if t is not None)),)
            setpoint = tuple((ts, s) for ts, _, s in mine if s is not None)
            out.append(ZoneTemperatures(zone_id, start, end, temps, setpoint, DEFAULT_FROST_C, "decisions"))
    return tuple(out)
