"""The box's configuration as frozen dataclasses, built once by edge.config."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

from drivers.registers import RegisterSpec

if TYPE_CHECKING:
    from edge.controllers.heating_config import HeatingConfig
    from edge.controllers.leak_config import LeakConfig
    from edge.controllers.lighting_config import LightingConfig


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
class I2CBusConfig:
    """A Linux I2C adapter, /dev/i2c-<number>."""

    id: str
    number: int


@dataclass(frozen=True, slots=True)
class OneWireBusConfig:
    """The Linux 1-Wire sysfs tree."""

    id: str
    path: Path


@dataclass(frozen=True, slots=True)
class GpioBusConfig:
    """The Pi's GPIO header, through a gpiozero pin factory (None: gpiozero's default)."""

    id: str
    pin_factory: str | None = None


@dataclass(frozen=True, slots=True)
class ModbusBusConfig:
    """An RS-485 line speaking Modbus RTU."""

    id: str
    port: str
    baudrate: int = 9600
    parity: str = "N"
    stopbits: int = 1
    bytesize: int = 8
    timeout_s: float = 0.5
    retries: int = 2


BusConfig: TypeAlias = I2CBusConfig | OneWireBusConfig | GpioBusConfig | ModbusBusConfig


@dataclass(frozen=True, slots=True)
class BH1750Config:
    """A ROHM BH1750 lux sensor."""

    id: str
    bus: str
    interval_s: float
    address: int = 0x23
    mode: str = "one_time"
    auto_range: bool = True
    mtreg: int = 69


@dataclass(frozen=True, slots=True)
class VEML7700Config:
    """A Vishay VEML7700 lux sensor."""

    id: str
    bus: str
    interval_s: float
    address: int = 0x10
    auto_range: bool = True
    gain: float = 0.125
    integration_time_ms: int = 100


@dataclass(frozen=True, slots=True)
class SHT31Config:
    """A Sensirion SHT31 temperature and humidity sensor."""

    id: str
    bus: str
    interval_s: float
    address: int = 0x44
    repeatability: str = "high"


@dataclass(frozen=True, slots=True)
class DS18B20Config:
    """A Maxim DS18B20 1-Wire thermometer."""

    id: str
    bus: str
    interval_s: float
    rom_id: str


@dataclass(frozen=True, slots=True)
class PulseMeterConfig:
    """A pulse-output water meter on a GPIO input."""

    id: str
    bus: str
    interval_s: float
    pin: int
    litres_per_pulse: float | None = None
    pulses_per_litre: float | None = None
    debounce_s: float = 0.0005
    active_low: bool = True
    pull_up: bool = True


@dataclass(frozen=True, slots=True)
class SDM120Config:
    """An Eastron SDM120 single-phase energy meter."""

    id: str
    bus: str
    interval_s: float
    unit_id: int = 1


@dataclass(frozen=True, slots=True)
class SDM630Config:
    """An Eastron SDM630 three-phase energy meter."""

    id: str
    bus: str
    interval_s: float
    unit_id: int = 1


@dataclass(frozen=True, slots=True)
class ModbusMeterConfig:
    """A Modbus meter whose register map is declared in the config."""

    id: str
    bus: str
    interval_s: float
    unit_id: int
    registers: tuple[RegisterSpec, ...]
    part: str = "modbus-meter"


SensorConfig: TypeAlias = (
    BH1750Config
    | VEML7700Config
    | SHT31Config
    | DS18B20Config
    | PulseMeterConfig
    | SDM120Config
    | SDM630Config
    | ModbusMeterConfig
)


@dataclass(frozen=True, slots=True)
class RelayConfig:
    """A relay or contactor coil on a GPIO output."""

    id: str
    bus: str
    pin: int
    active_high: bool = True
    safe_state: bool = False
    feedback_pin: int | None = None
    feedback_active_high: bool = True
    settle_s: float = 0.2
    load_w: float = 0.0


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


@dataclass(frozen=True, slots=True)
class BoxConfig:
    """Everything one box is configured with."""

    path: Path
    device: DeviceConfig
    buses: tuple[BusConfig, ...]
    sensors: tuple[SensorConfig, ...]
    actuators: tuple[RelayConfig, ...]
    simulation: SimulationConfig
    agent: AgentConfig = AgentConfig()
    lighting: tuple[LightingConfig, ...] = ()
    leak: tuple[LeakConfig, ...] = ()
    heating: tuple[HeatingConfig, ...] = ()

    def bus(self, bus_id: str) -> BusConfig:
        """The bus of a given id."""
        for bus in self.buses:
            if bus.id == bus_id:
                return bus
        raise KeyError(bus_id)
