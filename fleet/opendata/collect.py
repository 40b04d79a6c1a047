"""What the store knows of one box for the NGSI-LD export: its site, its desired config, its latest readings,
its relays' recent decisions and its water alarms.

Where each thing comes from (the names the box's drivers and controllers give, as the roll-ups read them):
- the site and coordinates: the registry (else the desired config's [device] latitude/longitude);
- latest readings: `reading` records (and the mean of `aggregate` ones) of the raw and total lanes within
  READING_WINDOW_S, the latest per (sensor, name);
- lighting circuits and heating zones: `decision` events within DECISION_WINDOW_S; a lighting controller's
  carry `lux`, a heating controller's `setpoint_c` (both carry their `relay` and `on`);
- water alarms (leak, continuous_flow, burst) and contactors not following (relay_feedback, source the relay):
  the alarms table, open or cleared within ALARM_WINDOW_S;
- the minimum night flow of each meter: water_nights over the nights of the last MIN_FLOW_WINDOW_S.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fleet.store.db import Database

#: A reading older than this is not a box's latest value any more.
READING_WINDOW_S = 6 * 3600.0
#: A relay's state is its latest decision at most this old (lights switch twice a day).
DECISION_WINDOW_S = 7 * 86400.0
#: A cleared water alarm still shows as past persistence this long.
ALARM_WINDOW_S = 7 * 86400.0
#: minFlow is the lowest night flow of the last week (the model's definition).
MIN_FLOW_WINDOW_S = 7 * 86400.0
#: The alarm kinds the entities show.
ALARM_KINDS = ("leak", "continuous_flow", "burst", "relay_feedback")


@dataclass(frozen=True, slots=True)
class Alarm:
    """One alarm of the box that an entity shows (from the alarms table)."""

    kind: str
    source: str
    open: bool
    first_seen: float
    changed_at: float
    controller: str | None


@dataclass(frozen=True, slots=True)
class Decision:
    """One decision event of a relay controller."""

    ts: float
    on: bool | None
    data: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class DeviceFacts:
    """Everything the export builds one box's entities from."""

    device: str
    site: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    config: Mapping[str, Any] = field(default_factory=dict)
    #: (sensor, reading name) -> (time, value) of the latest reading.
    latest: Mapping[tuple[str, str], tuple[float, float]] = field(default_factory=dict)
    #: controller id -> its decisions, oldest first.
    decisions: Mapping[str, tuple[Decision, ...]] = field(default_factory=dict)
    alarms: tuple[Alarm, ...] = ()
    #: water meter (sensor id) -> lowest night flow of the last week, L/h.
    night_min_lph: Mapping[str, float] = field(default_factory=dict)


def _json(text: Any) -> Any:
    try:
        return json.loads(text) if isinstance(text, str) else None
    except ValueError:
        return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def _place(db: Database, device: str, config: Mapping[str, Any]) -> tuple[str | None, float | None, float | None]:
    row = db.one("SELECT site, latitude, longitude FROM registry WHERE device = ? AND revoked_at IS NULL", (device,))
    site, lat, lon = (row[0], row[1], row[2]) if row is not None else (None, None, None)
    if lat is None or lon is None:
        table = config.get("device")
        if isinstance(table, Mapping):
            lat, lon = _number(table.get("latitude")), _number(table.get("longitude"))
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return site, None, None
    return site, float(lat), float(lon)


def _latest(db: Database, device: str, since: float) -> dict[tuple[str, str], tuple[float, float]]:
    latest: dict[tuple[str, str], tuple[float, float]] = {}
    for lane in ("raw", "total"):
        rows = db.query(
            "SELECT ts, wall_s, type, body FROM records WHERE device = ? AND lane = ? AND ts >= ?"
            " AND type IN ('reading', 'aggregate')",
            (device, lane, since),
        )
        for ts, wall_s, kind, text in rows:
            body = _json(text)
            if not isinstance(body, dict):
                continue
            sensor, name = body.get("sensor"), body.get("name")
            if kind == "reading":
                at, value = float(ts), _number(body.get("value"))
            else:
                to_s = _number(body.get("to_s"))
                at, value = (float(ts) - float(wall_s) + to_s if to_s is not None else float(ts)), _number(body.get("mean"))
            if not isinstance(sensor, str) or not isinstance(name, str) or value is None:
                continue
            known = latest.get((sensor, name))
            if known is None or at >= known[0]:
                latest[(sensor, name)] = (at, value)
    return latest


def _decisions(db: Database, device: str, since: float) -> dict[str, tuple[Decision, ...]]:
    found: dict[str, list[Decision]] = {}
    rows = db.query(
        "SELECT ts, body FROM records WHERE device = ? AND lane = 'event' AND ts >= ? AND type = 'event'"
        " AND body LIKE '%decision%'",
        (device, since),
    )
    for ts, text in rows:
        body = _json(text)
        if not isinstance(body, dict) or body.get("kind") != "decision" or not isinstance(body.get("source"), str):
            continue
        data = body.get("data")
        if not isinstance(data, dict) or "relay" not in data:
            continue
        on = data.get("on")
        found.setdefault(body["source"], []).append(Decision(float(ts), on if isinstance(on, bool) else None, data))
    return {source: tuple(sorted(items, key=lambda d: d.ts)) for source, items in found.items()}


def _alarms(db: Database, device: str, since: float) -> tuple[Alarm, ...]:
    rows = db.query(
        "SELECT kind, source, state, first_seen, last_seen, cleared_at, evidence FROM alarms WHERE device = ?"
        " AND kind IN ('leak', 'continuous_flow', 'burst', 'relay_feedback') AND (state = 'open' OR cleared_at >= ?)",
        (device, since),
    )
    alarms = []
    for kind, source, state, first_seen, last_seen, cleared_at, evidence in rows:
        figures = _json(evidence)
        controller = figures.get("controller") if isinstance(figures, dict) else None
        opened = state == "open"
        changed = float(first_seen if opened or cleared_at is None else cleared_at)
        alarms.append(Alarm(str(kind), str(source), opened, float(first_seen), changed,
                            controller if isinstance(controller, str) else None))
    return tuple(sorted(alarms, key=lambda a: (a.changed_at, a.source)))


def _night_minima(db: Database, device: str, now: float) -> dict[str, float]:
    first = datetime.fromtimestamp(now - MIN_FLOW_WINDOW_S, UTC).date().isoformat()
    rows = db.query(
        "SELECT meter, min(min_flow_lph) FROM water_nights WHERE device = ? AND night >= ?"
        " AND min_flow_lph IS NOT NULL GROUP BY meter",
        (device, first),
    )
    return {str(meter): float(value) for meter, value in rows if value is not None}


def device_facts(db: Database, device: str, now: float) -> DeviceFacts:
    """What the store knows of `device` as of `now`."""
    row = db.one("SELECT desired_body FROM device_configs WHERE device = ?", (device,))
    config = _json(row[0]) if row is not None else None
    config = config if isinstance(config, dict) else {}
    site, lat, lon = _place(db, device, config)
    return DeviceFacts(
        device=device, site=site, latitude=lat, longitude=lon, config=config,
        latest=_latest(db, device, now - READING_WINDOW_S),
        decisions=_decisions(db, device, now - DECISION_WINDOW_S),
        alarms=_alarms(db, device, now - ALARM_WINDOW_S),
        night_min_lph=_night_minima(db, device, now),
    )
