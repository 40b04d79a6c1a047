"""NGSI-LD entities of a seeded fleet (SQLite and PostgreSQL): every type validated against the pinned Smart Data
Models schemas (JSON Schema 2020-12, common-schema.json from a local registry, no network), attribute names
declared by the model and defined by its pinned context, and the values, units and times of the seeded readings."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from ngsi_double import NOW, REFERENCE, entity_problems, seed
from referencing import Registry, Resource

from fleet.app import open_fleet
from fleet.opendata.collect import Decision, DeviceFacts
from fleet.opendata.entities import Built
from fleet.opendata.entities_meters import build_device
from fleet.opendata.export import all_devices, build
from fleet.opendata.ngsi import SUBJECTS, key_values
from fleet.opendata.settings import NgsiSettings
from fleet.store import SqlStore

A = "urn:ngsi-ld:{}:hameau:box-a:{}"
COMMON_ID = "https://smart-data-models.github.io/data-models/common-schema.json"
#: Every entity box-a must give, by the models' names.
EXPECTED_A = {
    A.format("Building", "site"), A.format("StreetlightControlCabinet", "cabinet"),
    A.format("StreetlightGroup", "street-main"), A.format("Streetlight", "street-main"),
    A.format("WaterConsumptionObserved", "water-main"), A.format("ThreePhaseAcMeasurement", "energy-main"),
    A.format("IndoorEnvironmentObserved", "hall"),
}


# -- the pinned Smart Data Models, offline ----------------------------------------------------------------------
@cache
def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


@cache
def registry() -> Registry:
    """common-schema.json by its $id: every model's $ref resolves without the network."""
    common = _load(REFERENCE / "common-schema.json")
    return Registry().with_resource(COMMON_ID, Resource.from_contents(common))


def format_checker() -> jsonschema.FormatChecker:
    """The 2020-12 format checks, date-time included (checked with the standard library)."""
    checker = jsonschema.FormatChecker()

    @checker.checks("date-time", raises=ValueError)
    def _date_time(value: object) -> bool:
        if not isinstance(value, str) or "T" not in value:
            return not isinstance(value, str)
        parsed = datetime.fromisoformat(value)
        return parsed.tzinfo is not None

    return checker


def validator(entity_type: str) -> jsonschema.Draft202012Validator:
    """The pinned schema of a model, its $refs resolved in the local registry."""
    schema = _load(REFERENCE / entity_type / "schema.json")
    return jsonschema.Draft202012Validator(schema, registry=registry(), format_checker=format_checker())


def declared(entity_type: str) -> set[str]:
    """Every property the model's schema declares (its own and the commons it takes in)."""
    schema = _load(REFERENCE / entity_type / "schema.json")
    common = _load(REFERENCE / "common-schema.json")["definitions"]
    names: set[str] = set()
    for part in schema["allOf"]:
        ref = part.get("$ref", "")
        names |= set(common[ref.rsplit("/", 1)[-1]]["properties"]) if ref else set(part.get("properties", {}))
    return names


def context_terms(subject: str) -> set[str]:
    """The terms of a model's pinned JSON-LD context (`<subject>-context.jsonld`)."""
    return set(_load(REFERENCE / f"{subject}-context.jsonld")["@context"])


def example_contexts(entity_type: str) -> list[str]:
    """The @context URLs of the model's published normalized example."""
    value = _load(REFERENCE / entity_type / "example-normalized.jsonld")["@context"]
    return value if isinstance(value, list) else [value]


@pytest.fixture
def seeded(store_url: str) -> Iterator[SqlStore]:
    store = open_fleet(store_url)
    try:
        seed(store)
        yield store
    finally:
        store.close()


def entities_of(store: SqlStore, settings: NgsiSettings | None = None) -> tuple[dict[str, dict[str, Any]], Built]:
    built = build(store.db, settings or NgsiSettings(), all_devices(store.db), NOW)
    return {e["id"]: e for e in built.entities}, built


