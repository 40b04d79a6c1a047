"""The umockdev testbed process: an emulated /dev/i2c-1 and 1-Wire sysfs, run under Debian's python3.

    PYTHONPATH=hil_tests /usr/bin/python3 -m i2cdev.helper SPEC_JSON LOG_PATH

It prints one JSON line {"umockdev_dir": ...} when ready, then answers JSON commands on stdin
({"op": "set" | "unplug" | "plug" | "quit", "target": "0x23" | "28-...", ...}) one line each.
A process started with LD_PRELOAD=libumockdev-preload.so.0 and UMOCKDEV_DIR sees the emulated
nodes; its ioctls on /dev/i2c-1 arrive in I2CDevHandler on the testbed's worker thread.
"""

from __future__ import annotations

import errno
import json
import os
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any

import gi

gi.require_version("UMockdev", "1.0")
from gi.repository import UMockdev

from i2cdev import abi
from i2cdev.chip_bh1750 import BH1750, Light
from i2cdev.chip_ds18b20 import Thermometer, w1_slave_text
from i2cdev.chip_sht3x import Climate, SHT3x
from i2cdev.chip_veml7700 import VEML7700
from i2cdev.i2c_bus import Chip, I2CAdapter, TransactionLog

READER_SETTLE_S = 0.02  # after an answer, let the reader see EOF and close before the next open


class I2CDevHandler(UMockdev.IoctlBase):
    """i2c-dev's ioctls (drivers/i2c/i2c-dev.c) on top of the emulated adapter."""

    def __init__(self, adapter: I2CAdapter, log: TransactionLog) -> None:
        super().__init__()
        self.adapter = adapter
        self.log = log
        self.clients: dict[int, dict[str, int]] = {}  # per open file: slave address, 10-bit, PEC

    def do_handle_ioctl(self, client: Any) -> bool:
        """Answer one ioctl; never leave the client hanging, even on a bug here."""
        try:
            result, error = self._dispatch(client)
        except Exception:  # noqa: BLE001 - a bug in the emulation must show, not hang the process under test
            traceback.print_exc(file=sys.stderr)
            result, error = -1, errno.EIO
        client.complete(result, error)
        return True

    def _dispatch(self, client: Any) -> tuple[int, int]:
        request = client.get_request()
        arg = client.get_arg()
        state = self.clients.setdefault(hash(client), {"addr": 0, "tenbit": 0, "pec": 0})
        name = abi.IOCTL_NAMES.get(request, f"0x{request:04x}")
        value = abi.UNSIGNED_LONG.unpack_from(bytes(arg.retrieve()).ljust(abi.UNSIGNED_LONG.size, b"\0"))[0]
        if request in (abi.I2C_SLAVE, abi.I2C_SLAVE_FORCE):
            limit = 0x3FF if state["tenbit"] else 0x7F
            if value > limit:
                return self._control(name, value, errno.EINVAL)
            state["addr"] = value  # no kernel driver is bound here, so never EBUSY
            return self._control(name, value, 0)
        if request == abi.I2C_FUNCS:
            arg.resolve(0, abi.UNSIGNED_LONG.size).update(0, abi.UNSIGNED_LONG.pack(abi.ADAPTER_FUNCS))
            return self._control(name, abi.ADAPTER_FUNCS, 0)
        if request in (abi.I2C_TENBIT, abi.I2C_PEC):
            state["tenbit" if request == abi.I2C_TENBIT else "pec"] = int(value != 0)
            return self._control(name, value, 0)
        if request in (abi.I2C_RETRIES, abi.I2C_TIMEOUT):
            return self._control(name, value, 0)
        if request == abi.I2C_RDWR:
            return self._rdwr(arg)
        if request == abi.I2C_SMBUS:
            return self._smbus(arg, state)
        return self._control(name, value, errno.ENOTTY)

    def _control(self, name: str, value: int, error: int) -> tuple[int, int]:
        self.log.record(bus=self.adapter.name, ioctl=name, value=value, errno=error)
        return (-1, error) if error else (0, 0)

    def _rdwr(self, arg: Any) -> tuple[int, int]:
        header = arg.resolve(0, abi.RDWR_DATA.size)
        msgs_ptr, nmsgs = abi.RDWR_DATA.unpack(bytes(header.retrieve()))
        if not msgs_ptr or nmsgs == 0 or nmsgs > abi.I2C_RDWR_IOCTL_MAX_MSGS:
            return self._control("I2C_RDWR", nmsgs, errno.EINVAL)
        table = header.resolve(0, abi.I2C_MSG.size * nmsgs)
        raw = bytes(table.retrieve())
        messages, buffers = [], []
        for index in range(nmsgs):
            addr, flags, length, _ = abi.I2C_MSG.unpack_from(raw, index * abi.I2C_MSG.size)
            if length > abi.I2C_MSG_MAX_LEN or flags & abi.I2C_M_RECV_LEN:
                return self._control("I2C_RDWR", flags, errno.EINVAL)
            if flags & abi.I2C_M_TEN:  # i2c-bcm2835 has no I2C_FUNC_10BIT_ADDR
                return self._control("I2C_RDWR", flags, errno.EOPNOTSUPP)
            buffer = table.resolve(index * abi.I2C_MSG.size + abi.I2C_MSG_BUF_OFFSET, length) if length else None
            read = bool(flags & abi.I2C_M_RD)
            data = b"" if read or buffer is None else bytes(buffer.retrieve())
            messages.append(abi.Message(addr, read, length, data))
            buffers.append(buffer)
        error = self.adapter.transfer(messages, ioctl="I2C_RDWR")
        if error:
            return -1, error
        for message, buffer in zip(messages, buffers):
            if message.read and buffer is not None:
                buffer.update(0, message.data)
        return nmsgs, 0  # i2c_transfer() returns the number of messages

    def _smbus(self, arg: Any, state: dict[str, int]) -> tuple[int, int]:
        header = arg.resolve(0, abi.SMBUS_IOCTL_DATA.size)
        read_write, command, size, data_ptr = abi.SMBUS_IOCTL_DATA.unpack(bytes(header.retrieve()))
        if size not in abi.SMBUS_SIZE_NAMES or read_write not in (abi.I2C_SMBUS_READ, abi.I2C_SMBUS_WRITE):
            return self._control("I2C_SMBUS", size, errno.EINVAL)
        union_data = None
        request = abi.SmbusRequest(read_write, command, size, bytes(abi.SMBUS_DATA_SIZE))
        if abi.smbus_needs_union(request):
            if not data_ptr:
                return self._control("I2C_SMBUS", size, errno.EINVAL)
            union_data = header.resolve(abi.SMBUS_DATA_PTR_OFFSET, abi.SMBUS_DATA_SIZE)
            request = abi.SmbusRequest(read_write, command, size, bytes(union_data.retrieve()))
        if state["pec"] or state["tenbit"]:  # PEC bytes and 10-bit addresses are not emulated
            return self._control("I2C_SMBUS", size, errno.EOPNOTSUPP)
        try:
            messages = abi.smbus_messages(state["addr"], request)
        except abi.AbiError as exc:
            return self._control("I2C_SMBUS", size, exc.errno)
        error = self.adapter.transfer(messages, ioctl="I2C_SMBUS", smbus=request.name)
        if error:
            return -1, error
        reply = abi.smbus_reply(request, messages)
        if reply is not None and union_data is not None:
            union_data.update(0, reply)
        return 0, 0


