"""The light that reaches each lux sensor: the outdoor light through its shade or grime, plus lamps lighting it."""

from __future__ import annotations

from collections.abc import Callable

from drivers.sim.world_spec import LightSpec


class SensorLight:
    """What one world's lux sensors see of the outdoor light (its [[light.shade]] and [[light.lamps]])."""

    def __init__(self, spec: LightSpec) -> None:
        self._shades = {
            sensor: tuple((s.start.timestamp(), s.end.timestamp(), s.factor_pct / 100.0)
                          for s in spec.shades if s.sensor == sensor)
            for sensor in {s.sensor for s in spec.shades}
        }
        self._lamps = {
            sensor: tuple((lamp.relay, lamp.lux) for lamp in spec.lamps if lamp.sensor == sensor)
            for sensor in {lamp.sensor for lamp in spec.lamps}
        }
        self.plain = not self._shades and not self._lamps

    def lux(self, sensor: str, outdoor_lx: float, ts: float, powered: bool, energised: Callable[[str], bool]) -> float:
        """The illuminance on `sensor` at `ts` when the outdoors has `outdoor_lx` (shades multiply)."""
        if self.plain:
            return outdoor_lx
        seen = outdoor_lx
        for start, end, factor in self._shades.get(sensor, ()):
            if start <= ts < end:
                seen *= factor
        if powered:
            for relay, lamp_lx in self._lamps.get(sensor, ()):
                if energised(relay):
                    seen += lamp_lx
        return seen