def schema_errors(entity: dict[str, Any]) -> list[str]:
    """Every reason the pinned model refuses the entity (its keyValues form), names it does not declare,
    terms its pinned context lacks, and normalized-form faults."""
    kind = entity["type"]
    simple = key_values(entity)
    errors = [f"{kind}: {e.message[:160]}" for e in validator(kind).iter_errors(simple)]
    errors += [f"{kind}: {name} not declared by the model" for name in set(simple) - declared(kind) - {"@context"}]
    terms = context_terms(SUBJECTS[kind])
    errors += [f"{kind}: {name} not in the pinned context" for name in simple if name not in terms
               and name not in ("id", "type", "@context")]
    errors += [f"{kind}: {p}" for p in entity_problems(entity, with_context=True)]
    if entity["@context"][0] not in example_contexts(kind):
        errors.append(f"{kind}: @context {entity['@context']} is not the model's published context")
    return errors


def test_ngsi_entities_every_type_validates_against_the_pinned_schemas(seeded: SqlStore) -> None:
    found, built = entities_of(seeded)
    assert EXPECTED_A <= set(found)
    assert {e["type"] for e in found.values()} == {
        "Building", "StreetlightControlCabinet", "StreetlightGroup", "Streetlight", "WaterConsumptionObserved",
        "ThreePhaseAcMeasurement", "IndoorEnvironmentObserved",
    }
    assert [error for entity in found.values() for error in schema_errors(entity)] == []
    # box-b has no coordinates: its Building (location optional) is there, its lighting skipped with the reason.
    assert "urn:ngsi-ld:Building:hameau:box-b:site" in found
    assert {s.id for s in built.skipped} == {
        "urn:ngsi-ld:StreetlightControlCabinet:hameau:box-b:cabinet", "urn:ngsi-ld:StreetlightGroup:hameau:box-b:lamps",
        "urn:ngsi-ld:Streetlight:hameau:box-b:lamps",
    }
    assert all("coordinates" in s.reason for s in built.skipped)


def test_ngsi_entities_the_validation_catches_a_broken_entity(seeded: SqlStore) -> None:
    found, _built = entities_of(seeded)
    lamp = dict(found[A.format("Streetlight", "street-main")])
    del lamp["status"]  # required by the model
    assert any("'status' is a required property" in e for e in schema_errors(lamp))
    water = dict(found[A.format("WaterConsumptionObserved", "water-main")])
    water["waterConsumption"] = {**water["waterConsumption"], "value": 123460.6}  # the model wants an integer
    assert any("is not of type 'integer'" in e for e in schema_errors(water))
    group = dict(found[A.format("StreetlightGroup", "street-main")])
    group["powerStatus"] = {"type": "Property", "value": "on"}
    assert "StreetlightGroup: powerStatus not declared by the model" in schema_errors(group)


def value(entity: dict[str, Any], name: str) -> tuple[Any, str | None, str | None]:
    member = entity[name]
    return member["value"], member.get("unitCode"), member.get("observedAt")


def test_ngsi_entities_carry_the_seeded_values_units_and_times(seeded: SqlStore) -> None:
    found, _built = entities_of(seeded)
    meter = found[A.format("ThreePhaseAcMeasurement", "energy-main")]
    at = "2026-01-15T11:56:00.000Z"  # NOW - 240 s
    assert value(meter, "totalActiveEnergyImport") == (1520.25, "KWH", at)
    assert value(meter, "totalActiveEnergyExport") == (3.5, "KWH", at)
    assert value(meter, "totalActivePower") == (2030.0, "WTT", at)
    assert value(meter, "frequency") == (50.0, "HTZ", at)  # not the 49.5 Hz of 8 h ago
    assert value(meter, "totalPowerFactor") == (0.95, "C62", at)
    assert value(meter, "phaseVoltage") == ({"L1": 231.5, "L2": 229.75, "L3": 232.25}, "VLT", at)
    assert value(meter, "current") == ({"L1": 3.25, "L2": 2.75, "L3": 3.0}, "AMP", at)
    assert value(meter, "activePower") == ({"L1": 700.0, "L2": 640.0, "L3": 690.0}, "WTT", at)
    water = found[A.format("WaterConsumptionObserved", "water-main")]
    assert value(water, "waterConsumption") == (123461, "LTR", "2026-01-15T11:59:00.000Z")  # 123460.6 L
    assert value(water, "minFlow") == (9, "E32", "2026-01-15T11:59:00.000Z")  # 8.6 L/h on the night of the 13th
    assert water["alarmInProgress"]["value"] == 1 and water["alarmStopsLeaks"]["value"] == 1
    assert water["alarmFlowPersistence"]["value"] == "Nothing to report"
    hall = found[A.format("IndoorEnvironmentObserved", "hall")]
    # The configured thermometer (hall-climate, 19.25 °C at 11:55), not hall-temp nor the decision's 18.1.
    assert value(hall, "temperature") == (19.25, "CEL", "2026-01-15T11:55:00.000Z")
    assert value(hall, "relativeHumidity") == (0.52, "C62", "2026-01-15T11:55:00.000Z")
    assert hall["dateObserved"]["value"] == "2026-01-15T11:55:00.000Z"
    assert hall["location"]["value"] == {"type": "Point", "coordinates": [5.726, 45.187]}
    for kind in ("StreetlightGroup", "Streetlight"):
        lights = found[A.format(kind, "street-main")]
        assert value(lights, "powerState") == ("off", None, "2026-01-15T08:00:00.000Z")
        assert lights["dateLastSwitchingOn"]["value"] == {"@type": "DateTime", "@value": "2026-01-15T05:30:00.000Z"}
        assert lights["dateLastSwitchingOff"]["value"] == {"@type": "DateTime", "@value": "2026-01-15T08:00:00.000Z"}
    assert found[A.format("Streetlight", "street-main")]["status"]["value"] == "ok"
    cabinet = found[A.format("StreetlightControlCabinet", "cabinet")]
    assert cabinet["refStreetlightGroup"]["object"] == [A.format("StreetlightGroup", "street-main")]
    assert cabinet["workingMode"]["value"] == "automatic"
    site = found[A.format("Building", "site")]
    assert site["name"]["value"] == "Mairie de Saint-Aubin" and site["category"]["value"] == ["civic"]


