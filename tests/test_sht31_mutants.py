"""SHT31 driver behaviour a mutation run (bench/mutation.py) found untested: range, status, heater, errors.

Facts from Sensirion "Datasheet SHT3x-DIS" (version 6, 2019), written out here: T = -45 + 175 * S_T /
(2^16 - 1); specified range -40..125 °C; CRC-8 polynomial 0x31, init 0xFF; commands soft reset
0x30A2, clear status 0x3041, single shot high repeatability 0x2400 (15 ms max), read status 0xF32D
(answer: one word and its CRC), heater on 0x306D, off 0x3066 (no answer). The driver's own rule:
one degree of accuracy slack at each end of the range before a value counts as impossible.
"""

from __future__ import annotations

import errno

import pytest

from drivers.errors import BadCRCError, NotPluggedError, OutOfRangeError
from drivers.sht31 import SHT31
from drivers.sim.i2c import SimI2CBus, SimI2CChip

RESET, CLEAR, MEASURE_HIGH = b"\x30\xa2", b"\x30\x41", b"\x24\x00"
STATUS, HEATER_ON, HEATER_OFF = b"\xf3\x2d", b"\x30\x6d", b"\x30\x66"


def _crc(data: bytes) -> int:
    crc = 0xFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x31) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def _frame(*words: int) -> bytes:
    out = b""
    for word in words:
        pair = bytes([word >> 8, word & 0xFF])
        out += pair + bytes([_crc(pair)])
    return out


def _raw_t(celsius: float) -> int:
    return round((celsius + 45) * 65535 / 175)


class _ScriptedChip(SimI2CChip):
    """Records writes and read lengths; answers reads with the scripted frames."""

    def __init__(self, *frames: bytes) -> None:
        self.writes: list[bytes] = []
        self.reads: list[int] = []
        self.frames = list(frames)

    def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))

    def read(self, length: int) -> bytes:
        self.reads.append(length)
        return self.frames.pop(0)[:length]


def _driver(chip: SimI2CChip, sleeps: list[float] | None = None, **kwargs: object) -> SHT31:
    bus = SimI2CBus(1)
    bus.attach(0x44, chip)
    return SHT31(bus, bus_name="i2c-1", sleep=(sleeps if sleeps is not None else []).append, **kwargs)  # type: ignore[arg-type]


def test_sht31_defaults_to_high_repeatability_and_names_its_readings() -> None:
    chip = _ScriptedChip(_frame(0x6666, 0x8000))
    sleeps: list[float] = []
    temperature, humidity = _driver(chip, sleeps).read()
    assert chip.writes == [RESET, CLEAR, MEASURE_HIGH]
    assert sleeps == [0.0015, 0.015]
    assert (temperature.name, temperature.unit) == ("temperature_c", "°C")
    assert (humidity.name, humidity.unit) == ("relative_humidity_pct", "%")
    assert humidity.value == pytest.approx(100 * 0x8000 / 65535)


def test_sht31_repeatability_error_names_the_choices() -> None:
    with pytest.raises(ValueError, match=r"^repeatability must be one of \('high', 'medium', 'low'\), not 'best'$"):
        _driver(_ScriptedChip(), repeatability="best")


def test_sht31_reset_only_once_then_only_measurements() -> None:
    chip = _ScriptedChip(_frame(0x6666, 0x8000), _frame(0x6666, 0x8000))
    driver = _driver(chip)
    driver.read()
    chip.writes.clear()
    driver.read()
    assert chip.writes == [MEASURE_HIGH]


@pytest.mark.parametrize("celsius", [-40.5, 125.5])
def test_sht31_values_within_one_degree_of_the_range_are_readings(celsius: float) -> None:
    (temperature, _) = _driver(_ScriptedChip(_frame(_raw_t(celsius), 0x8000))).read()
    assert temperature.value == pytest.approx(celsius, abs=0.01)


@pytest.mark.parametrize(("celsius", "shown"), [(-41.5, "-41.5"), (126.2, "126.2")])
def test_sht31_values_beyond_the_range_are_out_of_range(celsius: float, shown: str) -> None:
    with pytest.raises(OutOfRangeError) as caught:
        _driver(_ScriptedChip(_frame(_raw_t(celsius), 0x8000))).read()
    assert caught.value.reason == f"temperature {shown} °C is outside the sensor's -40..125 °C range"
    assert (caught.value.part, caught.value.bus, caught.value.address) == ("SHT31", "i2c-1", "0x44")


