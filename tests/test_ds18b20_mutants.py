"""DS18B20 and 1-Wire sysfs behaviour a mutation run (bench/mutation.py) found untested.

The driver reads the kernel's w1_therm `w1_slave` file from a sysfs tree laid out here on disk.
Facts written out from the Maxim DS18B20 datasheet (19-7487 Rev 6): 1/16 °C per LSB in 16-bit two's
complement (Table 1: +125 °C = 0x07D0, +85 °C = 0x0550 is the power-on value, -55 °C = 0xFC90),
configuration register R1 R0 in bits 6:5 (0x1F 9-bit, 0x7F 12-bit: Table 2), undefined low bits
below 12 bits, 9-byte scratchpad whose byte 8 is the Dallas/Maxim CRC-8 (X^8 + X^5 + X^4 + 1) of
bytes 0..7; and from Linux's w1_therm: two lines "<9 bytes> : crc=<crc> YES|NO" and
"<9 bytes> t=<millidegrees>", slaves named family-serial ("28-0316a2794aff").
"""

from __future__ import annotations

from pathlib import Path

import pytest

from drivers.ds18b20 import DS18B20, parse_w1_slave, temperature_c_to_raw
from drivers.errors import BadCRCError, NoAnswerError, NotPluggedError, OutOfRangeError
from drivers.onewire import W1Bus, check_rom_id

ROM = "28-0316a2794aff"


def _crc(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8C if crc & 1 else crc >> 1
    return crc


def _pad(raw: int, config: int = 0x7F) -> bytes:
    body = bytes([raw & 0xFF, raw >> 8, 0x4B, 0x46, config, 0xFF, 0x0E, 0x10])
    return body + bytes([_crc(body)])


def _file(pad: bytes, t: int | None, verdict: str = "YES", crc: int | None = None) -> str:
    hexes = " ".join(f"{b:02x}" for b in pad)
    text = f"{hexes} : crc={pad[8] if crc is None else crc:02x} {verdict}\n"
    return text + (f"{hexes} t={t}\n" if t is not None else "")


def _sensor(tmp_path: Path, text: str | bytes, rom: str = ROM) -> DS18B20:
    folder = tmp_path / rom
    folder.mkdir(exist_ok=True)
    data = text.encode("ascii") if isinstance(text, str) else text
    (folder / "w1_slave").write_bytes(data)
    return DS18B20(W1Bus(tmp_path, name="w1-gpio4"), rom)


def _value(sensor: DS18B20) -> float:
    (reading,) = sensor.read()
    assert (reading.name, reading.quantity, reading.unit) == ("temperature_c", "temperature", "°C")
    return reading.value


def _error(sensor: DS18B20, kind: type[Exception]) -> str:
    with pytest.raises(kind) as caught:
        sensor.read()
    error = caught.value
    assert type(error) is kind
    assert (error.part, error.bus, error.address) == ("DS18B20", "w1-gpio4", ROM)  # type: ignore[attr-defined]
    return error.reason  # type: ignore[attr-defined]


def test_ds18b20_reads_the_kernel_sample(tmp_path: Path) -> None:
    text = "72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n72 01 4b 46 7f ff 0e 10 57 t=23125\n"
    assert _value(_sensor(tmp_path, text)) == 23.125


def test_ds18b20_reads_windows_line_ends_and_a_missing_t_line(tmp_path: Path) -> None:
    text = "72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\r\n72 01 4b 46 7f ff 0e 10 57 t=23125\r\n"
    assert _value(_sensor(tmp_path, text)) == 23.125
    assert _value(_sensor(tmp_path, _file(_pad(0x0172), None))) == 23.125


def test_ds18b20_negative_temperatures_agree_with_the_kernel(tmp_path: Path) -> None:
    # -10.125 °C = 0xFF5E (Table 1 style); the kernel prints t=-10125.
    assert _value(_sensor(tmp_path, _file(_pad(0xFF5E), -10125))) == -10.125


def test_ds18b20_refuses_another_family(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"^10-000803a1b2c3 is not a DS18B20 \(family 28\), check the configured id$"):
        DS18B20(W1Bus(tmp_path), "10-000803a1b2c3")


def test_ds18b20_unplugged_sensor(tmp_path: Path) -> None:
    sensor = DS18B20(W1Bus(tmp_path, name="w1-gpio4"), ROM)
    reason = _error(sensor, NotPluggedError)
    assert reason == f"no {ROM} in {tmp_path}: sensor unplugged, DQ wire cut, or w1-gpio overlay not loaded"


def test_ds18b20_unreadable_file_is_no_answer(tmp_path: Path) -> None:
    reason = _error(_sensor(tmp_path, b"\xff\xfe garbage"), NoAnswerError)
    assert reason.startswith("reading w1_slave failed (")
    assert reason.endswith("): sensor not answering, check power and DQ wiring")


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "empty w1_slave file"),
        ("garbage\n", "unexpected w1_slave first line 'garbage'"),
        ("72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\nnonsense\n", "unexpected w1_slave second line 'nonsense'"),
    ],
)
def test_ds18b20_unusable_file_says_why(tmp_path: Path, text: str, why: str) -> None:
    assert _error(_sensor(tmp_path, text), NoAnswerError) == f"kernel returned no usable data ({why})"


def test_ds18b20_one_line_file_has_no_kernel_temperature() -> None:
    assert parse_w1_slave("72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n").t_milli_c is None