def test_ngsi_entities_ids_take_the_configured_prefix(seeded: SqlStore) -> None:
    found, _built = entities_of(seeded, NgsiSettings(id_prefix="fr-38999", building_category="public",
                                                     locality="Saint-Aubin"))
    assert "urn:ngsi-ld:Building:fr-38999:box-a:site" in found
    site = found["urn:ngsi-ld:Building:fr-38999:box-a:site"]
    assert site["address"]["value"] == {"addressLocality": "Saint-Aubin"} and site["category"]["value"] == ["public"]
    cabinet = found["urn:ngsi-ld:StreetlightControlCabinet:fr-38999:box-a:cabinet"]
    assert cabinet["refStreetlightGroup"]["object"] == ["urn:ngsi-ld:StreetlightGroup:fr-38999:box-a:street-main"]


# -- pure builds from facts written here ----------------------------------------------------------------------
def facts(**kwargs: Any) -> DeviceFacts:
    return DeviceFacts(device="box-c", site="Salle des fêtes", latitude=45.0, longitude=5.5, **kwargs)


def test_ngsi_entities_a_frozen_room_keeps_its_date_but_not_a_temperature_the_model_cannot_hold() -> None:
    built = build_device(facts(decisions={"hall": (Decision(NOW - 60, False, {
        "relay": "r", "on": False, "temperature_c": -2.5, "setpoint_c": 7.0}),)}), NgsiSettings())
    indoor = next(e for e in built.entities if e["type"] == "IndoorEnvironmentObserved")
    assert "temperature" not in indoor and indoor["dateObserved"]["value"] == "2026-01-15T11:59:00.000Z"
    assert schema_errors(indoor) == []
    built = build_device(facts(decisions={"hall": (Decision(NOW - 60, False, {
        "relay": "r", "on": False, "temperature_c": 0.0, "setpoint_c": 7.0}),)}), NgsiSettings())
    indoor = next(e for e in built.entities if e["type"] == "IndoorEnvironmentObserved")
    assert indoor["temperature"]["value"] == 0.0


def test_ngsi_entities_an_open_contactor_fault_is_a_defective_lamp_and_an_override_is_manual() -> None:
    from fleet.opendata.collect import Alarm

    decisions = {"street": (Decision(NOW - 600, True, {"relay": "k1", "on": True, "mode": "override", "lux": 2.0}),)}
    fault = Alarm("relay_feedback", "k1", True, NOW - 300, NOW - 300, None)
    built = build_device(facts(decisions=decisions, alarms=(fault,)), NgsiSettings())
    by_type = {e["type"]: e for e in built.entities}
    assert by_type["Streetlight"]["status"]["value"] == "defectiveLamp"
    assert by_type["Streetlight"]["status"]["observedAt"] == "2026-01-15T11:55:00.000Z"
    assert by_type["StreetlightControlCabinet"]["workingMode"]["value"] == "manual"
    cleared = Alarm("relay_feedback", "k1", False, NOW - 900, NOW - 120, None)
    built = build_device(facts(decisions=decisions, alarms=(cleared,)), NgsiSettings())
    assert next(e for e in built.entities if e["type"] == "Streetlight")["status"]["value"] == "ok"
    assert [error for e in built.entities for error in schema_errors(e)] == []


