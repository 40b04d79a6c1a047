"""The blind frost-protection duty cycle of a heating zone: how much of each period to heat with no thermometer.

A zone is one thermal mass losing heat to the outdoors: C dT/dt = P u - L (T - T_out), with P the
heater's power, L the losses and u the share of time the heater is on. Held long enough at a duty u,
it settles at T_out + u P / L; so holding `target_c` needs u = (target_c - T_out) / lift, where
lift = P / L is how far above outdoors the heater at full power holds the zone (learned by losses.py
while the thermometers work, with an outdoor thermometer). The target is frost_c + frost_margin_c;
T_out is the outdoor reading rounded down to a whole degree, or the coldest credible outdoor temperature
without one. Internal gains
and sun only warm the zone, so they are left out (on the safe side).

Nothing learned: full power for a frost-only zone (a water tower's cabinet must not freeze, and its
heater is small), the configured fallback_duty for others (sized in config.py for a poor hall).
"""

from __future__ import annotations

import math
from typing import NamedTuple


class FrostDuty(NamedTuple):
    """A duty cycle for a blind zone and why: `duty` in 0..1 of each period."""

    duty: float
    why: str


def duty_to_hold_c(target_c: float, outdoor_c: float, lift_k: float) -> float:
    """The share of time at full power that holds a zone at `target_c` in the steady state, within 0..1."""
    if lift_k <= 0:
        return 1.0
    return min(1.0, max(0.0, (target_c - outdoor_c) / lift_k))


def frost_duty(
    *,
    frost_c: float,
    margin_c: float,
    lift_k: float | None,
    outdoor_c: float | None,
    design_outdoor_c: float,
    frost_only: bool,
    fallback_duty: float,
) -> FrostDuty:
    """The duty cycle keeping a blind zone above frost_c + margin_c (see the module docstring)."""
    target_c = frost_c + margin_c
    if lift_k is None:
        if frost_only:
            return FrostDuty(1.0, "full power: a frost-only zone whose losses are not learned yet")
        return FrostDuty(fallback_duty, "configured fallback_duty: losses not learned yet")
    if outdoor_c is None:
        duty = duty_to_hold_c(target_c, design_outdoor_c, lift_k)
        return FrostDuty(duty, f"to hold {target_c:.1f} °C at {design_outdoor_c:.1f} °C outdoors (coldest credible), "
                               f"heater lift {lift_k:.1f} K")
    # Rounded down to a whole degree: colder (more heat), and a duty that changes only when that degree does.
    outdoor_c = math.floor(outdoor_c)
    duty = duty_to_hold_c(target_c, outdoor_c, lift_k)
    return FrostDuty(duty, f"to hold {target_c:.1f} °C at {outdoor_c:.0f} °C outdoors, heater lift {lift_k:.1f} K")


def cycle_on_s(duty: float, period_s: float, min_on_s: float, min_off_s: float) -> float:
    """Seconds on in each period for a duty, rounded up to the minimum on and off times (more heat is safe)."""
    if duty <= 0:
        return 0.0
    on_s = max(duty * period_s, min_on_s)
    return period_s if period_s - on_s < min_off_s else on_s
