"""ROHM BH1750FVI ambient light sensor on I2C, auto-ranged from moonlight to full sun."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import IntEnum
from types import MappingProxyType

from smbus2 import i2c_msg

from drivers.errors import OutOfRangeError, SensorError
from drivers.i2c_scan import I2CBus, bus_error, check_driver_args, format_address
from drivers.reading import Reading, reading


class Opcode(IntEnum):
    """Instruction set of the BH1750FVI datasheet."""

    POWER_DOWN = 0x00
    POWER_ON = 0x01
    RESET = 0x07
    CONTINUOUS_H = 0x10
    CONTINUOUS_H2 = 0x11
    CONTINUOUS_L = 0x13
    ONE_TIME_H = 0x20
    ONE_TIME_H2 = 0x21
    ONE_TIME_L = 0x23


ADDRESSES = (0x23, 0x5C)  # ADDR pin low / high
MODES = ("one_time", "continuous")
RESOLUTIONS = ("high", "high2", "low")
MEASUREMENT_OPCODES: Mapping[tuple[str, str], Opcode] = MappingProxyType({
    ("continuous", "high"): Opcode.CONTINUOUS_H,
    ("continuous", "high2"): Opcode.CONTINUOUS_H2,
    ("continuous", "low"): Opcode.CONTINUOUS_L,
    ("one_time", "high"): Opcode.ONE_TIME_H,
    ("one_time", "high2"): Opcode.ONE_TIME_H2,
    ("one_time", "low"): Opcode.ONE_TIME_L,
})
MTREG_HIGH_PREFIX, MTREG_HIGH_MASK = 0b0100_0000, 0b1111_1000  # 01000_MT[7:5]
MTREG_LOW_PREFIX, MTREG_LOW_MASK = 0b0110_0000, 0b1110_0000  # 011_MT[4:0]
MTREG_DEFAULT = 69
MTREG_MIN = 31
MTREG_MAX = 254
MAX_TIME_S_AT_DEFAULT = MappingProxyType({"high": 0.180, "high2": 0.180, "low": 0.024})
COUNTS_PER_LX = 1.2  # datasheet "measurement accuracy" typical 1.2
LOW_RES_STEP_LX = 4.0  # L-resolution mode resolution at MTreg 69
FULL_SCALE = 0xFFFF
AUTO_TARGET_COUNT = 40_000  # aim well below full scale to leave headroom for brightening
AUTO_NEAR_FULL_COUNT = 60_000
AUTO_GAIN_STEP = 2.0  # re-range only if the better range is at least this much more sensitive
AUTO_MAX_MEASUREMENTS = 3


def mtreg_opcodes(mtreg: int) -> tuple[int, int]:
    """The two "change measurement time" instructions (high bits, low bits) for `mtreg`."""
    _check_mtreg(mtreg)
    return MTREG_HIGH_PREFIX | mtreg >> 5, MTREG_LOW_PREFIX | mtreg & 0b1_1111


def counts_per_lx(mtreg: int = MTREG_DEFAULT, resolution: str = "high") -> float:
    """Sensitivity in counts per lux for a measurement time and resolution."""
    factor = 2.0 if resolution == "high2" else 1.0
    return COUNTS_PER_LX * mtreg / MTREG_DEFAULT * factor


def counts_to_lux(count: int, mtreg: int = MTREG_DEFAULT, resolution: str = "high") -> float:
    """Illuminance in lux from a 16-bit result (H-res2: bit 0 is 0.5 lx)."""
    if resolution not in RESOLUTIONS:
        raise ValueError(f"resolution must be one of {RESOLUTIONS}, not {resolution!r}")
    return count / counts_per_lx(mtreg, resolution)


def resolution_lx(mtreg: int = MTREG_DEFAULT, resolution: str = "high") -> float:
    """Smallest illuminance step the chip reports with these settings."""
    if resolution == "low":
        return LOW_RES_STEP_LX * MTREG_DEFAULT / mtreg
    return 1.0 / counts_per_lx(mtreg, resolution)


def measurement_time_s(mtreg: int = MTREG_DEFAULT, resolution: str = "high") -> float:
    """Maximum measurement time from the datasheet, proportional to MTreg."""
    return MAX_TIME_S_AT_DEFAULT[resolution] * mtreg / MTREG_DEFAULT


def choose_range(illuminance_lx: float) -> tuple[str, int]:
    """Most sensitive (resolution, MTreg) keeping `illuminance_lx` near AUTO_TARGET_COUNT."""
    for resolution in ("high2", "high"):
        per_lx_at_mt1 = counts_per_lx(1, resolution)
        if illuminance_lx <= 0:
            return resolution, MTREG_MAX
        mtreg = int(AUTO_TARGET_COUNT / (illuminance_lx * per_lx_at_mt1))
        if mtreg >= MTREG_MIN:
            return resolution, min(mtreg, MTREG_MAX)
    return "high", MTREG_MIN


def _check_mtreg(mtreg: int) -> None:
    if not isinstance(mtreg, int) or not MTREG_MIN <= mtreg <= MTREG_MAX:
        raise ValueError(f"mtreg must be an int in {MTREG_MIN}..{MTREG_MAX}, not {mtreg!r}")


class BH1750:
    """BH1750FVI driver: one-time or continuous measurements, MTreg/H-res2 auto-ranging."""

    part = "BH1750"

    def __init__(
        self,
        bus: I2CBus,
        address: int = 0x23,
        *,
        bus_name: str,
        sleep: Callable[[float], None],
        mode: str = "one_time",
        auto_range: bool = True,
        mtreg: int = MTREG_DEFAULT,
        resolution: str = "high",
    ) -> None:
        check_driver_args(address, ADDRESSES, bus_name, sleep)
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
        if resolution not in RESOLUTIONS:
            raise ValueError(f"resolution must be one of {RESOLUTIONS}, not {resolution!r}")
        _check_mtreg(mtreg)
        self._bus = bus
        self._address = address
        self.bus_name = bus_name
        self.address = format_address(address)
        self._sleep = sleep
        self.mode = mode
        self.auto_range = auto_range
        self.mtreg = mtreg
        self.resolution = resolution
        self._programmed: tuple[str, int] | None = None  # (resolution, mtreg) the chip holds

    def read(self) -> tuple[Reading, ...]:
        """Measure illuminance, re-ranging when needed; raise SensorError on failure."""
        try:
            count = self._measure()
            for _ in range(AUTO_MAX_MEASUREMENTS - 1):
                better = self._better_range(count) if self.auto_range else None
                if better is None:
                    break
                self.resolution, self.mtreg = better
                count = self._measure()
        except SensorError:
            self._programmed = None
            raise
        except OSError as exc:
            self._programmed = None
            raise bus_error(exc, part=self.part, bus_name=self.bus_name, address=self._address) from exc
        if count >= FULL_SCALE:
            limit_lx = counts_to_lux(FULL_SCALE, self.mtreg, self.resolution)
            raise OutOfRangeError(
                f"saturated: more light than the {limit_lx:.0f} lx this range can measure",
                part=self.part, bus=self.bus_name, address=self.address,
            )
        lux = counts_to_lux(count, self.mtreg, self.resolution)
        return (reading("illuminance_lx", "illuminance", lux),)

    def close(self) -> None:
        """Power the chip down (best effort: an absent chip is already off)."""
        self._programmed = None
        try:
            self._bus.write_byte(self._address, Opcode.POWER_DOWN)
        except OSError:
            pass

    def _better_range(self, count: int) -> tuple[str, int] | None:
        current = (self.resolution, self.mtreg)
        if count >= FULL_SCALE:
            least_sensitive = ("high", MTREG_MIN)
            return None if current == least_sensitive else least_sensitive
        wanted = choose_range(counts_to_lux(count, self.mtreg, self.resolution))
        if wanted == current:
            return None
        gain = counts_per_lx(wanted[1], wanted[0]) / counts_per_lx(current[1], current[0])
        if gain >= AUTO_GAIN_STEP or count > AUTO_NEAR_FULL_COUNT:
            return wanted
        return None

    def _measure(self) -> int:
        settings = (self.resolution, self.mtreg)
        opcode = MEASUREMENT_OPCODES[(self.mode, self.resolution)]
        if self.mode == "continuous" and self._programmed == settings:
            return self._read_count()
        self._write(Opcode.POWER_ON)
        if self._programmed is None:
            self._write(Opcode.RESET)
        if self._programmed is None or self._programmed[1] != self.mtreg:
            for mt_opcode in mtreg_opcodes(self.mtreg):
                self._write(mt_opcode)
        self._write(opcode)
        self._programmed = settings
        self._sleep(measurement_time_s(self.mtreg, self.resolution))
        return self._read_count()

    def _write(self, opcode: int) -> None:
        self._bus.write_byte(self._address, int(opcode))

    def _read_count(self) -> int:
        message = i2c_msg.read(self._address, 2)
        self._bus.i2c_rdwr(message)
        high, low = bytes(message)
        return high << 8 | low
