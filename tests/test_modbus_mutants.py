"""Modbus RTU master, register meters and Eastron meters: what a mutation run (bench/mutation.py) found untested.

The master is given a scripted client in place of pymodbus's serial client. Facts written out here
from the Modbus Application Protocol V1.1b3 and Modbus over Serial Line V1.02: unit ids 1..247,
1..125 registers per read of function 3 (holding) or 4 (input), addresses 0..65535, exception 6
"slave device busy" means try again, exception 2 is "illegal data address", CRC-16 sent low byte
first; from the Eastron SDM120 protocol sheet: float32 input registers, at most 40 parameters (80
registers) per request, voltage at 30001 (address 0x0000), total energy at 30343 (0x0156).
"""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
from pymodbus.exceptions import ConnectionException, ModbusException
from pymodbus.framer import FramerType

from drivers.errors import (
    BadCRCError,
    DeviceReportedError,
    NoAnswerError,
    NotPluggedError,
)
from drivers.modbus import ModbusRtuBus, crc16_modbus
from drivers.register_meter import RegisterMeter
from drivers.registers import RegisterSpec
from drivers.sdm120 import SDM120

ANSWER_230_V = bytes([0x01, 0x04, 0x04, 0x43, 0x66, 0x00, 0x00])


def _crc(frame: bytes) -> bytes:
    crc = 0xFFFF
    for byte in frame:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc.to_bytes(2, "little")


class _Answer:
    def __init__(self, registers: list[int] | None = None, exception_code: int | None = None) -> None:
        self.registers = registers or []
        self.exception_code = exception_code

    def isError(self) -> bool:
        return self.exception_code is not None


class _Heard:
    """A frame heard on the line, then pymodbus gives up on it (ModbusException)."""

    def __init__(self, frame: bytes) -> None:
        self.frame = frame


class _Client:
    """Stands in for pymodbus's ModbusSerialClient: records calls, plays a script of outcomes."""

    made: ClassVar[list[_Client]] = []

    def __init__(self, port: str, **kwargs: Any) -> None:
        self.port, self.kwargs = port, kwargs
        self.script: list[object] = []
        self.calls: list[tuple[str, int, int, int]] = []
        self.closed = 0
        _Client.made.append(self)

    def _play(self, function: str, address: int, count: int, device_id: int) -> _Answer:
        self.calls.append((function, address, count, device_id))
        request = bytes([device_id, 4, address >> 8, address & 0xFF, 0, count])
        trace = self.kwargs["trace_packet"]
        assert trace(True, request + _crc(request)) == request + _crc(request)
        item = self.script.pop(0)
        if isinstance(item, _Heard):
            assert trace(False, item.frame) == item.frame
            raise ModbusException("unusable answer")
        if isinstance(item, Exception):
            raise item
        assert isinstance(item, _Answer)
        return item

    def read_input_registers(self, address: int, *, count: int, device_id: int) -> _Answer:
        return self._play("input", address, count, device_id)

    def read_holding_registers(self, address: int, *, count: int, device_id: int) -> _Answer:
        return self._play("holding", address, count, device_id)

    def close(self) -> None:
        self.closed += 1


SLEEPS: list[float] = []


def _bus(*script: object, retries: int = 2) -> tuple[ModbusRtuBus, _Client]:
    SLEEPS.clear()
    bus = ModbusRtuBus("/dev/ttyUSB0", baudrate=2400, parity="E", stopbits=2, bytesize=7, timeout_s=0.25,
                       retries=retries, name="rs485-1", client_factory=_Client, sleep=SLEEPS.append)
    client = _Client.made[-1]
    client.script = list(script)
    return bus, client


def _error(bus: ModbusRtuBus, kind: type[Exception], **kwargs: Any) -> str:
    args = {"unit_id": 7, "address": 0, "count": 2, **kwargs}
    with pytest.raises(kind) as caught:
        bus.read_registers(args["unit_id"], args["address"], args["count"], part="SDM120")
    error = caught.value
    assert type(error) is kind
    assert (error.part, error.bus, error.address) == ("SDM120", "rs485-1", f"unit {args['unit_id']}")  # type: ignore[attr-defined]
    return error.reason  # type: ignore[attr-defined]


