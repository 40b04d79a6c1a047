"""VEML7700 driver behaviour a mutation run (bench/mutation.py) found untested: ladder edges, re-ranging, errors.

Facts written out here from Vishay's VEML7700 datasheet Rev 1.7 and the application note
"Designing the VEML7700 Into an Application": 0.0042 lx/count at gain 2 and 800 ms, scaling as
(2 / gain) * (800 / IT); ALS_CONF gain bits [12:11] (1: 00, 2: 01, 1/8: 10, 1/4: 11), IT bits [9:6]
(25: 1100, 50: 1000, 100: 0000, 200: 0001, 400: 0010, 800: 0011), shut down bit 0; ID register 0x07
reads 0xC481; wake up 2.5 ms after shut down; the app note's ladder starts at gain 1/8 and 100 ms,
raises gain then IT while counts <= 100, lowers IT while counts > 10000; its high-lux polynomial
(6.0135e-13, -9.3924e-9, 8.1488e-5, 1.0023, 0) applies at gains 1/8 and 1/4. The driver's own
rules, restated: 10 % slack on the integration time, at most four measurements per read.
"""

from __future__ import annotations

import errno

import pytest

from drivers.errors import NotPluggedError, OutOfRangeError
from drivers.veml7700 import VEML7700, app_note_setting, resolution_lx_per_count

ALS_CONF, ALS_WH, ALS_WL, POWER_SAVING, ALS, ID = 0x00, 0x01, 0x02, 0x03, 0x04, 0x07
GAIN = {1.0: 0b00, 2.0: 0b01, 0.125: 0b10, 0.25: 0b11}
IT = {25: 0b1100, 50: 0b1000, 100: 0b0000, 200: 0b0001, 400: 0b0010, 800: 0b0011}
INIT = [(POWER_SAVING, 0), (ALS_WH, 0xFFFF), (ALS_WL, 0)]


def _conf(gain: float, it_ms: int, shutdown: bool) -> int:
    return GAIN[gain] << 11 | IT[it_ms] << 6 | int(shutdown)


def _configure(gain: float, it_ms: int) -> list[tuple[int, int]]:
    return [(ALS_CONF, _conf(gain, it_ms, True)), (ALS_CONF, _conf(gain, it_ms, False))]


def _lx_per_count(gain: float, it_ms: int) -> float:
    return 0.0042 * (2 / gain) * (800 / it_ms)


def _corrected(lux: float) -> float:
    return 6.0135e-13 * lux**4 - 9.3924e-9 * lux**3 + 8.1488e-5 * lux**2 + 1.0023 * lux


class _WordBus:
    """Word registers as smbus2 sees them: ID 0xC481, ALS counts from a script; writes recorded."""

    def __init__(self, *counts: int, chip_id: int = 0xC481) -> None:
        self.counts = list(counts)
        self.chip_id = chip_id
        self.writes: list[tuple[int, int]] = []
        self.id_reads = 0
        self.fail_at: int | None = None
        self.error: OSError = OSError(errno.EREMOTEIO, "Remote I/O error")
        self.calls = 0

    def _call(self) -> None:
        self.calls += 1
        if self.calls == self.fail_at:
            raise self.error

    def read_word_data(self, i2c_addr: int, register: int, force: bool | None = None) -> int:
        assert i2c_addr == 0x10
        self._call()
        if register == ID:
            self.id_reads += 1
            return self.chip_id
        assert register == ALS
        return self.counts.pop(0)

    def write_word_data(self, i2c_addr: int, register: int, value: int, force: bool | None = None) -> None:
        assert i2c_addr == 0x10
        self._call()
        self.writes.append((register, value))


def _driver(bus: _WordBus, sleeps: list[float] | None = None, **kwargs: object) -> VEML7700:
    return VEML7700(bus, bus_name="i2c-1", sleep=(sleeps if sleeps is not None else []).append, **kwargs)  # type: ignore[arg-type, arg-type]


def _measures(bus: _WordBus) -> int:
    return len([w for w in bus.writes if w[0] == ALS_CONF]) // 2


def test_veml7700_ladder_raises_gain_at_exactly_100_counts() -> None:
    # 53.76 lx is 100 counts at 1/8 and 100 ms (0.5376 lx/count): still "counts <= 100", go up.
    assert _lx_per_count(0.125, 100) == pytest.approx(0.5376)
    assert app_note_setting(53.76) == (0.25, 100)
    # 26.88 lx: 50 counts at 1/8, then 100 at 1/4 (0.2688 lx/count): up again, to gain 1.
    assert app_note_setting(26.88) == (1.0, 100)


def test_veml7700_ladder_keeps_exactly_10000_counts() -> None:
    # 5376 lx is 10000 counts at 1/8 and 100 ms: not above 10000, stay.
    assert app_note_setting(5376.0) == (0.125, 100)
    assert app_note_setting(5376.6) == (0.125, 50)


def test_veml7700_setting_errors_name_the_choices() -> None:
    with pytest.raises(ValueError, match=r"^gain must be one of \[0\.125, 0\.25, 1\.0, 2\.0\], not 3\.0$"):
        resolution_lx_per_count(3.0, 100)
    with pytest.raises(ValueError, match=r"^integration_time_ms must be one of \[25, 50, 100, 200, 400, 800\], not 30$"):
        resolution_lx_per_count(1.0, 30)


