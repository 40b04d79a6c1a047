"""What people do at the box in a simulated world: technicians' actions at set times, hydrants in use."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

#: What a technician can do, each through the same code as the `hameau-edge` command: acknowledge a watch's
#: alarms (`alarms ack`), override a relay (`relay`), forbid closing a valve (`hydrant`), confirm a closure
#: (`valve confirm`).
ACTION_KINDS = ("ack", "override", "hydrant", "confirm")


@dataclass(frozen=True, slots=True)
class ActionSpec:
    """One technician's action at `at`.

    `target`: the leak watch (ack, hydrant, confirm) or the relay (override). `state`: "on", "off" or "auto"
    for an override, "on" or "off" for a hydrant. `alarm`: for an ack, the alarm kind (None: every alarm
    of the watch latched then).
    """

    at: datetime
    kind: str
    target: str
    state: str = "on"
    duration: timedelta | None = None
    alarm: str | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class HydrantSpec:
    """A hydrant in use: `rate_lph` drawn through a meter between start and end (stopped while the valve is
    closed), and the fire brigade's key switch (a digital input) active meanwhile, if one is named."""

    meter: str
    start: datetime
    end: datetime
    rate_lph: float
    key_switch: str | None = None


@dataclass(frozen=True, slots=True)
class OnSiteSpec:
    """Technicians' actions and hydrants in use."""

    actions: tuple[ActionSpec, ...] = ()
    hydrants: tuple[HydrantSpec, ...] = ()

    def switches(self, when: datetime) -> dict[str, bool]:
        """Each key switch the hydrants name, and whether one of its spells holds at `when`."""
        found: dict[str, bool] = {}
        for h in self.hydrants:
            if h.key_switch is not None:
                found[h.key_switch] = found.get(h.key_switch, False) or h.start <= when < h.end
        return found
