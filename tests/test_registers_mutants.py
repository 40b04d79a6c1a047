"""Register maps and decoders at their edges: the survivors of a mutation run (bench/mutation.py).

Every expected value is Modbus/IEEE 754 arithmetic written out here: register addresses are
0..65535 (Modbus Application Protocol V1.1b3, 4.3), one read carries 1..125 registers (6.3/6.4),
two's complement for signed words, float32 as IEEE 754 binary32.
"""

from __future__ import annotations

import math

import pytest

from drivers.errors import OutOfRangeError
from drivers.registers import (
    RegisterSpec,
    check_register_map,
    decode_block,
    decode_int32,
    decode_spec,
    decode_words,
    out_of_range_reason,
    plan_reads,
)


def test_registers_last_addresses_of_the_65536_register_space() -> None:
    # A uint16 may sit on 0xFFFF itself; a float32 takes 0xFFFE and 0xFFFF, no further.
    assert RegisterSpec("a_v", 0xFFFF, "voltage", data_type="uint16").end_address == 0x10000
    assert RegisterSpec("b_v", 0xFFFE, "voltage", data_type="float32").end_address == 0x10000
    with pytest.raises(ValueError, match=r"register 'c_v': address 65535 outside 0\.\.65535"):
        RegisterSpec("c_v", 0xFFFF, "voltage", data_type="float32")
    with pytest.raises(ValueError, match="address 65536 outside"):
        RegisterSpec("d_v", 0x10000, "voltage", data_type="uint16")
    with pytest.raises(ValueError, match="address -1 outside"):
        RegisterSpec("e_v", -1, "voltage", data_type="uint16")


@pytest.mark.parametrize("scale", [0.0, math.inf, -math.inf, math.nan])
def test_registers_scale_must_be_finite_and_non_zero(scale: float) -> None:
    with pytest.raises(ValueError, match="register 'a_v': scale must be a finite non-zero number"):
        RegisterSpec("a_v", 0, "voltage", scale=scale)


def test_registers_spec_errors_name_the_register_and_the_choices() -> None:
    # These texts reach the technician through check-config.
    with pytest.raises(ValueError, match=r"register 'a_v': word_order must be one of \('big', 'little'\)"):
        RegisterSpec("a_v", 0, "voltage", word_order="middle")
    with pytest.raises(ValueError, match="register 'a_v': min_value is above max_value"):
        RegisterSpec("a_v", 0, "voltage", min_value=2.0, max_value=1.0)


def test_registers_equal_bounds_are_a_single_plausible_value() -> None:
    spec = RegisterSpec("a_v", 0, "voltage", min_value=230.0, max_value=230.0)
    assert out_of_range_reason(spec, 230.0) is None


def test_registers_bounds_are_inclusive_and_each_is_checked() -> None:
    spec = RegisterSpec("mains_v", 0, "voltage", min_value=100.0, max_value=300.0)
    assert out_of_range_reason(spec, 100.0) is None
    assert out_of_range_reason(spec, 300.0) is None
    assert out_of_range_reason(spec, 99.5) == "mains_v = 99.5 is below the plausible minimum 100"
    assert out_of_range_reason(spec, 300.5) == "mains_v = 300.5 is above the plausible maximum 300"
    only_max = RegisterSpec("top_v", 0, "voltage", max_value=300.0)
    assert out_of_range_reason(only_max, -1e9) is None


def test_registers_int32_positive_values_keep_their_sign() -> None:
    assert decode_int32([0x0000, 0x0001]) == 1
    assert decode_int32([0x7FFF, 0xFFFF]) == 2_147_483_647
    assert decode_int32([0x8000, 0x0000]) == -2_147_483_648


def test_registers_decode_words_dispatches_each_type_and_word_order() -> None:
    assert decode_words([0x0001, 0x0002], "uint32") == 0x0001_0002  # high word first by default
    assert decode_words([0x0001, 0x0002], "uint32", "little") == 0x0002_0001
    assert decode_words([0xFF38], "int16") == -200
    assert decode_words([0xFFFF, 0xFFFE], "int32") == -2
    assert decode_words([0x0001, 0x0000], "int32", "little") == 1
    assert decode_words([0x0000, 0x4366], "float32", "little") == 230.0
    assert decode_words([0x4366, 0x0000], "float32") == 230.0


def test_registers_decode_spec_follows_the_spec_word_order() -> None:
    spec = RegisterSpec("mains_v", 0, "voltage", data_type="float32", word_order="little", scale=2.0)
    assert decode_spec(spec, [0x0000, 0x4366]) == 460.0


