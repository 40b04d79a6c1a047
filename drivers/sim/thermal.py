"""Building thermal model: each heated zone is one thermal mass losing heat to the outdoors."""

from __future__ import annotations

import math

from drivers.sim.world_spec import ZoneSpec


def steady_temperature_c(outdoor_c: float, power_w: float, loss_w_per_k: float) -> float:
    """Where a zone settles with a constant heat input: outdoors plus power over loss."""
    return outdoor_c + power_w / loss_w_per_k


def zone_temperature_after_c(
    start_c: float, outdoor_c: float, power_w: float, loss_w_per_k: float, capacity_kj_per_k: float, duration_s: float
) -> float:
    """Exact temperature of a zone after `duration_s` with constant outdoor temperature and power."""
    target_c = steady_temperature_c(outdoor_c, power_w, loss_w_per_k)
    tau_s = capacity_kj_per_k * 1000.0 / loss_w_per_k
    return target_c + (start_c - target_c) * math.exp(-duration_s / tau_s)


class ZoneModel:
    """One zone's temperature, integrated exactly over each step (stable for any step length)."""

    def __init__(self, spec: ZoneSpec) -> None:
        if spec.loss_w_per_k <= 0 or spec.capacity_kj_per_k <= 0:
            raise ValueError(f"zone {spec.id!r}: loss_w_per_k and capacity_kj_per_k must be > 0")
        if spec.heater_w < 0:
            raise ValueError(f"zone {spec.id!r}: heater_w must be >= 0")
        self.spec = spec
        self.temperature_c = spec.initial_c
        self.heater_on = False
        self.heat_kwh = 0.0
        self._tau_s = spec.time_constant_s
        self._decay_dt_s = -1.0
        self._decay = 1.0

    def step(self, outdoor_c: float, heater_on: bool, dt_s: float) -> float:
        """Let `dt_s` seconds pass with the heater on or off; return the new temperature."""
        if dt_s <= 0:
            return self.temperature_c
        if dt_s != self._decay_dt_s:
            self._decay_dt_s = dt_s
            self._decay = math.exp(-dt_s / self._tau_s)
        spec = self.spec
        power_w = spec.internal_gain_w + (spec.heater_w if heater_on else 0.0)
        target_c = outdoor_c + power_w / spec.loss_w_per_k
        self.temperature_c = target_c + (self.temperature_c - target_c) * self._decay
        self.heater_on = heater_on
        if heater_on:
            self.heat_kwh += spec.heater_w * dt_s / 3.6e6
        return self.temperature_c


def saturation_vapour_pressure_hpa(temperature_c: float) -> float:
    """Magnus formula over water (WMO coefficients), in hPa."""
    return 6.112 * math.exp(17.62 * temperature_c / (243.12 + temperature_c))


def relative_humidity_pct(temperature_c: float, reference_rh_pct: float, reference_c: float = 20.0) -> float:
    """Relative humidity of air holding the moisture it has at `reference_rh_pct` and `reference_c`."""
    vapour_hpa = reference_rh_pct / 100.0 * saturation_vapour_pressure_hpa(reference_c)
    return min(100.0, 100.0 * vapour_hpa / saturation_vapour_pressure_hpa(temperature_c))
