"""A box's measuring entities: WaterConsumptionObserved per water meter (with its leak alarms),
ThreePhaseAcMeasurement per energy meter, IndoorEnvironmentObserved per heating zone.

Reading names carry their units (drivers/registers.py NAME_SUFFIXES): a water meter is a sensor with a total
`*_l` or a flow `*_lph`; an energy meter one with Eastron SDM120/SDM630 registers (`*_kwh`, `active_power_w`,
`voltage_l1_v`...); a heating zone is a controller whose decisions carry `setpoint_c`, its thermometer the
desired config's `thermometer` (else the temperature its decisions were taken on).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from fleet.opendata.collect import DeviceFacts
from fleet.opendata.entities import Built, Skipped, building, lighting, new_entity
from fleet.opendata.ngsi import iso, prop
from fleet.opendata.settings import NgsiSettings

#: Energy meter registers -> (ThreePhaseAcMeasurement attribute, unit).
TOTALS: Mapping[str, tuple[str, str]] = {
    "import_energy_kwh": ("totalActiveEnergyImport", "kWh"),
    "export_energy_kwh": ("totalActiveEnergyExport", "kWh"),
    "active_power_w": ("totalActivePower", "W"),
    "apparent_power_va": ("totalApparentPower", "VA"),
    "reactive_power_var": ("totalReactivePower", "var"),
    "frequency_hz": ("frequency", "Hz"),
    "power_factor": ("totalPowerFactor", "1"),
}
#: A meter without an import register: its total register is what it imported.
TOTAL_REGISTER = "total_energy_kwh"
#: Per-phase registers (SDM630: `voltage_l1_v`...; SDM120, one phase: `voltage_v`, `current_a`).
_PHASE = re.compile(r"(voltage|current|active_power)(?:_l([123]))?_(v|a|w)")
PHASES: Mapping[str, tuple[str, str]] = {
    "voltage": ("phaseVoltage", "V"), "current": ("current", "A"), "active_power": ("activePower", "W"),
}
#: How a continuous_flow alarm shows in alarmFlowPersistence: open, recently cleared, never.
PERSISTENCE = ("In progress persistence", "Past Persistence during the period", "Nothing to report")


def _sections(facts: DeviceFacts, name: str) -> list[Mapping[str, Any]]:
    value = facts.config.get(name)
    return [item for item in value if isinstance(item, Mapping)] if isinstance(value, list) else []


def water_meters(facts: DeviceFacts) -> list[str]:
    """Sensors with a volume total or a flow, meters with night figures, and the leak controllers' meters."""
    found = {s for (s, name) in facts.latest if name.endswith(("_l", "_lph"))} | set(facts.night_min_lph)
    found |= {str(leak["meter"]) for leak in _sections(facts, "leak") if isinstance(leak.get("meter"), str)}
    return sorted(found)


def _meter_of_alarm(facts: DeviceFacts, meters: list[str]) -> dict[str, str]:
    """Leak controller -> its meter (the desired config's [[leak]] meter; the only meter when there is one)."""
    owners = {str(leak.get("id")): str(leak["meter"]) for leak in _sections(facts, "leak") if "meter" in leak}
    if len(meters) == 1:
        for alarm in facts.alarms:
            if alarm.controller is not None:
                owners.setdefault(alarm.controller, meters[0])
    return owners


def water(facts: DeviceFacts, settings: NgsiSettings, out: Built) -> None:
    """One WaterConsumptionObserved per water meter: its reading, last week's minimum night flow, its alarms."""
    meters = water_meters(facts)
    owners = _meter_of_alarm(facts, meters)
    for meter in meters:
        entity = new_entity("WaterConsumptionObserved", settings, facts, meter)
        entity["name"] = prop(meter)
        totals = [v for (s, name), v in facts.latest.items() if s == meter and name.endswith("_l")]
        seen = [v[0] for (s, _name), v in facts.latest.items() if s == meter]
        if totals:
            ts, litres = max(totals)
            entity["waterConsumption"] = prop(round(litres), ts, "L")
        alarms = [a for a in facts.alarms if a.kind != "relay_feedback" and owners.get(a.controller or "") == meter]
        observed_at = max([*seen, *(a.changed_at for a in alarms)], default=None)
        if observed_at is None:
            out.skipped.append(Skipped(entity["type"], entity["id"], "no reading nor alarm of this meter lately"))
            continue
        if meter in facts.night_min_lph:
            entity["minFlow"] = prop(round(facts.night_min_lph[meter]), observed_at, "L/h")
        opened = {a.kind for a in alarms if a.open}
        entity["alarmInProgress"] = prop(1 if opened else 0, observed_at)
        entity["alarmStopsLeaks"] = prop(1 if "leak" in opened else 0, observed_at)
        persistence = 0 if "continuous_flow" in opened else 1 if any(
            a.kind == "continuous_flow" for a in alarms) else 2
        entity["alarmFlowPersistence"] = prop(PERSISTENCE[persistence], observed_at)
        out.add(entity)


