"""What a notification says: the mail's subject and text and the webhook's JSON, for one alarm, a group of
alarms of one kind, their clearing, and the daily digest. Pure functions of alarm rows, the time and the zone."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from fleet.notify.settings import SEVERITIES

#: The alarm columns the notifier reads (the alarms table's contract).
ALARM_COLUMNS = "id, device, kind, source, severity, state, first_seen, last_seen, cleared_at, message, evidence"
#: Lines of alarms listed in one message before "... and N more".
MAX_LISTED = 200


@dataclass(frozen=True, slots=True)
class Alarm:
    """One row of the alarms table, its evidence decoded."""

    id: str
    device: str
    kind: str
    source: str
    severity: str
    state: str
    first_seen: float | None
    last_seen: float | None
    cleared_at: float | None
    message: str
    evidence: Any

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> Alarm:
        """An alarm from a row of `SELECT ALARM_COLUMNS FROM alarms` (evidence that is not JSON kept as text)."""
        try:
            evidence = json.loads(row[10])
        except (TypeError, ValueError):
            evidence = row[10]
        return cls(str(row[0]), str(row[1]), str(row[2]), str(row[3]), str(row[4]), str(row[5]),
                   _num(row[6]), _num(row[7]), _num(row[8]), str(row[9]), evidence)

    def as_json(self) -> dict[str, Any]:
        """The alarm as the webhook's JSON shows it."""
        return {
            "id": self.id, "device": self.device, "kind": self.kind, "source": self.source,
            "severity": self.severity, "state": self.state, "first_seen": self.first_seen,
            "last_seen": self.last_seen, "cleared_at": self.cleared_at, "message": self.message,
            "evidence": self.evidence,
        }


@dataclass(frozen=True, slots=True)
class Message:
    """One notification, whatever the channel: the mail's subject and text, the webhook's JSON document."""

    kind: str
    alarm_ids: tuple[str, ...]
    subject: str
    text: str
    document: Mapping[str, Any]
    #: The commune whose boxes' alarms it tells of (None: the service's own boxes, or every commune's).
    commune: str | None = None
    #: Only for the commune's recipients (its own digest), not for the service's channels.
    commune_only: bool = False


def _num(value: Any) -> float | None:
    return None if value is None else float(value)


def when(epoch_s: float | None, zone: tzinfo) -> str:
    """A time as people read it in the fleet's zone, or "-"."""
    if epoch_s is None:
        return "-"
    return datetime.fromtimestamp(epoch_s, zone).strftime("%Y-%m-%d %H:%M:%S %Z")


