"""What a simulated world is made of, as declared in a world file: frozen, all times UTC-aware."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from drivers.sim.action_spec import OnSiteSpec

#: Fault kinds a world can inflict on a sensor; "offset" (by offset_c) and "drift" (drift_c_per_day from the
#: fault's start) are thermometers reading wrong but moving values.
FAULT_KINDS = ("unplugged", "stuck", "noisy", "offset", "drift")
#: What can happen to the box's database: spells (a full disk, a read-only card, another program holding
#: the write lock) and instants (the file overwritten with garbage, cut to half its size, or removed).
STORAGE_SPELLS = ("disk_full", "read_only", "locked")
STORAGE_INSTANTS = ("corrupt", "truncated", "lost")
STORAGE_FAULT_KINDS = STORAGE_SPELLS + STORAGE_INSTANTS
#: What a sensor measures, as far as the world is concerned (decides how a fault is applied).
SENSOR_ROLES = ("illuminance", "temperature", "water", "energy")
#: Daily water-use shapes.
DEMAND_PROFILES = ("village", "building")
#: How a meter's night use varies from one night to the next (uniform: within ± night_variation_pct).
NIGHT_DISTRIBUTIONS = ("uniform", "lognormal", "gamma")


@dataclass(frozen=True, slots=True)
class SiteSpec:
    """Where and when: the box's location and the simulated span."""

    latitude: float
    longitude: float
    timezone: str
    start: datetime
    end: datetime
    seed: int = 0

    @property
    def duration(self) -> timedelta:
        """The simulated span."""
        return self.end - self.start


@dataclass(frozen=True, slots=True)
class StormSpec:
    """A storm: daylight falls to `light_pct` % of clear sky between start and end."""

    start: datetime
    end: datetime
    light_pct: float = 8.0


@dataclass(frozen=True, slots=True)
class ShadeSpec:
    """Shade or grime on one lux sensor: only `factor_pct` % of the outdoor light reaches it, from start to end."""

    sensor: str
    start: datetime
    end: datetime
    factor_pct: float


@dataclass(frozen=True, slots=True)
class LampLightSpec:
    """Light of lamps on one lux sensor: `lux` added while `relay` is energised (and the box powered)."""

    sensor: str
    relay: str
    lux: float


@dataclass(frozen=True, slots=True)
class LightSpec:
    """Daylight on the box's lux sensors: cloud cover and storms; shade on a sensor, lamps lighting one."""

    sensors: tuple[str, ...]
    cloud_cover: float = 0.5
    storms: tuple[StormSpec, ...] = ()
    shades: tuple[ShadeSpec, ...] = ()
    lamps: tuple[LampLightSpec, ...] = ()


@dataclass(frozen=True, slots=True)
class ColdSnapSpec:
    """A cold spell: the daily mean outdoor temperature is held at `temperature_c`."""

    start: datetime
    end: datetime
    temperature_c: float


@dataclass(frozen=True, slots=True)
class OutdoorSpec:
    """Outdoor temperature: a yearly cycle, a daily cycle, day-to-day weather and cold snaps."""

    annual_mean_c: float = 11.0
    annual_swing_c: float = 9.0
    daily_swing_c: float = 4.0
    day_to_day_c: float = 2.0
    cold_snaps: tuple[ColdSnapSpec, ...] = ()
    thermometers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ZoneSpec:
    """One heated zone of a building: a single thermal mass losing heat to the outdoors."""

    id: str
    thermometers: tuple[str, ...]
    heater: str | None
    heater_w: float
    loss_w_per_k: float
    capacity_kj_per_k: float
    initial_c: float = 15.0
    internal_gain_w: float = 0.0
    relative_humidity_pct: float = 50.0

    @property
    def time_constant_s(self) -> float:
        """How fast the zone follows the outdoors: capacity / loss."""
        return self.capacity_kj_per_k * 1000.0 / self.loss_w_per_k


