"""NGSI-LD normalized form: entity ids, Property / Relationship / GeoProperty members, the models' contexts.

Each Smart Data Model publishes its JSON-LD context at a public URL (the `@context` of its examples); the
pinned copies in the reference set are named `<Model>-context.jsonld` after the same subject.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

#: The ETSI NGSI-LD core context (a broker adds it to every request; sent for completeness).
CORE_CONTEXT = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld"
_MODEL_CONTEXT = "https://raw.githubusercontent.com/smart-data-models/dataModel.{}/master/context.jsonld"
#: Entity type -> the subject of its Smart Data Model (dataModel.<subject>, pinned as <subject>-context.jsonld).
SUBJECTS: Mapping[str, str] = {
    "Streetlight": "Streetlighting",
    "StreetlightGroup": "Streetlighting",
    "StreetlightControlCabinet": "Streetlighting",
    "WaterConsumptionObserved": "WaterConsumption",
    "Building": "Building",
    "ThreePhaseAcMeasurement": "Energy",
    "IndoorEnvironmentObserved": "Environment",
}
#: UN/CEFACT common codes of the units the export sends (NGSI-LD `unitCode`).
UNIT_CODES: Mapping[str, str] = {
    "kWh": "KWH", "W": "WTT", "VA": "D46", "var": "D44", "V": "VLT", "A": "AMP", "Hz": "HTZ", "1": "C62",
    "°C": "CEL", "L": "LTR", "L/h": "E32", "lx": "LUX",
}


def context_url(entity_type: str) -> str:
    """The public URL of the JSON-LD context of an entity type's model."""
    return _MODEL_CONTEXT.format(SUBJECTS[entity_type])


def entity_id(entity_type: str, prefix: str, device: str, thing: str) -> str:
    """urn:ngsi-ld:<Type>:<prefix>:<device>:<thing>."""
    return f"urn:ngsi-ld:{entity_type}:{prefix}:{device}:{thing}"


def iso(ts: float) -> str:
    """An epoch time as an NGSI-LD DateTime: UTC, milliseconds, `Z`."""
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def prop(value: Any, observed_at: float | None = None, unit: str | None = None) -> dict[str, Any]:
    """A Property; observed ones carry `observedAt`, measured ones their UN/CEFACT `unitCode`."""
    member: dict[str, Any] = {"type": "Property", "value": value}
    if observed_at is not None:
        member["observedAt"] = iso(observed_at)
    if unit is not None:
        member["unitCode"] = UNIT_CODES[unit]
    return member


def when(ts: float, observed_at: float | None = None) -> dict[str, Any]:
    """A Property whose value is a DateTime (the JSON-LD typed value of NGSI-LD)."""
    return prop({"@type": "DateTime", "@value": iso(ts)}, observed_at)


def rel(target: str | list[str]) -> dict[str, Any]:
    """A Relationship to one entity id, or to several."""
    return {"type": "Relationship", "object": target}


def point(latitude: float, longitude: float) -> dict[str, Any]:
    """The GeoProperty `location` of a place: a GeoJSON Point, longitude first."""
    return {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [longitude, latitude]}}


def observed(member: Mapping[str, Any]) -> bool:
    """Whether an entity member is an observation (it then goes in a PATCH of the latest values)."""
    return isinstance(member, Mapping) and "observedAt" in member


def split(entity: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(shape, values): the members that describe the entity, and the observed ones."""
    shape = {k: v for k, v in entity.items() if not observed(v)}
    values = {k: v for k, v in entity.items() if observed(v)}
    return shape, values


def key_values(entity: Mapping[str, Any]) -> dict[str, Any]:
    """The keyValues (simplified) form of a normalized entity: what the Smart Data Models' JSON schemas check."""
    out: dict[str, Any] = {}
    for key, member in entity.items():
        if key == "@context":
            continue
        if not isinstance(member, Mapping):  # id, type
            out[key] = member
            continue
        if member.get("type") == "Relationship":
            out[key] = member["object"]
            continue
        value = member.get("value")
        if isinstance(value, Mapping) and "@value" in value:
            value = value["@value"]
        out[key] = value
    return out