class W1Slave(threading.Thread):
    """A `w1_slave` FIFO: each open by a reader is a Convert T (tCONV) then Read Scratchpad."""

    def __init__(self, path: Path, thermometer: Thermometer, log: TransactionLog, lock: threading.Lock) -> None:
        super().__init__(name=f"w1-{thermometer.rom_id}", daemon=True)
        self.path = path
        self.thermometer = thermometer
        self.log = log
        self.lock = lock
        self.stopping = False

    def run(self) -> None:
        """Serve readers until stopped."""
        while True:
            try:
                fd = os.open(self.path, os.O_WRONLY)  # blocks until a reader opens the file
            except FileNotFoundError:
                return
            try:
                if self.stopping:
                    return
                started_s = self.log.now_s()
                time.sleep(self.thermometer.conversion_s)  # w1_therm waits tCONV after Convert T
                with self.lock:
                    pad = self.thermometer.convert_and_read()
                self.log.record(
                    bus="w1", rom_id=self.thermometer.rom_id, op="convert_t+read_scratchpad",
                    started_s=round(started_s, 6), scratchpad=pad.hex(),
                )
                try:
                    os.write(fd, w1_slave_text(pad).encode("ascii"))
                except BrokenPipeError:
                    self.log.record(bus="w1", rom_id=self.thermometer.rom_id, op="reader_gone")
            finally:
                os.close(fd)
            time.sleep(READER_SETTLE_S)

    def stop(self) -> None:
        """Unblock the writer's open with a reader of our own, then wait for the thread."""
        self.stopping = True
        try:
            reader = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)
        except FileNotFoundError:
            return
        try:
            self.join(timeout=5)
        finally:
            os.close(reader)


