"""The plumbing every one-relay controller shares (lighting, heating): state codec, minimum times, quiet ticks."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from edge.controllers.base import Decision, Job, RelayCommand, SensorInput
from edge.controllers.events import Event
from edge.controllers.overrides import OverrideMemory
from edge.controllers.state_codec import StateCodec
from edge.controllers.timing import MinimumTimes, fmt_wait, step_switch


class RelayState(Protocol):
    """What the state of a one-relay controller holds, whatever else it remembers."""

    @property
    def mode(self) -> str: ...
    @property
    def reason(self) -> str: ...
    @property
    def on(self) -> bool | None: ...
    @property
    def changed_at_s(self) -> float | None: ...
    @property
    def override_key(self) -> str: ...
    @property
    def expired_overrides(self) -> tuple[str, ...]: ...
    @property
    def refused_overrides(self) -> tuple[str, ...]: ...


S = TypeVar("S", bound=RelayState)


class RelayController(Generic[S]):
    """A controller of one relay from at most one reading; subclasses write `decide` and their rules."""

    #: The codec of the subclass's flat state dataclass.
    codec: ClassVar[StateCodec[Any]]

    def __init__(self, controller_id: str, relay: str, input_key: str | None, times: MinimumTimes) -> None:
        self.id = controller_id
        self.relay = relay
        self._input = input_key
        self._times = times
        self._quiet_for: tuple[S, str] | None = None
        self._quiet: Decision[S] | None = None

    @property
    def relays(self) -> tuple[str, ...]:
        """The one relay it drives."""
        return (self.relay,)

    @property
    def inputs(self) -> tuple[str, ...]:
        """The reading it follows, if any."""
        return () if self._input is None else (self._input,)

    @property
    def jobs(self) -> tuple[Job, ...]:
        """No calendar jobs: every rule is evaluated on each call."""
        return ()

    def initial_state(self) -> S:
        """State of a controller that never decided."""
        return self.codec.cls()

    def run_job(self, name: str, state: S, now: datetime) -> Decision[S]:
        """There are no jobs to run."""
        raise KeyError(f"controller {self.id!r} has no job {name!r}")

    def state_to_dict(self, state: S) -> dict[str, Any]:
        """JSON-ready state (with "mode" and "reason" for `hameau-edge status`)."""
        return self.codec.to_dict(state)

    def state_from_dict(self, data: Mapping[str, Any]) -> S:
        """Inverse of state_to_dict."""
        return self.codec.from_dict(data)

    def state_to_json(self, state: S, dumps: Callable[[Any], str]) -> str:
        """The state as JSON text."""
        return dumps(self.codec.to_dict(state))

    def state_summary(self, state: S) -> tuple[str, str]:
        """The state's mode and reason."""
        return state.mode, state.reason

    def reading(self, inputs: Mapping[str, SensorInput]) -> SensorInput | None:
        """The input it follows, if the runtime gave it."""
        return None if self._input is None else inputs.get(self._input)

    @staticmethod
    def memory(state: S) -> OverrideMemory:
        """What the state remembers of overrides."""
        return OverrideMemory(state.override_key, state.expired_overrides, state.refused_overrides)

    def switch(
        self, state: S, wish: bool | None, reason: str, now_s: float, starting: bool
    ) -> tuple[bool | None, float | None, bool, str]:
        """Move the relay toward `wish` under its minimum times: (on, changed at, changed, reason)."""
        on, changed_at_s = state.on, state.changed_at_s
        if not (starting or wish != on or changed_at_s is None or changed_at_s > now_s):
            return on, changed_at_s, False, reason
        step = step_switch(on, changed_at_s, wish, now_s, self._times, immediate=starting)
        if step.held:
            which = "on" if step.on else "off"
            reason = f"{reason}; held {which} for its minimum {which} time ({fmt_wait(step.wait_s)} left)"
        return step.on, step.changed_at_s, step.changed, reason

    def decision_event(self, now: datetime, reason: str, **data: Any) -> Event:
        """The "decision" event of a switch (or of a start), with what it was decided on."""
        return Event("decision", self.id, reason, now, {"relay": self.relay, **data})

    def decision(self, state: S, events: tuple[Event, ...], interlock: str = "") -> Decision[S]:
        """The relay command for a state, its events, and the interlock holding if any."""
        interlocks = {self.relay: interlock} if interlock else {}
        return Decision(state, (RelayCommand(self.relay, state.on, state.reason),), events, interlocks)

    def settle(self, previous: S, new: S, events: list[Event], interlock: str = "") -> Decision[S]:
        """The decision for `new`; when nothing changed, the very decision given last time (a quiet tick)."""
        if events or new != previous:
            return self.decision(new, tuple(events), interlock)
        known = self._quiet_for
        if known is None or known[0] is not previous or known[1] != interlock or self._quiet is None:
            self._quiet = self.decision(previous, (), interlock)
            self._quiet_for = (previous, interlock)
        return self._quiet
