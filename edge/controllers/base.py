"""Types shared by every controller and the runtime that calls them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

if TYPE_CHECKING:
    from edge.config_model import DeviceConfig, RelayConfig, SensorConfig

S = TypeVar("S")

#: Event kinds every part of the agent uses.
EVENT_KINDS: frozenset[str] = frozenset({
    "decision",        # a relay was told to change, with the reason
    "alarm",           # an alarm was raised (latched until acknowledged)
    "alarm_acked",     # an alarm was acknowledged
    "fault",           # a sensor or actuator fault began
    "fault_cleared",   # that fault ended
    "fallback",        # a controller switched to its fallback (or back: data["active"])
    "override",        # a manual override was set, expired, cleared or refused
    "interlock",       # a safety rule overrode a wish (frost protection, burst valve)
    "agent",           # agent start, stop, restart
})


@dataclass(frozen=True, slots=True)
class Event:
    """Something worth keeping: what happened, who says so, and why in plain words."""

    kind: str
    source: str
    reason: str
    at: datetime
    data: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in EVENT_KINDS:
            raise ValueError(f"unknown event kind {self.kind!r}")
        if self.at.tzinfo is None:
            raise ValueError("event times must be timezone-aware")


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

    @property
    def usable(self) -> bool:
        """A fresh, healthy value a controller may act on."""
        return self.healthy and self.value is not None


@dataclass(frozen=True, slots=True)
class Override:
    """A technician's order for a relay until a given time."""

    relay: str
    on: bool
    until: datetime
    set_at: datetime
    by: str = "technician"
    reason: str = ""

    def active(self, now: datetime) -> bool:
        """Whether the override still holds at `now`."""
        return self.set_at <= now < self.until


@dataclass(frozen=True, slots=True)
class Decision(Generic[S]):
    """What a controller decided: its new state, relay commands and events."""

    state: S
    commands: tuple[RelayCommand, ...] = ()
    events: tuple[Event, ...] = ()
    #: Relays this controller currently forbids a technician to override, with the reason.
    interlocks: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ConfigContext:
    """What a controller's config section is checked against: the box's device, sensors and relays."""

    device: DeviceConfig
    sensors: Mapping[str, SensorConfig]
    relays: Mapping[str, RelayConfig]


@dataclass(frozen=True, slots=True)
class Job:
    """A calendar job a controller wants run at a local time each day (e.g. nightly leak analysis)."""

    name: str
    at_local: str


class Controller(Protocol[S]):
    """A pure controller: same inputs, state and time give the same decision."""

    id: str

    @property
    def relays(self) -> tuple[str, ...]:
        """The relays this controller owns."""
        ...

    @property
    def inputs(self) -> tuple[str, ...]:
        """The readings it needs, as 'sensor-id.reading_name'."""
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

    @property
    def jobs(self) -> tuple[Job, ...]:
        """Calendar jobs this controller wants (empty for most)."""
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
