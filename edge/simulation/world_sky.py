"""The [light] section of a world file: lux sensors, cloud cover, storms, shade on a sensor, lamps lighting one."""

from __future__ import annotations

from drivers.sim.world_spec import LampLightSpec, LightSpec, ShadeSpec, StormSpec
from edge.config.reader import Table, in_range
from edge.simulation.world_reader import WorldReader


def read_light(r: WorldReader, t: Table) -> LightSpec:
    """[light]: lux sensors, mean cloud cover, [[light.storms]], [[light.shade]], [[light.lamps]]."""
    if t.has("sensors"):
        sensors = r.sensor_list(t, "sensors", "illuminance")
    else:
        sensors = tuple(s for s in r.sensors if "illuminance" in r.sees(s))
        r.driven.update(dict.fromkeys(sensors, "light"))
    cloud = t.get("cloud_cover", float, 0.5, in_range(0.0, 1.0))
    storms = []
    for _, st in t.tables("storms"):
        span = r.spell(st)
        light_pct = st.get("light_pct", float, 8.0, in_range(0.0, 100.0, " %"))
        st.done()
        if span is not None and span[1] is not None:
            storms.append(StormSpec(span[0], span[1], light_pct))
    shades = []
    for _, sh in t.tables("shade"):
        sensor = _light_sensor(r, sh, sensors)
        span = r.spell(sh)
        factor_pct = sh.get("factor_pct", float, check=in_range(0.0, 100.0, " %"))
        sh.done()
        if sh.ok and sensor is not None and span is not None and span[1] is not None:
            shades.append(ShadeSpec(sensor, span[0], span[1], factor_pct))
    lamps = []
    for _, lt in t.tables("lamps"):
        sensor = _light_sensor(r, lt, sensors)
        relay = r.relay_ref(lt, "relay", required=True)
        lux = lt.get("lux", float, check=in_range(0.0, 100_000.0, " lx"))
        lt.done()
        if lt.ok and sensor is not None and relay is not None:
            lamps.append(LampLightSpec(sensor, relay, lux))
    t.done()
    return LightSpec(sensors, cloud, tuple(storms), tuple(shades), tuple(lamps))


def _light_sensor(r: WorldReader, t: Table, sensors: tuple[str, ...]) -> str | None:
    """The `sensor` of a [[light.shade]] or [[light.lamps]] entry: one of the [light] sensors."""
    sensor = t.get("sensor", str)
    if not t.has("sensor") or not r.sensor_ref(t, "sensor", sensor, "illuminance"):
        return None
    if sensor not in sensors:
        t.fail("sensor", f"{sensor!r} is not one of the [light] sensors ({', '.join(sensors) or 'none'})")
        return None
    return sensor
