"""The configured Modbus meter as the registry knows it: a register-map driver on a Modbus RTU line."""

from __future__ import annotations

from typing import Any

from drivers.register_meter import RegisterMeter
from edge.parts.modbus_meter.config import ModbusMeterConfig, parse
from edge.parts.part import BuildContext, Part


def build(cfg: ModbusMeterConfig, bus: Any, ctx: BuildContext) -> RegisterMeter:
    """The register-map driver on its line."""
    return RegisterMeter(bus, cfg.unit_id, cfg.registers, part=cfg.part)


PART: Part[ModbusMeterConfig] = Part(
    driver="modbus_meter",
    name="modbus-meter",
    role="sensor",
    bus="modbus_rtu",
    config=ModbusMeterConfig,
    parse=parse,
    build=build,
    claims=lambda cfg: (("unit_id", cfg.unit_id),),
    twin="edge.parts.modbus_meter.twin",
    configured_readings=lambda cfg: tuple(r.name for r in cfg.registers),
    label=lambda cfg: cfg.part,
)
