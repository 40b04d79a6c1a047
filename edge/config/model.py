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
    #: The store's daily upkeep at this local time: raw readings older than keep_readings_days become hourly
    #: aggregates (min, mean, max, count), hourly ones older than keep_hourly_days daily ones; events stay.
    upkeep_at: str = "03:30"
    keep_readings_days: float = 30.0
    keep_hourly_days: float = 365.0
    #: The database and its log never take more than this; past 90 % the oldest data is thinned (and counted).
    #: 1 GiB: a sixteenth of a 16 GB card, leaving the system, its logs and updates the rest.
    db_budget_mb: float = 1024.0
    #: While the store cannot take them, readings and events wait in memory up to these counts (then the
    #: oldest readings, then the oldest ordinary events, are dropped and counted).
    buffer_max_readings: int = 50_000
    buffer_max_events: int = 5_000
    #: A faulted store is retried after store_retry_min_s, then twice as long each time up to store_retry_max_s.
    store_retry_min_s: float = 10.0
    store_retry_max_s: float = 300.0
    #: The safety copy is written at once after an alarm, an acknowledgement or an override, at every commit
    #: while the store is faulted, and otherwise at most this often when what it holds changed.
    safety_copy_interval_s: float = 3600.0
