"""The [light] section of a world file: lux sensors, cloud cover, storms."""

from __future__ import annotations

from drivers.sim.world_spec import LightSpec, StormSpec
from edge.config.reader import Table, in_range
from edge.simulation.world_reader import WorldReader


def read_light(r: WorldReader, t: Table) -> LightSpec:
    """[light]: lux sensors, mean cloud cover, [[light.storms]]."""
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
    t.done()
    return LightSpec(sensors, cloud, tuple(storms))
