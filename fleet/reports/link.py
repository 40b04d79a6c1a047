"""Which box a report is about, and that box's own evidence: the nearest box of the commune with a fitting
circuit (lighting circuits for the lights, water meters for water running, heated zones for a cold building),
read from each box's desired config (fleet/web/views/box_config.py).

With a point: the nearest such box with coordinates, by great-circle distance, within MAX_LINK_DISTANCE_M.
With a street name only: the commune's only such box, if there is exactly one. Else the report stays unlinked.
Among a box's fitting circuits, the first by id is named (the evidence lists them all).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fleet.reports.model import (
    CIRCUIT_OF_KIND,
    LIGHT_IN_DAYLIGHT,
    LIGHT_OUT,
    MAX_LINK_DISTANCE_M,
    distance_m,
)
from fleet.store.db import Database
from fleet.web.views.box_config import BoxSetup, box_setup
from fleet.web.views.box_heating import zone_temperatures
from fleet.web.views.box_night import LuxNight, lux_nights
from fleet.web.views.box_water import meter_nights

#: Nights of minimum flow the water evidence holds; days of temperatures the cold-building evidence looks at.
WATER_NIGHTS, COLD_DAYS = 7, 2
#: A night is shown from 14:00 (box_night.py): a report after that is about the night under way.
NIGHT_START_HOUR = 14


@dataclass(frozen=True, slots=True)
class Link:
    """The box and circuit a report is linked to, and how far the point was from the box (None: street only)."""

    device: str
    circuit: str
    circuits: tuple[str, ...]
    distance_m: float | None


def fitting_circuits(setup: BoxSetup, kind: str) -> tuple[str, ...]:
    """The ids of a box's circuits that fit a report's kind, sorted."""
    family = CIRCUIT_OF_KIND[kind]
    if family == "lighting":
        ids = [c.id for c in setup.lighting]
    elif family == "water":
        ids = [w.meter for w in setup.leak]
    else:
        ids = [h.id for h in setup.heating]
    return tuple(sorted(set(ids)))


def find_link(db: Database, commune: str, kind: str, point: tuple[float, float] | None) -> Link | None:
    """The box and circuit of `commune` a report of `kind` at `point` (latitude, longitude) is about, or None."""
    rows = db.query("SELECT device, latitude, longitude FROM registry WHERE commune = ? AND revoked_at IS NULL"
                    " ORDER BY device", (commune,))
    fitting = []
    for device, lat, lon in rows:
        circuits = fitting_circuits(box_setup(db, str(device)), kind)
        if circuits:
            fitting.append((str(device), lat, lon, circuits))
    if point is None:
        if len(fitting) != 1:
            return None
        device, _lat, _lon, circuits = fitting[0]
        return Link(device, circuits[0], circuits, None)
    best: tuple[float, str, tuple[str, ...]] | None = None
    for device, lat, lon, circuits in fitting:
        if lat is None or lon is None:
            continue
        d = distance_m(point[0], point[1], float(lat), float(lon))
        if d <= MAX_LINK_DISTANCE_M and (best is None or (d, device) < (best[0], best[1])):
            best = (d, device, circuits)
    if best is None:
        return None
    return Link(best[1], best[2][0], best[2], round(best[0], 1))


def report_evening(at: float, zone: ZoneInfo) -> date:
    """The night a light report is about: the one under way after 14:00 local, else the one just ended."""
    local = datetime.fromtimestamp(at, zone)
    return local.date() if local.hour >= NIGHT_START_HOUR else local.date() - timedelta(days=1)


def _light_evidence(night: LuxNight, at: float) -> dict[str, Any]:
    values = [v for _, v in night.lux]
    lit_now = any(a <= at <= b for a, b in night.lit)  # the night's spans stop at the report: on until then
    return {
        "night": night.evening.isoformat(), "lux_sensor": night.lux_sensor, "lux_samples": len(values),
        "lux_min_lx": min(values) if values else None, "lux_max_lx": max(values) if values else None,
        "lit": [[a, b] for a, b in night.lit], "lit_h": round(night.lit_s / 3600.0, 2),
        "lit_at_report": lit_now if night.start <= at < night.end else None,
        "cutoff": [[a, b] for a, b in night.cutoff],
        "on_below_lx": night.on_below_lx, "off_above_lx": night.off_above_lx,
    }


def light_night(db: Database, device: str, circuit: str, at: float, zone: ZoneInfo) -> LuxNight | None:
    """The circuit's night the report at `at` is about (lux and lamps), or None when the box has nothing for it."""
    found = lux_nights(db, device, report_evening(at, zone), zone, box_setup(db, device), now=at)
    return next((n for n in found if n.circuit == circuit), None)


def evidence(db: Database, link: Link, kind: str, at: float, zone: ZoneInfo) -> dict[str, Any]:
    """What the box itself said about the circuit around the report's time `at`."""
    out: dict[str, Any] = {"device": link.device, "circuit": link.circuit, "circuits": list(link.circuits),
                           "distance_m": link.distance_m}
    setup = box_setup(db, link.device)
    if kind in (LIGHT_OUT, LIGHT_IN_DAYLIGHT):
        night = light_night(db, link.device, link.circuit, at, zone)
        if night is None:
            out["lighting"] = {"night": report_evening(at, zone).isoformat(), "lux_samples": 0, "lit": []}
        else:
            out["lighting"] = _light_evidence(night, at)
    elif CIRCUIT_OF_KIND[kind] == "water":
        meters = meter_nights(db, link.device, setup, zone, at, nights=WATER_NIGHTS)
        meter = next((m for m in meters if m.meter == link.circuit), None)
        nights = [] if meter is None else [[n.evening.isoformat(), n.min_flow_lph] for n in meter.nights]
        last = meter.nights[-1] if meter is not None and meter.nights else None
        out["water"] = {"meter": link.circuit, "min_night_flow_lph": nights,
                        "last_min_flow_lph": None if last is None else last.min_flow_lph,
                        "baseline_lph": None if last is None else last.baseline_lph}
    else:
        zones = zone_temperatures(db, link.device, setup, zone, at, days=COLD_DAYS)
        found = next((z for z in zones if z.zone == link.circuit), None)
        temps: dict[str, Any] = {}
        setpoint = None
        frost = None
        if found is not None:
            for name, points in found.temperatures:
                if points:
                    temps[name] = {"latest_c": points[-1][1], "at": points[-1][0],
                                   "min_c": min(v for _, v in points), "max_c": max(v for _, v in points)}
                else:
                    temps[name] = {"latest_c": None, "at": None, "min_c": None, "max_c": None}
            steps = [v for ts, v in found.setpoint if ts <= at]
            setpoint = steps[-1] if steps else None
            frost = found.frost_c
        out["heating"] = {"zone": link.circuit, "temperatures": temps, "setpoint_c": setpoint, "frost_c": frost}
    return out
