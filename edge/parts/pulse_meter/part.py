"""The pulse meter as the registry knows it: its live driver on a GPIO input."""

from __future__ import annotations

from typing import Any

from drivers.errors import NotPluggedError, SensorError
from drivers.pulse_meter import PART as DRIVER_PART
from drivers.pulse_meter import PulseMeter
from edge.parts.part import BuildContext, Part
from edge.parts.pulse_meter.config import PulseMeterConfig, parse

VOLUME_READINGS = frozenset({"volume_total_l"})


def build(cfg: PulseMeterConfig, pin_factory: Any, ctx: BuildContext) -> PulseMeter:
    """The driver counting on its pin; a pin gpiozero cannot claim is a fault of the meter."""
    try:
        return PulseMeter(
            pin_factory, cfg.pin,
            litres_per_pulse=cfg.litres_per_pulse, pulses_per_litre=cfg.pulses_per_litre,
            debounce_s=cfg.debounce_s, active_low=cfg.active_low, pull_up=cfg.pull_up, bus_name=cfg.bus,
        )
    except SensorError:
        raise
    except Exception as exc:  # gpiozero reports a busy or invalid pin with its own exceptions
        raise NotPluggedError(
            f"cannot claim the pin: {exc}", part=DRIVER_PART, bus=cfg.bus, address=f"GPIO{cfg.pin}"
        ) from exc


def resolution(cfg: PulseMeterConfig, reading: str) -> float:
    """One pulse: the meter's volume step."""
    return cfg.step_l if reading in VOLUME_READINGS else 0.0


PART: Part[PulseMeterConfig] = Part(
    driver="pulse_meter",
    name=DRIVER_PART,
    role="sensor",
    bus="gpio",
    config=PulseMeterConfig,
    parse=parse,
    build=build,
    claims=lambda cfg: (("pin", cfg.pin),),
    twin="edge.parts.pulse_meter.twin",
    readings=("volume_total_l", "flow_lph", "pulse_count"),
    resolution=resolution,
    world_inputs=frozenset({"flow"}),
)
