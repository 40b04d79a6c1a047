"""A part added from outside the registry: a TI TMP117 thermometer, its config, driver and twin in one file.

It shows what adding a part takes: these three pieces and one registry entry, with nothing changed in
the config loader, the hardware assembly, the simulated hardware, the probe or the world files.
Datasheet: TI TMP117 (SNOSD82C, rev. C, 2022): temperature result register 0x00, 16-bit two's
complement, 7.8125 m°C per LSB, MSB first; device ID register 0x0F reads 0x0117; address 0x48-0x4B.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from smbus2 import i2c_msg

from drivers.errors import OutOfRangeError, SensorError
from drivers.i2c_scan import bus_error
from drivers.reading import Reading, reading
from drivers.sim.i2c import SimI2CChip
from edge.config.model import SensorConfig
from edge.config.reader import Table
from edge.parts.fields import i2c_address
from edge.parts.part import BuildContext, Part
from edge.simulation.box import SimBox

TEMP_RESULT = 0x00
DEVICE_ID = 0x0F
DEVICE_ID_VALUE = 0x0117
LSB_C = 0.0078125
ADDRESSES = (0x48, 0x49, 0x4A, 0x4B)


@dataclass(frozen=True, slots=True)
class TMP117Config(SensorConfig):
    """A TI TMP117 thermometer."""

    address: int = ADDRESSES[0]
    driver: str = "tmp117"


def parse(t: Table, fields: dict[str, Any]) -> TMP117Config:
    """One `driver = "tmp117"` table."""
    return TMP117Config(**fields, address=i2c_address(t, "TMP117", ADDRESSES))


class TMP117:
    """Reads the temperature result register."""

    part = "TMP117"

    def __init__(self, bus: Any, address: int, bus_name: str) -> None:
        self._bus, self._address, self._bus_name = bus, address, bus_name

    def _register(self, pointer: int) -> int:
        write, read = i2c_msg.write(self._address, [pointer]), i2c_msg.read(self._address, 2)
        self._bus.i2c_rdwr(write, read)
        high, low = bytes(read)
        return high << 8 | low

    def read(self) -> tuple[Reading, ...]:
        """The temperature; SensorError when the chip is absent or is another chip."""
        try:
            if self._register(DEVICE_ID) & 0x0FFF != DEVICE_ID_VALUE:
                raise OutOfRangeError("device ID is not a TMP117's", part=self.part, bus=self._bus_name,
                                      address=f"0x{self._address:02X}")
            raw = self._register(TEMP_RESULT)
        except SensorError:
            raise
        except OSError as exc:
            raise bus_error(exc, part=self.part, bus_name=self._bus_name, address=self._address) from exc
        signed = raw - 0x10000 if raw & 0x8000 else raw
        return (reading("temperature_c", "temperature", signed * LSB_C),)

    def close(self) -> None:
        """Nothing to release."""


class SimTMP117(SimI2CChip):
    """The chip: a register pointer, the result register and the device ID, MSB first."""

    def __init__(self, temperature_c: float) -> None:
        self.temperature_c = temperature_c
        self._pointer = TEMP_RESULT

    def write(self, data: bytes) -> None:
        """Set the register pointer."""
        if data:
            self._pointer = data[0]

    def read(self, length: int) -> bytes:
        """The pointed register, MSB first."""
        if self._pointer == DEVICE_ID:
            value = DEVICE_ID_VALUE
        else:
            value = round(self.temperature_c / LSB_C) & 0xFFFF
        return bytes([value >> 8, value & 0xFF])[:length]


def build(cfg: TMP117Config, bus: Any, ctx: BuildContext) -> TMP117:
    """The driver on its bus."""
    return TMP117(bus, cfg.address, cfg.bus)


def attach(cfg: TMP117Config, box: SimBox) -> None:
    """The twin: a simulated TMP117 at its address."""
    box.attach_i2c(cfg.id, cfg.bus, cfg.address, SimTMP117(box.start.temperature_c))


PART: Part[TMP117Config] = Part(
    driver="tmp117",
    name="TMP117",
    role="sensor",
    bus="i2c",
    config=TMP117Config,
    parse=parse,
    build=build,
    claims=lambda cfg: (("address", cfg.address),),
    twin=__name__,
    readings=("temperature_c",),
    world_inputs=frozenset({"temperature"}),
)