def test_modbus_crc_of_a_byte_list() -> None:
    frame = [0x01, 0x03, 0x00, 0x00, 0x00, 0x01]
    assert crc16_modbus(frame) == int.from_bytes(_crc(bytes(frame)), "little") == 0x0A84  # type: ignore[arg-type]


def test_modbus_client_gets_the_line_settings_and_no_retries_of_its_own() -> None:
    _, client = _bus()
    assert client.port == "/dev/ttyUSB0"
    kwargs = dict(client.kwargs)
    kwargs.pop("trace_packet")
    assert kwargs == {"framer": FramerType.RTU, "baudrate": 2400, "bytesize": 7, "parity": "E", "stopbits": 2,
                      "timeout": 0.25, "retries": 0, "name": "rs485-1"}


def test_modbus_reads_input_and_holding_registers() -> None:
    bus, client = _bus(_Answer([0x4366, 0x0000]), _Answer([1, 2]))
    assert bus.read_registers(7, 0x0000, 2, part="SDM120") == [0x4366, 0x0000]
    assert bus.read_registers(9, 0x0156, 2, "holding", part="SDM120") == [1, 2]
    assert client.calls == [("input", 0x0000, 2, 7), ("holding", 0x0156, 2, 9)]
    assert SLEEPS == []


def test_modbus_busy_is_asked_again() -> None:
    bus, client = _bus(_Answer(exception_code=6), ModbusException("timeout"), _Answer([5, 6]))
    assert bus.read_registers(7, 0, 2, part="SDM120") == [5, 6]
    assert len(client.calls) == 3


def test_modbus_busy_on_every_attempt() -> None:
    bus, client = _bus(*[_Answer(exception_code=6)] * 3)
    assert _error(bus, DeviceReportedError) == "answered Modbus exception 6 (slave device busy) on all 3 attempts"
    assert len(client.calls) == 3


def test_modbus_other_exceptions_are_reported_at_once() -> None:
    bus, client = _bus(_Answer(exception_code=2), _Answer([1, 2]))
    reason = _error(bus, DeviceReportedError, address=0x0156)
    assert reason == "answered Modbus exception 2 (illegal data address) to a read of 2 input register(s) at 0x0156"
    assert len(client.calls) == 1


def test_modbus_answer_of_the_wrong_length_is_asked_again_after_a_pause() -> None:
    # A slow meter's late answer to the previous request: wait half the timeout for the line to fall quiet.
    bus, client = _bus(_Answer([1, 2, 3]), _Answer([0x4366, 0x0000]))
    assert bus.read_registers(7, 0, 2, part="SDM120") == [0x4366, 0x0000]
    assert (len(client.calls), SLEEPS) == (2, [0.125])


def test_modbus_wrong_length_on_every_attempt_is_a_device_error() -> None:
    bus, _ = _bus(ModbusException("timeout"), _Answer([0x4366]), _Answer([0x4366]))
    assert _error(bus, DeviceReportedError) == (
        "answered 1 register(s) instead of 2 for input register(s) at 0x0000 (2 of 3 answers): "
        "late answers to earlier requests? check the meter's response time against timeout_s"
    )
    assert SLEEPS == [0.125, 0.125]


def test_modbus_silence_after_every_retry_is_no_answer() -> None:
    bus, client = _bus(*[ModbusException("timeout")] * 3)
    reason = _error(bus, NoAnswerError)
    assert reason == "no answer after 3 attempt(s) of 0.25 s; check power, unit id, baud rate and wiring"
    assert len(client.calls) == 3
    bus, client = _bus(ModbusException("timeout"), retries=0)
    assert _error(bus, NoAnswerError).startswith("no answer after 1 attempt(s) of 0.25 s")


def test_modbus_answer_with_a_good_crc_that_pymodbus_refuses_is_no_answer() -> None:
    bus, _ = _bus(*[_Heard(ANSWER_230_V + _crc(ANSWER_230_V))] * 3)
    assert _error(bus, NoAnswerError).startswith("no answer after 3 attempt(s)")


