"""The time span of an export: `--from`/`--to` as local days (both included) or ISO datetimes, in the fleet's zone.

A date names a whole local day: `--from 2026-03-29 --to 2026-03-29` is 00:00 to 24:00 local time that day (23 h
on a spring-forward day, 25 h in autumn). A datetime is an instant, its offset given or else local time in the
fleet's zone; the span then runs from `--from` included to `--to` excluded. Times are epoch seconds (UTC).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from fleet.errors import FleetError

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
#: Epoch seconds as exact milliseconds (so that a time never prints as 59.999 for 00.000).
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class ExportError(FleetError):
    """An export that cannot be made as asked (bad range, unknown series or device): one line saying why."""


class UnknownDeviceError(ExportError):
    """The device asked for is neither registered nor ever heard of."""


@dataclass(frozen=True, slots=True)
class Span:
    """Epoch seconds `start_s <= ts < end_s`; the local days asked for when both ends were dates."""

    start_s: float
    end_s: float
    first_day: date | None = None
    last_day: date | None = None

    @property
    def days(self) -> tuple[date, date]:
        """First and last local day (both included); ExportError unless both ends were given as dates."""
        if self.first_day is None or self.last_day is None:
            raise ExportError("roll-ups are per day: give --from and --to as YYYY-MM-DD")
        return self.first_day, self.last_day


def local_midnight(day: date, zone: tzinfo) -> float:
    """Epoch seconds of the start of local `day` in `zone`."""
    return datetime.combine(day, time(0), tzinfo=zone).timestamp()


def _end(text: str, option: str, zone: tzinfo, *, start: bool) -> tuple[float, date | None]:
    text = text.strip()
    if _DATE.fullmatch(text):
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise ExportError(f"{option} {text!r}: not a date (YYYY-MM-DD)") from None
        return local_midnight(day if start else day + timedelta(days=1), zone), day
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ExportError(f"{option} {text[:40]!r}: expected YYYY-MM-DD or an ISO 8601 datetime") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.timestamp(), None


def parse_span(first: str, last: str, zone: tzinfo) -> Span:
    """The span of `--from first --to last` (see the module's docstring); ExportError when empty or malformed."""
    start_s, first_day = _end(first, "--from", zone, start=True)
    end_s, last_day = _end(last, "--to", zone, start=False)
    if end_s <= start_s:
        raise ExportError(f"--from {first} --to {last}: the range is empty (--to must come after --from)")
    return Span(start_s, end_s, first_day, last_day)


def iso_times(ts: float, zone: tzinfo) -> tuple[str, str]:
    """`ts` as ISO 8601 in UTC (`...Z`) and in local time with its offset; milliseconds only when there are some."""
    millis = round(ts * 1000)
    moment = _EPOCH + timedelta(milliseconds=millis)
    spec = "milliseconds" if millis % 1000 else "seconds"
    utc = moment.replace(tzinfo=None).isoformat(timespec=spec) + "Z"
    return utc, moment.astimezone(zone).isoformat(timespec=spec)
