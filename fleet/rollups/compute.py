"""One device's records over a span of days, as the rows of water_nights, lighting_days and energy_days.

Which series are what, by the reading names the box's drivers give (units in names, drivers/registers.py):
- a water meter is a sensor with a running total `*_l` in the total lane (the pulse meter's volume_total_l)
  or a flow `*_lph` (flow_lph); the total is used when it covers the night, else the flow samples;
- an energy register is a reading `*_kwh` (import_energy_kwh, total_energy_kwh...): meter = the sensor id;
- a lighting circuit is a controller whose `decision` events carry the `lux` the lighting controller
  always adds; its relay's state is the `on` of its latest decision.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from edge.controllers.leak.stats import NightWindows
from edge.controllers.sun import SunCalendar
from fleet.rollups.maths import (
    dark_seconds,
    day_bounds,
    flow_spans,
    lit_seconds,
    night_figures,
    nights_touching,
    register_days,
)

#: (lane, ts, wall_s, type, body JSON) as read from records.
Row = tuple[str, float, float, str, str]
#: A reading body as the fleet stores it, names without escapes, a finite JSON number.
_READING = re.compile(r'\{"sensor":"([^"\\]*)","name":"([^"\\]*)","value":(-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?)\}')


@dataclass(frozen=True, slots=True)
class Series:
    """A device's decoded samples: water totals (sorted, one per time), flow spans (sorted by end), energy
    registers, and lighting circuits' decisions (sorted)."""

    totals_l: dict[str, list[tuple[float, float]]]
    flows: dict[str, list[tuple[float, float, float]]]
    energy: dict[tuple[str, str], list[tuple[float, float]]]
    decisions: dict[str, list[tuple[float, bool | None]]]


def _body(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _reading(text: str) -> tuple[str, str, float] | None:
    """(sensor, name, value) of a reading body; the fleet stores it compactly in this order (fleet/store/rows.py),
    so a pattern reads it at half json's cost; anything else goes through json."""
    match = _READING.fullmatch(text)
    if match is not None:
        return match[1], match[2], float(match[3])
    body = _body(text)
    if body is None:
        return None
    sensor, name, value = body.get("sensor"), body.get("name"), body.get("value")
    if not isinstance(sensor, str) or not isinstance(name, str) or not isinstance(value, int | float):
        return None
    return sensor, name, float(value)


def _aggregate(text: str, shift: float) -> tuple[str, str, float, float, float, float, float] | None:
    """(sensor, name, from, to, min, mean, max) of an aggregate body, its span moved by `shift`."""
    body = _body(text)
    try:
        if body is None or not isinstance(body["sensor"], str) or not isinstance(body["name"], str):
            return None
        return (body["sensor"], body["name"], float(body["from_s"]) + shift, float(body["to_s"]) + shift,
                float(body["min"]), float(body["mean"]), float(body["max"]))
    except (KeyError, TypeError, ValueError):
        return None


def decode(readings: Iterable[Row], events: Iterable[Row], max_gap_s: float) -> Series:
    """The series in a device's reading and event rows (rows that are not what their type says are skipped)."""
    totals: dict[str, list[tuple[float, float]]] = {}
    flow_samples: dict[str, list[tuple[float, float]]] = {}
    aggregates: dict[str, list[tuple[float, float, float]]] = {}
    energy: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for lane, ts, wall_s, kind, text in readings:
        if kind == "reading":
            found = _reading(text)
            if found is None:
                continue
            sensor, name, value = found
            points = [(ts, value)]
        elif kind == "aggregate":
            folded = _aggregate(text, ts - wall_s)
            if folded is None:
                continue
            sensor, name, lo, hi, least, mean, most = folded
            if name.endswith("_lph") and hi > lo:
                aggregates.setdefault(sensor, []).append((lo, hi, mean))
            points = [(lo, least), (hi, most)]
        else:
            continue
        if name.endswith("_kwh"):
            energy.setdefault((sensor, name), []).extend(points)
        elif name.endswith("_l") and lane == "total":
            totals.setdefault(sensor, []).extend(points)
        elif name.endswith("_lph") and kind == "reading":
            flow_samples.setdefault(sensor, []).extend(points)
    flows = {s: flow_spans(v, max_gap_s) for s, v in flow_samples.items()}
    for sensor, spans in aggregates.items():
        flows[sensor] = sorted([*flows.get(sensor, ()), *spans], key=lambda span: span[1])
    ordered = {s: sorted({ts: v for ts, v in points}.items()) for s, points in totals.items()}
    return Series(ordered, flows, energy, _decisions(events))


def _decisions(events: Iterable[Row]) -> dict[str, list[tuple[float, bool | None]]]:
    decisions: dict[str, list[tuple[float, bool | None]]] = {}
    lighting: set[str] = set()
    for _lane, ts, _wall, kind, text in events:
        body = _body(text) if kind == "event" else None
        if body is None or body.get("kind") != "decision" or not isinstance(body.get("source"), str):
            continue
        data = body.get("data")
        if not isinstance(data, dict) or "relay" not in data:
            continue
        on = data.get("on")
        source = body["source"]
        decisions.setdefault(source, []).append((ts, on if isinstance(on, bool) else None))
        if "lux" in data:
            lighting.add(source)
    return {s: sorted(v, key=lambda c: c[0]) for s, v in decisions.items() if s in lighting}


@dataclass(frozen=True, slots=True)
class DayRows:
    """The rows a span of days gets, ready for executemany."""

    water: list[tuple[Any, ...]]
    lighting: list[tuple[Any, ...]]
    energy: list[tuple[Any, ...]]
    nights: list[date]


def day_rows(
    device: str,
    days: Sequence[date],
    series: Series,
    max_gap_s: float,
    windows: NightWindows,
    horizon: float,
    calendar: SunCalendar | None,
    frozen: set[date] | frozenset[date] = frozenset(),
) -> DayRows:
    """The roll-up rows of `days` (consecutive local dates in the zone of `windows`) of one device; the nights
    touching them (named by their evening), but those `frozen`."""
    zone = windows.tz
    wanted = set(days)
    nights = sorted({n for day in days for n in nights_touching(windows, day)} - set(frozen))
    water = []
    for meter in sorted(set(series.totals_l) | set(series.flows)):
        for evening in nights:
            figures = night_figures(
                windows, evening, series.totals_l.get(meter, []), series.flows.get(meter, []), max_gap_s
            )
            if figures is not None:
                water.append((device, meter, evening.isoformat(), figures.min_flow_lph, figures.samples,
                              figures.volume_l))
    energy = []
    for (meter, register), samples in sorted(series.energy.items()):
        for day, figures in sorted(register_days(samples, zone).items()):
            if day in wanted:
                energy.append((device, meter, register, day.isoformat(), figures.amount, figures.samples,
                               figures.resets))
    lighting = []
    for circuit, changes in sorted(series.decisions.items()):
        for day in days:
            start, end = day_bounds(day, zone)
            before = [on for ts, on in changes if ts < start]
            during = [c for c in changes if start <= c[0] < end]
            if not before and not during:
                continue
            if start >= horizon:
                continue
            lit_s, switches = lit_seconds(during, start, end, horizon, before[-1] if before else None)
            dark_s = None if calendar is None else dark_seconds(calendar, day)
            lighting.append((device, circuit, day.isoformat(), lit_s, dark_s, switches))
    return DayRows(water, lighting, energy, nights)
