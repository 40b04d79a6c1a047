"""Times and durations as a technician reads and writes them."""

from __future__ import annotations

from datetime import datetime, timedelta

from edge.config import reader as config_reader


def format_duration(seconds: float) -> str:
    """A duration as a technician says it: '45 s', '12 min', '1 h 30 min', '3 d 2 h'."""
    s = int(round(abs(seconds)))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min"
    if s < 86_400:
        h, m = divmod(s // 60, 60)
        return f"{h} h" + (f" {m} min" if m else "")
    d, h = divmod(s // 3600, 24)
    return f"{d} d" + (f" {h} h" if h else "")


def parse_time(value: str | None) -> datetime | None:
    """An ISO 8601 time with its offset (None when absent, malformed or naive)."""
    if not value:
        return None
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        return None
    return at if at.tzinfo is not None else None


def age_s(at: datetime | None, now: datetime) -> float | None:
    """Seconds from `at` to `now` (None when `at` is unknown)."""
    return None if at is None else (now - at).total_seconds()


def parse_bounded_duration(text: str, least: timedelta, most: timedelta, *, what: str, examples: str,
                           least_words: str, most_words: str) -> timedelta:
    """'90m', '2h', '1h30m', '3d' as a timedelta from `least` to `most`; ValueError says why in one line."""
    try:
        duration = config_reader.parse_duration(text)
    except config_reader.Invalid as exc:
        raise ValueError(f"{exc}; {what} needs a positive duration such as {examples}") from None
    if duration > most:
        raise ValueError(f"{text!r} is longer than the {most_words} {what} may last")
    if duration < least:
        raise ValueError(f"{text!r} is shorter than the {least_words} {what} lasts at least")
    return duration
