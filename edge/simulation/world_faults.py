"""The fault sections of a world file: [[faults]] on sensors, [[storage_faults]], [[power_cuts]], [[energy_meters]]."""

from __future__ import annotations

from drivers.sim.world_spec import (
    FAULT_KINDS,
    STORAGE_FAULT_KINDS,
    STORAGE_INSTANTS,
    STORAGE_SPELLS,
    EnergyMeterSpec,
    FaultSpec,
    StorageFaultSpec,
)
from edge.config.reader import Table, in_range, one_of
from edge.simulation.world_reader import ROLES, WorldReader


def read_faults(r: WorldReader, top: Table) -> tuple[FaultSpec, ...]:
    """[[faults]]: sensor, kind, start, end or duration."""
    faults: list[tuple[str, FaultSpec]] = []
    for _, t in top.tables("faults"):
        sensor = t.get("sensor", str)
        kind = t.get("kind", str, check=one_of(*FAULT_KINDS))
        span = r.spell(t)
        known = t.has("sensor") and r.sensor_ref(t, "sensor", sensor, None)
        role = next((ROLES[i] for i in sorted(r.sees(sensor)) if i in ROLES), "other")
        if known and kind in ("stuck", "noisy", "offset", "drift") and sensor not in r.driven:
            t.fail("kind", f"the world does not drive {sensor!r}: only 'unplugged' applies (or list it in a zone, "
                           "[light] sensors, [outdoor] thermometers or [[water.meters]])")
        elif known and kind == "noisy" and role == "water":
            t.fail("kind", f"{sensor!r} is a pulse meter: it counts pulses and cannot be noisy "
                           "(use 'stuck' or 'unplugged')")
        elif known and kind in ("offset", "drift") and role != "temperature":
            t.fail("kind", f"{sensor!r} is not a thermometer: only a thermometer can read an {kind}")
        # A thermometer reading wrong values: by how much (the other kinds leave these keys unknown).
        wrong = {"offset_c": 0.0, "drift_c_per_day": 0.0}
        if kind == "offset":
            wrong["offset_c"] = t.get("offset_c", float, check=in_range(-50.0, 50.0, " °C"))
        elif kind == "drift":
            wrong["drift_c_per_day"] = t.get("drift_c_per_day", float, check=in_range(-20.0, 20.0, " °C/d"))
        t.done()
        if not t.ok or span is None or span[1] is None:
            continue
        fault = FaultSpec(sensor, span[0], span[1], kind, role, **wrong)
        for other_key, other in faults:
            if other.sensor == sensor and other.start < fault.end and fault.start < other.end:
                t.fail("start", f"overlaps the fault at {other_key} on the same sensor")
        if t.ok:
            faults.append((t.path, fault))
    return tuple(f for _, f in faults)



def read_storage_fault(r: WorldReader, t: Table) -> StorageFaultSpec | None:
    """[[storage_faults]]: kind, start, and for a spell end or duration (an instant has neither)."""
    kind = t.get("kind", str, check=one_of(*STORAGE_FAULT_KINDS))
    span = r.spell(t, end_required=kind in STORAGE_SPELLS)
    if kind in STORAGE_INSTANTS and span is not None and span[1] is not None:
        t.fail("duration" if t.has("duration") else "end", f"a {kind} fault happens at an instant: give start only")
    t.done()
    return StorageFaultSpec(kind, span[0], span[1]) if t.ok and span is not None else None



def read_energy_meter(r: WorldReader, t: Table) -> EnergyMeterSpec | None:
    """[[energy_meters]]: an SDM120/SDM630 measuring the loads behind relays."""
    sensor = t.get("sensor", str)
    if t.has("sensor"):
        r.sensor_ref(t, "sensor", sensor, "electricity")
    relays = t.get("relays", list, [])
    for relay in relays:
        if not isinstance(relay, str) or relay not in r.relays:
            t.fail("relays", f"no relay {relay!r} in the box config (relays: {', '.join(sorted(r.relays))})")
    spec = EnergyMeterSpec(
        sensor=sensor,
        relays=tuple(relays),
        base_w=t.get("base_w", float, 0.0, in_range(0.0, 1_000_000.0, " W")),
    )
    t.done()
    return spec if t.ok else None