class Box:
    """The testbed: its I2C adapter with chips, its 1-Wire slaves, and the commands that steer them."""

    def __init__(self, spec: dict[str, Any], log: TransactionLog) -> None:
        self.testbed = UMockdev.Testbed.new()
        self.root = Path(self.testbed.get_root_dir())
        self.log = log
        self.lock = threading.Lock()
        number = int(spec.get("i2c_bus", 1))
        self.adapter = I2CAdapter(number, log)
        self.environments: dict[int, tuple[str, Any]] = {}
        self.testbed.add_from_string(
            f"P: /devices/platform/soc/fe804000.i2c/i2c-{number}\nE: SUBSYSTEM=i2c\n"
            f"A: name=bcm2835 (i2c@7e804000)\n\n"
            f"P: /devices/platform/soc/fe804000.i2c/i2c-{number}/i2c-dev/i2c-{number}\n"
            f"N: i2c-{number}\nE: SUBSYSTEM=i2c-dev\nE: DEVNAME=/dev/i2c-{number}\n"
            f"E: MAJOR=89\nE: MINOR={number}\nA: dev=89:{number}\nA: name=bcm2835 (i2c@7e804000)\n"
        )
        self.handler = I2CDevHandler(self.adapter, log)
        self.testbed.attach_ioctl(f"/dev/i2c-{number}", self.handler)
        for chip in spec.get("chips", []):
            self._add_chip(chip)
        self.testbed.add_from_string("P: /devices/w1_bus_master1\nE: SUBSYSTEM=w1\nA: w1_master_timeout=10\n")
        self.thermometers: dict[str, Thermometer] = {}
        self.w1_threads: dict[str, W1Slave] = {}
        for spec_t in spec.get("thermometers", []):
            thermometer = Thermometer(spec_t["rom_id"], float(spec_t["temperature_c"]),
                                      int(spec_t.get("resolution_bits", 12)))
            self.thermometers[thermometer.rom_id] = thermometer
            self._plug_w1(thermometer.rom_id)

    def _add_chip(self, chip: dict[str, Any]) -> None:
        address, part = int(chip["address"]), chip["part"]
        if part in ("BH1750", "VEML7700"):
            environment: Any = Light(float(chip.get("illuminance_lx", 0.0)))
        elif part == "SHT31":
            environment = Climate(
                float(chip.get("temperature_c", 20.0)), float(chip.get("relative_humidity_pct", 50.0))
            )
        else:
            raise ValueError(f"no model for {part}")
        self.environments[address] = (part, environment)
        self._plug_i2c(address)

    def _plug_i2c(self, address: int) -> None:
        part, environment = self.environments[address]
        chip: Chip
        if part == "BH1750":
            chip = BH1750(environment)
        elif part == "VEML7700":
            chip = VEML7700(environment)
        else:
            chip = SHT3x(environment, self.log.now_s())
        self.adapter.attach(address, chip)  # a fresh chip: plugging in is a power-on reset
        self.log.record(bus=self.adapter.name, event="plug", addr=address, part=part)

    def _plug_w1(self, rom_id: str) -> None:
        syspath = f"/sys/devices/w1_bus_master1/{rom_id}"
        self.testbed.add_from_string(
            f"P: /devices/w1_bus_master1/{rom_id}\nE: SUBSYSTEM=w1\nE: DRIVER=w1_slave_driver\n"
            f"A: name={rom_id}\nA: w1_slave=\n"
        )
        fifo = self.root / syspath.lstrip("/") / "w1_slave"
        fifo.unlink()
        os.mkfifo(fifo, 0o644)
        thread = W1Slave(fifo, self.thermometers[rom_id], self.log, self.lock)
        self.w1_threads[rom_id] = thread
        thread.start()
        self.log.record(bus="w1", event="plug", rom_id=rom_id)

    def command(self, request: dict[str, Any]) -> dict[str, Any]:
        """Run one control command from the test."""
        op, target = request.get("op"), str(request.get("target", ""))
        if op == "set":
            with self.lock:
                environment = self._environment(target)
                for key, value in request.items():
                    if key not in ("op", "target"):
                        if not hasattr(environment, key):
                            raise ValueError(f"{target} has no {key}")
                        setattr(environment, key, float(value))
            return {"ok": True}
        if op == "unplug":
            if target in self.thermometers:
                self.w1_threads.pop(target).stop()
                self.testbed.remove_device(f"/sys/devices/w1_bus_master1/{target}")
                self.log.record(bus="w1", event="unplug", rom_id=target)
            else:
                self.adapter.detach(int(target, 16))
                self.log.record(bus=self.adapter.name, event="unplug", addr=int(target, 16))
            return {"ok": True}
        if op == "plug":
            if target in self.thermometers:
                self._plug_w1(target)
            else:
                self._plug_i2c(int(target, 16))
            return {"ok": True}
        raise ValueError(f"unknown command {request!r}")

    def _environment(self, target: str) -> Any:
        if target in self.thermometers:
            return self.thermometers[target]
        return self.environments[int(target, 16)][1]

    def close(self) -> None:
        """Stop the 1-Wire threads and detach the ioctl handler (the test removes the directory)."""
        for thread in self.w1_threads.values():
            thread.stop()
        self.testbed.detach_ioctl(f"/dev/{self.adapter.name}")


def main(argv: list[str]) -> int:
    """Run the testbed until "quit" or end of input."""
    spec, log_path = json.loads(argv[1]), Path(argv[2])
    log = TransactionLog(log_path)
    box = Box(spec, log)
    print(json.dumps({"umockdev_dir": str(box.root), "pid": os.getpid()}), flush=True)
    try:
        for line in sys.stdin:
            if not line.strip():
                continue
            request = json.loads(line)
            if request.get("op") == "quit":
                print(json.dumps({"ok": True}), flush=True)
                break
            try:
                reply = box.command(request)
            except Exception as exc:  # noqa: BLE001 - report any refusal to the test, keep serving
                reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
            print(json.dumps(reply), flush=True)
    finally:
        box.close()
        log.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
