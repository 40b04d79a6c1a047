"""Containment: whatever one controller raises is its own fault and fallback, never the agent's end.

Each call into a controller (decide, a calendar job, saving or summing up its state, restoring it) runs
here. An exception is a `fault` event from the controller (the call, the exception's class and words;
the traceback goes to the log), reported when the fault starts and again only when its words change
(at most once an hour then); the fault's end is a `fault_cleared` event. While decide raises, the
controller's relays follow its kind's fallback (edge/controllers/*/fallback.py: code that shares
nothing with the controller's decisions) from its last good state, or their safe states when there
is none or it raises too; decide is tried again every tick. A saved state that cannot be read is a
`fault` event and the controller starts from its initial state.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from edge.config.model import DeviceConfig
from edge.controllers.base import Controller, Decision, Fallback, Job, RelayCommand
from edge.controllers.events import Event
from edge.controllers.kinds import fallback_for
from edge.controllers.overrides import Override
from edge.controllers.state_codec import (
    DEFAULT_STATE_VERSION,
    StateError,
    unversioned,
    versioned_json,
)

log = logging.getLogger(__name__)

#: A fault whose words keep changing (a number in them) is reported again at most this often.
REPORT_AGAIN_S = 3600.0
DECIDE = "decide"

#: Applies a decision of a controller (its state, relay commands, interlocks); returns its events.
Apply = Callable[[Controller[Any], Decision[Any], datetime], list[Event]]


def describe_error(exc: BaseException) -> str:
    """'ZeroDivisionError: division by zero' (the class alone when the exception has no words)."""
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


@dataclass
class _Fault:
    error: str
    reported: str
    reported_class: type
    reported_at: datetime


class Containment:
    """One agent's controllers, each called so that what it raises stays its own."""

    def __init__(self, controllers: Sequence[Controller[Any]], device: DeviceConfig, apply: Apply) -> None:
        self._apply = apply
        self.fallbacks: dict[str, Fallback | None] = {}
        self.relays: dict[str, tuple[str, ...]] = {}
        self.inputs: dict[str, tuple[str, ...]] = {}
        self.jobs: dict[str, tuple[Job, ...]] = {}
        self.faults: dict[str, dict[str, _Fault]] = {}
        #: Per faulted controller, what its fallback did last: (reason, commands).
        self._fallen: dict[str, tuple[str, tuple[tuple[str, bool | None], ...]]] = {}
        for c in controllers:
            self.faults[c.id] = {}
            self.fallbacks[c.id] = self._quiet(c.id, "building its fallback", lambda c=c: fallback_for(c, device))
            self.relays[c.id] = tuple(self._quiet(c.id, "listing its relays", lambda c=c: c.relays) or ())
            self.inputs[c.id] = tuple(self._quiet(c.id, "listing its inputs", lambda c=c: c.inputs) or ())
            self.jobs[c.id] = tuple(self._quiet(c.id, "listing its jobs", lambda c=c: c.jobs) or ())

    @staticmethod
    def _quiet(controller_id: str, what: str, action: Callable[[], Any]) -> Any:
        try:
            return action()
        except Exception:  # a controller's bug is its own; the agent starts anyway
            log.warning("controller %s raised %s", controller_id, what, exc_info=True)
            return None

    def run(
        self,
        controller: Controller[Any],
        call: str,
        action: Callable[[], list[Event]],
        now: datetime,
        *,
        state: Any = None,
        overrides: Mapping[str, Override] | None = None,
    ) -> list[Event]:
        """Run `action` (a controller call and the applying of its decision); on an exception, its fault.

        A failing `decide` hands the controller's relays to its fallback, given `state` (its last good state).
        """
        try:
            events = action()
        except Exception as exc:  # noqa: BLE001 - whatever a controller raises is its fault, not the agent's
            return self._failed(controller, call, exc, now, state, overrides or {})
        if self.faults[controller.id]:
            events = [*events, *self._cleared(controller.id, call, now)]
        return events

    def summary(self, controller_id: str) -> tuple[str, str] | None:
        """("fault", what raised and what stands in) while the controller is faulted, else None."""
        faults = self.faults.get(controller_id)
        if not faults:
            return None
        parts = [f"{call} raised {fault.error}" for call, fault in faults.items()]
        fallen = self._fallen.get(controller_id)
        if fallen is not None:
            parts.append(fallen[0])
        return "fault", "; ".join(parts)

    def restore(
        self, controller: Controller[Any], saved: Any, problem: str | None, now: datetime
    ) -> tuple[Any, list[Event]]:
        """The state to start from: the saved one when it reads, else the initial state and a fault event."""
        cid = controller.id
        try:
            if problem is not None:
                raise StateError(problem)
            if saved is not None:
                version = int(getattr(controller, "state_version", DEFAULT_STATE_VERSION))
                oldest = int(getattr(controller, "oldest_state_version", version))
                return controller.state_from_dict(unversioned(saved, version, oldest)), []
        except Exception as exc:  # an unreadable state must not keep the box from starting
            log.warning("controller %s: saved state unreadable", cid, exc_info=True)
            reason = f"controller {cid}: saved state unreadable ({describe_error(exc)}): reset to its initial state"
            data = {"controller": cid, "call": "restore", "error": type(exc).__name__, "message": str(exc),
                    "reset": True}
            events = [Event("fault", cid, reason, now, data)]
        else:
            events = []
        initial = self._quiet(cid, "giving its initial state", controller.initial_state)
        return initial, events

    def _failed(
        self, controller: Controller[Any], call: str, exc: Exception, now: datetime, state: Any,
        overrides: Mapping[str, Override],
    ) -> list[Event]:
        cid = controller.id
        error = describe_error(exc)
        events: list[Event] = []
        if call == DECIDE:
            events += self._fall_back(controller, state, overrides, now)
            consequence = self._fallen[cid][0]
        elif call.startswith("job"):
            consequence = "the job is skipped until its next time"
        else:
            consequence = "the last saved state is kept"
        known = self.faults[cid].get(call)
        if known is not None:
            known.error = error
            # Words that change (a number in them) are told again at most hourly; another exception class at once.
            recent = (now - known.reported_at).total_seconds() < REPORT_AGAIN_S and known.reported_class == type(exc)
            if error == known.reported or recent:
                return events
            known.reported, known.reported_class, known.reported_at = error, type(exc), now
        else:
            self.faults[cid][call] = _Fault(error, error, type(exc), now)
        log.warning("controller %s: %s raised %s", cid, call, error, exc_info=exc)
        data = {"controller": cid, "call": call, "error": type(exc).__name__, "message": str(exc)}
        events.insert(0, Event("fault", cid, f"controller {cid}: {call} raised {error}; {consequence}", now, data))
        return events

    def _fall_back(
        self, controller: Controller[Any], state: Any, overrides: Mapping[str, Override], now: datetime
    ) -> list[Event]:
        """Drive the controller's relays from its fallback (their safe states if it has none or it raises)."""
        cid = controller.id
        fallback = self.fallbacks.get(cid)
        try:
            if fallback is None:
                raise LookupError("no fallback for this kind of controller")
            decided = fallback.decide(state, overrides, now)
            self._apply(controller, Decision(state, decided.commands, (), decided.interlocks), now)
            reason, commands = f"fallback: {decided.reason}", decided.commands
        except Exception as exc:  # then the relays' declared safe states
            if fallback is not None:
                log.warning("controller %s: fallback raised", cid, exc_info=True)
            why = "no fallback" if fallback is None else f"fallback raised {describe_error(exc)}"
            reason = f"relays to their safe state ({why})" if self.relays[cid] else "it drives no relay"
            commands = tuple(RelayCommand(r, None, f"controller {cid} faulted: {reason}") for r in self.relays[cid])
            self._apply(controller, Decision(state, commands), now)
        orders = tuple((c.relay, c.on) for c in commands)
        before = self._fallen.get(cid)
        self._fallen[cid] = (reason, orders)
        if before is not None and before[1] == orders:
            return []
        return [
            Event("decision", cid, f"controller {cid} faulted, {reason}", now, {"relay": relay, "on": on, "mode": "fault"})
            for relay, on in orders
            if before is None or (relay, on) not in before[1]
        ]

    def _cleared(self, cid: str, call: str, now: datetime) -> list[Event]:
        fault = self.faults[cid].pop(call, None)
        if fault is None:
            return []
        if call == DECIDE:
            self._fallen.pop(cid, None)
        reason = f"controller {cid}: {call} works again (after {fault.error})"
        return [Event("fault_cleared", cid, reason, now, {"controller": cid, "call": call})]


def load_saved(store: Any, key: str) -> tuple[Any, str | None]:
    """What the store holds under `key` (None: nothing), and why it cannot be read if it cannot."""
    try:
        return store.load_state(key), None
    except ValueError as exc:  # garbage text in the store is the state's fault only
        return None, f"not JSON: {describe_error(exc)}"


def state_json(controller: Controller[Any], state: Any, dumps: Callable[[Any], str]) -> str:
    """A controller's state as the JSON text the agent saves, with its layout version first."""
    version = int(getattr(controller, "state_version", DEFAULT_STATE_VERSION))
    return versioned_json(controller.state_to_json(state, dumps), version)
