"""The [outdoor] and [[zones]] sections of a world file: outdoor temperature and heated zones."""

from __future__ import annotations

from drivers.sim.world_spec import ColdSnapSpec, OutdoorSpec, ZoneSpec
from edge.config.reader import Table, check_id, in_range, positive
from edge.simulation.world_reader import WorldReader


def read_outdoor(r: WorldReader, t: Table) -> OutdoorSpec:
    """[outdoor]: yearly and daily cycles, weather spread, thermometers, [[outdoor.cold_snaps]]."""
    snaps = []
    for _, st in t.tables("cold_snaps"):
        span = r.spell(st)
        temperature_c = st.get("temperature_c", float, check=in_range(-50.0, 30.0, " °C"))
        st.done()
        if span is not None and span[1] is not None:
            snaps.append(ColdSnapSpec(span[0], span[1], temperature_c))
    spec = OutdoorSpec(
        annual_mean_c=t.get("annual_mean_c", float, 11.0, in_range(-30.0, 40.0, " °C")),
        annual_swing_c=t.get("annual_swing_c", float, 9.0, in_range(0.0, 30.0, " °C")),
        daily_swing_c=t.get("daily_swing_c", float, 4.0, in_range(0.0, 20.0, " °C")),
        day_to_day_c=t.get("day_to_day_c", float, 2.0, in_range(0.0, 10.0, " °C")),
        cold_snaps=tuple(snaps),
        thermometers=r.sensor_list(t, "thermometers", "temperature"),
    )
    t.done()
    return spec



def read_zone(r: WorldReader, t: Table) -> ZoneSpec | None:
    """[[zones]]: one heated zone."""
    zone_id = t.get("id", str, check=check_id)
    if zone_id in r.zone_ids:
        t.fail("id", f"duplicate zone id {zone_id!r}")
    r.zone_ids.add(zone_id)
    thermometers = r.sensor_list(t, "thermometers", "temperature")
    heater = r.relay_ref(t, "heater")
    default_w = r.relays[heater].load_w if heater in r.relays else 0.0
    spec = ZoneSpec(
        id=zone_id,
        thermometers=thermometers,
        heater=heater,
        heater_w=t.get("heater_w", float, default_w, in_range(0.0, 1_000_000.0, " W")),
        loss_w_per_k=t.get("loss_w_per_k", float, check=positive),
        capacity_kj_per_k=t.get("capacity_kj_per_k", float, check=positive),
        initial_c=t.get("initial_c", float, 15.0, in_range(-40.0, 60.0, " °C")),
        internal_gain_w=t.get("internal_gain_w", float, 0.0, in_range(0.0, 1_000_000.0, " W")),
        relative_humidity_pct=t.get("relative_humidity_pct", float, 50.0, in_range(0.0, 100.0, " %")),
    )
    if heater is not None and spec.heater_w <= 0 and t.ok:
        t.fail("heater_w", f"relay {heater!r} has no load_w in the box config: give heater_w")
    t.done()
    return spec if t.ok else None
