"""Checks across a box config's sections: unique ids, one part per place on a bus, one driver per relay."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from edge.config.buses import BusConfig, format_address, slot_name
from edge.config.reader import Problems
from edge.controllers.kinds import KINDS
from edge.parts.part import Registry


def check_ids(problems: Problems, sensors: Sequence[tuple[int, Any]], actuators: Sequence[tuple[int, Any]]) -> None:
    """Every sensor and actuator id is used once."""
    ids: dict[str, str] = {}
    for group, items in (("sensors", sensors), ("actuators", actuators)):
        for index, item in items:
            key = f"{group}[{index}].id"
            if item.id in ids:
                problems.add(key, f"duplicate id {item.id!r} (also at {ids[item.id]})")
            else:
                ids[item.id] = key


def check_claims(
    problems: Problems,
    parts: Registry,
    buses: Mapping[str, BusConfig],
    sensors: Sequence[tuple[int, Any]],
    actuators: Sequence[tuple[int, Any]],
) -> None:
    """No two parts take the same place on a bus (an I2C address, a 1-Wire id, a unit id, a GPIO pin)."""
    owners: dict[tuple[str, int | str], tuple[str, str]] = {}
    for group, items in (("sensors", sensors), ("actuators", actuators)):
        for index, cfg in items:
            kind = buses[cfg.bus].kind
            for field, address in parts.of(cfg).claims(cfg):
                place = (cfg.bus, address)
                other = owners.get(place)
                if other is None:
                    owners[place] = (cfg.id, f"{group}[{index}].{field}")
                elif kind == "gpio":
                    key = f"{group}[{index}].{field}"
                    problems.add(key, f"{format_address(kind, address)} is already used by {other[0]!r} ({other[1]})")
                else:
                    problems.add(
                        f"{group}[{index}]",
                        f"{cfg.id!r} and {other[0]!r} share bus {cfg.bus!r} at {slot_name(kind, address)}",
                    )


def check_relay_owners(problems: Problems, controllers: Mapping[str, Sequence[tuple[int, Any]]]) -> None:
    """Each relay is driven by one controller at most."""
    owners: dict[str, str] = {}
    for kind in KINDS:
        for index, cfg in controllers.get(kind.section, ()):
            for field_name in kind.relay_fields:
                relay = getattr(cfg, field_name, None)
                if relay is None:
                    continue
                key = f"{kind.section}[{index}].{field_name}"
                if relay in owners:
                    problems.add(key, f"relay {relay!r} is already driven by {owners[relay]}")
                else:
                    owners[relay] = f"{kind.section} {cfg.id!r} ({key})"
