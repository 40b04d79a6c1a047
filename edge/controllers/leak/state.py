"""The leak controller's state and its JSON-ready form (epoch seconds and ISO dates, no objects)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from edge.controllers.leak.meter import MeterTrack, NightData
from edge.controllers.leak.policy import PolicyState
from edge.controllers.leak.profile import Profile
from edge.controllers.leak.stats import Detector
from edge.controllers.overrides import OverrideMemory

#: How many analysed nights the state keeps (status, evidence).
KEPT_NIGHTS = 31


@dataclass(frozen=True, slots=True)
class NightRecord:
    """One analysed night: its minimum night flow (None when skipped), the baseline and the CUSUM."""

    night: str
    mnf_lph: float | None
    note: str
    baseline_lph: float | None = None
    spread_lph: float | None = None
    z: float | None = None
    cusum: float | None = None
    #: Buckets of the night window with flow, of how many, and the litres that flowed in the window.
    wet_buckets: int | None = None
    buckets: int | None = None
    volume_l: float | None = None
    #: Above the building's configured night use during the warm-up: not learned.
    refused: bool = False

    def evidence(self) -> dict[str, Any]:
        """The night as alarm evidence."""
        return {
            "date": self.night,
            "mnf_lph": None if self.mnf_lph is None else round(self.mnf_lph, 3),
            "note": self.note,
            "baseline_lph": None if self.baseline_lph is None else round(self.baseline_lph, 3),
            "cusum": None if self.cusum is None else round(self.cusum, 3),
            "hours_with_flow": self.wet_buckets,
            "volume_l": None if self.volume_l is None else round(self.volume_l, 3),
        }


@dataclass(frozen=True, slots=True)
class LatchedAlarm:
    """An alarm raised and not yet acknowledged."""

    key: str
    alarm_kind: str
    raised_at: float
    reason: str
    evidence: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class LeakState:
    """Everything the leak controller remembers between calls."""

    track: MeterTrack = MeterTrack()
    detector: Detector = Detector()
    analysed_through: str | None = None
    nights: tuple[NightRecord, ...] = ()
    alarms: tuple[LatchedAlarm, ...] = ()
    valve_closed: bool | None = None
    #: What the valve's overrides were announced as (applied, expired, refused).
    overrides: OverrideMemory = OverrideMemory()
    faulted: bool = False
    #: The baseline the next night will be compared with (None while learning).
    baseline_lph: float | None = None
    spread_lph: float | None = None
    mode: str = "learning"
    reason: str = "no meter data yet"
    #: What the valve policy did about the latched burst, and the hydrant inhibit's sources (leak/policy.py).
    policy: PolicyState = PolicyState()
    #: The learned day (leak/profile.py), the samples of the surge window and the flow over it.
    profile: Profile = Profile()
    surge_recent: tuple[tuple[float, float], ...] = ()
    surge_flow_lph: float | None = None
    #: False after an acknowledged surge until the flow falls back under the threshold.
    surge_armed: bool = True
    #: Since when the meter has counted nothing, once that is longer than silent_after_h.
    silent_since: float | None = None
    #: Night patterns (intermittent flow, nights above the night use) count only nights after this one.
    pattern_from: str | None = None

    def with_day(
        self, profile: Profile, surge_recent: tuple[tuple[float, float], ...], surge_flow_lph: float | None
    ) -> LeakState:
        """`replace(self, profile=..., surge_recent=..., surge_flow_lph=...)`, cheaply (called on every sample)."""
        return LeakState(
            track=self.track, detector=self.detector, analysed_through=self.analysed_through, nights=self.nights,
            alarms=self.alarms, valve_closed=self.valve_closed, overrides=self.overrides, faulted=self.faulted,
            baseline_lph=self.baseline_lph, spread_lph=self.spread_lph, mode=self.mode, reason=self.reason,
            policy=self.policy, profile=profile, surge_recent=surge_recent, surge_flow_lph=surge_flow_lph,
            surge_armed=self.surge_armed, silent_since=self.silent_since, pattern_from=self.pattern_from,
        )

    def latched(self, alarm_kind: str) -> bool:
        """Whether an alarm of this kind is latched."""
        return any(a.alarm_kind == alarm_kind for a in self.alarms)

    def with_track(self, track: MeterTrack) -> LeakState:
        """`dataclasses.replace(self, track=track)` at a fraction of its cost (called on every sample)."""
        return LeakState(
            track=track,
            detector=self.detector,
            analysed_through=self.analysed_through,
            nights=self.nights,
            alarms=self.alarms,
            valve_closed=self.valve_closed,
            overrides=self.overrides,
            faulted=self.faulted,
            baseline_lph=self.baseline_lph,
            spread_lph=self.spread_lph,
            mode=self.mode,
            reason=self.reason,
            policy=self.policy,
            profile=self.profile,
            surge_recent=self.surge_recent,
            surge_flow_lph=self.surge_flow_lph,
            surge_armed=self.surge_armed,
            silent_since=self.silent_since,
            pattern_from=self.pattern_from,
        )


def state_to_dict(state: LeakState) -> dict[str, Any]:
    """JSON-ready form of a state."""
    return {
        "mode": state.mode,
        "reason": state.reason,
        "alarms": _alarms(state.alarms),
        "nights": _nights(state.nights),
        "analysed_through": state.analysed_through,
        "detector": _detector(state.detector),
        "profile_slots": _slots(state.profile),
        **_rest(state),
    }


def _alarms(alarms: tuple[LatchedAlarm, ...]) -> list[dict[str, Any]]:
    return [
        {"key": a.key, "alarm_kind": a.alarm_kind, "raised_at": a.raised_at, "reason": a.reason,
         "evidence": dict(a.evidence)}
        for a in alarms
    ]


def _nights(nights: tuple[NightRecord, ...]) -> list[dict[str, Any]]:
    return [
        {"night": n.night, "mnf_lph": n.mnf_lph, "note": n.note, "baseline_lph": n.baseline_lph,
         "spread_lph": n.spread_lph, "z": n.z, "cusum": n.cusum, "wet_buckets": n.wet_buckets,
         "buckets": n.buckets, "volume_l": n.volume_l, "refused": n.refused}
        for n in nights
    ]


def _slots(profile: Profile) -> list[list[float]]:
    return [list(s) for s in profile.slots]


def _profile_from(data: Mapping[str, Any]) -> Profile:
    """The profile back from "profile_slots" and "profile" (a state saved before it: nothing learned)."""
    slots, hour = data.get("profile_slots"), data.get("profile")
    if not slots or len(slots) != 24 or not hour:
        return Profile()
    return Profile(
        tuple(tuple(float(v) for v in s) for s in slots), hour["hour"], float(hour["volume_l"]),
        float(hour["covered_s"]), bool(hour["spoilt"]),
    )


def _detector(detector: Detector) -> dict[str, Any]:
    return {
        "learned": [list(x) for x in detector.learned],
        "pending": [list(x) for x in detector.pending],
        "cusum": detector.cusum,
    }


def _night(night: NightData | None) -> dict[str, Any] | None:
    return None if night is None else {
        "night": night.night, "volume_l": list(night.volume_l), "covered_s": list(night.covered_s),
        "gaps": night.gaps,
    }


def _rest(state: LeakState, *, with_night: bool = True) -> dict[str, Any]:
    """The keys after "detector", in their order ("night", the track's last key, left out if asked)."""
    track = state.track
    rest = {
        "valve_closed": state.valve_closed,
        "policy": state.policy.to_dict(),
        "overrides": state.overrides.to_dict(),
        "faulted": state.faulted,
        "baseline_lph": state.baseline_lph,
        "spread_lph": state.spread_lph,
        "surge_recent": [list(x) for x in state.surge_recent],
        "surge_flow_lph": state.surge_flow_lph,
        "surge_armed": state.surge_armed,
        "silent_since": state.silent_since,
        "pattern_from": state.pattern_from,
        "profile": {"hour": state.profile.hour, "volume_l": state.profile.volume_l,
                    "covered_s": state.profile.covered_s, "spoilt": state.profile.spoilt},
        "track": {
            "last_at": track.last_at,
            "last_total_l": track.last_total_l,
            "observed_since": track.observed_since,
            "observed_since_total_l": track.observed_since_total_l,
            "zero_run_since": track.zero_run_since,
            "last_zero_at": track.last_zero_at,
            "last_zero_total_l": track.last_zero_total_l,
            "recent": [list(x) for x in track.recent],
            "above_since": track.above_since,
            "flow_lph": track.flow_lph,
        },
    }
    if with_night:
        rest["track"]["night"] = _night(track.night)
    return rest


class StateJson:
    """`dumps(state_to_dict(state))`, encoding again only what changed since the last call.

    The analysed nights, the detector, latched alarms and the buckets of the night being recorded make
    most of the text but change once a night at most (the buckets: every tick of the night window only),
    while the rest of the meter tracking changes every tick. They are immutable, so the same object
    always gives the same text; equal strings (mode, reason, last night analysed) too.
    """

    def __init__(self, dumps: Callable[[Any], str]) -> None:
        self.dumps = dumps
        self._nights: tuple[tuple[NightRecord, ...], str] | None = None
        self._detector: tuple[Detector, str] | None = None
        self._head: tuple[tuple[str, str, tuple[LatchedAlarm, ...]], str] | None = None
        self._middle: tuple[Any, str] | None = None
        self._night: tuple[NightData | None, str] | None = None
        self._slots: tuple[tuple[tuple[float, ...], ...], str] | None = None

    def encode(self, state: LeakState) -> str:
        """The state as JSON text, the same as dumps(state_to_dict(state))."""
        dumps = self.dumps
        nights = self._nights
        if nights is None or nights[0] is not state.nights:
            nights = self._nights = (state.nights, dumps(_nights(state.nights)))
        detector = self._detector
        if detector is None or detector[0] is not state.detector:
            detector = self._detector = (state.detector, dumps(_detector(state.detector)))
        # Latched alarms are immutable once raised (a change is a new tuple): the same tuple, the same text.
        key = (state.mode, state.reason, state.alarms)
        head = self._head
        if head is None or head[0][2] is not state.alarms or head[0][:2] != key[:2] or not _texts(key[:2]):
            text = dumps({"mode": state.mode, "reason": state.reason, "alarms": _alarms(state.alarms)})
            head = self._head = (key, text[:-1])
        middle = self._middle
        if middle is None or middle[0] != state.analysed_through or not _texts((state.analysed_through,)):
            middle = self._middle = (state.analysed_through, dumps(state.analysed_through))
        night = self._night
        if night is None or night[0] is not state.track.night:
            night = self._night = (state.track.night, dumps(_night(state.track.night)))
        slots = self._slots
        if slots is None or slots[0] is not state.profile.slots:
            slots = self._slots = (state.profile.slots, dumps(_slots(state.profile)))
        tail = dumps(_rest(state, with_night=False))  # ends with the track's "}}"
        return (f'{head[1]},"nights":{nights[1]},"analysed_through":{middle[1]},"detector":{detector[1]},'
                f'"profile_slots":{slots[1]},{tail[1:-2]},"night":{night[1]}}}}}')


def _texts(values: tuple[Any, ...]) -> bool:
    """Only strings and None: equal values have the same JSON."""
    return all(value is None or type(value) is str for value in values)


def _pairs(items: Any) -> tuple[tuple[Any, float], ...]:
    return tuple((a, float(b)) for a, b in items)


def state_from_dict(data: Mapping[str, Any]) -> LeakState:
    """Inverse of state_to_dict."""
    t = data["track"]
    night = t.get("night")
    track = MeterTrack(
        last_at=t["last_at"],
        last_total_l=t["last_total_l"],
        observed_since=t["observed_since"],
        observed_since_total_l=t["observed_since_total_l"],
        zero_run_since=t["zero_run_since"],
        last_zero_at=t["last_zero_at"],
        last_zero_total_l=t["last_zero_total_l"],
        recent=tuple((float(a), float(b)) for a, b in t["recent"]),
        above_since=t["above_since"],
        flow_lph=t["flow_lph"],
        night=None if night is None else NightData(
            night["night"], tuple(night["volume_l"]), tuple(night["covered_s"]), int(night["gaps"])
        ),
    )
    d = data["detector"]
    alarms = tuple(
        LatchedAlarm(a["key"], a["alarm_kind"], a["raised_at"], a["reason"], a["evidence"]) for a in data["alarms"]
    )
    policy = PolicyState.from_dict(data.get("policy"))
    if "policy" not in data and data["valve_closed"]:  # saved before the valve policy: closed by its burst
        policy = PolicyState(closed_at=next((a.raised_at for a in alarms if a.alarm_kind == "burst"), None))
    return LeakState(
        track=track,
        detector=Detector(_pairs(d["learned"]), _pairs(d["pending"]), float(d["cusum"])),
        analysed_through=data["analysed_through"],
        nights=tuple(
            NightRecord(n["night"], n["mnf_lph"], n["note"], n["baseline_lph"], n["spread_lph"], n["z"], n["cusum"],
                        n.get("wet_buckets"), n.get("buckets"), n.get("volume_l"), bool(n.get("refused", False)))
            for n in data["nights"]
        ),
        alarms=alarms,
        valve_closed=data["valve_closed"],
        overrides=OverrideMemory.from_dict(data.get("overrides")),
        faulted=data["faulted"],
        baseline_lph=data["baseline_lph"],
        spread_lph=data["spread_lph"],
        mode=data["mode"],
        reason=data["reason"],
        policy=policy,
        profile=_profile_from(data),
        surge_recent=tuple((float(a), float(b)) for a, b in data.get("surge_recent", ())),
        surge_flow_lph=data.get("surge_flow_lph"),
        surge_armed=bool(data.get("surge_armed", True)),
        silent_since=data.get("silent_since"),
        pattern_from=data.get("pattern_from"),
    )
