"""The box agent: sample, decide, drive relays, record; restart-safe and time-injected."""

from __future__ import annotations

import logging
import math
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from importlib.metadata import version
from typing import Any
from zoneinfo import ZoneInfo

from drivers.pulse_meter import PulseMeter
from edge.config.box import BoxConfig
from edge.controllers import overrides as manual
from edge.controllers.base import Controller, Decision
from edge.controllers.events import Event
from edge.controllers.kinds import KINDS
from edge.controllers.overrides import Override
from edge.hardware.assembly import Hardware
from edge.runtime.calendar import Calendar
from edge.runtime.clock import Clock
from edge.runtime.containment import DECIDE, Containment, load_saved, state_json
from edge.runtime.lock import stop_cause
from edge.runtime.logs import log_events, log_readings
from edge.runtime.relays import RelayBank
from edge.runtime.sampler import Sampler
from edge.storage.device import DEVICE_KEY
from edge.storage.keeper import STORE_EVENTS, StoreKeeper
from edge.storage.schema import to_json as store_json
from edge.storage.store import Store

log = logging.getLogger(__name__)

#: Events that are committed at once instead of with the next batch.
CRITICAL_EVENTS: frozenset[str] = frozenset({"alarm", "alarm_acked", "override", "interlock", "agent"})
AGENT_STATE_KEY = "agent"
UPKEEP_JOB = "store.upkeep"
#: A controller state's "mode" and "reason", as the status snapshot shows them.
Summary = tuple[Any, Any]


def build_controllers(config: BoxConfig) -> list[Controller[Any]]:
    """Every controller the config declares."""
    return [kind.build(c, config.device) for kind in KINDS for c in getattr(config, kind.section)]


