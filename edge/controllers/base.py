"""What every controller shares with the runtime that calls it: inputs, commands, decisions, the protocol."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

from edge.controllers.events import Event
from edge.controllers.overrides import Override

S = TypeVar("S")


@dataclass(frozen=True, slots=True)
class RelayCommand:
    """Set a relay on (True), off (False) or to its safe state (None), for a reason."""

    relay: str
    on: bool | None
    reason: str


@dataclass(frozen=True, slots=True)
class SensorInput:
    """The latest value of one reading as the runtime sees it (value None: faulted or stale)."""

    value: float | None
    at: datetime | None
    healthy: bool
    #: How old the value is, on the monotonic clock (None: unknown; then age it by `at`).
    age_s: float | None = None

    def age(self, now: datetime) -> float | None:
        """Seconds since the value was read: its monotonic age, else by the wall clock."""
        if self.age_s is not None:
            return self.age_s
        return None if self.at is None else (now - self.at).total_seconds()

    @property
    def usable(self) -> bool:
        """A fresh, healthy value a controller may act on."""
        return self.healthy and self.value is not None


@dataclass(frozen=True, slots=True)
class Decision(Generic[S]):
    """What a controller decided: its new state, relay commands and events."""

    state: S
    commands: tuple[RelayCommand, ...] = ()
    events: tuple[Event, ...] = ()
    #: Relays this controller currently forbids a technician to override, with the reason.
    interlocks: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Job:
    """A calendar job a controller wants run at a local time each day (e.g. nightly leak analysis)."""

    name: str
    at_local: str


@dataclass(frozen=True, slots=True)
class FallbackDecision:
    """What a faulted controller's fallback orders: its relays' commands, why, and the overrides it refuses."""

    commands: tuple[RelayCommand, ...]
    reason: str
    interlocks: Mapping[str, str] = field(default_factory=dict)


class Fallback(Protocol):
    """A faulted controller's stand-in: a minimal rule that shares none of the controller's decision code."""

    def decide(self, last_state: Any, overrides: Mapping[str, Override], now: datetime) -> FallbackDecision:
        """The relays' commands for `now`, from the controller's last good state and the overrides."""
        ...


class Controller(Protocol[S]):
    """A pure controller: same inputs, state and time give the same decision.

    It may declare `state_version` (an int, 1 when absent): the layout version of the states it
    saves; the agent saves it with each state and starts afresh from a saved state of another version.
    """

    id: str

    @property
    def relays(self) -> tuple[str, ...]:
        """The relays this controller owns."""
        ...

    @property
    def inputs(self) -> tuple[str, ...]:
        """The readings it needs, as 'sensor-id.reading_name'."""
        ...

    @property
    def jobs(self) -> tuple[Job, ...]:
        """Calendar jobs this controller wants (empty for most)."""
        ...

    def initial_state(self) -> S:
        """State for a controller that has never run."""
        ...

    def decide(
        self,
        state: S,
        inputs: Mapping[str, SensorInput],
        overrides: Mapping[str, Override],
        now: datetime,
        *,
        starting: bool = False,
        acks: frozenset[str] = frozenset(),
    ) -> Decision[S]:
        """Decide for `now`. With `starting`, re-derive every output for now at once.

        `acks` holds the keys of this controller's latched alarms a technician acknowledged.
        """
        ...

    def run_job(self, name: str, state: S, now: datetime) -> Decision[S]:
        """Run one of its calendar jobs (pure, like decide)."""
        ...

    def state_to_dict(self, state: S) -> dict[str, Any]:
        """JSON-ready form of a state (for the store)."""
        ...

    def state_from_dict(self, data: Mapping[str, Any]) -> S:
        """Inverse of state_to_dict."""
        ...

    def state_to_json(self, state: S, dumps: Callable[[Any], str]) -> str:
        """`dumps(state_to_dict(state))`, which a controller with a large state may do faster."""
        ...

    def state_summary(self, state: S) -> tuple[str, str]:
        """The state's mode and reason, as the status shows them."""
        ...
