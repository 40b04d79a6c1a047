"""The leak controller's state and its JSON-ready form (epoch seconds and ISO dates, no objects)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from edge.controllers.leak_meter import MeterTrack, NightData
from edge.controllers.leak_stats import Detector

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

    def evidence(self) -> dict[str, Any]:
        """The night as alarm evidence."""
        return {
            "date": self.night,
            "mnf_lph": None if self.mnf_lph is None else round(self.mnf_lph, 3),
            "note": self.note,
            "baseline_lph": None if self.baseline_lph is None else round(self.baseline_lph, 3),
            "cusum": None if self.cusum is None else round(self.cusum, 3),
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
    override_note: str = ""
    faulted: bool = False
    #: The baseline the next night will be compared with (None while learning).
    baseline_lph: float | None = None
    spread_lph: float | None = None
    mode: str = "learning"
    reason: str = "no meter data yet"

    def latched(self, alarm_kind: str) -> bool:
        """Whether an alarm of this kind is latched."""
        return any(a.alarm_kind == alarm_kind for a in self.alarms)


def state_to_dict(state: LeakState) -> dict[str, Any]:
    """JSON-ready form of a state."""
    track = state.track
    night = track.night
    return {
        "mode": state.mode,
        "reason": state.reason,
        "alarms": [
            {"key": a.key, "alarm_kind": a.alarm_kind, "raised_at": a.raised_at, "reason": a.reason,
             "evidence": dict(a.evidence)}
            for a in state.alarms
        ],
        "nights": [
            {"night": n.night, "mnf_lph": n.mnf_lph, "note": n.note, "baseline_lph": n.baseline_lph,
             "spread_lph": n.spread_lph, "z": n.z, "cusum": n.cusum}
            for n in state.nights
        ],
        "analysed_through": state.analysed_through,
        "detector": {
            "learned": [list(x) for x in state.detector.learned],
            "pending": [list(x) for x in state.detector.pending],
            "cusum": state.detector.cusum,
        },
        "valve_closed": state.valve_closed,
        "override_note": state.override_note,
        "faulted": state.faulted,
        "baseline_lph": state.baseline_lph,
        "spread_lph": state.spread_lph,
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
            "night": None if night is None else {
                "night": night.night, "volume_l": list(night.volume_l), "covered_s": list(night.covered_s),
                "gaps": night.gaps,
            },
        },
    }


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
    return LeakState(
        track=track,
        detector=Detector(_pairs(d["learned"]), _pairs(d["pending"]), float(d["cusum"])),
        analysed_through=data["analysed_through"],
        nights=tuple(
            NightRecord(n["night"], n["mnf_lph"], n["note"], n["baseline_lph"], n["spread_lph"], n["z"], n["cusum"])
            for n in data["nights"]
        ),
        alarms=tuple(
            LatchedAlarm(a["key"], a["alarm_kind"], a["raised_at"], a["reason"], a["evidence"])
            for a in data["alarms"]
        ),
        valve_closed=data["valve_closed"],
        override_note=data["override_note"],
        faulted=data["faulted"],
        baseline_lph=data["baseline_lph"],
        spread_lph=data["spread_lph"],
        mode=data["mode"],
        reason=data["reason"],
    )
