"""The `pulse_meter` sensor table: a reed or turbine water meter whose pulses come in on a GPIO pin."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from drivers.pulse_meter import litres_per_pulse_of
from edge.config.model import SensorConfig
from edge.config.reader import Table, in_range, positive
from edge.parts.fields import gpio_pin


@dataclass(frozen=True, slots=True)
class PulseMeterConfig(SensorConfig):
    """A pulse-output water meter on a GPIO input."""

    pin: int
    litres_per_pulse: float | None = None
    pulses_per_litre: float | None = None
    debounce_s: float = 0.0005
    active_low: bool = True
    pull_up: bool = True
    driver: str = "pulse_meter"

    @property
    def step_l(self) -> float:
        """Litres per pulse, however the meter's rating was given."""
        return litres_per_pulse_of(self.litres_per_pulse, self.pulses_per_litre)


def parse(t: Table, fields: dict[str, Any]) -> PulseMeterConfig:
    """One `driver = "pulse_meter"` table: exactly one of litres_per_pulse and pulses_per_litre."""
    lpp = t.optional("litres_per_pulse", float, positive)
    ppl = t.optional("pulses_per_litre", float, positive)
    if (lpp is None) == (ppl is None) and t.ok:
        t.fail("litres_per_pulse", "give exactly one of litres_per_pulse or pulses_per_litre")
    return PulseMeterConfig(
        **fields,
        pin=gpio_pin(t, "pin") or 0,
        litres_per_pulse=lpp,
        pulses_per_litre=ppl,
        debounce_s=t.get("debounce_s", float, 0.0005, in_range(0, 0.1, " s")),
        active_low=t.get("active_low", bool, True),
        pull_up=t.get("pull_up", bool, True),
    )
