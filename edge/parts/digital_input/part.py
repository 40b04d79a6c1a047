"""The digital input as the registry knows it: its live driver on a GPIO input."""

from __future__ import annotations

from typing import Any

from drivers.digital_input import PART as DRIVER_PART
from drivers.digital_input import DigitalInput
from drivers.errors import NotPluggedError
from edge.parts.digital_input.config import DigitalInputConfig, parse
from edge.parts.part import BuildContext, Part


def build(cfg: DigitalInputConfig, pin_factory: Any, ctx: BuildContext) -> DigitalInput:
    """The driver on its pin; a pin gpiozero cannot claim is a fault of the input."""
    try:
        return DigitalInput(pin_factory, cfg.pin, pull=cfg.pull, active_high=cfg.active_high, bus_name=cfg.bus)
    except Exception as exc:  # gpiozero reports a busy or invalid pin with its own exceptions
        raise NotPluggedError(
            f"cannot claim the pin: {exc}", part=DRIVER_PART, bus=cfg.bus, address=f"GPIO{cfg.pin}"
        ) from exc


PART: Part[DigitalInputConfig] = Part(
    driver="digital_input",
    name=DRIVER_PART,
    role="sensor",
    bus="gpio",
    config=DigitalInputConfig,
    parse=parse,
    build=build,
    claims=lambda cfg: (("pin", cfg.pin),),
    twin="edge.parts.digital_input.twin",
    readings=("active",),
    world_inputs=frozenset({"contact"}),
)
