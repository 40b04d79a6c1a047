"""Pure Modbus conversions: register decoders, read planning and the RTU CRC."""

from __future__ import annotations

import math

import pytest

from drivers.errors import OutOfRangeError
from drivers.modbus import crc16_modbus, crc_ok, exception_name, with_crc
from drivers.registers import (
    RegisterSpec,
    check_register_map,
    decode_block,
    decode_float32,
    decode_int16,
    decode_int32,
    decode_spec,
    decode_uint16,
    decode_uint32,
    decode_words,
    encode_float32,
    plan_reads,
)


def test_float32_230_volts_is_4366_0000() -> None:
    assert encode_float32(230.0) == (0x4366, 0x0000)
    assert decode_float32([0x4366, 0x0000]) == 230.0


def test_float32_examples_round_trip() -> None:
    assert decode_float32([0x3F80, 0x0000]) == 1.0
    assert decode_float32([0xBFC0, 0x0000]) == -1.5
    assert decode_float32([0x4248, 0x0000]) == 50.0
    assert decode_float32(encode_float32(0.1)) == pytest.approx(0.1, rel=1e-7)


def test_float32_little_word_order_swaps_words() -> None:
    assert encode_float32(230.0, "little") == (0x0000, 0x4366)
    assert decode_float32([0x0000, 0x4366], "little") == 230.0


def test_float32_nan_pattern_decodes_to_nan() -> None:
    assert math.isnan(decode_float32([0x7FC0, 0x0000]))


def test_int16_negatives_are_twos_complement() -> None:
    assert decode_int16(0xFFFF) == -1
    assert decode_int16(0x8000) == -32768
    assert decode_int16(0x7FFF) == 32767
    assert decode_int16(0xFF38) == -200
    assert decode_uint16(0xFFFF) == 65535


def test_32bit_integers_follow_word_order() -> None:
    assert decode_uint32([0x0001, 0x0002]) == 0x0001_0002
    assert decode_uint32([0x0001, 0x0002], "little") == 0x0002_0001
    assert decode_int32([0xFFFF, 0xFFFE]) == -2
    assert decode_int32([0xFFFE, 0xFFFF], "little") == -2
    assert decode_uint32([0xFFFF, 0xFFFE]) == 0xFFFF_FFFE


def test_decode_words_rejects_wrong_lengths_and_words() -> None:
    with pytest.raises(ValueError, match="2 registers"):
        decode_words([1], "float32")
    with pytest.raises(ValueError, match="16-bit"):
        decode_words([0x1_0000], "uint16")
    with pytest.raises(ValueError, match="unknown data type"):
        decode_words([1], "bcd")


def test_scale_applies_to_integer_registers() -> None:
    spec = RegisterSpec("voltage_v", 0, "voltage", data_type="uint16", scale=0.1)
    assert decode_spec(spec, [2305]) == pytest.approx(230.5)
    litres = RegisterSpec("volume_total_l", 0, "volume", function="holding", data_type="uint32", scale=10.0)
    assert decode_spec(litres, [0x0001, 0x0000]) == 655360.0


def test_crc16_modbus_datasheet_example() -> None:
    frame = bytes([0x01, 0x03, 0x00, 0x00, 0x00, 0x01])
    assert crc16_modbus(frame) == 0x0A84
    assert with_crc(frame) == frame + bytes([0x84, 0x0A])


def test_crc16_modbus_eastron_read_example() -> None:
    assert with_crc(bytes([0x01, 0x04, 0x00, 0x00, 0x00, 0x02]))[-2:] == bytes([0x71, 0xCB])


def test_crc_ok_detects_a_flipped_bit() -> None:
    frame = with_crc(bytes([0x01, 0x04, 0x04, 0x43, 0x66, 0x00, 0x00]))
    assert crc_ok(frame)
    assert not crc_ok(frame[:3] + bytes([frame[3] ^ 0x01]) + frame[4:])
    assert not crc_ok(b"\x01\x04")


