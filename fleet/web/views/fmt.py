"""How the pages write times, durations and figures (local time of the fleet's zone)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo


@dataclass(frozen=True, slots=True)
class Fmt:
    """Formatting for one page: its zone and its `now`."""

    zone: ZoneInfo
    now: float

    def when(self, ts: float | None) -> str:
        """'2026-03-10 05:15' in local time ('-' when unknown)."""
        if ts is None:
            return "-"
        return datetime.fromtimestamp(float(ts), self.zone).strftime("%Y-%m-%d %H:%M")

    def ago(self, ts: float | None) -> str:
        """'12 min ago', '3 h ago', '4 d ago' ('never' when unknown)."""
        if ts is None:
            return "never"
        return f"{duration(max(0.0, self.now - float(ts)))} ago"


def duration(seconds: float) -> str:
    """A duration in its largest sensible unit: '45 s', '12 min', '5.5 h', '3.2 d'."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 3 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def num(value: float | None, digits: int = 1) -> str:
    """A figure with `digits` decimals and thin grouping ('-' when unknown)."""
    if value is None:
        return "-"
    return f"{value:,.{digits}f}".replace(",", " ")