@dataclass(frozen=True, slots=True)
class MeterSpec:
    """Water use measured by one meter: night minimum, night-time cistern refills and flushes, day use, noise.

    Each night has a factor of mean 1 drawn from `night_distribution` ("uniform": within
    ± night_variation_pct; "lognormal" and "gamma": night_variation_pct is the standard deviation, tails
    unbounded). It scales that night's `night_lph` and its rates of refills and flushes. Refills (a few
    litres, gamma-distributed around `refill_l`) arrive as a Poisson process at `refills_per_hour` and
    flushes (`flush_l` each) as a Poisson count of mean `flushes_per_night`, both between 22:00 and 06:00.
    """

    sensor: str
    profile: str = "village"
    night_lph: float = 0.0
    night_variation_pct: float = 0.0
    day_lph: float = 100.0
    noise_pct: float = 10.0
    behind_valve: bool = True
    night_distribution: str = "uniform"
    refills_per_hour: float = 0.0
    refill_l: float = 3.0
    flushes_per_night: float = 0.0
    flush_l: float = 6.0


@dataclass(frozen=True, slots=True)
class LeakSpec:
    """A leak that starts (and may be repaired) on a meter's side of the pipe.

    With `period_min`, a running cistern: every period_min its ball valve lets in rate_lph x period_min / 60
    litres at the cistern's fill rate, and nothing flows in between (rate_lph is the mean flow)."""

    meter: str
    start: datetime
    rate_lph: float
    end: datetime | None = None
    period_min: float | None = None


@dataclass(frozen=True, slots=True)
class BurstSpec:
    """A burst main: a large flow for a while, stopped while the valve is closed."""

    meter: str
    start: datetime
    end: datetime
    rate_lph: float


#: Legitimate water use by date: no use at all (a holiday), extra use by day (a fete), a tank filled.
USE_KINDS = ("holiday", "fete", "tank_fill")


@dataclass(frozen=True, slots=True)
class UseSpec:
    """Legitimate use on a meter between start and end: `holiday` (nothing flows but a leak), `fete` and
    `tank_fill` (rate_lph more); an alarm it causes is a false alarm."""

    meter: str
    kind: str
    start: datetime
    end: datetime
    rate_lph: float = 0.0


@dataclass(frozen=True, slots=True)
class WaterSpec:
    """Water: meters, leaks, bursts, legitimate uses by date, and the valve relay that shuts the supply."""

    meters: tuple[MeterSpec, ...] = ()
    leaks: tuple[LeakSpec, ...] = ()
    bursts: tuple[BurstSpec, ...] = ()
    valve: str | None = None
    valve_closed_when_energised: bool = True
    uses: tuple[UseSpec, ...] = ()


@dataclass(frozen=True, slots=True)
class FaultSpec:
    """A sensor fault between start and end; `role` says what the sensor measures."""

    sensor: str
    start: datetime
    end: datetime
    kind: str
    role: str
    offset_c: float = 0.0
    drift_c_per_day: float = 0.0

    def error_c(self, ts: float) -> float:
        """What an "offset" or "drift" thermometer adds to the true temperature at epoch second `ts`."""
        return self.offset_c + self.drift_c_per_day * (ts - self.start.timestamp()) / 86_400.0


@dataclass(frozen=True, slots=True)
class StorageFaultSpec:
    """Something done to the box's database: at `start`, and until `end` for a spell (None for an instant)."""

    kind: str
    start: datetime
    end: datetime | None = None


@dataclass(frozen=True, slots=True)
class PowerCutSpec:
    """The box and its loads lose mains power between start and end."""

    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class EnergyMeterSpec:
    """An energy meter measuring the loads behind some relays, plus a constant base load."""

    sensor: str
    relays: tuple[str, ...]
    base_w: float = 0.0
    voltage_v: float = 230.0


@dataclass(frozen=True, slots=True)
class WorldSpec:
    """A whole simulated world for one box."""

    site: SiteSpec
    light: LightSpec
    outdoor: OutdoorSpec
    zones: tuple[ZoneSpec, ...] = ()
    water: WaterSpec = WaterSpec()
    faults: tuple[FaultSpec, ...] = ()
    power_cuts: tuple[PowerCutSpec, ...] = ()
    energy_meters: tuple[EnergyMeterSpec, ...] = ()
    storage_faults: tuple[StorageFaultSpec, ...] = ()
    #: Technicians' actions at set times and hydrants in use (drivers/sim/action_spec.py).
    on_site: OnSiteSpec = OnSiteSpec()
