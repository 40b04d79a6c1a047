"""The valve-policy keys of a `[[leak]]` table (edge/controllers/leak/policy.py says what they do)."""

from __future__ import annotations

from dataclasses import dataclass

from edge.config.reader import Table, in_range, one_of
from edge.controllers.fields import ConfigContext, sensor_ref
from edge.controllers.leak.policy import ACTIVE_READING

VALVE_POLICIES = ("close", "alarm_only")
#: The valve policy a watch gets when its config names none, by the meter's role.
DEFAULT_POLICY = {"inlet": "alarm_only", "building": "close"}
#: The longest a closure may wait before reopening by itself (a week), and a hold after a key switch (a day).
MAX_REOPEN_MIN = 7 * 24 * 60
MAX_HOLD_MIN = 24 * 60


@dataclass(frozen=True, slots=True)
class ValvePolicyConfig:
    """What a burst does to the valve: close it or only alarm, reopen after a while, a hydrant's inhibit."""

    valve_policy: str = "close"
    #: A closure no technician confirmed reopens after this long (0: never).
    reopen_after_min: int = 60
    #: A digital input (a fire brigade's key switch) that forbids closing while active.
    hydrant_input: str | None = None
    #: How long the inhibit lasts after the key switch is released.
    hydrant_hold_min: int = 30

    @property
    def close(self) -> bool:
        """Whether a burst closes the valve."""
        return self.valve_policy == "close"


def parse_valve_policy(t: Table, ctx: ConfigContext, role: str, valve: str | None) -> ValvePolicyConfig:
    """valve_policy (default by role), reopen_after_min, hydrant_input, hydrant_hold_min (problems recorded in `t`)."""
    default = DEFAULT_POLICY.get(role, "close")
    policy = t.get("valve_policy", str, default, one_of(*VALVE_POLICIES))
    hydrant = sensor_ref(t, "hydrant_input", ctx, ACTIVE_READING, "a digital input", required=False)
    if hydrant is not None and valve is None and t.ok:
        t.fail("hydrant_input", "a hydrant's key switch only keeps a valve open: set valve_relay too")
    return ValvePolicyConfig(
        valve_policy=policy if policy in VALVE_POLICIES else default,
        reopen_after_min=t.get("reopen_after_min", int, 60, in_range(0, MAX_REOPEN_MIN, " min")),
        hydrant_input=hydrant,
        hydrant_hold_min=t.get("hydrant_hold_min", int, 30, in_range(0, MAX_HOLD_MIN, " min")),
    )
