"""The Eastron SDM120 and SDM630 as the registry knows them: their live drivers on a Modbus RTU line."""

from __future__ import annotations

from typing import Any

from drivers.eastron import EastronMeter
from drivers.sdm120 import SDM120 as SDM120Meter
from drivers.sdm630 import SDM630 as SDM630Meter
from edge.parts.eastron.config import EastronConfig, parse
from edge.parts.part import BuildContext, Part

MODELS: dict[str, type[EastronMeter]] = {"sdm120": SDM120Meter, "sdm630": SDM630Meter}


def build(cfg: EastronConfig, bus: Any, ctx: BuildContext) -> EastronMeter:
    """The model's driver on its line."""
    return MODELS[cfg.driver](bus, cfg.unit_id)


def _part(driver: str) -> Part[EastronConfig]:
    model = MODELS[driver]
    return Part(
        driver=driver,
        name=model.part,
        role="sensor",
        bus="modbus_rtu",
        config=EastronConfig,
        parse=parse,
        build=build,
        claims=lambda cfg: (("unit_id", cfg.unit_id),),
        twin="edge.parts.eastron.twin",
        readings=tuple(r.name for r in model.registers),
        world_inputs=frozenset({"electricity"}),
    )


SDM120: Part[EastronConfig] = _part("sdm120")
SDM630: Part[EastronConfig] = _part("sdm630")