def test_ds18b20_all_ones_and_all_zeros_are_wiring_faults(tmp_path: Path) -> None:
    reason = _error(_sensor(tmp_path, _file(b"\xff" * 9, -62, "NO", 0xC9)), BadCRCError)
    assert reason == "all bytes read 0xff: sensor not answering (DQ wire open or no power)"
    reason = _error(_sensor(tmp_path, _file(b"\x00" * 9, 0)), BadCRCError)
    assert reason == "all bytes read 0x00: DQ shorted to ground or sensor without VDD"


def test_ds18b20_kernel_crc_no_is_a_bad_crc(tmp_path: Path) -> None:
    reason = _error(_sensor(tmp_path, _file(_pad(0x0172), 23125, "NO", 0x56)), BadCRCError)
    assert reason == "kernel CRC check failed (crc=56 NO, byte 9 is 57): noise on the cable or pull-up resistor (4.7 kΩ) missing"


def test_ds18b20_scratchpad_crc_is_checked_again(tmp_path: Path) -> None:
    pad = _pad(0x0172)[:8] + b"\x58"  # the CRC of these bytes is 0x57
    reason = _error(_sensor(tmp_path, _file(pad, 23125)), BadCRCError)
    assert reason == "scratchpad CRC mismatch (computed 57, read 58)"


def test_ds18b20_minus_127_marker_from_the_kernel_or_the_scratchpad(tmp_path: Path) -> None:
    marker = "-127 °C is the 'no sensor' marker: sensor not answering"
    assert _error(_sensor(tmp_path, _file(_pad(0x0172), -127000)), OutOfRangeError) == marker
    assert _error(_sensor(tmp_path, _file(_pad(0xF810), None)), OutOfRangeError) == marker  # -2032 / 16


def test_ds18b20_power_on_value_is_a_fault_but_one_lsb_above_is_not(tmp_path: Path) -> None:
    reason = _error(_sensor(tmp_path, _file(_pad(0x0550), 85000)), OutOfRangeError)
    assert reason == "85.0 °C is the power-on reset value: the sensor reset before converting, check wiring/power"
    assert _value(_sensor(tmp_path, _file(_pad(0x0551), 85062))) == 85.0625


def test_ds18b20_kernel_and_scratchpad_must_agree(tmp_path: Path) -> None:
    reason = _error(_sensor(tmp_path, _file(_pad(0x0172), 23000)), BadCRCError)
    assert reason == "kernel t=23000 disagrees with scratchpad 23.125 °C"


def test_ds18b20_undefined_bits_are_masked_at_9_bits(tmp_path: Path) -> None:
    # 0x0197 = 25.4375 °C as 12 bits; at 9 bits (config 0x1F) bits 2..0 are undefined: 0x0190 = 25.0 °C.
    assert _value(_sensor(tmp_path, _file(_pad(0x0197, config=0x1F), 25437))) == 25.0


@pytest.mark.parametrize(("raw", "t", "celsius"), [(0x07D0, 125000, 125.0), (0xFC90, -55000, -55.0)])
def test_ds18b20_range_ends_are_readings(tmp_path: Path, raw: int, t: int, celsius: float) -> None:
    assert _value(_sensor(tmp_path, _file(_pad(raw), t))) == celsius


@pytest.mark.parametrize(("raw", "t", "shown"), [(0x07D1, 125062, "125.0625"), (0xFC8F, -55062, "-55.0625")])
def test_ds18b20_beyond_the_range_is_out_of_range(tmp_path: Path, raw: int, t: int, shown: str) -> None:
    reason = _error(_sensor(tmp_path, _file(_pad(raw), t)), OutOfRangeError)
    assert reason == f"{shown} °C is outside the DS18B20 range -55.0..125.0 °C"


def test_ds18b20_register_encoding_covers_the_whole_16_bits() -> None:
    assert temperature_c_to_raw(-2048.0) == 0x8000
    assert temperature_c_to_raw(2047.9375) == 0x7FFF
    for outside in (2048.0, -2048.0625):
        with pytest.raises(ValueError, match="does not fit the 16-bit temperature register"):
            temperature_c_to_raw(outside)


def test_onewire_rom_id_error_shows_the_expected_form() -> None:
    with pytest.raises(ValueError, match=r"^1-Wire id must look like 28-0316a2794aff .*, got '28-XYZ'$"):
        check_rom_id("28-XYZ")


def test_onewire_bus_lists_slaves_by_family(tmp_path: Path) -> None:
    for name in ("28-0316a2794aff", "28-000000000001", "10-000803a1b2c3", "w1_bus_master1"):
        (tmp_path / name).mkdir()
    (tmp_path / "28-0000000000ff").write_text("a file, not a slave")
    bus = W1Bus(tmp_path)
    assert bus.list_devices() == ["10-000803a1b2c3", "28-000000000001", "28-0316a2794aff"]
    assert bus.list_devices("28") == ["28-000000000001", "28-0316a2794aff"]
    assert bus.list_devices("10") == ["10-000803a1b2c3"]
    assert W1Bus(tmp_path / "absent").list_devices() == []
    with pytest.raises(ValueError, match=r"^family must be two lower-case hex digits such as '28', got '2A'$"):
        bus.list_devices("2A")
    assert bus.has_device("28-0316a2794aff") and not bus.has_device("28-0000000000ff")


def test_onewire_bus_name_defaults_to_w1_and_must_not_be_empty(tmp_path: Path) -> None:
    assert W1Bus(tmp_path).name == "w1"
    with pytest.raises(ValueError, match="^bus name must not be empty$"):
        W1Bus(tmp_path, name="")