def test_sht31_bad_crc_names_the_command() -> None:
    frame = bytearray(_frame(0x6666, 0x8000))
    frame[5] ^= 0x01
    with pytest.raises(BadCRCError) as caught:
        _driver(_ScriptedChip(bytes(frame))).read()
    assert caught.value.reason == "checksum mismatch in the answer to command 0x2400: noise on the wires?"
    assert (caught.value.part, caught.value.bus, caught.value.address) == ("SHT31", "i2c-1", "0x44")


def test_sht31_status_is_one_word_read_at_once() -> None:
    chip = _ScriptedChip(_frame(0x8010))
    sleeps: list[float] = []
    driver = _driver(chip, sleeps)
    assert driver.read_status() == 0x8010
    assert chip.writes == [RESET, CLEAR, STATUS]
    assert chip.reads == [3]
    assert sleeps[1:] == [0.0]


@pytest.mark.parametrize(("on", "command"), [(True, HEATER_ON), (False, HEATER_OFF)])
def test_sht31_heater_command_expects_no_answer(on: bool, command: bytes) -> None:
    chip = _ScriptedChip()
    sleeps: list[float] = []
    _driver(chip, sleeps).set_heater(on)
    assert chip.writes == [RESET, CLEAR, command]
    assert chip.reads == []
    assert sleeps == [0.0015]


def test_sht31_close_makes_the_next_read_reset_the_chip() -> None:
    chip = _ScriptedChip(_frame(0x6666, 0x8000), _frame(0x6666, 0x8000))
    driver = _driver(chip)
    driver.read()
    driver.close()
    chip.writes.clear()
    driver.read()
    assert chip.writes == [RESET, CLEAR, MEASURE_HIGH]


def test_sht31_bus_failure_is_not_plugged_and_the_chip_is_reset_after() -> None:
    bus = SimI2CBus(1)
    driver = SHT31(bus, bus_name="i2c-1", sleep=lambda s: None)
    with pytest.raises(NotPluggedError) as caught:
        driver.read()
    assert (caught.value.part, caught.value.bus, caught.value.address) == ("SHT31", "i2c-1", "0x44")
    assert caught.value.reason.startswith("no acknowledge at this address")
    chip = _ScriptedChip(_frame(0x6666, 0x8000))
    bus.attach(0x44, chip)
    driver.read()
    assert chip.writes == [RESET, CLEAR, MEASURE_HIGH]


class _FailingBus:
    """A bus that already speaks in SensorErrors (as a wrapped bus may), failing its n-th transfer."""

    def __init__(self, error: OSError, fail_at: int, chip: _ScriptedChip) -> None:
        self.error, self.fail_at, self.calls = error, fail_at, 0
        self.inner = SimI2CBus(1)
        self.inner.attach(0x44, chip)

    def i2c_rdwr(self, *messages: object) -> None:
        self.calls += 1
        if self.calls == self.fail_at:
            raise self.error
        self.inner.i2c_rdwr(*messages)


def test_sht31_sensor_errors_pass_through_and_the_chip_is_reset_after() -> None:
    error = NotPluggedError("gone", part="SHT31", bus="i2c-9", address="0x44")
    chip = _ScriptedChip(_frame(0x6666, 0x8000))
    # Transfers: soft reset, clear status, then the measurement command fails.
    driver = SHT31(_FailingBus(error, 3, chip), bus_name="i2c-1", sleep=lambda s: None)  # type: ignore[arg-type]
    with pytest.raises(NotPluggedError) as caught:
        driver.read()
    assert caught.value is error
    chip.writes.clear()
    driver.read()
    assert chip.writes == [RESET, CLEAR, MEASURE_HIGH]


def test_sht31_bus_error_after_the_reset_makes_the_next_read_reset_again() -> None:
    chip = _ScriptedChip(_frame(0x6666, 0x8000))
    bus = _FailingBus(OSError(errno.EREMOTEIO, "Remote I/O error"), 3, chip)
    driver = SHT31(bus, bus_name="i2c-1", sleep=lambda s: None)  # type: ignore[arg-type]
    with pytest.raises(NotPluggedError) as caught:
        driver.read()
    assert (caught.value.part, caught.value.bus, caught.value.address) == ("SHT31", "i2c-1", "0x44")
    chip.writes.clear()
    driver.read()
    assert chip.writes == [RESET, CLEAR, MEASURE_HIGH]