def _duration(seconds: float) -> str:
    minutes = max(int(seconds // 60), 0)
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"


def _worst(alarms: Sequence[Alarm]) -> str:
    known = [a.severity for a in alarms if a.severity in SEVERITIES]
    return max(known, key=SEVERITIES.index) if known else alarms[0].severity


def _document(kind: str, subject: str, text: str, alarms: Sequence[Alarm], **extra: Any) -> dict[str, Any]:
    return {"version": 1, "kind": kind, "subject": subject, "text": text,
            "alarms": [a.as_json() for a in alarms], **extra}


def _details(alarm: Alarm, zone: tzinfo) -> list[str]:
    lines = [
        f"Device:     {alarm.device}",
        f"Kind:       {alarm.kind}",
        f"Severity:   {alarm.severity}",
        f"Source:     {alarm.source}",
        f"State:      {alarm.state}",
        f"First seen: {when(alarm.first_seen, zone)}",
        f"Last seen:  {when(alarm.last_seen, zone)}",
    ]
    if alarm.cleared_at is not None:
        lines.append(f"Cleared:    {when(alarm.cleared_at, zone)}")
    lines += [f"Alarm id:   {alarm.id}", "", "Evidence:", json.dumps(alarm.evidence, indent=2, sort_keys=True)]
    return lines


def alarm_message(alarm: Alarm, zone: tzinfo) -> Message:
    """The announcement of one alarm (which may have cleared already while it waited)."""
    state = "cleared" if alarm.state == "cleared" else "open"
    subject = f"[Hameau] {alarm.severity.upper()} {alarm.kind} on {alarm.device}"
    if state == "cleared":
        subject += " (already cleared)"
    text = "\n".join([f"{alarm.device}: {alarm.kind} ({alarm.severity}), {state}", alarm.message, "",
                      *_details(alarm, zone)]) + "\n"
    return Message("alarm", (alarm.id,), subject, text, _document("alarm", subject, text, [alarm]))


def cleared_message(alarm: Alarm, zone: tzinfo) -> Message:
    """The news that an announced alarm cleared."""
    subject = f"[Hameau] cleared: {alarm.kind} on {alarm.device}"
    lasted = ""
    if alarm.cleared_at is not None and alarm.first_seen is not None:
        lasted = f" after {_duration(alarm.cleared_at - alarm.first_seen)}"
    head = f"{alarm.device}: {alarm.kind} ({alarm.severity}) cleared at {when(alarm.cleared_at, zone)}{lasted}"
    text = "\n".join([head, alarm.message, "", *_details(alarm, zone)]) + "\n"
    return Message("cleared", (alarm.id,), subject, text, _document("cleared", subject, text, [alarm]))


def _listing(alarms: Sequence[Alarm], zone: tzinfo, *, with_kind: bool = False) -> list[str]:
    lines = [
        f"  {a.device:<20} {f'{a.kind:<16} ' if with_kind else ''}{a.severity:<8} {a.state:<7} since"
        f" {when(a.first_seen, zone)}  {a.message}"
        for a in alarms[:MAX_LISTED]
    ]
    if len(alarms) > MAX_LISTED:
        lines.append(f"  ... and {len(alarms) - MAX_LISTED} more")
    return lines


def group_message(kind: str, alarms: Sequence[Alarm], zone: tzinfo, *, cleared: bool) -> Message:
    """One message for many alarms of one kind that opened (or cleared) together, naming every device."""
    alarms = sorted(alarms, key=lambda a: (a.device, a.id))
    devices = len({a.device for a in alarms})
    if cleared:
        subject = f"[Hameau] cleared: {kind} on {devices} boxes"
        head = f"{len(alarms)} alarms of kind {kind} cleared on {devices} boxes:"
    else:
        subject = f"[Hameau] {_worst(alarms).upper()} {kind} on {devices} boxes"
        head = f"{len(alarms)} alarms of kind {kind} opened together on {devices} boxes:"
    text = "\n".join([head, "", *_listing(alarms, zone)]) + "\n"
    message_kind = "cleared" if cleared else "group"
    return Message(message_kind, tuple(a.id for a in alarms), subject, text,
                   _document(message_kind, subject, text, alarms, group_kind=kind))


def _per_severity(alarms: Sequence[Alarm]) -> dict[str, int]:
    counts = {severity: 0 for severity in reversed(SEVERITIES)}
    for alarm in alarms:
        counts[alarm.severity] = counts.get(alarm.severity, 0) + 1
    return counts


def _counts_line(counts: Mapping[str, int]) -> str:
    total = sum(counts.values())
    return f"{total} ({', '.join(f'{n} {severity}' for severity, n in counts.items())})"


def digest_message(day: str, open_alarms: Sequence[Alarm], opened: Sequence[Alarm], cleared: Sequence[Alarm],
                   zone: tzinfo) -> Message:
    """The daily digest: the alarms open now, and those opened and cleared in the last 24 hours, per severity."""
    counts = {"open": _per_severity(open_alarms), "opened_24h": _per_severity(opened),
              "cleared_24h": _per_severity(cleared)}
    open_total = sum(counts["open"].values())
    worst = ", ".join(f"{n} {severity}" for severity, n in counts["open"].items() if n)
    subject = f"[Hameau] daily digest {day}: {open_total} open alarm{'' if open_total == 1 else 's'}"
    subject += f" ({worst})" if worst else ""
    ordered = sorted(open_alarms, key=lambda a: (-SEVERITIES.index(a.severity) if a.severity in SEVERITIES else 0,
                                                 a.device, a.kind))
    text = "\n".join([
        f"Open alarms now: {_counts_line(counts['open'])}",
        f"Opened in the last 24 h: {_counts_line(counts['opened_24h'])}",
        f"Cleared in the last 24 h: {_counts_line(counts['cleared_24h'])}",
        "",
        *(["Open alarms:", *_listing(ordered, zone, with_kind=True)] if ordered else ["All quiet."]),
    ]) + "\n"
    return Message("digest", tuple(a.id for a in ordered), subject, text,
                   _document("digest", subject, text, ordered, day=day, counts=counts))
