"""The simulated world around a box: it sets every simulated part for each instant of simulated time."""

from __future__ import annotations

import bisect
import math
import zoneinfo
from datetime import datetime

from drivers.sim.parts import SimulatedParts
from drivers.sim.sensor_light import SensorLight
from drivers.sim.solar import CIVIL_DUSK_DEG, SunTracker
from drivers.sim.thermal import ZoneModel, relative_humidity_pct
from drivers.sim.water import MeterModel, WaterEvent
from drivers.sim.weather import HOUR_S, LightModel, OutdoorModel, gauss
from drivers.sim.world_spec import BurstSpec, FaultSpec, PowerCutSpec, WorldSpec

#: Standard deviation of the noise a "noisy" fault adds, by what the sensor measures.
NOISY_LUX_FRACTION = 0.5
NOISY_TEMPERATURE_C = 4.0
NOISY_HUMIDITY_PCT = 15.0
_NOISE_STREAM = 1000
_WATER_STREAM = 2000


class World:
    """Sun, weather, buildings and water around one box, driving its simulated parts.

    `update(now, dt_s)` sets every part for `now` (lux, temperatures, humidity, flows, faults)
    and then integrates the `dt_s` seconds that follow: zone temperatures with the heaters as
    their contactors are at `now`, water volumes with the flows just set. During a power cut
    every load (heaters, valve) is unpowered whatever its relay says.
    """

    def __init__(self, spec: WorldSpec, parts: SimulatedParts) -> None:
        self.spec = spec
        self.parts = parts
        site = spec.site
        self.tz = zoneinfo.ZoneInfo(site.timezone)
        self.sun = SunTracker(site.latitude, site.longitude)
        self.light = LightModel(spec.light, site.seed)
        self.sensor_light = SensorLight(spec.light)
        self.outdoor = OutdoorModel(spec.outdoor, site.seed)
        self.zones = {z.id: ZoneModel(z) for z in spec.zones}
        water = spec.water
        on_site = spec.on_site
        # A hydrant in use draws like a burst (nothing while the valve is closed) and turns its key switch.
        draws = tuple(BurstSpec(h.meter, h.start, h.end, h.rate_lph) for h in on_site.hydrants)
        self._switches = on_site.switches if any(h.key_switch for h in on_site.hydrants) else None
        self.meters = {
            m.sensor: MeterModel(m, site.seed, _WATER_STREAM + i, water.leaks, water.bursts + draws, water.uses)
            for i, m in enumerate(water.meters)
        }
        self.metered_volume_l = dict.fromkeys(self.meters, 0.0)
        self.energy_kwh = {e.sensor: 0.0 for e in spec.energy_meters}
        self._faults = tuple((f.start.timestamp(), f.end.timestamp(), f) for f in spec.faults)
        self._fault_edges = sorted({edge for start, end, _ in self._faults for edge in (start, end)})
        self._quiet = (math.inf, -math.inf)  # a span of time in which _update_faults has nothing to do
        self._cuts = tuple((c.start.timestamp(), c.end.timestamp(), c) for c in spec.power_cuts)
        self._active: dict[str, FaultSpec] = {}
        self._last: dict[str, float] = {}
        self._stuck: dict[str, float] = {}
        self._noise_streams = {f.sensor: _NOISE_STREAM + i for i, f in enumerate(spec.faults)}
        self._offset_hour: int | None = None
        self._offset_s = 0.0
        self.valve_closed = False
        self.outdoor_c = self.outdoor.temperature_c(site.start.timestamp(), self._local_s(site.start.timestamp()))
        self.illuminance = 0.0

    # ---- the step -------------------------------------------------------------------------

    def update(self, now: datetime, dt_s: float) -> None:
        """Set every simulated part for `now`, then integrate the next `dt_s` seconds."""
        ts = now.timestamp()
        local_s = self._local_s(ts)
        powered = self._cut_at(ts) is None
        if self._faults:
            self._update_faults(ts)
        self.illuminance = self.light.illuminance_lx(ts, self.sun.elevation_deg(ts))
        for sensor in self.spec.light.sensors:
            seen = self.sensor_light.lux(sensor, self.illuminance, ts, powered, self.parts.relay_energised)
            self.parts.set_illuminance(sensor, self._faulted(sensor, seen, ts, NOISY_LUX_FRACTION, True))
        self.outdoor_c = self.outdoor.temperature_c(ts, local_s)
        for sensor in self.spec.outdoor.thermometers:
            self.parts.set_temperature(sensor, self._faulted(sensor, self.outdoor_c, ts, NOISY_TEMPERATURE_C))
        for zone in self.zones.values():
            self._update_zone(zone, ts, powered, dt_s)
        if self._switches is not None:
            for sensor, active in self._switches(now).items():
                self.parts.set_switch(sensor, active)
        water = self.spec.water
        if water.valve is not None:
            energised = powered and self.parts.relay_energised(water.valve)
            self.valve_closed = energised == water.valve_closed_when_energised
        for sensor, meter in self.meters.items():
            flow = meter.step(ts, local_s, self.valve_closed, dt_s)
            fault = self._active.get(sensor)
            if fault is None or fault.kind != "stuck":
                self.parts.set_flow(sensor, flow)
                if fault is None:
                    self.metered_volume_l[sensor] += flow * dt_s / HOUR_S
            else:
                self.parts.set_flow(sensor, 0.0)
        for energy in self.spec.energy_meters:
            power_w = energy.base_w
            if powered:
                power_w += sum(self.parts.load_w(r) for r in energy.relays)
            self.energy_kwh[energy.sensor] += power_w * dt_s / 3.6e6
            self.parts.set_meter_value(energy.sensor, "active_power_w", power_w)
            self.parts.set_meter_value(energy.sensor, "import_energy_kwh", self.energy_kwh[energy.sensor])
            self.parts.set_meter_value(energy.sensor, "total_energy_kwh", self.energy_kwh[energy.sensor])

    def _update_zone(self, zone: ZoneModel, ts: float, powered: bool, dt_s: float) -> None:
        spec = zone.spec
        for sensor in spec.thermometers:
            self.parts.set_temperature(sensor, self._faulted(sensor, zone.temperature_c, ts, NOISY_TEMPERATURE_C))
            if sensor in self.parts.i2c:
                rh_pct = relative_humidity_pct(zone.temperature_c, spec.relative_humidity_pct)
                humidity = self._faulted(sensor + "#rh", rh_pct, ts, NOISY_HUMIDITY_PCT)
                self.parts.set_humidity(sensor, min(100.0, max(0.0, humidity)))
        heater_on = powered and spec.heater is not None and self.parts.relay_energised(spec.heater)
        zone.step(self.outdoor_c, heater_on, dt_s)

    def _local_s(self, ts: float) -> float:
        hour = int(ts // HOUR_S)
        if hour != self._offset_hour:
            self._offset_hour = hour
            offset = self.tz.utcoffset(datetime.fromtimestamp(hour * HOUR_S, self.tz))
            self._offset_s = offset.total_seconds() if offset is not None else 0.0
        return ts + self._offset_s

    # ---- faults ---------------------------------------------------------------------------

    def _update_faults(self, ts: float) -> None:
        quiet_from, quiet_until = self._quiet
        if quiet_from <= ts < quiet_until:
            return  # no fault starts or ends in this span, and the last pass left nothing to do
        for start, end, fault in self._faults:
            active = start <= ts < end
            current = self._active.get(fault.sensor)
            if active and current is None:
                self._active[fault.sensor] = fault
                if fault.kind == "unplugged":
                    self.parts.unplug(fault.sensor)
                elif fault.kind == "stuck":
                    for key in (fault.sensor, fault.sensor + "#rh"):
                        if key in self._last:
                            self._stuck[key] = self._last[key]
            elif not active and current is fault:
                del self._active[fault.sensor]
                self._stuck.pop(fault.sensor, None)
                self._stuck.pop(fault.sensor + "#rh", None)
                if fault.kind == "unplugged":
                    self.parts.plug(fault.sensor)
        settled = all(not start <= ts < end or fault.sensor in self._active for start, end, fault in self._faults)
        edges = self._fault_edges
        later = bisect.bisect_right(edges, ts)
        self._quiet = (math.inf, -math.inf)
        if settled:
            self._quiet = (edges[later - 1] if later else -math.inf, edges[later] if later < len(edges) else math.inf)

    def _faulted(self, key: str, value: float, ts: float, noise: float, relative: bool = False) -> float:
        if not self._active:
            self._last[key] = value
            return value
        sensor = key.partition("#")[0]
        fault = self._active.get(sensor)
        if fault is None or fault.kind == "unplugged":
            self._last[key] = value
            return value
        if fault.kind == "stuck":
            return self._stuck.setdefault(key, self._last.get(key, value))
        self._last[key] = value
        if fault.kind in ("offset", "drift"):
            return value + fault.error_c(ts) if key == sensor else value  # the temperature only, not humidity
        g = gauss(self.spec.site.seed, self._noise_streams[sensor] + (key != sensor), int(ts))
        return max(0.0, value * (1.0 + noise * g)) if relative else value + noise * g

    # ---- ground truth -----------------------------------------------------------------------

    def sun_elevation_deg(self, when: datetime) -> float:
        """Apparent elevation of the sun at the box (degrees)."""
        return self.sun.elevation_deg(when.timestamp())

    def is_civil_night(self, when: datetime) -> bool:
        """Whether the sun is below -6 degrees (after civil dusk, before civil dawn)."""
        return self.sun.elevation_deg(when.timestamp()) < CIVIL_DUSK_DEG

    def illuminance_lx(self, when: datetime) -> float:
        """True outdoor illuminance (what a healthy lux sensor would see)."""
        ts = when.timestamp()
        return self.light.illuminance_lx(ts, self.sun.elevation_deg(ts))

    def outdoor_temperature_c(self, when: datetime) -> float:
        """True outdoor temperature."""
        ts = when.timestamp()
        return self.outdoor.temperature_c(ts, self._local_s(ts))

    def zone_temperature_c(self, zone_id: str) -> float:
        """A zone's true temperature now (after the last update)."""
        return self.zones[zone_id].temperature_c

    def zone_temperatures_c(self) -> dict[str, float]:
        """Every zone's true temperature now."""
        return {zone_id: zone.temperature_c for zone_id, zone in self.zones.items()}

    def water_events(self, meter: str | None = None) -> tuple[WaterEvent, ...]:
        """Leaks and bursts (on one meter, or all), in start order."""
        events = [WaterEvent("leak", x.meter, x.start, x.end, x.rate_lph) for x in self.spec.water.leaks]
        events += [WaterEvent("burst", x.meter, x.start, x.end, x.rate_lph) for x in self.spec.water.bursts]
        return tuple(sorted((e for e in events if meter is None or e.meter == meter), key=lambda e: e.start))

    def volume_l(self, meter: str) -> float:
        """All the water that went through a meter's pipe so far."""
        return self.meters[meter].volume_l

    def faults(self, sensor: str | None = None) -> tuple[FaultSpec, ...]:
        """The declared sensor faults (of one sensor, or all)."""
        return tuple(f for f in self.spec.faults if sensor is None or f.sensor == sensor)

    def active_faults(self) -> dict[str, FaultSpec]:
        """Faults in force after the last update, by sensor id."""
        return dict(self._active)

    @property
    def power_cuts(self) -> tuple[PowerCutSpec, ...]:
        """The declared power cuts."""
        return self.spec.power_cuts

    def power_cut_at(self, when: datetime) -> PowerCutSpec | None:
        """The power cut in force at `when`, if any."""
        return self._cut_at(when.timestamp())

    def powered(self, when: datetime) -> bool:
        """Whether the box has mains power at `when`."""
        return self._cut_at(when.timestamp()) is None

    def _cut_at(self, ts: float) -> PowerCutSpec | None:
        for start, end, cut in self._cuts:
            if start <= ts < end:
                return cut
        return None
