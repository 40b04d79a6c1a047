"""Load a simulated world file (TOML) for a box, naming the file, key and reason of every problem.

Date-times are local to the box's time zone ("2026-01-20T15:00", or a TOML local date-time).
Durations are strings of numbers with units d, h, m, s: "90m", "3h", "5d", "1h30m".
A spell (storm, cold snap, fault, power cut, burst) has a `start` and either an `end` or a `duration`.
"""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from drivers.sim.world_spec import (
    DEMAND_PROFILES,
    FAULT_KINDS,
    NIGHT_DISTRIBUTIONS,
    STORAGE_FAULT_KINDS,
    STORAGE_INSTANTS,
    STORAGE_SPELLS,
    BurstSpec,
    ColdSnapSpec,
    EnergyMeterSpec,
    FaultSpec,
    LeakSpec,
    LightSpec,
    MeterSpec,
    OutdoorSpec,
    PowerCutSpec,
    SiteSpec,
    StorageFaultSpec,
    StormSpec,
    WaterSpec,
    WorldSpec,
    ZoneSpec,
)
from edge.config.box import BoxConfig
from edge.config.model import DeviceConfig
from edge.config.reader import (
    ConfigError,
    Invalid,
    Problems,
    Table,
    check_id,
    in_range,
    one_of,
    parse_duration,
    parse_toml,
    positive,
    read_toml_file,
)

__all__ = ["ConfigError", "load_world", "parse_world", "parse_duration"]

#: What a fault's sensor measures, by what the world can make its twin see.
ROLES: dict[str, str] = {"illuminance": "illuminance", "temperature": "temperature", "flow": "water",
                         "electricity": "energy"}
#: What the world's sections call the sensors they drive, by what they make them see.
NOUNS: dict[str, str] = {"illuminance": "a lux sensor", "temperature": "a thermometer", "flow": "a pulse meter",
                         "electricity": "an energy meter"}


def load_world(path: str | Path, device: DeviceConfig, box: BoxConfig) -> WorldSpec:
    """Read a world file for a box; raise ConfigError naming the file, key and reason."""
    path = Path(path)
    raw, problems = read_toml_file(path, "world file")
    return _build(raw, problems, device, box)


def parse_world(text: str, path: Path, device: DeviceConfig, box: BoxConfig) -> WorldSpec:
    """Validate world TOML text that came from `path`, against the box it simulates."""
    problems = Problems(str(path))
    return _build(parse_toml(text, problems), problems, device, box)


def _build(raw: dict[str, Any], problems: Problems, device: DeviceConfig, box: BoxConfig) -> WorldSpec:
    reader = _Reader(device, box)
    top = Table(raw, "", problems)
    site = reader.site(top.table("site", required=True))
    light = reader.light(top.table("light") or Table({}, "light", problems))
    outdoor = reader.outdoor(top.table("outdoor") or Table({}, "outdoor", problems))
    zones = tuple(z for _, t in top.tables("zones") if (z := reader.zone(t)) is not None)
    water = reader.water(top.table("water") or Table({}, "water", problems))
    faults = reader.faults(top)
    cuts = []
    for _, t in top.tables("power_cuts"):
        span = reader.spell(t)
        t.done()
        if span is not None and span[1] is not None:
            cuts.append(PowerCutSpec(span[0], span[1]))
    energy = tuple(e for _, t in top.tables("energy_meters") if (e := reader.energy_meter(t)) is not None)
    storage = tuple(f for _, t in top.tables("storage_faults") if (f := reader.storage_fault(t)) is not None)
    top.done()
    problems.raise_if_any()
    assert site is not None
    return WorldSpec(site, light, outdoor, zones, water, faults, tuple(cuts), energy, storage)