def test_veml7700_first_read_initialises_waits_and_names_the_reading() -> None:
    bus = _WordBus(5000)
    sleeps: list[float] = []
    (reading,) = _driver(bus, sleeps).read()
    assert bus.writes == [*INIT, *_configure(0.125, 100)]
    assert sleeps == [pytest.approx(0.0025 + 0.100 * 1.1)]
    assert (reading.name, reading.quantity, reading.unit) == ("illuminance_lx", "illuminance", "lx")
    assert reading.value == pytest.approx(_corrected(5000 * 0.5376))


def test_veml7700_second_read_neither_initialises_nor_waits() -> None:
    bus = _WordBus(5000, 5000)
    sleeps: list[float] = []
    driver = _driver(bus, sleeps)
    driver.read()
    bus.writes.clear()
    sleeps.clear()
    driver.read()
    assert (bus.writes, sleeps, bus.id_reads) == ([], [], 1)


def test_veml7700_re_ranges_by_default_and_waits_for_each_new_setting() -> None:
    # 5 counts at 1/8 and 100 ms = 2.688 lx: up the ladder to gain 2 and 200 ms (160 counts).
    bus = _WordBus(5, 200)
    sleeps: list[float] = []
    (reading,) = _driver(bus, sleeps).read()
    assert bus.writes == [*INIT, *_configure(0.125, 100), *_configure(2.0, 200)]
    assert sleeps == [pytest.approx(0.0025 + 0.100 * 1.1), pytest.approx(0.0025 + 0.200 * 1.1)]
    assert reading.value == pytest.approx(200 * _lx_per_count(2.0, 200))  # gain 2: no correction


def test_veml7700_no_re_ranging_when_disabled() -> None:
    bus = _WordBus(5)
    (reading,) = _driver(bus, auto_range=False).read()
    assert _measures(bus) == 1
    assert reading.value == pytest.approx(_corrected(5 * 0.5376))


def test_veml7700_at_most_four_measurements_per_read() -> None:
    bus = _WordBus(
        5,  # 2.688 lx at 1/8, 100 ms -> gain 2, 200 ms
        0xFFFF,  # saturated at gain 2, 200 ms -> the ladder's first step, 1/8 and 25 ms
        20,  # 43 lx at 1/8, 25 ms -> 1/4, 100 ms
        30_000,  # 8064 lx at 1/4, 100 ms: 15000 counts at 1/8 would want 50 ms, but that is a fifth
        1_000,
    )
    (reading,) = _driver(bus).read()
    assert bus.writes == [
        *INIT, *_configure(0.125, 100), *_configure(2.0, 200), *_configure(0.125, 25), *_configure(0.25, 100),
    ]
    assert reading.value == pytest.approx(_corrected(30_000 * _lx_per_count(0.25, 100)))


def test_veml7700_full_scale_is_saturation() -> None:
    bus = _WordBus(0xFFFF)
    with pytest.raises(OutOfRangeError) as caught:
        _driver(bus, auto_range=False).read()
    assert caught.value.reason == "saturated at gain 0.125 and 100 ms: more light than it can measure"
    assert (caught.value.part, caught.value.bus, caught.value.address) == ("VEML7700", "i2c-1", "0x10")
    (reading,) = _driver(_WordBus(0xFFFE), auto_range=False).read()
    assert reading.value == pytest.approx(_corrected(0xFFFE * 0.5376))


def test_veml7700_another_chip_at_0x10_is_refused() -> None:
    with pytest.raises(OutOfRangeError) as caught:
        _driver(_WordBus(5000, chip_id=0x1234)).read()
    assert caught.value.reason == "ID register reads 0x1234, not 0x..81: another chip answers here"
    assert (caught.value.part, caught.value.bus, caught.value.address) == ("VEML7700", "i2c-1", "0x10")


@pytest.mark.parametrize("sensor_error", [False, True])
def test_veml7700_a_failed_read_makes_the_next_one_initialise(sensor_error: bool) -> None:
    bus = _WordBus(5000, 5000)
    if sensor_error:
        bus.error = NotPluggedError("gone", part="VEML7700", bus="i2c-1", address="0x10")
    bus.fail_at = 7  # ID, 3 init writes, 2 ALS_CONF writes, then the ALS read fails
    driver = _driver(bus)
    with pytest.raises(NotPluggedError) as caught:
        driver.read()
    assert (caught.value.part, caught.value.bus, caught.value.address) == ("VEML7700", "i2c-1", "0x10")
    bus.writes.clear()
    driver.read()
    assert bus.id_reads == 2
    assert bus.writes == [*INIT, *_configure(0.125, 100)]


def test_veml7700_close_shuts_down_and_the_next_read_initialises() -> None:
    bus = _WordBus(5000, 5000)
    driver = _driver(bus)
    driver.read()
    bus.writes.clear()
    driver.close()
    assert bus.writes == [(ALS_CONF, _conf(0.125, 100, True))]
    bus.writes.clear()
    driver.read()
    assert bus.id_reads == 2 and bus.writes == [*INIT, *_configure(0.125, 100)]


def test_veml7700_close_of_an_absent_chip_is_quiet() -> None:
    bus = _WordBus()
    bus.fail_at = 1
    _driver(bus).close()
