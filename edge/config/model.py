"""The box-wide parts of a box's configuration as frozen dataclasses: who it is, how it runs, its sensors' shared fields."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class DeviceConfig:
    """Who and where the box is."""

    id: str
    name: str
    latitude: float
    longitude: float
    timezone: str
    elevation_m: float = 0.0


@dataclass(frozen=True, slots=True)
class SensorConfig:
    """What every sensor has, whatever its part: an id, a bus and a sampling interval.

    Each part's config (edge/parts/<part>/config.py) adds its own fields and a `driver` key
    naming its entry in the parts registry.
    """

    id: str
    bus: str
    interval_s: float

    @property
    def driver(self) -> str:
        """The part's key in the registry (the `driver` value of its TOML table)."""
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class SimulationConfig:
    """Run on simulated buses, with the simulated parts' starting conditions."""

    enabled: bool = False
    illuminance_lx: float = 400.0
    temperature_c: float = 19.0
    relative_humidity_pct: float = 55.0
    flow_lph: float = 60.0
    voltage_v: float = 230.0
    current_a: float = 1.5
    unplugged: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class AgentConfig:
    """How the agent runs: where it keeps its data, how often it writes and ticks."""

    db_path: Path = Path("/var/lib/hameau/hameau.db")
    commit_interval_s: float = 30.0
    tick_s: float = 10.0
    stale_after_intervals: float = 3.0
    stuck_after_s: float = 6 * 3600.0
    #: The store's daily upkeep: at this local time, readings older than keep_readings_days go.
    upkeep_at: str = "03:30"
    keep_readings_days: float = 400.0