def test_ngsi_entities_continuous_flow_shows_as_persistence_open_then_past() -> None:
    from fleet.opendata.collect import Alarm

    latest = {("meter", "volume_total_l"): (NOW - 60, 10.0)}
    flowing = Alarm("continuous_flow", "leak/continuous_flow", True, NOW - 3600, NOW - 3600, "leak")
    water = build_device(facts(latest=latest, alarms=(flowing,)), NgsiSettings()).entities[-1]
    assert water["type"] == "WaterConsumptionObserved"
    assert (water["alarmFlowPersistence"]["value"], water["alarmInProgress"]["value"],
            water["alarmStopsLeaks"]["value"]) == ("In progress persistence", 1, 0)
    past = Alarm("continuous_flow", "leak/continuous_flow", False, NOW - 3600, NOW - 600, "leak")
    water = build_device(facts(latest=latest, alarms=(past,)), NgsiSettings()).entities[-1]
    assert (water["alarmFlowPersistence"]["value"], water["alarmInProgress"]["value"]) == (
        "Past Persistence during the period", 0)
    assert schema_errors(water) == []


def test_ngsi_entities_a_restart_that_repeats_the_state_is_not_a_switching() -> None:
    decisions = {"street": (
        Decision(NOW - 7 * 3600, True, {"relay": "k1", "on": True, "mode": "lux", "lux": 9.0}),  # 05:00
        Decision(NOW - 6 * 3600, True, {"relay": "k1", "on": True, "mode": "lux", "lux": 8.0}),  # a restart, still on
        Decision(NOW - 4 * 3600, False, {"relay": "k1", "on": False, "mode": "lux", "lux": 90.0}),  # 08:00
        Decision(NOW - 3 * 3600, False, {"relay": "k1", "on": False, "mode": "lux", "lux": 95.0}),  # restart
    )}
    group = next(e for e in build_device(facts(decisions=decisions), NgsiSettings()).entities
                 if e["type"] == "StreetlightGroup")
    assert group["dateLastSwitchingOn"]["value"]["@value"] == "2026-01-15T05:00:00.000Z"
    assert group["dateLastSwitchingOff"]["value"]["@value"] == "2026-01-15T08:00:00.000Z"
    assert group["powerState"] == {"type": "Property", "value": "off", "observedAt": "2026-01-15T09:00:00.000Z"}


def test_ngsi_entities_a_single_phase_meter_is_line_1_and_its_total_register_the_import() -> None:
    latest = {("sdm120", name): (NOW - 30, v) for name, v in (
        ("voltage_v", 230.5), ("current_a", 1.5), ("active_power_w", 345.0), ("total_energy_kwh", 12.25))}
    meter = next(e for e in build_device(facts(latest=latest), NgsiSettings()).entities
                 if e["type"] == "ThreePhaseAcMeasurement")
    assert meter["phaseVoltage"]["value"] == {"L1": 230.5} and meter["current"]["value"] == {"L1": 1.5}
    assert (meter["totalActiveEnergyImport"]["value"], meter["totalActiveEnergyImport"]["unitCode"]) == (12.25, "KWH")
    assert "activePower" not in meter and meter["totalActivePower"]["value"] == 345.0
    assert schema_errors(meter) == []


def test_ngsi_entities_a_zone_without_coordinates_is_skipped_with_the_reason() -> None:
    nowhere = DeviceFacts(device="box-d", site="Lavoir", decisions={"hall": (Decision(NOW - 60, True, {
        "relay": "r", "on": True, "temperature_c": 12.0, "setpoint_c": 19.0}),)})
    built = build_device(nowhere, NgsiSettings())
    assert [e["type"] for e in built.entities] == ["Building"]
    assert [(s.id, s.reason) for s in built.skipped] == [
        ("urn:ngsi-ld:IndoorEnvironmentObserved:hameau:box-d:hall", "the box's coordinates are unknown")]