def test_registers_one_register_per_read_is_allowed() -> None:
    specs = [RegisterSpec("a_v", 10, "voltage", data_type="uint16"), RegisterSpec("b_v", 11, "voltage", data_type="uint16")]
    blocks = plan_reads(specs, max_registers=1)
    assert [(b.address, b.count) for b in blocks] == [(10, 1), (11, 1)]
    with pytest.raises(ValueError, match=r"max_registers must be within 1\.\.125"):
        plan_reads(specs, max_registers=0)
    with pytest.raises(ValueError, match=r"max_registers must be within 1\.\.125"):
        plan_reads(specs, max_registers=126)


def test_registers_a_read_may_be_filled_exactly() -> None:
    # Two float32 from 100 take 100..103: exactly four registers, one read.
    specs = [RegisterSpec("a_v", 100, "voltage"), RegisterSpec("b_v", 102, "voltage")]
    assert [(b.address, b.count) for b in plan_reads(specs, max_registers=4)] == [(100, 4)]
    assert [(b.address, b.count) for b in plan_reads(specs, max_registers=3)] == [(100, 2), (102, 2)]
    assert [(b.address, b.count) for b in plan_reads(specs[:1], max_registers=2)] == [(100, 2)]
    with pytest.raises(ValueError, match="register 'a_v' does not fit in one read"):
        plan_reads(specs[:1], max_registers=1)


def test_registers_map_check_names_the_duplicates_and_overlaps_per_function() -> None:
    with pytest.raises(ValueError, match="^register names used twice: a_v, b_v$"):
        check_register_map([RegisterSpec("a_v", 0, "voltage"), RegisterSpec("a_v", 4, "voltage"),
                            RegisterSpec("b_v", 8, "voltage"), RegisterSpec("b_v", 12, "voltage")])
    with pytest.raises(ValueError, match="registers 'a_v' and 'b_v' overlap at 0x0001"):
        check_register_map([RegisterSpec("a_v", 0, "voltage", function="holding"),
                            RegisterSpec("b_v", 1, "voltage", function="holding")])
    # The same address in the input and the holding tables is two different registers.
    check_register_map([RegisterSpec("a_v", 0, "voltage", function="input"),
                        RegisterSpec("b_v", 0, "voltage", function="holding")])


def test_registers_block_decodes_each_spec_at_its_offset() -> None:
    specs = [
        RegisterSpec("a_v", 200, "voltage", data_type="uint16", scale=0.1),
        RegisterSpec("b_v", 201, "voltage", data_type="float32", word_order="little"),
        RegisterSpec("c_a", 203, "current", data_type="int32", word_order="little", scale=0.001),
        RegisterSpec("d_a", 205, "current", data_type="int32"),
    ]
    (block,) = plan_reads(specs)
    assert (block.address, block.count) == (200, 7)
    words = [2305, 0x0000, 0x4366, 0xFC18, 0xFFFF, 0x0000, 0x0007]  # 230.5 V, 230 V, -1000 mA, 7 A
    values = {r.name: r.value for r in decode_block(block, words, part="meter", bus="rs485", address="1")}
    assert values == pytest.approx({"a_v": 230.5, "b_v": 230.0, "c_a": -1.0, "d_a": 7.0})


def test_registers_block_with_a_word_over_16_bits_names_it() -> None:
    specs = [RegisterSpec("a_v", 300, "voltage", data_type="uint16"),
             RegisterSpec("b_v", 301, "voltage", data_type="uint16")]
    (block,) = plan_reads(specs)
    with pytest.raises(ValueError, match="register word 65536 is not a 16-bit value"):
        decode_block(block, [1, 0x1_0000], part="meter", bus="rs485", address="1")
    with pytest.raises(ValueError, match="register word 65536 is not a 16-bit value"):
        decode_block(block, [0x1_0000, 1], part="meter", bus="rs485", address="1")


def test_registers_block_range_error_says_where() -> None:
    spec = RegisterSpec("mains_v", 0, "voltage", data_type="uint16", max_value=300.0)
    (block,) = plan_reads([spec])
    with pytest.raises(OutOfRangeError) as caught:
        decode_block(block, [301], part="SDM120", bus="rs485-1", address="unit 2")
    assert (caught.value.part, caught.value.bus, caught.value.address) == ("SDM120", "rs485-1", "unit 2")
    assert caught.value.reason == "mains_v = 301 is above the plausible maximum 300"