class Agent:
    """One box's agent; `step()` is one tick, `run()` loops on the injected clock."""

    def __init__(
        self,
        config: BoxConfig,
        hardware: Hardware,
        store: Store | StoreKeeper,
        clock: Clock,
        calendar: Calendar,
        controllers: Sequence[Controller[Any]] | None = None,
    ) -> None:
        self.config = config
        self.hardware = hardware
        # The keeper never raises on a store fault: the loop samples, decides and drives relays whatever it does.
        self.store = store if isinstance(store, StoreKeeper) else StoreKeeper(
            config.agent, now=clock.now, monotonic=clock.monotonic, store=store
        )
        self.store.keep_first(CRITICAL_EVENTS | STORE_EVENTS)
        self.clock = clock
        self.calendar = calendar
        self.controllers = list(controllers if controllers is not None else build_controllers(config))
        self.sampler = Sampler(hardware.sensors, config.sensors, hardware.sensor_faults, config.agent)
        self.states: dict[str, Any] = {}
        self.interlocks: dict[str, dict[str, str]] = {}
        self.bank: RelayBank | None = None
        self._overrides: dict[str, Override] = {}
        self._ack_cursor: Any = None
        self._last_flush_s = float("-inf")
        #: What was last queued under each state key (a dict, or JSON text), and per controller the
        #: last state known to match it, with its mode and reason.
        self._saved: dict[str, Any] = {}
        self._saved_states: dict[str, tuple[Any, Summary]] = {}
        # Every call into a controller goes through it: what one raises is its own fault and fallback.
        self.containment = Containment(self.controllers, config.device, self._apply)
        self._wanted_inputs = frozenset(name for c in self.controllers for name in self.containment.inputs[c.id])
        self._started_iso: str | None = None  # when start() ran, as the status shows it
        self._stopped: dict[str, Any] | None = None  # when and by what a clean stop came, as the status shows it
        self._tz = ZoneInfo(config.device.timezone)
        self._version = version("hameau")
        #: What the fleet asks (edge/link/remote.py), taken at each tick; its events are recorded like ours.
        self.remote: Callable[[datetime], list[Event]] | None = None
        #: The link's part of the status snapshot, when this process runs one (edge/link/runner.py sets it).
        self.link_status: Callable[[], dict[str, Any]] | None = None

    def start(self) -> None:
        """Claim the relays, restore what survived the last run, and decide for now at once."""
        now = self.clock.now()
        self._started_iso = now.isoformat()
        self.bank = RelayBank(self.hardware.open_relays(), self.config.actuators)
        self.store.start(self._tz)
        previous, problem = load_saved(self.store, AGENT_STATE_KEY)
        restored: list[Event] = []
        if problem is not None or not isinstance(previous, dict | None):
            restored.append(self._unreadable("agent", "its saved state", problem or f"{previous!r:.60}", now))
        previous = previous if isinstance(previous, dict) else {}
        for controller in self.controllers:
            state, events = self.containment.restore(controller, *load_saved(self.store, f"controller:{controller.id}"), now)
            self.states[controller.id] = state
            restored += events
            for job in self.containment.jobs[controller.id]:
                self.calendar.add_daily(
                    f"{controller.id}.{job.name}", job.at_local, self._tz, self._job_runner(controller, job.name)
                )
        self.calendar.add_daily(UPKEEP_JOB, self.config.agent.upkeep_at, self._tz, self._upkeep)
        for sensor_id, sensor in self.hardware.sensors.items():
            saved, problem = load_saved(self.store, f"meter:{sensor_id}")
            if isinstance(sensor, PulseMeter) and (saved is not None or problem is not None):
                total = saved.get("total_l") if isinstance(saved, dict) else None
                if type(total) in (int, float) and math.isfinite(total) and total >= 0:
                    sensor.set_total_l(float(total))
                else:
                    restored.append(self._unreadable(sensor_id, "its saved meter total", problem or f"{saved!r:.60}", now))
        self._overrides = self.store.overrides()
        # The cursor stays None: the first decide gets every acknowledgement ever made, including
        # those made while the agent was off; controllers ignore keys they do not hold.
        self._ack_cursor = None
        unclean = bool(previous.get("running"))
        reason = "started after an unclean stop (power cut or crash)" if unclean else "started"
        self.store.save_state(AGENT_STATE_KEY, {"running": True, "started_at": now.isoformat()})
        self.store.save_state(DEVICE_KEY, {"id": self.config.device.id})  # the database is this device's
        self._record([Event("agent", "agent", reason, now, {"unclean": unclean, "pid": os.getpid()}), *restored])
        self.step(starting=True)

    @staticmethod
    def _unreadable(source: str, what: str, why: str, now: datetime) -> Event:
        reason = f"{source}: {what} is unreadable ({why}): started afresh"
        return Event("fault", source, reason, now, {"call": "restore", "reset": True})

    def step(self, *, starting: bool = False) -> None:
        """One tick: sample what is due, decide, drive relays, record, commit when due."""
        assert self.bank is not None, "start() first"
        now, monotonic_s = self.clock.now(), self.clock.monotonic()
        taken, events = self.sampler.sample_due(now, monotonic_s, force=starting)
        for sensor_id, readings in taken:
            self.store.add_readings(now, sensor_id, readings)
            log_readings(log, sensor_id, readings, now)
        acks: frozenset[str] = frozenset()
        if starting or self.store.changed_externally():
            # Overrides and acknowledgements only come from a technician's command (another connection).
            self._overrides = self.store.overrides()
            acks, self._ack_cursor = self.store.acks_since(self._ack_cursor)
        inputs = self.sampler.inputs(self._wanted_inputs, monotonic_s)
        for controller in self.controllers:
            overrides, relays, state = self._overrides, self.containment.relays[controller.id], self.states[controller.id]
            # A technician's orders to a controller itself (a leak watch's hydrant inhibit) are keyed "<id>/...".
            mine = {r: o for r, o in overrides.items() if r in relays or r.startswith(f"{controller.id}/")} \
                if overrides else {}
            mine_acks = frozenset(k for k in acks if k.startswith(f"{controller.id}/")) if acks else acks

            def decide(c: Controller[Any] = controller, s: Any = state, o: Any = mine, a: Any = mine_acks) -> list[Event]:
                return self._apply(c, c.decide(s, inputs, o, now, starting=starting, acks=a), now)

            events += self.containment.run(controller, DECIDE, decide, now, state=state, overrides=mine)
        self.calendar.run_pending(now)
        events += self.bank.check_feedback(now)
        if self.remote is not None:
            events += self._from_remote(now)
        if self._overrides:
            self._expire_overrides(now)
        if events:
            self._record(events)
        critical = any(e.kind in CRITICAL_EVENTS for e in events)
        if critical or monotonic_s - self._last_flush_s >= self.config.agent.commit_interval_s:
            self.flush(now, monotonic_s, critical=critical)

    def _from_remote(self, now: datetime) -> list[Event]:
        assert self.remote is not None
        try:
            return self.remote(now)
        except Exception as error:  # the fleet's requests never stop the loop
            log.exception("remote requests failed")
            return [Event("link", "link", f"{type(error).__name__}: {error}", now, {"what": "link_fault"})]

    def _apply(self, controller: Controller[Any], decision: Decision[Any], now: datetime) -> list[Event]:
        assert self.bank is not None
        self.states[controller.id] = decision.state
        self.interlocks[controller.id] = dict(decision.interlocks)
        for command in decision.commands:
            self.bank.apply(controller.id, command, self._overrides, now)
        return list(decision.events)

    def _job_runner(self, controller: Controller[Any], name: str) -> Any:
        def job(now: datetime) -> list[Event]:
            return self._apply(controller, controller.run_job(name, self.states[controller.id], now), now)

        def run(now: datetime) -> None:
            self._record(self.containment.run(controller, f"job {name}", lambda: job(now), now))

        return run

    def _upkeep(self, now: datetime) -> None:
        done = self.store.upkeep(now)
        if done is None:
            self._record([Event("job", "store", "daily upkeep skipped: the store is faulted", now, {"job": UPKEEP_JOB})])
            return
        self._record([Event("job", "store", done.describe(), now, {
            "job": UPKEEP_JOB, "readings_removed": done.readings_removed, "kept_since": done.kept_since.isoformat(),
            "hourly_folded": done.hourly_folded, "thinned": done.thinned, "used_bytes": done.used_bytes,
            "cap_bytes": done.cap_bytes, "wal_before_bytes": done.wal_before_bytes,
            "wal_after_bytes": done.wal_after_bytes,
        })])

    def _expire_overrides(self, now: datetime) -> None:
        for relay_id in manual.expired(self._overrides, now):
            self.store.clear_override(relay_id, now, "expiry")
            del self._overrides[relay_id]

    def _record(self, events: list[Event]) -> None:
        log_events(log, events)
        for event in events:
            if event.kind == "alarm":
                self.store.raise_alarm(
                    key=str(event.data.get("key", event.source)), kind=str(event.data.get("alarm_kind", "alarm")),
                    source=event.source, reason=event.reason, evidence=dict(event.data.get("evidence", {})),
                    at=event.at,
                )
            if event.kind in CRITICAL_EVENTS:
                self.store.add_event_now(event)
            else:
                self.store.add_event(event)

    def flush(self, now: datetime, monotonic_s: float, *, critical: bool = False) -> None:
        """Save controller states, meter totals and the status snapshot, then commit (critical: with the safety copy)."""
        summaries = {controller.id: self._save_controller(controller) for controller in self.controllers}
        for sensor_id, sensor in self.hardware.sensors.items():
            if isinstance(sensor, PulseMeter):
                self._save(f"meter:{sensor_id}", {"total_l": sensor.total_l})
        self.store.save_status(self._snapshot(now, summaries))
        self.store.commit(critical=critical)
        self._last_flush_s = monotonic_s

    def _save(self, key: str, value: dict[str, Any]) -> None:
        if self._saved.get(key) != value:
            self.store.save_state(key, value)
            self._saved[key] = value

    def _save_controller(self, controller: Controller[Any]) -> Summary:
        """Queue a controller's state if it changed since last saved; its mode and reason (or its fault)."""
        state = self.states[controller.id]
        known = self._saved_states.get(controller.id)
        # States are immutable values: an equal state has the same JSON as the one already saved.
        if known is not None and (known[0] is state or known[0] == state):
            return self.containment.summary(controller.id) or known[1]
        found: list[Summary] = []

        def save() -> list[Event]:
            key = f"controller:{controller.id}"
            text = state_json(controller, state, store_json)
            if self._saved.get(key) != text:
                self.store.save_state_json(key, text)
                self._saved[key] = text
            found.append(controller.state_summary(state))
            return []

        self._record(self.containment.run(controller, "saving its state", save, self.clock.now()))
        if found:
            self._saved_states[controller.id] = (state, found[0])
        return self.containment.summary(controller.id) or (found[0] if found else ("fault", "state unsaved"))

    def _summary(self, controller: Controller[Any]) -> Summary:
        fault = self.containment.summary(controller.id)
        if fault is not None:
            return fault
        try:
            return controller.state_summary(self.states[controller.id])
        except Exception as exc:  # noqa: BLE001 - the status shows what it can
            return "fault", f"state_summary raised {type(exc).__name__}: {exc}"

    def status_snapshot(self, now: datetime) -> dict[str, Any]:
        """What `hameau-edge status` shows, as the agent sees it now."""
        return self._snapshot(now, {c.id: self._summary(c) for c in self.controllers})

    def _snapshot(self, now: datetime, summaries: Mapping[str, Summary]) -> dict[str, Any]:
        assert self.bank is not None
        controllers = {}
        for controller in self.controllers:
            mode, reason = summaries[controller.id]
            controllers[controller.id] = {
                "kind": type(controller).__name__.removesuffix("Controller").lower(),
                "mode": mode,
                "reason": reason,
            }
        interlocks: dict[str, str] = {}
        for per_controller in self.interlocks.values():
            interlocks.update(per_controller)
        return {
            "at": now.isoformat(),
            "agent": {
                "pid": os.getpid(),
                "started_at": self._started_iso,
                "version": self._version,
                "stopped": self._stopped,
            },
            "sensors": {h.config.id: h.snapshot() for h in self.sampler},
            "controllers": controllers,
            "relays": self.bank.snapshot(),
            "interlocks": interlocks,
            "store": self.store.health(),
            **self._link_part(),
        }

    def _link_part(self) -> dict[str, Any]:
        """{"link": ...} when the process runs a link; a failing provider never costs the snapshot."""
        if self.link_status is None:
            return {}
        try:
            return {"link": self.link_status()}
        except Exception as exc:  # noqa: BLE001 - the status shows what it can
            return {"link": {"error": f"{type(exc).__name__}: {exc}"}}

    def run(self, stop: threading.Event) -> None:
        """Tick every `tick_s` until `stop` is set, then stop cleanly."""
        self.start()
        try:
            while not stop.wait(self.config.agent.tick_s):
                self.step()
        finally:
            self.stop(by=stop_cause(stop))

    def stop(self, by: str | None = None) -> None:
        """A clean stop: every relay to its safe state, then the stop (when, `by` what) and the relays as left,
        recorded and committed."""
        now = self.clock.now()
        try:
            self._release_relays()
        finally:
            self._stopped = {"at": now.isoformat(), "by": by}
            self.store.save_state(AGENT_STATE_KEY, {"running": False, "stopped_at": now.isoformat(), "stopped_by": by})
            self._record([Event("agent", "agent", "stopped" + (f" by {by}" if by else ""), now,
                                {"unclean": False, "by": by})])
            self.flush(now, self.clock.monotonic())
            self.store.close()

    def abandon(self) -> None:
        """Die as a power cut would: nothing more is written and the relay outputs are released."""
        self.store.abandon()
        self._release_relays()

    def _release_relays(self) -> None:
        if self.bank is not None:
            self.bank.close()
            for state in self.bank.states.values():  # as the relays were left: each in its safe state
                state.on, state.decided_by, state.until = state.config.safe_state, "agent stopped", None
                state.reason = "released at the stop: safe state"
