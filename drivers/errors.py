"""The one exception hierarchy every Hameau part raises."""

from __future__ import annotations


class HameauError(Exception):
    """Base of every error Hameau raises on purpose."""


class PartError(HameauError, OSError):
    """A part on a bus failed; says which part, on which bus and address, and why."""

    code = "part_error"

    def __init__(self, reason: str, *, part: str, bus: str, address: str | None = None) -> None:
        self.reason = reason
        self.part = part
        self.bus = bus
        self.address = address
        where = f"{bus} at {address}" if address is not None else bus
        super().__init__(f"{part} on {where}: {reason}")

    def __str__(self) -> str:
        return str(self.args[0])

    def to_dict(self) -> dict[str, str | None]:
        """Describe the failure as plain data (for JSON output and events)."""
        return {
            "code": self.code,
            "part": self.part,
            "bus": self.bus,
            "address": self.address,
            "reason": self.reason,
            "message": str(self),
        }


class SensorError(PartError):
    """A sensor could not give a trustworthy reading."""

    code = "sensor_error"


class NotPluggedError(SensorError):
    """The part is absent from its bus (no ACK, no device file)."""

    code = "not_plugged"


class NoAnswerError(SensorError):
    """The part is there but did not answer in time."""

    code = "no_answer"


class BadCRCError(SensorError):
    """The part answered with a frame whose checksum is wrong."""

    code = "bad_crc"


class OutOfRangeError(SensorError):
    """The part answered with a value outside its physical range or a known fault value."""

    code = "out_of_range"


class StuckError(SensorError):
    """The part keeps answering the same value when it cannot be the same."""

    code = "stuck"


class DeviceReportedError(SensorError):
    """The part answered, but with an error of its own (a Modbus exception response)."""

    code = "device_error"


class ActuatorError(PartError):
    """An actuator could not be driven or does not do what it was told."""

    code = "actuator_error"


class FeedbackMismatchError(ActuatorError):
    """The feedback contact disagrees with the commanded state after the settle time."""

    code = "feedback_mismatch"
