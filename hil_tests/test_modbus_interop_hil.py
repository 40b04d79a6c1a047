"""Our Modbus RTU master against pymodbus's own serial server, across a pty null-modem."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest
from pymodbus.framer import FramerType
from pymodbus.server import ModbusSerialServer
from pymodbus.simulator import DataType, SimData, SimDevice

from drivers.errors import DeviceReportedError
from drivers.modbus import ModbusRtuBus
from drivers.register_meter import RegisterMeter
from drivers.registers import RegisterSpec, encode_float32
from drivers.sdm120 import SDM120
from drivers.sim.pty_link import PtyLink

SDM120_VALUES = {
    0x0000: 229.75,  # voltage_v
    0x0006: 12.5,  # current_a
    0x000C: 2871.0,  # active_power_w
    0x0012: 2900.0,  # apparent_power_va
    0x0018: 410.25,  # reactive_power_var
    0x001E: 0.99,  # power_factor
    0x0046: 50.0,  # frequency_hz
    0x0048: 321.5,  # import_energy_kwh
    0x004A: 0.0,  # export_energy_kwh
}
TOTAL_ENERGY_KWH = 321.5


def sdm120_device(unit_id: int) -> SimDevice:
    low = [0] * 0x50
    for address, value in SDM120_VALUES.items():
        low[address : address + 2] = encode_float32(value)
    bits = [SimData(0, values=False, datatype=DataType.BITS)]
    holding = [SimData(0, values=[0, 0, 0x0001, 0x86A0], datatype=DataType.REGISTERS)]
    inputs = [
        SimData(0x0000, values=low, datatype=DataType.REGISTERS),
        SimData(0x0156, values=list(encode_float32(TOTAL_ENERGY_KWH)), datatype=DataType.REGISTERS),
    ]
    return SimDevice(id=unit_id, simdata=(bits, bits, holding, inputs))


class ServerThread:
    """pymodbus's serial server running its asyncio loop in a background thread."""

    def __init__(self, port: str, devices: list[SimDevice]) -> None:
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._server: ModbusSerialServer | None = None
        self._thread = threading.Thread(target=self._run, args=(port, devices), daemon=True)
        self._thread.start()
        if not self._ready.wait(5):
            raise RuntimeError("pymodbus server did not start")

    def _run(self, port: str, devices: list[SimDevice]) -> None:
        async def serve() -> None:
            self._server = ModbusSerialServer(devices, framer=FramerType.RTU, port=port, baudrate=9600)
            await self._server.serve_forever(background=True)
            self._ready.set()
            await self._server.serving

        self._loop.run_until_complete(serve())
        self._loop.close()

    def stop(self) -> None:
        assert self._server is not None
        asyncio.run_coroutine_threadsafe(self._server.shutdown(), self._loop).result(5)
        self._thread.join(5)


@pytest.fixture
def bus() -> Iterator[ModbusRtuBus]:
    link = PtyLink()
    server_end, driver_end = link.start()
    server = ServerThread(server_end, [sdm120_device(1)])
    rs485 = ModbusRtuBus(driver_end, timeout_s=0.2, retries=2)
    yield rs485
    rs485.close()
    server.stop()
    link.stop()


def test_modbus_interop_sdm120_map_reads_from_pymodbus_server(bus: ModbusRtuBus) -> None:
    got = {r.name: r.value for r in SDM120(bus).read()}
    assert got == {
        "voltage_v": pytest.approx(229.75),
        "current_a": pytest.approx(12.5),
        "active_power_w": pytest.approx(2871.0),
        "apparent_power_va": pytest.approx(2900.0),
        "reactive_power_var": pytest.approx(410.25),
        "power_factor": pytest.approx(0.99),
        "frequency_hz": pytest.approx(50.0),
        "import_energy_kwh": pytest.approx(321.5),
        "export_energy_kwh": 0.0,
        "total_energy_kwh": pytest.approx(TOTAL_ENERGY_KWH),
    }


def test_modbus_interop_holding_uint32_reads_from_pymodbus_server(bus: ModbusRtuBus) -> None:
    spec = RegisterSpec("volume_total_l", 2, "volume", function="holding", data_type="uint32")
    assert RegisterMeter(bus, 1, (spec,)).read()[0].value == 100_000.0
    assert bus.read_registers(1, 0, 4, "holding", part="test") == [0, 0, 1, 0x86A0]


def test_modbus_interop_exception_response_is_device_reported(bus: ModbusRtuBus) -> None:
    spec = RegisterSpec("flow_lph", 0x0200, "flow_rate")
    with pytest.raises(DeviceReportedError, match="exception 2 \\(illegal data address\\)") as info:
        RegisterMeter(bus, 1, (spec,), part="WM-1").read()
    assert (info.value.part, info.value.bus, info.value.address) == ("WM-1", "rs485", "unit 1")
