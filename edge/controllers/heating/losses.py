"""A heating zone's heater lift (P / L: how far above outdoors full power holds it), learned from its own life.

Over a stretch of time the zone's heat balance is C (T_end - T_start) = P t_on - L integral(T - T_out) dt.
A stretch that ends where it started (T_end = T_start) gives P / L = integral(T - T_out) dt / t_on, whatever
C is: so a window is closed at the first call, at least WINDOW_MIN_S after it opened, where the zone is back
within RETURN_C of where it started (a thermostat cycling, a day of comfort and eco). It teaches if the
heater ran at least HEAT_MIN_S and the zone was on average at least EXCESS_MIN_K above outdoors; then it
is averaged in like the heating rate (preheat.py). It needs an outdoor thermometer. A gap in the calls
(restart, power cut), a faulted thermometer or a window longer than WINDOW_MAX_S starts afresh.
"""

from __future__ import annotations

from typing import NamedTuple

from edge.controllers.heating.preheat import smooth_rate

WINDOW_MIN_S = 6 * 3600.0
WINDOW_MAX_S = 48 * 3600.0
RETURN_C = 0.15
HEAT_MIN_S = 1800.0
EXCESS_MIN_K = 2.0
#: Calls further apart than this break the window (what the heater did meanwhile is unknown).
GAP_MAX_S = 300.0
#: Bounds of one sample: a lift below LIFT_MIN_K is no heater; above LIFT_MAX_K no building.
LIFT_MIN_K = 1.0
LIFT_MAX_K = 200.0


class LossWindow(NamedTuple):
    """The stretch being measured: since when, from which temperature, last call, heater time, excess."""

    since_s: float | None = None
    from_c: float | None = None
    last_s: float | None = None
    heat_s: float = 0.0
    excess_ks: float = 0.0


class Lift(NamedTuple):
    """The learned lift (None: not yet) with its sample count, and the open window."""

    lift_k: float | None
    samples: int
    window: LossWindow


def follow_lift(
    lift: Lift, *, heated: bool, temperature_c: float | None, outdoor_c: float | None, now_s: float, restarted: bool
) -> Lift:
    """The lift after a call; `heated`: whether the heater was on since the last call."""
    window = lift.window
    if temperature_c is None or outdoor_c is None:
        return lift if window.since_s is None else Lift(lift.lift_k, lift.samples, LossWindow())
    fresh = Lift(lift.lift_k, lift.samples, LossWindow(now_s, temperature_c, now_s))
    if window.since_s is None or window.last_s is None or window.from_c is None or restarted:
        return fresh
    dt_s = now_s - window.last_s
    if not 0 <= dt_s <= GAP_MAX_S or now_s - window.since_s > WINDOW_MAX_S:
        return fresh
    heat_s = window.heat_s + (dt_s if heated else 0.0)
    excess_ks = window.excess_ks + dt_s * (temperature_c - outdoor_c)
    elapsed_s = now_s - window.since_s
    if elapsed_s < WINDOW_MIN_S or abs(temperature_c - window.from_c) > RETURN_C:
        return Lift(lift.lift_k, lift.samples, LossWindow(window.since_s, window.from_c, now_s, heat_s, excess_ks))
    if heat_s >= HEAT_MIN_S and excess_ks >= EXCESS_MIN_K * elapsed_s:
        sample = min(LIFT_MAX_K, max(LIFT_MIN_K, excess_ks / heat_s))
        return Lift(smooth_rate(lift.lift_k, lift.samples, sample), lift.samples + 1, fresh.window)
    return fresh
