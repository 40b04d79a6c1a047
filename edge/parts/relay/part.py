"""The relay as the registry knows it: its live driver on a GPIO output."""

from __future__ import annotations

from typing import Any

from drivers.relay import PART as DRIVER_PART
from drivers.relay import Relay
from edge.parts.part import BuildContext, Claims, Part
from edge.parts.relay.config import RelayConfig, parse


def build(cfg: RelayConfig, pin_factory: Any, ctx: BuildContext) -> Relay:
    """The relay on its output (it applies its safe state at once)."""
    return Relay(
        pin_factory, cfg.pin,
        active_high=cfg.active_high, safe_state=cfg.safe_state, feedback_pin=cfg.feedback_pin,
        feedback_active_high=cfg.feedback_active_high, settle_s=cfg.settle_s, monotonic=ctx.monotonic,
        bus_name=cfg.bus,
    )


def claims(cfg: RelayConfig) -> Claims:
    """Its coil's pin, and its feedback contact's if wired."""
    pins: Claims = (("pin", cfg.pin),)
    return pins if cfg.feedback_pin is None else (*pins, ("feedback_pin", cfg.feedback_pin))


PART: Part[RelayConfig] = Part(
    driver="relay",
    name=DRIVER_PART,
    role="actuator",
    bus="gpio",
    config=RelayConfig,
    parse=parse,
    build=build,
    claims=claims,
    twin="edge.parts.relay.twin",
)
