"""The [water] section of a world file: the valve, the use behind each meter, leaks and bursts."""

from __future__ import annotations

from drivers.sim.water import CISTERN_FILL_LPH
from drivers.sim.world_spec import (
    DEMAND_PROFILES,
    NIGHT_DISTRIBUTIONS,
    USE_KINDS,
    BurstSpec,
    LeakSpec,
    MeterSpec,
    UseSpec,
    WaterSpec,
)
from edge.config.reader import Table, in_range, one_of, positive
from edge.simulation.world_reader import WorldReader


def read_water(r: WorldReader, t: Table) -> WaterSpec:
    """[water]: valve, [[water.meters]], [[water.leaks]], [[water.bursts]], [[water.uses]]."""
    valve = r.relay_ref(t, "valve")
    closed_when = t.get("valve_closed_when", str, "energised", one_of("energised", "de-energised"))
    meters = tuple(m for _, mt in t.tables("meters") if (m := read_meter(r, mt)) is not None)
    names = {m.sensor for m in meters}
    leaks = []
    for _, lt in t.tables("leaks"):
        meter = read_meter_ref(r, lt, names)
        span = r.spell(lt, end_required=False)
        rate = lt.get("rate_lph", float, check=positive)
        period = lt.optional("period_min", float, in_range(1.0, 1440.0, " min"))
        if period is not None and rate is not None and rate >= CISTERN_FILL_LPH:
            lt.fail("rate_lph", f"a running cistern (period_min) fills at {CISTERN_FILL_LPH:g} L/h: its mean flow "
                                "must be less")
        lt.done()
        if span is not None and meter is not None and lt.ok:
            leaks.append(LeakSpec(meter, span[0], rate, span[1], period))
    bursts = []
    for _, bt in t.tables("bursts"):
        meter = read_meter_ref(r, bt, names)
        span = r.spell(bt)
        rate = bt.get("rate_lph", float, check=positive)
        bt.done()
        if span is not None and span[1] is not None and meter is not None:
            bursts.append(BurstSpec(meter, span[0], span[1], rate))
    uses = tuple(u for _, ut in t.tables("uses") if (u := read_use(r, ut, names)) is not None)
    t.done()
    return WaterSpec(meters, tuple(leaks), tuple(bursts), valve, closed_when == "energised", uses)


def read_use(r: WorldReader, t: Table, names: set[str]) -> UseSpec | None:
    """[[water.uses]]: legitimate use on a meter by date (holiday: none; fete, tank_fill: rate_lph more)."""
    meter = read_meter_ref(r, t, names)
    kind = t.get("kind", str, check=one_of(*USE_KINDS))
    span = r.spell(t)
    rate = 0.0
    if kind == "holiday":
        if t.has("rate_lph"):
            t.get("rate_lph", float)  # read, so that the one problem named is this one
            t.fail("rate_lph", "a holiday stops all use: it has no rate")
    else:
        rate = t.get("rate_lph", float, check=positive)
    t.done()
    if not t.ok or meter is None or span is None or span[1] is None:
        return None
    return UseSpec(meter, kind, span[0], span[1], rate)



def read_meter(r: WorldReader, t: Table) -> MeterSpec | None:
    """[[water.meters]]: the use behind one pulse meter (night refills and flushes, night-to-night law)."""
    sensor: str | None = t.get("sensor", str)
    if t.ok:
        sensor = r.claim(t, "sensor", sensor, "flow")
    spec = MeterSpec(
        sensor=sensor or "",
        profile=t.get("profile", str, "village", one_of(*DEMAND_PROFILES)),
        night_lph=t.get("night_lph", float, 0.0, in_range(0.0, 1_000_000.0, " L/h")),
        night_variation_pct=t.get("night_variation_pct", float, 0.0, in_range(0.0, 100.0, " %")),
        day_lph=t.get("day_lph", float, 100.0, in_range(0.0, 1_000_000.0, " L/h")),
        noise_pct=t.get("noise_pct", float, 10.0, in_range(0.0, 100.0, " %")),
        behind_valve=t.get("behind_valve", bool, True),
        night_distribution=t.get("night_distribution", str, "uniform", one_of(*NIGHT_DISTRIBUTIONS)),
        refills_per_hour=t.get("refills_per_hour", float, 0.0, in_range(0.0, 60.0, " per hour")),
        refill_l=t.get("refill_l", float, 3.0, in_range(0.1, 50.0, " L")),
        flushes_per_night=t.get("flushes_per_night", float, 0.0, in_range(0.0, 100.0, " per night")),
        flush_l=t.get("flush_l", float, 6.0, in_range(0.1, 100.0, " L")),
    )
    t.done()
    return spec if t.ok and sensor else None



def read_meter_ref(r: WorldReader, t: Table, names: set[str]) -> str | None:
    """The `meter` of a leak or burst: a meter declared under [[water.meters]]."""
    meter = t.get("meter", str)
    if t.has("meter") and meter not in names:
        known = ", ".join(sorted(names)) or "none"
        t.fail("meter", f"no [[water.meters]] entry for {meter!r} (declared: {known})")
        return None
    return meter if t.ok else None