def energy_meters(facts: DeviceFacts) -> list[str]:
    """Sensors with an energy register, or per-phase / total power readings."""
    names = set(TOTALS) | {TOTAL_REGISTER}
    return sorted({s for (s, name) in facts.latest if name in names or _PHASE.fullmatch(name)})


def energy(facts: DeviceFacts, settings: NgsiSettings, out: Built) -> None:
    """One ThreePhaseAcMeasurement per energy meter, with its latest registers."""
    for meter in energy_meters(facts):
        entity = new_entity("ThreePhaseAcMeasurement", settings, facts, meter)
        entity["name"] = prop(meter)
        readings = {name: v for (s, name), v in facts.latest.items() if s == meter}
        if "import_energy_kwh" not in readings and TOTAL_REGISTER in readings:
            readings["import_energy_kwh"] = readings[TOTAL_REGISTER]
        phases: dict[str, dict[str, tuple[float, float]]] = {}
        for name, (ts, value) in sorted(readings.items()):
            if name in TOTALS:
                attribute, unit = TOTALS[name]
                entity[attribute] = prop(value, ts, unit)
            elif (match := _PHASE.fullmatch(name)) is not None:
                phases.setdefault(match[1], {})[f"L{match[2] or 1}"] = (ts, value)
        for quantity, lines in sorted(phases.items()):
            attribute, unit = PHASES[quantity]
            entity[attribute] = prop({line: v for line, (_t, v) in sorted(lines.items())},
                                     max(t for t, _v in lines.values()), unit)
        out.add(entity)


def heating_zones(facts: DeviceFacts) -> list[str]:
    """Heating controllers: their decisions carry the setpoint they heat to."""
    return sorted(s for s, items in facts.decisions.items()
                  if any("setpoint_c" in d.data and "lux" not in d.data for d in items))


def _zone_temperature(facts: DeviceFacts, zone: str) -> tuple[float, float, str | None] | None:
    """(time, °C, thermometer) of the zone's latest temperature."""
    configured = {str(h.get("id")): h.get("thermometer") for h in _sections(facts, "heating")}
    sensor = configured.get(zone)
    if isinstance(sensor, str) and (sensor, "temperature_c") in facts.latest:
        ts, value = facts.latest[(sensor, "temperature_c")]
        return ts, value, sensor
    for decision in reversed(facts.decisions[zone]):
        value = decision.data.get("temperature_c")
        if isinstance(value, int | float) and not isinstance(value, bool):
            return decision.ts, float(value), None
    return None


def indoor(facts: DeviceFacts, settings: NgsiSettings, out: Built) -> None:
    """One IndoorEnvironmentObserved per heating zone: its thermometer's latest temperature (and humidity).

    The model's temperature cannot be below 0 (its schema's minimum): a frozen room's reading is left out, its
    dateObserved still sent."""
    for zone in heating_zones(facts):
        entity = new_entity("IndoorEnvironmentObserved", settings, facts, zone)
        found = _zone_temperature(facts, zone)
        if "location" not in entity or found is None:
            why = "the box's coordinates are unknown" if found else "no temperature of this zone lately"
            out.skipped.append(Skipped(entity["type"], entity["id"], why))
            continue
        ts, temperature_c, sensor = found
        entity["name"] = prop(zone)
        entity["dateObserved"] = prop(iso(ts), ts)
        if temperature_c >= 0:
            entity["temperature"] = prop(temperature_c, ts, "°C")
        humidity = facts.latest.get((sensor, "relative_humidity_pct")) if sensor else None
        if humidity is not None and humidity[1] >= 0:
            entity["relativeHumidity"] = prop(humidity[1] / 100.0, humidity[0], "1")
        out.add(entity)


def build_device(facts: DeviceFacts, settings: NgsiSettings, out: Built | None = None) -> Built:
    """Every entity of one box."""
    out = Built() if out is None else out
    building(facts, settings, out)
    lighting(facts, settings, out)
    water(facts, settings, out)
    energy(facts, settings, out)
    indoor(facts, settings, out)
    return out
