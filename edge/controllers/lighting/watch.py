"""The lux sensor's trust as a lighting circuit keeps it: flat state fields, the judgement per call, its events."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from operator import attrgetter
from typing import Any

from edge.controllers.base import SensorInput
from edge.controllers.events import Event
from edge.controllers.lighting.trust import (
    LuxTrust,
    SunWindows,
    judge,
    restarted,
    unheard,
)

#: The LuxTrust fields the lighting state carries under the same names, last and in this order
#: (a flat, JSON-ready state).
TRUST_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(LuxTrust))
trust_values: Callable[[Any], tuple[Any, ...]] = attrgetter(*TRUST_FIELDS)


def trust_of(state: Any) -> LuxTrust:
    """The trust fields of a lighting state, as a LuxTrust."""
    return LuxTrust(*trust_values(state))


@dataclass(frozen=True, slots=True)
class Watched:
    """One call's judgement: the trust to keep, the lux to act on, and the events it raised."""

    trust: LuxTrust
    lux: float | None
    events: tuple[Event, ...] = ()


def watch(
    trust: LuxTrust,
    raw_lx: float | None,
    reading: SensorInput | None,
    windows: SunWindows | None,
    now: datetime,
    now_s: float,
    *,
    lamps_on: bool,
    source: str,
    sensor: str,
    relay: str,
    on_below_lx: float,
    off_above_lx: float,
    confirm_s: float,
    elevation_deg: Callable[[datetime], float],
    starting: bool = False,
) -> Watched:
    """Judge this call's reading (None: unusable) and turn what changed into fault events of the circuit."""
    if starting:
        trust = restarted(trust)
    if raw_lx is None:
        return Watched(unheard(trust), None)
    if windows is None:  # wall clock not set: no sun to judge against; a distrusted sensor stays so
        return Watched(trust, None if trust.distrust else raw_lx)
    age_s = reading.age(now) if reading is not None else None
    judged = judge(
        trust, raw_lx, now_s, windows, lamps_on=lamps_on, on_below_lx=on_below_lx, off_above_lx=off_above_lx,
        confirm_s=confirm_s, read_s=now_s - age_s if age_s is not None else now_s,
        elevation_at=lambda ts: elevation_deg(datetime.fromtimestamp(ts, UTC)),
    )
    events = []
    for code, words in judged.news:
        data: dict[str, Any] = {"sensor": sensor, "relay": relay}
        if code == "distrusted":
            data["code"] = judged.trust.distrust_kind.replace(" ", "_")
            text = f"lux sensor {sensor} not believed: {words}; the circuit follows the astronomical clock"
            events.append(Event("fault", source, text, now, data))
        elif code == "believed":
            data["code"] = trust.distrust_kind.replace(" ", "_")
            events.append(Event("fault_cleared", source, f"lux sensor {sensor} believed again: {words}", now, data))
        elif code == "self_lit":
            data.update(code="self_lit", self_lit_lx=judged.trust.self_lit_lx)
            events.append(Event("fault", source, f"lux sensor {sensor} {words}", now, data))
        else:
            data["code"] = "self_lit"
            events.append(Event("fault_cleared", source, f"lux sensor {sensor} {words}", now, data))
    return Watched(judged.trust, judged.lux, tuple(events))
