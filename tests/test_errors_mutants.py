"""Part errors and readings as a technician sees them (probe --json): survivors of bench/mutation.py.

The README's contract, written out here: every failure names the part, its bus and address, and
is one of a small set of codes; `probe --json` lists each sensor's readings as
{name, quantity, value, unit} or its error as {code, part, bus, address, reason, message}.
"""

from __future__ import annotations

import pytest

from drivers.errors import FeedbackMismatchError, NotPluggedError, SensorError
from drivers.reading import Reading, reading


def test_errors_message_names_part_bus_and_address() -> None:
    error = NotPluggedError("no acknowledge", part="BH1750", bus="i2c-1", address="0x23")
    assert error.reason == "no acknowledge"
    assert str(error) == "BH1750 on i2c-1 at 0x23: no acknowledge"
    assert str(SensorError("port gone", part="SDM120", bus="rs485")) == "SDM120 on rs485: port gone"


def test_errors_plain_data_for_json() -> None:
    error = FeedbackMismatchError("stuck", part="Relay", bus="gpio", address="GPIO17")
    assert error.to_dict() == {
        "code": "feedback_mismatch", "part": "Relay", "bus": "gpio", "address": "GPIO17",
        "reason": "stuck", "message": "Relay on gpio at GPIO17: stuck",
    }


def test_errors_reading_checks_its_unit_and_gives_plain_data() -> None:
    built = reading("illuminance_lx", "illuminance", 12)
    assert (built.quantity, built.unit, built.value) == ("illuminance", "lx", 12.0)
    assert built == Reading("illuminance_lx", "illuminance", 12.0, "lx")
    assert built.to_dict() == {"name": "illuminance_lx", "quantity": "illuminance", "value": 12.0, "unit": "lx"}
    with pytest.raises(ValueError, match="^unknown quantity 'loudness'$"):
        Reading("noise_db", "loudness", 1.0, "dB")
    with pytest.raises(ValueError, match="^temperature is measured in °C, not K$"):
        Reading("t_k", "temperature", 1.0, "K")
