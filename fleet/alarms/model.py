"""What a fleet alarm is: kinds and severities, the signals that open and clear them, the stored row, settings."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fleet.errors import FleetConfigError

CRITICAL, WARNING, INFO = "critical", "warning", "info"
SEVERITIES = (CRITICAL, WARNING, INFO)
OPEN, CLEARED = "open", "cleared"

#: The fleet's alarm kinds.
LEAK, CONTINUOUS_FLOW, BURST, BOX_ALARM = "leak", "continuous_flow", "burst", "box_alarm"
OFFLINE, SILENT = "offline", "silent"
SENSOR_FAULT, RELAY_FEEDBACK, STORAGE_FAULT, CONTROLLER_FAULT = (
    "sensor_fault", "relay_feedback", "storage_fault", "controller_fault",
)
CONFIG_REJECTED, DATA_THINNED = "config_rejected", "data_thinned"
KINDS = (
    LEAK, CONTINUOUS_FLOW, BURST, BOX_ALARM, OFFLINE, SILENT, SENSOR_FAULT, RELAY_FEEDBACK, STORAGE_FAULT,
    CONTROLLER_FAULT, CONFIG_REJECTED, DATA_THINNED,
)
#: Kinds that are the box's own latched alarms: they end when the box reports them acknowledged, and an
#: acknowledgement in the fleet is sent to the box.
BOX_KINDS = frozenset({LEAK, CONTINUOUS_FLOW, BURST, BOX_ALARM})

#: The box's alarm kinds (edge/controllers/leak) -> (fleet kind, severity). Water lost at night or a burst
#: pipe is money and damage every hour: critical. Water that never pauses for a day may be a running cistern
#: as well as a leak, and an implausible baseline is a learning that failed: warnings.
BOX_ALARM_KINDS: Mapping[str, tuple[str, str]] = {
    "night_flow": (LEAK, CRITICAL),
    "intermittent_night_flow": (LEAK, CRITICAL),
    "implausible_baseline": (LEAK, WARNING),
    "continuous_flow": (CONTINUOUS_FLOW, WARNING),
    "burst": (BURST, CRITICAL),
    "profile_burst": (BURST, CRITICAL),
}
#: An alarm kind the box raises that this table does not know yet: still the box's latched alarm.
UNKNOWN_BOX_ALARM = (BOX_ALARM, CRITICAL)


@dataclass(frozen=True, slots=True)
class Raise:
    """A record says a condition holds (again): open the stream's alarm, or count one more occurrence."""

    kind: str
    source: str
    severity: str
    message: str
    evidence: Mapping[str, Any]
    at: float
    order: float
    box_ref: str | None = None
    #: A one-off (nothing will say it ended): open until acknowledged.
    once: bool = False


@dataclass(frozen=True, slots=True)
class Clear:
    """A record says a condition ended: clear the stream's open alarm if it began before this record."""

    kind: str
    source: str
    at: float
    order: float
    by: str
    #: Who acknowledged it on the box (an alarm_acked event), recorded if the fleet had no acknowledgement.
    acked_by: str | None = None


Signal = Raise | Clear


@dataclass(frozen=True, slots=True)
class Alarm:
    """One alarm as the fleet keeps it."""

    id: str
    device: str
    kind: str
    source: str
    severity: str
    state: str
    first_seen: float
    last_seen: float
    cleared_at: float | None
    cleared_by: str | None
    message: str
    evidence: Mapping[str, Any]
    count: int
    box_ref: str | None
    acked_by: str | None
    acked_at: float | None
    ack_note: str | None
    ack_command: str | None
    #: A one-off: nothing will say it ended, so the acknowledgement ends it.
    until_ack: bool

    def to_dict(self) -> dict[str, Any]:
        """Plain data for --json."""
        return {name: getattr(self, name) for name in self.__slots__}  # type: ignore[attr-defined]


ALARM_COLUMNS = (
    "id, device, kind, source, severity, state, first_seen, last_seen, cleared_at, cleared_by, message, evidence,"
    " count, box_ref, acked_by, acked_at, ack_note, ack_command, until_ack"
)


def alarm_from_row(row: tuple[Any, ...]) -> Alarm:
    """An Alarm from a row of ALARM_COLUMNS."""
    values = list(row)
    values[11] = json.loads(values[11])
    values[12] = int(values[12])
    values[18] = bool(values[18])
    return Alarm(*values)


@dataclass(frozen=True, slots=True)
class AlarmSettings:
    """The alarms' settings (the fleet settings file's [alarms] table)."""

    #: A known box with no record and no status for this long is `silent`: 3 h, against the box's batch
    #: ages of 0 s (events), 30 s (totals) and 60 s (raw readings) by default, at most 1 day.
    silent_after_s: float = 3 * 3600.0
    #: How often the silence job looks.
    silence_interval_s: float = 60.0
    #: How long an acknowledgement sent to a box stays valid (a box offline longer refuses it as expired).
    ack_ttl_s: float = 7 * 86400.0


_LIMITS_S = {
    "silent_after_s": (600.0, 30 * 86400.0),
    "silence_interval_s": (5.0, 86400.0),
    "ack_ttl_s": (60.0, 7 * 86400.0),
}


def parse_alarm_settings(table: Mapping[str, Any], where: str) -> AlarmSettings:
    """AlarmSettings from a settings table (`where` names the file and table); FleetConfigError naming the key."""
    if not isinstance(table, Mapping):
        raise FleetConfigError(f"{where}: must be a table")
    unknown = sorted(set(table) - set(_LIMITS_S))
    if unknown:
        raise FleetConfigError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(sorted(_LIMITS_S))})")
    values: dict[str, float] = {}
    for key, (low, high) in _LIMITS_S.items():
        if key not in table:
            continue
        value = table[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise FleetConfigError(f"{where}.{key}: must be a number of seconds, got {value!r}")
        if not math.isfinite(value) or not low <= value <= high:
            raise FleetConfigError(f"{where}.{key}: must be {low:g}..{high:g} s, got {value!r}")
        values[key] = float(value)
    return AlarmSettings(**values)
