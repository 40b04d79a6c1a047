"""Samples each sensor at its own interval and keeps its latest values, age and health."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from drivers.errors import SensorError
from drivers.reading import Reading, Sensor
from edge.config.model import AgentConfig, SensorConfig
from edge.controllers.base import SensorInput
from edge.controllers.events import Event
from edge.parts.part import Registry
from edge.parts.registry import REGISTRY

#: Quantities whose exact repetition over a long time means a stuck sensor, with the level at
#: or below which a constant value is normal (darkness reads a constant 0 lx all night).
STUCK_QUANTITIES: dict[str, float] = {
    "illuminance": 1.0,
    "temperature": float("-inf"),
    "relative_humidity": float("-inf"),
}


#: How slowly a healthy reading of a quantity may drift in a stable place, per day: a cabinet with thermal
#: mass or a cellar may hold its temperature within 0.05 °C for a day (the outdoor day-night swing damped by
#: days of time constant). A value may therefore stay within one step of its sensor's resolution for
#: resolution / drift days before "stuck" is believed: 30 h for a 12-bit DS18B20 (0.0625 °C), 10 days at 9
#: bits (0.5 °C); never less than the agent's stuck_after_s (6 h), which is what fine sensors (an SHT31's
#: 0.003 °C) and lux get. A frozen register repeats its value exactly, so it is still caught, only later.
STABLE_DRIFT_PER_DAY: dict[str, float] = {"temperature": 0.05, "relative_humidity": 0.5}
DAY_S = 86_400.0


#: How early a sample may be taken, so that a tick as long as the interval never skips one:
#: a fraction of the interval, at most a few milliseconds.
EARLY_FRACTION = 0.01
EARLY_S = 0.005


@dataclass
class SensorHealth:
    """What the agent knows of one sensor right now."""

    config: SensorConfig
    readings: dict[str, Reading] = field(default_factory=dict)
    at: datetime | None = None
    #: The monotonic time of `at`: ages are measured on it, so a step of the wall clock (NTP after a
    #: boot without RTC) neither ages a value nor makes one look younger.
    at_s: float | None = None
    health: str = "unknown"
    fault: str | None = None
    fault_code: str | None = None
    next_due_s: float = 0.0
    #: Per reading, the monotonic time its current value was first read (stuck detection).
    unchanged_since: dict[str, float] = field(default_factory=dict)
    #: `at` and its ISO text, written in every status snapshot until the sensor is read again.
    _at_text: tuple[datetime, str] | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def healthy(self) -> bool:
        """A value is there and trustworthy."""
        return self.health == "ok"

    def snapshot(self) -> dict[str, object]:
        """The part of the status snapshot for this sensor."""
        at, at_text = self.at, None
        if at:
            known = self._at_text
            if known is None or known[0] is not at:
                known = self._at_text = (at, at.isoformat())
            at_text = known[1]
        return {
            "readings": {r.name: {"value": r.value, "unit": r.unit} for r in self.readings.values()},
            "at": at_text,
            "health": self.health,
            "fault": self.fault,
        }


class DriverFault(SensorError):
    """A driver raised something else than a SensorError (a bug): a fault of its sensor all the same."""

    code = "driver_error"


class Sampler:
    """Reads sensors when due; turns failures, stale and stuck values into fault events."""

    def __init__(
        self,
        sensors: Mapping[str, Sensor],
        configs: tuple[SensorConfig, ...],
        build_faults: Mapping[str, SensorError],
        agent: AgentConfig,
        parts: Registry = REGISTRY,
    ) -> None:
        self._sensors = sensors
        self._agent = agent
        self.health: dict[str, SensorHealth] = {c.id: SensorHealth(c) for c in configs}
        self._build_faults = build_faults
        self._parts = parts
        #: Per (sensor, reading): how long its value may stay unchanged before it is judged stuck.
        self._stuck_after: dict[tuple[str, str], float] = {}

    def __iter__(self) -> Iterator[SensorHealth]:
        return iter(self.health.values())

    def sample_due(
        self, now: datetime, monotonic_s: float, *, force: bool = False
    ) -> tuple[list[tuple[str, tuple[Reading, ...]]], list[Event]]:
        """Read every sensor whose interval has passed (all with `force`); return readings and events."""
        taken: list[tuple[str, tuple[Reading, ...]]] = []
        # Ages are judged before reading: a value that went stale while the loop stalled is a fault
        # episode, even if the sensor is read again in this very tick.
        events = self._check_stale(now, monotonic_s)
        for sensor_id, state in self.health.items():
            interval_s = state.config.interval_s
            # A tick landing a hair before the due time (float sums of seconds) still takes the sample.
            if not force and monotonic_s < state.next_due_s - min(EARLY_S, interval_s * EARLY_FRACTION):
                continue
            # A steady cadence (due + interval), restarted from now only after falling a whole interval behind.
            behind = force or state.next_due_s == 0.0 or monotonic_s - state.next_due_s >= interval_s
            state.next_due_s = (monotonic_s if behind else state.next_due_s) + interval_s
            error = self._build_faults.get(sensor_id)
            readings: tuple[Reading, ...] = ()
            if error is None:
                try:
                    readings = self._sensors[sensor_id].read()
                except SensorError as exc:
                    error = exc
                except Exception as exc:  # noqa: BLE001 - a driver's bug is its sensor's fault, never the tick's
                    error = DriverFault(f"driver raised {type(exc).__name__}: {exc}", part=sensor_id, bus=state.config.bus)
            if error is not None:
                events += self._set_fault(state, error.code, str(error), now)
                continue
            taken.append((sensor_id, readings))
            events += self._accept(state, readings, now, monotonic_s)
        return taken, events

    def inputs(self, wanted: Collection[str], monotonic_s: float | None = None) -> dict[str, SensorInput]:
        """The wanted readings as controller inputs, keyed 'sensor-id.reading_name' (aged at `monotonic_s`)."""
        result: dict[str, SensorInput] = {}
        for key in wanted:
            sensor_id, _, name = key.partition(".")
            state = self.health.get(sensor_id)
            reading = None if state is None else state.readings.get(name)
            if state is None or reading is None:
                result[key] = SensorInput(None, None, False)
                continue
            healthy = state.healthy
            age_s = None if monotonic_s is None or state.at_s is None else monotonic_s - state.at_s
            result[key] = SensorInput(reading.value if healthy else None, state.at, healthy, age_s)
        return result

    def _accept(
        self, state: SensorHealth, readings: tuple[Reading, ...], now: datetime, monotonic_s: float
    ) -> list[Event]:
        previous = state.readings
        state.readings = {r.name: r for r in readings}
        state.at, state.at_s = now, monotonic_s
        stuck = self._stuck_reading(state, previous, monotonic_s)
        if stuck is not None:
            return self._set_fault(state, "stuck", stuck, now)
        return self._set_ok(state, now)

    def _stuck_reading(self, state: SensorHealth, previous: dict[str, Reading], monotonic_s: float) -> str | None:
        unchanged_since = state.unchanged_since
        for name, r in state.readings.items():
            floor = STUCK_QUANTITIES.get(r.quantity)
            if floor is None:
                continue
            old = previous.get(name)
            if old is None or old.value != r.value or r.value <= floor:
                # A new value (or one at the floor, where a constant is normal): it holds from now.
                unchanged_since[name] = monotonic_s
                continue
            # The same value as last read: it has held since it was first read.
            stuck_for_s = monotonic_s - unchanged_since.setdefault(name, monotonic_s)
            if stuck_for_s >= self.stuck_after_s(state.config, name, r.quantity):
                return f"{name} stuck at {r.value:g} {r.unit} for {stuck_for_s / 3600:.1f} h"
        return None

    def stuck_after_s(self, config: SensorConfig, name: str, quantity: str) -> float:
        """How long a reading's value may stay unchanged before it is stuck (see STABLE_DRIFT_PER_DAY)."""
        key = (config.id, name)
        limit = self._stuck_after.get(key)
        if limit is None:
            limit = self._agent.stuck_after_s
            drift = STABLE_DRIFT_PER_DAY.get(quantity)
            if drift is not None:
                limit = max(limit, self._resolution(config, name) / drift * DAY_S)
            self._stuck_after[key] = limit
        return limit

    def _resolution(self, config: SensorConfig, name: str) -> float:
        """The smallest step of a reading, as its part declares it (0 for a part the registry does not know)."""
        try:
            part = self._parts.of(config)
        except (KeyError, NotImplementedError):
            return 0.0
        return part.resolution(config, name)

    def _check_stale(self, now: datetime, monotonic_s: float) -> list[Event]:
        events: list[Event] = []
        for state in self.health.values():
            if state.health != "ok" or state.at_s is None:
                continue
            limit_s = state.config.interval_s * self._agent.stale_after_intervals
            age_s = monotonic_s - state.at_s
            if age_s > limit_s:
                events += self._set_fault(state, "stale", f"no fresh value for {age_s:.0f} s", now)
        return events

    def _set_fault(self, state: SensorHealth, code: str, message: str, now: datetime) -> list[Event]:
        health = code if code in ("stale", "stuck") else "fault"
        if health == "fault":
            state.unchanged_since.clear()
        changed = state.health != health or state.fault_code != code
        state.health, state.fault, state.fault_code = health, message, code
        if not changed:
            return []
        return [Event("fault", state.config.id, message, now, {"sensor": state.config.id, "code": code})]

    def _set_ok(self, state: SensorHealth, now: datetime) -> list[Event]:
        was, code = state.health, state.fault_code
        state.health, state.fault, state.fault_code = "ok", None, None
        if was in ("fault", "stale", "stuck"):
            return [
                Event(
                    "fault_cleared", state.config.id, f"{state.config.id} reads again after {code}", now,
                    {"sensor": state.config.id, "code": code},
                )
            ]
        return []
