"""I2C error mapping and bus scan: the survivors of a mutation run (bench/mutation.py).

Linux facts written out here: an I2C adapter reports a missing acknowledge as EREMOTEIO (i2c-bcm2835),
ENXIO or EIO; i2cdetect probes 0x08..0x77 (the addresses outside are reserved by the I2C
specification, UM10204 table 4) and counts EBUSY (bound to a kernel driver) as present.
"""

from __future__ import annotations

import errno

import pytest

from drivers.errors import NoAnswerError, NotPluggedError
from drivers.i2c_scan import bus_error, check_driver_args, scan_i2c

WIRING_HINT = "check the wiring, the 3.3 V supply and the address pin"


@pytest.mark.parametrize("code", [errno.EREMOTEIO, errno.ENXIO, errno.EIO])
def test_i2c_scan_no_acknowledge_is_not_plugged(code: int) -> None:
    error = bus_error(OSError(code, "Remote I/O error"), part="BH1750", bus_name="i2c-1", address=0x23)
    assert type(error) is NotPluggedError
    assert (error.part, error.bus, error.address) == ("BH1750", "i2c-1", "0x23")
    assert error.reason == f"no acknowledge at this address (Remote I/O error): {WIRING_HINT}"
    assert str(error) == f"BH1750 on i2c-1 at 0x23: {error.reason}"


def test_i2c_scan_no_acknowledge_without_text_names_the_error() -> None:
    error = bus_error(OSError(errno.EREMOTEIO, ""), part="SHT31", bus_name="i2c-3", address=0x45)
    assert error.reason.startswith("no acknowledge at this address (") and WIRING_HINT in error.reason
    assert error.reason != f"no acknowledge at this address (): {WIRING_HINT}"


def test_i2c_scan_other_failures_are_no_answer() -> None:
    error = bus_error(OSError(errno.ETIMEDOUT, "Connection timed out"), part="SHT31", bus_name="i2c-3", address=0x45)
    assert type(error) is NoAnswerError
    assert (error.part, error.bus, error.address) == ("SHT31", "i2c-3", "0x45")
    assert error.reason == "I2C transfer failed: [Errno 110] Connection timed out"


class _ProbedBus:
    """Answers address-only writes: present addresses ACK, busy ones say EBUSY, others NACK."""

    def __init__(self, present: set[int], busy: set[int], failing: dict[int, int]) -> None:
        self.present, self.busy, self.failing = present, busy, failing
        self.probed: list[int] = []

    def write_quick(self, i2c_addr: int, force: bool | None = None) -> None:
        self.probed.append(i2c_addr)
        if i2c_addr in self.busy:
            raise OSError(errno.EBUSY, "Device or resource busy")
        if i2c_addr in self.failing:
            raise OSError(self.failing[i2c_addr], "failed")
        if i2c_addr not in self.present:
            raise OSError(errno.EREMOTEIO, "Remote I/O error")


def test_i2c_scan_probes_0x08_to_0x77_and_counts_busy_as_present() -> None:
    bus = _ProbedBus(present={0x08, 0x23, 0x77}, busy={0x50}, failing={0x40: errno.ETIMEDOUT})
    assert scan_i2c(bus) == [0x08, 0x23, 0x50, 0x77]  # type: ignore[arg-type]
    assert bus.probed == list(range(0x08, 0x78))


def test_i2c_scan_driver_argument_errors_say_what_is_allowed() -> None:
    with pytest.raises(ValueError, match="^address must be one of 0x23, 0x5c, not 36$"):
        check_driver_args(0x24, (0x23, 0x5C), "i2c-1", lambda s: None)
    with pytest.raises(ValueError, match="^bus_name must be a non-empty string such as 'i2c-1'$"):
        check_driver_args(0x23, (0x23,), "", lambda s: None)
    with pytest.raises(ValueError, match="^sleep must be a callable taking seconds$"):
        check_driver_args(0x23, (0x23,), "i2c-1", None)