def test_modbus_wrong_crc_names_the_frame() -> None:
    bad = ANSWER_230_V + b"\x00\x00"
    bus, _ = _bus(ModbusException("timeout"), _Heard(bad), ModbusException("timeout"))
    reason = _error(bus, BadCRCError)
    assert reason == ("1 of 3 answers had a wrong CRC (last frame 01 04 04 43 66 00 00 00 00); "
                      "check RS-485 wiring, termination and A/B polarity")


def test_modbus_wrong_crc_then_right_answer_reads() -> None:
    bus, _ = _bus(_Heard(ANSWER_230_V + b"\x00\x00"), _Answer([0x4366, 0]))
    assert bus.read_registers(1, 0, 2, part="SDM120") == [0x4366, 0]


def test_modbus_port_that_cannot_open_is_not_plugged_and_closed_each_time() -> None:
    bus, client = _bus(*[ConnectionException("no port")] * 3)
    assert _error(bus, NotPluggedError) == "serial port /dev/ttyUSB0 cannot be opened (RS-485 adapter unplugged?)"
    assert client.closed == 3
    bus, _ = _bus(ConnectionException("no port"), ModbusException("timeout"), ModbusException("timeout"))
    assert _error(bus, NoAnswerError).startswith("no answer after 3 attempt(s)")


def test_modbus_close_releases_the_port() -> None:
    bus, client = _bus()
    with bus:
        pass
    assert client.closed == 1


def test_modbus_request_limits_from_the_protocol() -> None:
    bus, _ = _bus(_Answer([0] * 125), _Answer([0]), _Answer([0, 0]))
    assert len(bus.read_registers(1, 0, 125, part="m")) == 125
    assert bus.read_registers(247, 0xFFFF, 1, part="m") == [0]
    assert bus.read_registers(1, 0xFFFE, 2, "holding", part="m") == [0, 0]
    for kwargs, message in [
        ({"unit_id": 0}, r"^unit_id must be within 1\.\.247, got 0$"),
        ({"unit_id": 248}, r"^unit_id must be within 1\.\.247, got 248$"),
        ({"count": 0}, r"^count must be within 1\.\.125, got 0$"),
        ({"count": 126}, r"^count must be within 1\.\.125, got 126$"),
        ({"address": 0xFFFF, "count": 2}, r"^address 65535 \+ count 2 leaves 0\.\.65535$"),
        ({"address": -1}, r"^address -1 \+ count 1 leaves 0\.\.65535$"),
        ({"function": "coil"}, r"^function must be one of \('holding', 'input'\), got 'coil'$"),
    ]:
        args = {"unit_id": 1, "address": 0, "count": 1, "function": "input", **kwargs}
        with pytest.raises(ValueError, match=message):
            bus.read_registers(args["unit_id"], args["address"], args["count"], args["function"], part="m")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"port": ""}, r"^port must name a serial device, e\.g\. /dev/ttyUSB0$"),
        ({"baudrate": 0}, r"^baudrate must be positive, got 0$"),
        ({"parity": "M"}, r"^parity must be one of \('N', 'E', 'O'\), got 'M'$"),
        ({"stopbits": 3}, r"^stopbits must be 1 or 2, got 3$"),
        ({"bytesize": 6}, r"^bytesize must be 7 or 8, got 6$"),
        ({"timeout_s": 0.0}, r"^timeout_s must be positive, got 0\.0$"),
        ({"retries": -1}, r"^retries must be 0 or more, got -1$"),
    ],
)
def test_modbus_line_settings_are_checked(kwargs: dict[str, Any], message: str) -> None:
    args: dict[str, Any] = {"port": "/dev/ttyUSB0", "client_factory": _Client, **kwargs}
    with pytest.raises(ValueError, match=message):
        ModbusRtuBus(args.pop("port"), **args)


class _RegisterBus:
    """A line whose meter holds fixed register words; records each request."""

    name = "rs485-2"

    def __init__(self, words: dict[int, int]) -> None:
        self.words = words
        self.requests: list[tuple[int, int, int, str, str]] = []

    def read_registers(self, unit_id: int, address: int, count: int, function: str = "input", *, part: str) -> list[int]:
        self.requests.append((unit_id, address, count, function, part))
        return [self.words.get(a, 0) for a in range(address, address + count)]


