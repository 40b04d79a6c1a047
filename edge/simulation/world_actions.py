"""The on-site sections of a world file: `[[actions]]` a technician takes at set times, `[[hydrants]]` in use.

    [[actions]]                       [[hydrants]]
    at = "2026-11-08T09:00"           meter = "inlet-meter"
    kind = "ack"                      start = "2026-11-08T03:00"
    watch = "leak-inlet"              duration = "2h"
    alarm = "burst"     # optional    rate_lph = 6000.0
                                      key_switch = "fire-key"   # optional: a digital input, active meanwhile
`kind`: "ack" (watch, optional alarm kind: every alarm of the watch latched then), "override" (relay, state
"on", "off" or "auto", duration), "hydrant" (watch, duration; state "off" lifts it), "confirm" (watch).
A watch is named by its id or its valve relay's.
"""

from __future__ import annotations

from datetime import timedelta

from drivers.sim.action_spec import ACTION_KINDS, ActionSpec, HydrantSpec, OnSiteSpec
from drivers.sim.world_spec import WaterSpec
from edge.config.box import BoxConfig
from edge.config.reader import Table, one_of, positive
from edge.simulation.world_reader import WorldReader

MAX_ORDER = timedelta(days=7)
MIN_HYDRANT = timedelta(minutes=1)


def read_on_site(r: WorldReader, top: Table, box: BoxConfig, water: WaterSpec) -> OnSiteSpec:
    """[[actions]] (sorted by time) and [[hydrants]]."""
    actions = [a for _, t in top.tables("actions") if (a := read_action(r, t, box)) is not None]
    meters = {m.sensor for m in water.meters}
    hydrants = tuple(h for _, t in top.tables("hydrants") if (h := read_hydrant(r, t, meters)) is not None)
    return OnSiteSpec(tuple(sorted(actions, key=lambda a: a.at)), hydrants)


def _watch(t: Table, box: BoxConfig, *, valve: bool) -> str:
    name = t.get("watch", str)
    if not t.has("watch") or not isinstance(name, str):
        return name
    watches = [w for w in box.leak if w.valve_relay is not None or not valve]
    if not any(name in (w.id, w.valve_relay) for w in watches):
        what = "leak watch with a valve" if valve else "leak watch"
        known = ", ".join(w.id for w in watches) or "none"
        t.fail("watch", f"no {what} {name!r} in the box config (declared: {known})")
    return name


def _duration(r: WorldReader, t: Table, shortest: timedelta) -> timedelta | None:
    duration = r.duration(t, "duration")
    if duration is None and not t.has("duration"):
        t.fail("duration", "missing; expected how long, like '3h'")
    elif duration is not None and not shortest <= duration <= MAX_ORDER:
        t.fail("duration", f"must be at least {shortest.total_seconds():g} s and at most 7 days")
    return duration


def read_action(r: WorldReader, t: Table, box: BoxConfig) -> ActionSpec | None:
    """One [[actions]] table."""
    at = r.when(t, "at")
    kind = t.get("kind", str, check=one_of(*ACTION_KINDS))
    target, state, duration, alarm = "", "on", None, None
    if kind == "override":
        target = r.relay_ref(t, "relay", required=True) or ""
        state = t.get("state", str, check=one_of("on", "off", "auto"))
        duration = _duration(r, t, timedelta(seconds=1)) if state != "auto" else None
    elif kind in ACTION_KINDS:
        target = _watch(t, box, valve=kind != "ack")
        if kind == "ack":
            alarm = t.optional("alarm", str)
        elif kind == "hydrant":
            state = t.get("state", str, "on", one_of("on", "off"))
            duration = _duration(r, t, MIN_HYDRANT) if state == "on" else None
    reason = t.get("reason", str, "")
    t.done()
    if not t.ok or at is None:
        return None
    return ActionSpec(at, kind, target, state, duration, alarm, reason)


def read_hydrant(r: WorldReader, t: Table, meters: set[str]) -> HydrantSpec | None:
    """One [[hydrants]] table: a draw on a meter of [[water.meters]], and the key switch turned meanwhile."""
    meter = t.get("meter", str)
    if t.has("meter") and meter not in meters:
        t.fail("meter", f"no [[water.meters]] entry for {meter!r} (declared: {', '.join(sorted(meters)) or 'none'})")
    span = r.spell(t)
    rate = t.get("rate_lph", float, check=positive)
    switch = t.optional("key_switch", str)
    if switch is not None:
        r.sensor_ref(t, "key_switch", switch, "contact")
    t.done()
    if not t.ok or span is None or span[1] is None:
        return None
    return HydrantSpec(meter, span[0], span[1], rate, switch)
