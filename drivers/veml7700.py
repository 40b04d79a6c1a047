"""Vishay VEML7700 ambient light sensor on I2C, auto-ranged per Vishay's application note."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import IntEnum
from types import MappingProxyType

from drivers.errors import OutOfRangeError, SensorError
from drivers.i2c_scan import I2CBus, bus_error, check_driver_args, format_address
from drivers.reading import Reading, reading


class Register(IntEnum):
    """Command codes (register pointers) of the VEML7700 datasheet; words are LSB first."""

    ALS_CONF = 0x00
    ALS_WH = 0x01
    ALS_WL = 0x02
    POWER_SAVING = 0x03
    ALS = 0x04
    WHITE = 0x05
    ALS_INT = 0x06
    ID = 0x07


ADDRESSES = (0x10,)
DEVICE_ID = 0x81  # low byte of the ID register (0xC481)
GAIN_BITS: Mapping[float, int] = MappingProxyType({1.0: 0b00, 2.0: 0b01, 0.125: 0b10, 0.25: 0b11})  # ALS_CONF[12:11]
IT_BITS: Mapping[int, int] = MappingProxyType(  # ALS_CONF[9:6]
    {25: 0b1100, 50: 0b1000, 100: 0b0000, 200: 0b0001, 400: 0b0010, 800: 0b0011}
)
GAIN_SHIFT, GAIN_MASK = 11, 0b11
IT_SHIFT, IT_MASK = 6, 0b1111
PERS_SHIFT = 4
INT_EN_BIT = 1 << 1
SHUTDOWN_BIT = 1 << 0
# Resolution at gain 2 and 800 ms, the finest setting; the others scale as (2 / gain) * (800 ms / IT).
# The revisions disagree. Older datasheets (Rev 1.1/1.2 tables) and the app note "Designing the
# VEML7700 Into an Application" (doc. 84323) of 20-Sep-2019 give 0.0036 lx/count: 236 lx full scale at
# gain 2 / 800 ms, about 120 klx at gain 1/8 / 25 ms. Datasheet Rev 1.7 (29-Nov-2023), the current app
# note and Vishay's notice PIN-OPT-7462-2024 give 0.0042 lx/count (275 lx, about 140 klx) and say the
# 0.0036 was wrongly stated. We follow the maker's correction: 0.0042 (0.0036 would read 14 % low).
# The app note's high-lux correction polynomial (CORRECTION_COEFFS, worked example 1500 lx -> 1658 lx)
# takes the linear lux computed with this resolution; we keep the published coefficients, so the same
# counts are read 7/6 further along the curve. tests/test_veml7700_datasheet.py pins this choice.
RESOLUTION_LX_AT_GAIN2_IT800 = 0.0042
# Vishay app note "Designing the VEML7700 into an application": lux_c = f(lux), gain 1/8 and 1/4
CORRECTION_COEFFS = (6.0135e-13, -9.3924e-9, 8.1488e-5, 1.0023, 0.0)
CORRECTED_GAINS = (0.125, 0.25)
WAKE_UP_S = 0.0025  # datasheet: wait 2.5 ms after leaving shut down
IT_MARGIN = 1.1  # the datasheet gives no maximum integration time: allow 10 % oscillator slack
FULL_SCALE = 0xFFFF
# The app note's range ladder: start at gain 1/8 IT 100 ms, raise gain then IT while
# counts <= 100, lower IT while counts > 10000.
LADDER: tuple[tuple[float, int], ...] = (
    (0.125, 25), (0.125, 50), (0.125, 100), (0.25, 100), (1.0, 100),
    (2.0, 100), (2.0, 200), (2.0, 400), (2.0, 800),
)
LADDER_START = 2
LOW_COUNTS = 100
HIGH_COUNTS = 10_000
AUTO_MAX_MEASUREMENTS = 4


def resolution_lx_per_count(gain: float, integration_time_ms: int) -> float:
    """Lux per count for a gain and integration time (0.0042 at gain 2, 800 ms)."""
    _check_setting(gain, integration_time_ms)
    return RESOLUTION_LX_AT_GAIN2_IT800 * (2.0 / gain) * (800 / integration_time_ms)


def correct_high_lux(lux: float) -> float:
    """Vishay's polynomial correction of the chip's high-illuminance non-linearity."""
    result = 0.0
    for coefficient in CORRECTION_COEFFS:
        result = result * lux + coefficient
    return result


def counts_to_lux(counts: int, gain: float, integration_time_ms: int) -> float:
    """Illuminance from ALS counts, corrected at gains 1/8 and 1/4 as the app note says."""
    lux = counts * resolution_lx_per_count(gain, integration_time_ms)
    return correct_high_lux(lux) if gain in CORRECTED_GAINS else lux


def als_conf_word(
    gain: float, integration_time_ms: int, *, shutdown: bool = False,
    interrupt: bool = False, persistence_bits: int = 0,
) -> int:
    """ALS_CONF register value for the given settings."""
    _check_setting(gain, integration_time_ms)
    word = GAIN_BITS[gain] << GAIN_SHIFT | IT_BITS[integration_time_ms] << IT_SHIFT
    word |= (persistence_bits & 0b11) << PERS_SHIFT
    word |= INT_EN_BIT if interrupt else 0
    return word | (SHUTDOWN_BIT if shutdown else 0)


def app_note_setting(linear_lux: float) -> tuple[float, int]:
    """Where the app note's ranging flow ends for a (linear, uncorrected) illuminance."""
    index = LADDER_START
    if linear_lux / resolution_lx_per_count(*LADDER[index]) <= LOW_COUNTS:
        while index < len(LADDER) - 1 and linear_lux / resolution_lx_per_count(*LADDER[index]) <= LOW_COUNTS:
            index += 1
    else:
        while index > 0 and linear_lux / resolution_lx_per_count(*LADDER[index]) > HIGH_COUNTS:
            index -= 1
    return LADDER[index]


