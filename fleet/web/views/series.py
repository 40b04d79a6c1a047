"""Reading and event series of one box from the stored records, for the box page's charts.

Readings of a name (e.g. illuminance_lx, temperature_c) per sensor from the raw lane, where a box's folded
hourly aggregates count as their mean at the middle of their span; events decoded from the event lane. Only
records whose time the fleet trusts (`ts` set) are read, by the (device, lane, ts) index.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fleet.store.db import Database

#: A chart gets at most this many points per series (more are averaged in equal time slots).
MAX_POINTS = 720


def _body(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def readings(
    db: Database, device: str, name: str, t0: float, t1: float, sensors: Sequence[str] | None = None
) -> dict[str, list[tuple[float, float]]]:
    """Samples (time, value) per sensor of the readings called `name` in [t0, t1), sorted by time."""
    rows = db.query(
        "SELECT ts, wall_s, type, body FROM records WHERE device = ? AND lane = 'raw' AND ts >= ? AND ts < ?"
        " AND type IN ('reading', 'aggregate') AND body LIKE ?",
        (device, t0, t1, f'%"{name}"%'),
    )
    found: dict[str, list[tuple[float, float]]] = {}
    for ts, wall_s, kind, text in rows:
        body = _body(text)
        if body is None or body.get("name") != name or not isinstance(body.get("sensor"), str):
            continue
        if sensors is not None and body["sensor"] not in sensors:
            continue
        if kind == "reading":
            value, at = _number(body.get("value")), float(ts)
        else:
            lo, hi, value = _number(body.get("from_s")), _number(body.get("to_s")), _number(body.get("mean"))
            if lo is None or hi is None:
                continue
            at = (lo + hi) / 2 + float(ts) - float(wall_s)
            if not t0 <= at < t1:
                continue
        if value is not None:
            found.setdefault(body["sensor"], []).append((at, value))
    return {sensor: sorted(points) for sensor, points in sorted(found.items())}


@dataclass(frozen=True, slots=True)
class BoxEvent:
    """One event of the box: its kind, source, reason and data, at a trusted time."""

    ts: float
    kind: str
    source: str
    reason: str
    data: dict[str, Any]


def events(db: Database, device: str, t0: float, t1: float, kinds: Sequence[str] = ("decision",)) -> list[BoxEvent]:
    """The box's events of these kinds in [t0, t1), oldest first."""
    likes = " OR ".join("body LIKE ?" for _ in kinds)
    rows = db.query(
        "SELECT ts, body FROM records WHERE device = ? AND lane = 'event' AND ts >= ? AND ts < ?"
        f" AND type = 'event' AND ({likes}) ORDER BY ts, seq",
        (device, t0, t1, *(f'%"{kind}"%' for kind in kinds)),
    )
    found = []
    for ts, text in rows:
        body = _body(text)
        if body is None or body.get("kind") not in kinds or not isinstance(body.get("source"), str):
            continue
        data = body.get("data")
        found.append(BoxEvent(float(ts), str(body["kind"]), body["source"], str(body.get("reason", "")),
                              data if isinstance(data, dict) else {}))
    return found


def thin(points: Sequence[tuple[float, float]], t0: float, t1: float, max_points: int = MAX_POINTS
         ) -> tuple[tuple[float, float], ...]:
    """At most `max_points` points: unchanged when fewer, else the mean of each equal time slot at its mean time."""
    if len(points) <= max_points or t1 <= t0:
        return tuple(points)
    slot = (t1 - t0) / max_points
    sums: dict[int, list[float]] = {}
    for ts, value in points:
        acc = sums.setdefault(min(max_points - 1, int((ts - t0) // slot)), [0.0, 0.0, 0.0])
        acc[0] += ts
        acc[1] += value
        acc[2] += 1
    return tuple((acc[0] / acc[2], acc[1] / acc[2]) for _, acc in sorted(sums.items()))
