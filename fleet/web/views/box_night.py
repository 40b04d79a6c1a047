"""A night of a lighting circuit: the lux its sensor read, when its lamps were lit, the night cut-off shaded.

The lamps' state is the `on` of the circuit's decision events (the lighting controller's, those with `lux`
in their data, as the roll-ups read them): lit from a decision on to the next decision. The cut-off is the
circuit's window for that night from the desired config (weekly window or dated exception) when the fleet
holds one; otherwise the spans the box's decisions say it was in mode "cut-off".
A night is named by its evening; it is shown from 14:00 that day to 11:00 the next, local time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from edge.controllers.lighting.config import LUX_READING, LightingConfig
from fleet.store.db import Database
from fleet.web.views.box_config import BoxSetup
from fleet.web.views.series import BoxEvent, events, readings, thin

NIGHT_FROM, NIGHT_TO = time(14, 0), time(11, 0)
#: The lamps' state at the start of the night is the latest decision at most this long before.
LOOKBACK_S = 7 * 86400.0


@dataclass(frozen=True, slots=True)
class LuxNight:
    """One circuit's night: lux samples, spans lit, spans of cut-off (epoch seconds) and where those came from."""

    circuit: str
    lux_sensor: str | None
    evening: date
    start: float
    end: float
    lux: tuple[tuple[float, float], ...]
    lit: tuple[tuple[float, float], ...]
    cutoff: tuple[tuple[float, float], ...]
    #: "config" (the desired config's window), "decisions" (the box's cut-off decisions) or None (no cut-off).
    cutoff_from: str | None
    on_below_lx: float | None
    off_above_lx: float | None

    @property
    def lit_s(self) -> float:
        """Seconds lit within the night shown."""
        return sum(b - a for a, b in self.lit)


def night_bounds(evening: date, zone: ZoneInfo) -> tuple[float, float]:
    """Epoch seconds of 14:00 on the evening and 11:00 the next morning, local time."""
    return (datetime.combine(evening, NIGHT_FROM, zone).timestamp(),
            datetime.combine(evening + timedelta(days=1), NIGHT_TO, zone).timestamp())


def default_evening(now: float, zone: ZoneInfo) -> date:
    """The night shown by default, "last night": the one whose evening was yesterday (local date)."""
    return datetime.fromtimestamp(now, zone).date() - timedelta(days=1)


def spans(changes: list[tuple[float, bool | None]], initial: bool | None, start: float, end: float
          ) -> tuple[tuple[float, float], ...]:
    """The spans of [start, end) during which a relay was on, from its state at start and its later changes."""
    out: list[tuple[float, float]] = []
    state, since = initial, start
    for ts, on in changes:
        if ts < start or ts >= end:
            continue
        if state and ts > since:
            out.append((since, ts))
        state, since = on, ts
    if state and end > since:
        out.append((since, end))
    merged: list[tuple[float, float]] = []
    for a, b in out:
        if merged and merged[-1][1] >= a:
            merged[-1] = (merged[-1][0], b)
        else:
            merged.append((a, b))
    return tuple(merged)


def _config_cutoff(cfg: LightingConfig, evening: date, zone: ZoneInfo) -> tuple[tuple[float, float], ...]:
    window, _ = cfg.cutoff.window_for(evening)
    if window is None:
        return ()
    a, b = window.bounds(evening)
    return ((a.replace(tzinfo=zone).timestamp(), b.replace(tzinfo=zone).timestamp()),)


def _lighting_decisions(found: list[BoxEvent]) -> dict[str, list[BoxEvent]]:
    circuits: dict[str, list[BoxEvent]] = {}
    for e in found:
        if "relay" in e.data and "lux" in e.data:
            circuits.setdefault(e.source, []).append(e)
    return circuits


def lux_nights(db: Database, device: str, evening: date, zone: ZoneInfo, setup: BoxSetup, *,
               now: float | None = None) -> tuple[LuxNight, ...]:
    """Each lighting circuit's night of `evening` (those in the config, and those whose decisions are stored);
    a night under way at `now` has its lamps' spans only up to `now` (what comes after is not known yet)."""
    start, end = night_bounds(evening, zone)
    known = end if now is None else min(end, max(start, now))
    decisions = _lighting_decisions(events(db, device, start - LOOKBACK_S, end))
    configs = {c.id: c for c in setup.lighting}
    lux_all = readings(db, device, LUX_READING, start, end)
    nights = []
    for circuit in sorted(set(configs) | set(decisions)):
        cfg = configs.get(circuit)
        mine = decisions.get(circuit, [])
        before = [e for e in mine if e.ts < start]
        initial = before[-1].data.get("on") if before else None
        changes = [(e.ts, e.data.get("on") if isinstance(e.data.get("on"), bool) else None)
                   for e in mine if e.ts >= start]
        lit = spans(changes, initial if isinstance(initial, bool) else None, start, known)
        if cfg is not None and cfg.lux_sensor is not None:
            sensor: str | None = cfg.lux_sensor
        else:
            sensor = next(iter(lux_all), None)
        if cfg is not None:
            cutoff, source = _config_cutoff(cfg, evening, zone), "config"
        else:
            modes = [(e.ts, e.data.get("mode") == "cut-off") for e in mine if e.ts >= start]
            was = before[-1].data.get("mode") == "cut-off" if before else False
            cutoff, source = spans(modes, was, start, known), "decisions"
        points = lux_all.get(sensor, []) if sensor is not None else []
        nights.append(LuxNight(
            circuit, sensor, evening, start, end, thin(points, start, end), lit, cutoff,
            source if cutoff else None, cfg.on_below_lx if cfg else None, cfg.off_above_lx if cfg else None,
        ))
    return tuple(nights)