def _check_setting(gain: float, integration_time_ms: int) -> None:
    if gain not in GAIN_BITS:
        raise ValueError(f"gain must be one of {sorted(GAIN_BITS)}, not {gain!r}")
    if integration_time_ms not in IT_BITS:
        raise ValueError(f"integration_time_ms must be one of {sorted(IT_BITS)}, not {integration_time_ms!r}")


class VEML7700:
    """VEML7700 driver: continuous ALS with gain/integration-time auto-ranging."""

    part = "VEML7700"

    def __init__(
        self,
        bus: I2CBus,
        address: int = 0x10,
        *,
        bus_name: str,
        sleep: Callable[[float], None],
        auto_range: bool = True,
        gain: float = 0.125,
        integration_time_ms: int = 100,
    ) -> None:
        check_driver_args(address, ADDRESSES, bus_name, sleep)
        _check_setting(gain, integration_time_ms)
        self._bus = bus
        self._address = address
        self.bus_name = bus_name
        self.address = format_address(address)
        self._sleep = sleep
        self.auto_range = auto_range
        self.gain = gain
        self.integration_time_ms = integration_time_ms
        self._initialised = False
        self._settled = False  # a full integration with the current settings has completed

    def read(self) -> tuple[Reading, ...]:
        """Measure illuminance, re-ranging when needed; raise SensorError on failure."""
        try:
            if not self._initialised:
                self._initialise()
            counts = self._measure()
            for _ in range(AUTO_MAX_MEASUREMENTS - 1):
                better = self._better_setting(counts) if self.auto_range else None
                if better is None:
                    break
                self._configure(*better)
                counts = self._measure()
        except SensorError:
            self._initialised = False
            raise
        except OSError as exc:
            self._initialised = False
            raise bus_error(exc, part=self.part, bus_name=self.bus_name, address=self._address) from exc
        if counts >= FULL_SCALE:
            raise OutOfRangeError(
                f"saturated at gain {self.gain} and {self.integration_time_ms} ms: more light than it can measure",
                part=self.part, bus=self.bus_name, address=self.address,
            )
        lux = counts_to_lux(counts, self.gain, self.integration_time_ms)
        return (reading("illuminance_lx", "illuminance", lux),)

    def close(self) -> None:
        """Shut the chip down (best effort: an absent chip is already off)."""
        self._initialised = False
        try:
            self._write(Register.ALS_CONF, als_conf_word(self.gain, self.integration_time_ms, shutdown=True))
        except OSError:
            pass

    def _initialise(self) -> None:
        chip_id = self._bus.read_word_data(self._address, Register.ID)
        if chip_id & 0xFF != DEVICE_ID:
            raise OutOfRangeError(
                f"ID register reads 0x{chip_id:04x}, not 0x..{DEVICE_ID:02x}: another chip answers here",
                part=self.part, bus=self.bus_name, address=self.address,
            )
        self._write(Register.POWER_SAVING, 0)
        self._write(Register.ALS_WH, FULL_SCALE)
        self._write(Register.ALS_WL, 0)
        self._configure(self.gain, self.integration_time_ms)
        self._initialised = True

    def _configure(self, gain: float, integration_time_ms: int) -> None:
        # shut down first so the new integration starts cleanly after the wake-up time
        self._write(Register.ALS_CONF, als_conf_word(gain, integration_time_ms, shutdown=True))
        self._write(Register.ALS_CONF, als_conf_word(gain, integration_time_ms))
        self.gain, self.integration_time_ms = gain, integration_time_ms
        self._settled = False

    def _measure(self) -> int:
        if not self._settled:
            self._sleep(WAKE_UP_S + self.integration_time_ms / 1000 * IT_MARGIN)
            self._settled = True
        return self._bus.read_word_data(self._address, Register.ALS)

    def _better_setting(self, counts: int) -> tuple[float, int] | None:
        current = (self.gain, self.integration_time_ms)
        if counts >= FULL_SCALE:
            wanted = LADDER[0]
        else:
            wanted = app_note_setting(counts * resolution_lx_per_count(*current))
        return None if wanted == current else wanted

    def _write(self, register: Register, value: int) -> None:
        self._bus.write_word_data(self._address, register, value)