class _Reader:
    """Reads the sections of one world file, checking names against the box's config."""

    def __init__(self, device: DeviceConfig, box: BoxConfig) -> None:
        self.device = device
        self.tz = zoneinfo.ZoneInfo(device.timezone)
        self.sensors = {s.id: s for s in box.sensors}
        self.parts = box.parts
        self.relays = {a.id: a for a in box.actuators}
        self.driven: dict[str, str] = {}
        self.zone_ids: set[str] = set()

    # ---- values --------------------------------------------------------------------------

    def when(self, t: Table, name: str, required: bool = True) -> datetime | None:
        """A local date-time field, as an aware UTC datetime."""
        if not t.has(name):
            if required:
                t.fail(name, "missing; expected a local date and time like '2026-01-20T15:00'")
            return None
        value = t.get(name, object)
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value)
            except ValueError:
                t.fail(name, f"{value!r} is not a date and time like '2026-01-20T15:00'")
                return None
        if not isinstance(value, datetime):
            t.fail(name, f"expected a local date and time like '2026-01-20T15:00', got {value!r}")
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=self.tz)
        return value.astimezone(UTC)

    def duration(self, t: Table, name: str) -> timedelta | None:
        """A duration field ("90m", "3h", "5d")."""
        text = t.optional(name, str)
        if text is None:
            return None
        try:
            return parse_duration(text)
        except Invalid as exc:
            t.fail(name, str(exc))
            return None

    def spell(self, t: Table, end_required: bool = True) -> tuple[datetime, datetime | None] | None:
        """`start` plus `end` or `duration`; None when something is wrong."""
        start = self.when(t, "start")
        end = self.when(t, "end", required=False)
        length = self.duration(t, "duration")
        if end is not None and length is not None:
            t.fail("duration", "give either end or duration, not both")
        elif start is not None and length is not None:
            end = start + length
        elif end is None and end_required and t.ok:
            t.fail("end", "missing; give end (a local date and time) or duration (like '3h')")
        if start is not None and end is not None and end <= start:
            t.fail("end", "must come after start")
        if not t.ok or start is None:
            return None
        return start, end

    def sees(self, sensor_id: str) -> frozenset[str]:
        """What the world can make a sensor's twin see ("illuminance", "temperature", "flow", ...)."""
        sensor = self.sensors.get(sensor_id)
        return frozenset() if sensor is None else self.parts.of(sensor).world_inputs

    def what(self, world_input: str) -> str:
        """'a lux sensor (bh1750, veml7700)': the sensors a section may name."""
        drivers = sorted(p.driver for p in self.parts if world_input in p.world_inputs)
        return f"{NOUNS[world_input]} ({', '.join(drivers)})"

    def sensor_ref(self, t: Table, name: str, value: str, world_input: str | None) -> bool:
        """Whether a sensor id names a sensor of the box the world can drive with `world_input` (None: any)."""
        if value not in self.sensors:
            known = ", ".join(sorted(self.sensors)) or "none"
            t.fail(name, f"no sensor {value!r} in the box config (sensors: {known})")
            return False
        if world_input is not None and world_input not in self.sees(value):
            t.fail(name, f"sensor {value!r} is not {self.what(world_input)}")
            return False
        return True

    def claim(self, t: Table, name: str, value: object, world_input: str) -> str | None:
        """A sensor id the world drives (each sensor is driven by one section only)."""
        if not isinstance(value, str):
            t.fail(name, f"expected a sensor id (a string), got {value!r}")
            return None
        if not self.sensor_ref(t, name, value, world_input):
            return None
        if value in self.driven:
            t.fail(name, f"sensor {value!r} is already driven by {self.driven[value]}")
            return None
        self.driven[value] = t.key(name)
        return value

    def sensor_list(self, t: Table, name: str, world_input: str) -> tuple[str, ...]:
        """A list of sensor ids the world drives."""
        claimed = (self.claim(t, name, value, world_input) for value in t.get(name, list, []))
        return tuple(s for s in claimed if s is not None)

    def relay_ref(self, t: Table, name: str, required: bool = False) -> str | None:
        """A relay id of the box."""
        value = t.get(name, str) if required else t.optional(name, str)
        if value is not None and value not in self.relays:
            known = ", ".join(sorted(self.relays)) or "none"
            t.fail(name, f"no relay {value!r} in the box config (relays: {known})")
            return None
        return value

    # ---- sections ------------------------------------------------------------------------

    def site(self, t: Table | None) -> SiteSpec | None:
        """[site]: start, end or duration, seed."""
        if t is None:
            return None
        span = self.spell(t)
        seed = t.get("seed", int, 0, in_range(0, 2**63 - 1))
        t.done()
        if span is None or span[1] is None:
            return None
        d = self.device
        return SiteSpec(d.latitude, d.longitude, d.timezone, span[0], span[1], seed)

    def light(self, t: Table) -> LightSpec:
        """[light]: lux sensors, mean cloud cover, [[light.storms]]."""
        if t.has("sensors"):
            sensors = self.sensor_list(t, "sensors", "illuminance")
        else:
            sensors = tuple(s for s in self.sensors if "illuminance" in self.sees(s))
            self.driven.update(dict.fromkeys(sensors, "light"))
        cloud = t.get("cloud_cover", float, 0.5, in_range(0.0, 1.0))
        storms = []
        for _, st in t.tables("storms"):
            span = self.spell(st)
            light_pct = st.get("light_pct", float, 8.0, in_range(0.0, 100.0, " %"))
            st.done()
            if span is not None and span[1] is not None:
                storms.append(StormSpec(span[0], span[1], light_pct))
        t.done()
        return LightSpec(sensors, cloud, tuple(storms))

    def outdoor(self, t: Table) -> OutdoorSpec:
        """[outdoor]: yearly and daily cycles, weather spread, thermometers, [[outdoor.cold_snaps]]."""
        snaps = []
        for _, st in t.tables("cold_snaps"):
            span = self.spell(st)
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
            thermometers=self.sensor_list(t, "thermometers", "temperature"),
        )
        t.done()
        return spec

    def zone(self, t: Table) -> ZoneSpec | None:
        """[[zones]]: one heated zone."""
        zone_id = t.get("id", str, check=check_id)
        if zone_id in self.zone_ids:
            t.fail("id", f"duplicate zone id {zone_id!r}")
        self.zone_ids.add(zone_id)
        thermometers = self.sensor_list(t, "thermometers", "temperature")
        heater = self.relay_ref(t, "heater")
        default_w = self.relays[heater].load_w if heater in self.relays else 0.0
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

    def water(self, t: Table) -> WaterSpec:
        """[water]: valve, [[water.meters]], [[water.leaks]], [[water.bursts]]."""
        valve = self.relay_ref(t, "valve")
        closed_when = t.get("valve_closed_when", str, "energised", one_of("energised", "de-energised"))
        meters = tuple(m for _, mt in t.tables("meters") if (m := self.meter(mt)) is not None)
        names = {m.sensor for m in meters}
        leaks = []
        for _, lt in t.tables("leaks"):
            meter = self.meter_ref(lt, names)
            span = self.spell(lt, end_required=False)
            rate = lt.get("rate_lph", float, check=positive)
            lt.done()
            if span is not None and meter is not None:
                leaks.append(LeakSpec(meter, span[0], rate, span[1]))
        bursts = []
        for _, bt in t.tables("bursts"):
            meter = self.meter_ref(bt, names)
            span = self.spell(bt)
            rate = bt.get("rate_lph", float, check=positive)
            bt.done()
            if span is not None and span[1] is not None and meter is not None:
                bursts.append(BurstSpec(meter, span[0], span[1], rate))
        t.done()
        return WaterSpec(meters, tuple(leaks), tuple(bursts), valve, closed_when == "energised")

    def meter(self, t: Table) -> MeterSpec | None:
        """[[water.meters]]: the use behind one pulse meter (night refills and flushes, night-to-night law)."""
        sensor: str | None = t.get("sensor", str)
        if t.ok:
            sensor = self.claim(t, "sensor", sensor, "flow")
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

    def meter_ref(self, t: Table, names: set[str]) -> str | None:
        """The `meter` of a leak or burst: a meter declared under [[water.meters]]."""
        meter = t.get("meter", str)
        if t.has("meter") and meter not in names:
            known = ", ".join(sorted(names)) or "none"
            t.fail("meter", f"no [[water.meters]] entry for {meter!r} (declared: {known})")
            return None
        return meter if t.ok else None

    def faults(self, top: Table) -> tuple[FaultSpec, ...]:
        """[[faults]]: sensor, kind, start, end or duration."""
        faults: list[tuple[str, FaultSpec]] = []
        for _, t in top.tables("faults"):
            sensor = t.get("sensor", str)
            kind = t.get("kind", str, check=one_of(*FAULT_KINDS))
            span = self.spell(t)
            known = t.has("sensor") and self.sensor_ref(t, "sensor", sensor, None)
            role = next((ROLES[i] for i in sorted(self.sees(sensor)) if i in ROLES), "other")
            if known and kind in ("stuck", "noisy") and sensor not in self.driven:
                t.fail("kind", f"the world does not drive {sensor!r}: only 'unplugged' applies (or list it in a zone, "
                               "[light] sensors, [outdoor] thermometers or [[water.meters]])")
            elif known and kind == "noisy" and role == "water":
                t.fail("kind", f"{sensor!r} is a pulse meter: it counts pulses and cannot be noisy "
                               "(use 'stuck' or 'unplugged')")
            t.done()
            if not t.ok or span is None or span[1] is None:
                continue
            fault = FaultSpec(sensor, span[0], span[1], kind, role)
            for other_key, other in faults:
                if other.sensor == sensor and other.start < fault.end and fault.start < other.end:
                    t.fail("start", f"overlaps the fault at {other_key} on the same sensor")
            if t.ok:
                faults.append((t.path, fault))
        return tuple(f for _, f in faults)

    def storage_fault(self, t: Table) -> StorageFaultSpec | None:
        """[[storage_faults]]: kind, start, and for a spell end or duration (an instant has neither)."""
        kind = t.get("kind", str, check=one_of(*STORAGE_FAULT_KINDS))
        span = self.spell(t, end_required=kind in STORAGE_SPELLS)
        if kind in STORAGE_INSTANTS and span is not None and span[1] is not None:
            t.fail("duration" if t.has("duration") else "end", f"a {kind} fault happens at an instant: give start only")
        t.done()
        return StorageFaultSpec(kind, span[0], span[1]) if t.ok and span is not None else None

    def energy_meter(self, t: Table) -> EnergyMeterSpec | None:
        """[[energy_meters]]: an SDM120/SDM630 measuring the loads behind relays."""
        sensor = t.get("sensor", str)
        if t.has("sensor"):
            self.sensor_ref(t, "sensor", sensor, "electricity")
        relays = t.get("relays", list, [])
        for relay in relays:
            if not isinstance(relay, str) or relay not in self.relays:
                t.fail("relays", f"no relay {relay!r} in the box config (relays: {', '.join(sorted(self.relays))})")
        spec = EnergyMeterSpec(
            sensor=sensor,
            relays=tuple(relays),
            base_w=t.get("base_w", float, 0.0, in_range(0.0, 1_000_000.0, " W")),
        )
        t.done()
        return spec if t.ok else None
