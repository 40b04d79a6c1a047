"""Relay behaviour a mutation run (bench/mutation.py) found untested: safe state, settle time, feedback.

Wiring written out here: a coil driven active high is energised by a high pin; an auxiliary contact
wired to 3.3 V reads high when closed (pull-down), and after the settle time the contact must agree
with the command, else the technician is told which way it disagrees and what usually causes it.
"""

from __future__ import annotations

import pytest

from drivers.errors import FeedbackMismatchError
from drivers.relay import Relay
from drivers.sim.clock import SimClock
from drivers.sim.gpio import SimPinFactory

COIL, CONTACT = 17, 27


class _Rig:
    def __init__(self) -> None:
        self.clock = SimClock(start_s=0.0)
        self.factory = SimPinFactory(self.clock.monotonic)

    def relay(self, **kwargs: object) -> Relay:
        return Relay(self.factory, COIL, monotonic=self.clock.monotonic, **kwargs)  # type: ignore[arg-type]

    def coil(self) -> bool:
        return bool(self.factory.pin(COIL).state)

    def contact(self, closed: bool) -> None:
        self.factory.pin(CONTACT).drive(closed)

    def at(self, t: float) -> None:
        self.clock.advance(t - self.clock.monotonic())


def _mismatch(relay: Relay) -> FeedbackMismatchError:
    with pytest.raises(FeedbackMismatchError) as caught:
        relay.check()
    return caught.value


def test_relay_defaults_active_high_coil_off_and_contact_to_3v3() -> None:
    rig = _Rig()
    relay = rig.relay(feedback_pin=CONTACT)
    assert (relay.is_on, rig.coil(), relay.feedback) == (False, False, False)
    assert rig.factory.pin(CONTACT).pull == "down"
    assert (relay.bus_name, relay.address, relay.feedback_address, relay.settle_s) == ("gpio", "GPIO17", "GPIO27", 0.2)
    relay.check()  # off and open: agreed from the start
    relay.on()
    assert rig.coil() is True
    relay.off()
    assert (relay.is_on, rig.coil()) == (False, False)


def test_relay_safe_state_on_is_applied_at_once_and_on_close() -> None:
    rig = _Rig()
    relay = rig.relay(safe_state=True)
    assert (relay.is_on, rig.coil()) == (True, True)
    relay.off()
    assert rig.coil() is False
    relay.close()
    assert (relay.is_on, rig.coil()) == (True, True)
    relay.close()  # twice is fine


def test_relay_closed_refuses_commands_and_reports_no_feedback() -> None:
    rig = _Rig()
    relay = rig.relay(feedback_pin=CONTACT)
    relay.close()
    assert relay.feedback is None
    with pytest.raises(ValueError, match="^relay on GPIO17 is closed$"):
        relay.on()


def test_relay_stuck_open_contactor_is_reported_after_exactly_the_settle_time() -> None:
    rig = _Rig()
    relay = rig.relay(feedback_pin=CONTACT)
    relay.on()
    rig.at(0.19)
    relay.check()  # still settling
    rig.at(0.2)
    error = _mismatch(relay)
    assert error.reason == (
        "commanded ON but feedback contact on GPIO27 reads OFF after 0.2 s: "
        "contactor stuck open, coil not powered, or feedback wire broken"
    )
    assert (error.part, error.bus, error.address, error.code) == ("Relay", "gpio", "GPIO17", "feedback_mismatch")
    rig.contact(True)
    relay.check()


def test_relay_welded_contactor_is_reported() -> None:
    rig = _Rig()
    relay = rig.relay(feedback_pin=CONTACT, settle_s=1.0, bus_name="gpiochip0")
    rig.contact(True)
    rig.at(1.0)
    error = _mismatch(relay)
    assert error.reason == (
        "commanded OFF but feedback contact on GPIO27 reads ON after 1.0 s: "
        "contactor welded or stuck closed, or feedback wire shorted"
    )
    assert error.bus == "gpiochip0"


def test_relay_settle_time_restarts_only_when_the_command_changes() -> None:
    rig = _Rig()
    relay = rig.relay(feedback_pin=CONTACT)
    relay.on()
    rig.at(0.15)
    relay.on()  # the same command: the coil has been on since 0
    rig.at(0.2)
    _mismatch(relay)
    relay.off()  # changed at 0.2: settling until 0.4
    rig.contact(True)
    rig.at(0.35)
    relay.check()
    rig.at(0.4)
    _mismatch(relay)


def test_relay_without_feedback_never_mismatches() -> None:
    rig = _Rig()
    relay = rig.relay()
    relay.on()
    rig.at(10.0)
    assert relay.feedback is None and relay.feedback_address is None
    relay.check()


def test_relay_argument_errors_say_what_is_allowed() -> None:
    rig = _Rig()
    with pytest.raises(ValueError, match=r"^pin_factory is required \(inject the board's or a simulated factory\)$"):
        Relay(None, COIL, monotonic=rig.clock.monotonic)
    with pytest.raises(ValueError, match=r"^pin must be a GPIO number >= 0, got '17'$"):
        Relay(rig.factory, "17", monotonic=rig.clock.monotonic)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^pin must be a GPIO number >= 0, got -1$"):
        Relay(rig.factory, -1, monotonic=rig.clock.monotonic)
    with pytest.raises(ValueError, match=r"^feedback_pin must be a GPIO number >= 0 or None, got '27'$"):
        rig.relay(feedback_pin="27")
    with pytest.raises(ValueError, match=r"^feedback_pin must be a GPIO number >= 0 or None, got -2$"):
        rig.relay(feedback_pin=-2)
    with pytest.raises(ValueError, match=r"^feedback_pin must differ from the relay pin \(both GPIO17\)$"):
        rig.relay(feedback_pin=COIL)
    with pytest.raises(ValueError, match=r"^settle_s must be >= 0, got -1$"):
        rig.relay(settle_s=-1)
    with pytest.raises(ValueError, match="^monotonic must be a callable returning seconds$"):
        Relay(rig.factory, COIL, monotonic=None)  # type: ignore[arg-type]


def test_relay_gpio0_and_no_settle_time_are_allowed() -> None:
    rig = _Rig()
    relay = Relay(rig.factory, 0, feedback_pin=1, settle_s=0.0, monotonic=rig.clock.monotonic)
    relay.on()
    with pytest.raises(FeedbackMismatchError):
        relay.check()  # no settle time: checked at once
    relay.close()


def test_relay_feedback_on_gpio0_is_allowed() -> None:
    rig = _Rig()
    relay = Relay(rig.factory, COIL, feedback_pin=0, monotonic=rig.clock.monotonic)
    assert relay.feedback_address == "GPIO0"
    relay.close()
