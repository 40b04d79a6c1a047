"""Simulated Modbus RTU slaves (meters) answering on a real pseudo-terminal, with faults.

Written from the specifications, independently of the drivers, so that a wrong value in a driver makes
it disagree with this twin: the protocol facts and the CRC are in drivers/sim/modbus_rtu.py, the meters'
register maps (from Eastron's protocol sheets) in drivers/sim/eastron_maps.py.
"""

from __future__ import annotations

import os
import select
import shutil
import tempfile
import threading
import tty

from drivers.sim.modbus_device import (
    MAX_LATE_S,
    Fault,
    SimModbusException,
    SimRegisterDevice,
    SimSDM120,
    SimSDM630,
)
from drivers.sim.modbus_rtu import (
    EXCEPTION_FLAG,
    READ_HOLDING,
    READ_INPUT,
    WRITE_MULTIPLE,
    WRITE_SINGLE,
    frame_crc_ok,
    frame_with_crc,
)

__all__ = ["MAX_LATE_S", "Fault", "SimModbusException", "SimModbusSlave", "SimRegisterDevice", "SimSDM120", "SimSDM630"]

#: Silence after which a partial frame is taken as complete: at least the 3.5-character silence of
#: every baud rate from 2400 up (16.0 ms at 2400 baud, see modbus_rtu.inter_frame_silence_s).
FRAME_GAP_S = 0.02


def _request_length(buffer: bytes) -> int | None:
    """Length of the request frame at the start of `buffer`, None if not known yet."""
    if len(buffer) < 2:
        return None
    if buffer[1] in (READ_HOLDING, READ_INPUT, WRITE_SINGLE):
        return 8
    if buffer[1] == WRITE_MULTIPLE and len(buffer) >= 7:
        return 9 + buffer[6]
    return None


class SimModbusSlave:
    """Several simulated slaves on one RS-485 line, served on a pseudo-terminal by a thread."""

    def __init__(self) -> None:
        self._devices: dict[int, SimRegisterDevice] = {}
        self._devices_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._fds: tuple[int, int] | None = None
        self._dir: str | None = None

    @property
    def path(self) -> str:
        """Stable path of the line (a symlink to the current pty, like /dev/serial/by-id)."""
        if self._dir is None:
            raise RuntimeError("the simulated line has never been started")
        return os.path.join(self._dir, "ttyRS485")

    @property
    def running(self) -> bool:
        """True while the line is served."""
        return self._thread is not None

    def add_device(self, unit_id: int, device: SimRegisterDevice) -> SimRegisterDevice:
        """Connect a device with this unit id to the line; returns it."""
        if not 1 <= unit_id <= 247:
            raise ValueError(f"unit_id must be within 1..247, got {unit_id}")
        with self._devices_lock:
            if unit_id in self._devices:
                raise ValueError(f"unit {unit_id} is already on the line")
            self._devices[unit_id] = device
        return device

    def remove_device(self, unit_id: int) -> None:
        """Disconnect a device from the line (it stops answering)."""
        with self._devices_lock:
            self._devices.pop(unit_id, None)

    def start(self) -> str:
        """Open a fresh pty, serve it in a background thread; returns the path pyserial opens."""
        if self._thread is not None:
            raise RuntimeError("the simulated line is already running")
        if self._dir is None:
            self._dir = tempfile.mkdtemp(prefix="hameau-rs485-")
        os.makedirs(self._dir, exist_ok=True)
        master_fd, slave_fd = os.openpty()
        tty.setraw(slave_fd)
        self._fds = (master_fd, slave_fd)
        path = self.path
        if os.path.lexists(path):
            os.unlink(path)
        os.symlink(os.ttyname(slave_fd), path)
        self._stop.clear()
        self._thread = threading.Thread(target=self._serve, args=(master_fd,), name="sim-modbus-slave", daemon=True)
        self._thread.start()
        return path

    def stop(self) -> None:
        """Stop serving and close the pty (the port disappears, as when the adapter is unplugged)."""
        if self._thread is not None:
            self._stop.set()
            self._thread.join(timeout=5)
            self._thread = None
        if self._fds is not None:
            for fd in self._fds:
                os.close(fd)
            self._fds = None
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> SimModbusSlave:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _serve(self, master_fd: int) -> None:
        buffer = bytearray()
        while not self._stop.is_set():
            ready, _, _ = select.select([master_fd], [], [], FRAME_GAP_S)
            if not ready:
                if buffer:
                    self._handle_frame(master_fd, bytes(buffer))
                    buffer.clear()
                continue
            try:
                buffer += os.read(master_fd, 1024)
            except OSError:
                continue
            while (length := _request_length(buffer)) is not None and len(buffer) >= length:
                self._handle_frame(master_fd, bytes(buffer[:length]))
                del buffer[:length]

    def _handle_frame(self, master_fd: int, frame: bytes) -> None:
        answer, delay_s = self._answer(frame)
        if answer is None:
            return
        if delay_s <= 0:
            os.write(master_fd, answer)
            return
        # A slow meter: the answer comes later, while the master may already be asking something else.
        late = threading.Timer(delay_s, self._write_late, (master_fd, answer))
        late.daemon = True
        late.start()

    def _write_late(self, master_fd: int, answer: bytes) -> None:
        if not self._stop.is_set():
            try:
                os.write(master_fd, answer)
            except OSError:
                pass

    def answer(self, frame: bytes) -> bytes | None:
        """The frame the line carries back for a request frame (None: silence, as on a real bus)."""
        return self._answer(frame)[0]

    def _answer(self, frame: bytes) -> tuple[bytes | None, float]:
        """The answer frame and how long the slave takes before sending it."""
        if not frame_crc_ok(frame):
            return None, 0.0
        with self._devices_lock:
            device = self._devices.get(frame[0])
        if device is None:
            return None, 0.0
        fault = device.take_fault()
        if fault == "silent":
            return None, 0.0
        delay_s = float(fault[1]) if isinstance(fault, tuple) and fault[0] == "late" else 0.0
        if isinstance(fault, tuple) and fault[0] == "exception":
            pdu = bytes([frame[1] | EXCEPTION_FLAG, fault[1]])
        else:
            pdu = device.respond(frame[1:-2])
        answer = frame_with_crc(bytes([frame[0]]) + pdu)
        if fault == "bad_crc":
            answer = answer[:-2] + bytes(b ^ 0xFF for b in answer[-2:])
        return answer, delay_s