def test_modbus_register_meter_reads_in_declaration_order_per_request() -> None:
    bus = _RegisterBus({10: 2305, 20: 0x4366, 21: 0x0000})
    meter = RegisterMeter(bus, 3, [
        RegisterSpec("mains_v", 20, "voltage"),
        RegisterSpec("tenths_v", 10, "voltage", data_type="uint16", scale=0.1),
    ], part="meter-x")
    readings = meter.read()
    assert [(r.name, r.value) for r in readings] == [("mains_v", 230.0), ("tenths_v", pytest.approx(230.5))]
    assert bus.requests == [(3, 10, 1, "input", "meter-x"), (3, 20, 2, "input", "meter-x")]  # no reading across the gap
    assert [(b.address, b.count) for b in meter.blocks] == [(10, 1), (20, 2)]


def test_modbus_register_meter_range_error_names_the_unit() -> None:
    bus = _RegisterBus({0: 400})
    meter = RegisterMeter(bus, 12, [RegisterSpec("mains_v", 0, "voltage", data_type="uint16", max_value=300.0)])
    with pytest.raises(Exception) as caught:
        meter.read()
    assert (caught.value.part, caught.value.bus, caught.value.address) == ("modbus-meter", "rs485-2", "unit 12")  # type: ignore[attr-defined]


def test_modbus_register_meter_splits_at_the_per_request_limit() -> None:
    specs = [RegisterSpec(f"r{i}_v", 2 * i, "voltage") for i in range(63)]  # 126 registers
    assert [(b.address, b.count) for b in RegisterMeter(_RegisterBus({}), 1, specs).blocks] == [(0, 124), (124, 2)]
    small = RegisterMeter(_RegisterBus({}), 1, specs[:3], max_registers_per_read=4, read_across_gaps=True)
    assert [(b.address, b.count) for b in small.blocks] == [(0, 4), (4, 2)]


def test_modbus_register_meter_arguments_are_checked() -> None:
    spec = RegisterSpec("mains_v", 0, "voltage")
    RegisterMeter(_RegisterBus({}), 1, [spec])
    RegisterMeter(_RegisterBus({}), 247, [spec])
    for unit in (0, 248):
        with pytest.raises(ValueError, match=rf"^unit_id must be within 1\.\.247, got {unit}$"):
            RegisterMeter(_RegisterBus({}), unit, [spec])
    with pytest.raises(ValueError, match="^a register meter needs at least one register$"):
        RegisterMeter(_RegisterBus({}), 1, [])
    with pytest.raises(ValueError, match="^part must name the meter model$"):
        RegisterMeter(_RegisterBus({}), 1, [spec], part="")
    with pytest.raises(ValueError, match="register names used twice: mains_v"):
        RegisterMeter(_RegisterBus({}), 1, [spec, RegisterSpec("mains_v", 8, "voltage")])


def test_modbus_sdm120_is_read_in_two_requests_to_unit_1() -> None:
    bus = _RegisterBus({0x0000: 0x4366, 0x0046: 0x4248, 0x0156: 0x447A})  # 230 V, 50 Hz, 1000 kWh
    meter = SDM120(bus)
    values = {r.name: r.value for r in meter.read()}
    assert bus.requests == [(1, 0x0000, 0x4C, "input", "SDM120"), (1, 0x0156, 2, "input", "SDM120")]
    assert (values["voltage_v"], values["frequency_hz"], values["total_energy_kwh"]) == (230.0, 50.0, 1000.0)
    assert meter.unit_id == 1
    meter.close()
    assert SDM120(bus, unit_id=5).unit_id == 5


def test_modbus_register_meter_reads_holding_registers_with_function_3() -> None:
    bus = _RegisterBus({40: 0x0001, 41: 0x86A0})  # 100000 L
    meter = RegisterMeter(bus, 4, [RegisterSpec("volume_total_l", 40, "volume", function="holding", data_type="uint32")])
    assert [r.value for r in meter.read()] == [100_000.0]
    assert bus.requests == [(4, 40, 2, "holding", "modbus-meter")]