def test_exception_names_are_for_technicians() -> None:
    assert exception_name(2) == "illegal data address"
    assert exception_name(6) == "slave device busy"
    assert "unknown" in exception_name(99)


def test_register_spec_rejects_names_without_unit() -> None:
    with pytest.raises(ValueError, match="must end with"):
        RegisterSpec("voltage", 0, "voltage")
    with pytest.raises(ValueError, match="unknown quantity"):
        RegisterSpec("speed_kmh", 0, "speed")
    with pytest.raises(ValueError, match="data_type"):
        RegisterSpec("voltage_v", 0, "voltage", data_type="float64")
    with pytest.raises(ValueError, match="function"):
        RegisterSpec("voltage_v", 0, "voltage", function="coil")
    with pytest.raises(ValueError, match="min_value"):
        RegisterSpec("voltage_v", 0, "voltage", min_value=10, max_value=1)


def test_register_map_overlap_and_duplicates_are_rejected() -> None:
    with pytest.raises(ValueError, match="overlap"):
        check_register_map(
            (RegisterSpec("voltage_v", 0, "voltage"), RegisterSpec("current_a", 1, "current"))
        )
    with pytest.raises(ValueError, match="twice"):
        check_register_map(
            (RegisterSpec("voltage_v", 0, "voltage"), RegisterSpec("voltage_v", 8, "voltage"))
        )
    check_register_map(
        (
            RegisterSpec("voltage_v", 0, "voltage"),
            RegisterSpec("flow_lph", 0, "flow_rate", function="holding"),
        )
    )


def test_plan_reads_merges_contiguous_and_splits_gaps() -> None:
    specs = (
        RegisterSpec("voltage_v", 0, "voltage"),
        RegisterSpec("current_a", 2, "current"),
        RegisterSpec("frequency_hz", 10, "frequency"),
        RegisterSpec("volume_total_l", 0, "volume", function="holding", data_type="uint32"),
    )
    blocks = plan_reads(specs)
    assert [(b.function, b.address, b.count) for b in blocks] == [
        ("input", 0, 4),
        ("input", 10, 2),
        ("holding", 0, 2),
    ]
    across = plan_reads(specs, read_across_gaps=True)
    assert [(b.function, b.address, b.count) for b in across] == [("input", 0, 12), ("holding", 0, 2)]


def test_plan_reads_respects_the_per_request_limit() -> None:
    specs = (
        RegisterSpec("voltage_v", 0x0000, "voltage"),
        RegisterSpec("import_energy_kwh", 0x0048, "active_energy"),
        RegisterSpec("total_energy_kwh", 0x0156, "active_energy"),
    )
    blocks = plan_reads(specs, max_registers=0x40, read_across_gaps=True)
    assert [(b.address, b.count) for b in blocks] == [(0x0000, 2), (0x0048, 2), (0x0156, 2)]
    blocks = plan_reads(specs, max_registers=80, read_across_gaps=True)
    assert [(b.address, b.count) for b in blocks] == [(0x0000, 0x4A), (0x0156, 2)]


def test_decode_block_raises_out_of_range_with_context() -> None:
    spec = RegisterSpec("voltage_v", 0, "voltage", min_value=0.0, max_value=300.0)
    (block,) = plan_reads((spec,))
    (ok,) = decode_block(block, encode_float32(230.0), part="SDM120", bus="rs485", address="unit 1")
    assert (ok.name, ok.value, ok.unit) == ("voltage_v", 230.0, "V")
    with pytest.raises(OutOfRangeError, match="above the plausible maximum") as info:
        decode_block(block, encode_float32(1000.0), part="SDM120", bus="rs485", address="unit 1")
    assert (info.value.part, info.value.bus, info.value.address) == ("SDM120", "rs485", "unit 1")
    with pytest.raises(OutOfRangeError, match="not a number"):
        decode_block(block, [0x7FC0, 0x0000], part="SDM120", bus="rs485", address="unit 1")
