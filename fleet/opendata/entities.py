"""A box's NGSI-LD entities (normalized form) from what the store knows of it: its Building, and for each lighting
circuit a StreetlightGroup, a Streetlight (the circuit's lamps as one) and the box's StreetlightControlCabinet;
the meters and heating zones are in fleet/opendata/entities_meters.py.

Entities a model requires a location for are skipped (with the reason) when the box's coordinates are unknown.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from fleet.opendata.collect import Decision, DeviceFacts
from fleet.opendata.ngsi import context_url, entity_id, point, prop, rel, when
from fleet.opendata.settings import NgsiSettings

#: A lighting controller's mode that means someone forced the relay (a technician's or the fleet's override).
OVERRIDE_MODE = "override"


@dataclass(frozen=True, slots=True)
class Skipped:
    """An entity not built, and why."""

    type: str
    id: str
    reason: str


@dataclass(slots=True)
class Built:
    """Entities built for one or more boxes, and those skipped."""

    entities: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)

    def add(self, entity: dict[str, Any]) -> None:
        """Add an entity, with its model's @context."""
        entity["@context"] = [context_url(entity["type"])]
        self.entities.append(entity)


def new_entity(kind: str, settings: NgsiSettings, facts: DeviceFacts, thing: str) -> dict[str, Any]:
    """The entity's id, type, and location when known."""
    entity: dict[str, Any] = {"id": entity_id(kind, settings.id_prefix, facts.device, thing), "type": kind}
    if facts.latitude is not None and facts.longitude is not None:
        entity["location"] = point(facts.latitude, facts.longitude)
    return entity


def building(facts: DeviceFacts, settings: NgsiSettings, out: Built) -> None:
    """The box's site as a Building (registered boxes only: the registry names the site)."""
    if facts.site is None:
        return
    entity = new_entity("Building", settings, facts, "site")
    entity["name"] = prop(facts.site)
    entity["category"] = prop([settings.building_category])
    entity["address"] = prop({"addressLocality": settings.locality or facts.site})
    entity["dataProvider"] = prop("Hameau")
    out.add(entity)


def lighting_circuits(facts: DeviceFacts) -> list[str]:
    """The lighting controllers of the box: those whose decisions carry the `lux` they were taken on."""
    return sorted(source for source, items in facts.decisions.items() if any("lux" in d.data for d in items))


def _last_switches(decisions: Sequence[Decision]) -> tuple[float | None, float | None]:
    """(last switching on, last switching off): decisions whose state differs from the one before."""
    on_at = off_at = None
    before: bool | None = None
    for decision in decisions:
        if decision.on is True and before is not True:
            on_at = decision.ts
        elif decision.on is False and before is not False:
            off_at = decision.ts
        before = decision.on
    return on_at, off_at


def _switching(entity: dict[str, Any], decisions: Sequence[Decision]) -> None:
    last = decisions[-1]
    if last.on is not None:
        entity["powerState"] = prop("on" if last.on else "off", last.ts)
    on_at, off_at = _last_switches(decisions)
    if on_at is not None:
        entity["dateLastSwitchingOn"] = when(on_at, on_at)
    if off_at is not None:
        entity["dateLastSwitchingOff"] = when(off_at, off_at)


def _status(facts: DeviceFacts, relay: Any, decided_at: float) -> dict[str, Any]:
    """ok, or defectiveLamp while the circuit's contactor does not follow the box (an open relay_feedback)."""
    alarms = [a for a in facts.alarms if a.kind == "relay_feedback" and a.source == relay]
    if not alarms:
        return prop("ok", decided_at)
    latest = alarms[-1]
    return prop("defectiveLamp" if any(a.open for a in alarms) else "ok", latest.changed_at)


def lighting(facts: DeviceFacts, settings: NgsiSettings, out: Built) -> None:
    """Per lighting circuit a StreetlightGroup and a Streetlight; the box as their StreetlightControlCabinet."""
    circuits = lighting_circuits(facts)
    if not circuits:
        return
    cabinet = new_entity("StreetlightControlCabinet", settings, facts, "cabinet")
    if "location" not in cabinet:
        for kind, thing in [("StreetlightControlCabinet", "cabinet")] + [
            (kind, c) for c in circuits for kind in ("StreetlightGroup", "Streetlight")
        ]:
            out.skipped.append(Skipped(kind, entity_id(kind, settings.id_prefix, facts.device, thing),
                                       "the box's coordinates are unknown (registry latitude/longitude)"))
        return
    groups = [entity_id("StreetlightGroup", settings.id_prefix, facts.device, c) for c in circuits]
    cabinet["name"] = prop(facts.site or facts.device)
    cabinet["refStreetlightGroup"] = rel(groups)
    cabinet["features"] = prop(["astronomicalClock"])
    last = [facts.decisions[c][-1] for c in circuits]
    manual = any(d.data.get("mode") == OVERRIDE_MODE for d in last)
    cabinet["workingMode"] = prop("manual" if manual else "automatic", max(d.ts for d in last))
    out.add(cabinet)
    for circuit, group_id in zip(circuits, groups, strict=True):
        decisions = facts.decisions[circuit]
        lamp_id = entity_id("Streetlight", settings.id_prefix, facts.device, circuit)
        group = new_entity("StreetlightGroup", settings, facts, circuit)
        group["name"] = prop(circuit)
        group["circuitId"] = prop(circuit)
        group["refStreetlightControlCabinet"] = rel(cabinet["id"])
        group["refStreetlight"] = rel([lamp_id])
        _switching(group, decisions)
        out.add(group)
        lamp = new_entity("Streetlight", settings, facts, circuit)
        lamp["name"] = prop(circuit)
        lamp["circuit"] = prop(circuit)
        lamp["controllingMethod"] = prop("group")
        lamp["refStreetlightGroup"] = rel(group_id)
        lamp["status"] = _status(facts, decisions[-1].data.get("relay"), decisions[-1].ts)
        _switching(lamp, decisions)
        out.add(lamp)
