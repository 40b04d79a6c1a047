"""Roll-up and retention settings: the fleet's time zone, the night window, how long raw readings stay.

Read once from the `[rollups]` and `[retention]` tables of the fleet's settings file (fleet/settings.py);
every error names the file, the key and the reason. Without a file, the defaults below hold.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fleet.settings_table import SettingsTable as _Table


@dataclass(frozen=True, slots=True)
class RollupSettings:
    """How records become per-day and per-night figures."""

    #: Local days and nights are taken in this zone (the boxes of one commune share it).
    timezone: str = "Europe/Paris"
    #: The night window of minimum night flow: the box's leak watch defaults (edge/controllers/leak/config.py).
    night_start: time = time(1, 0)
    night_end: time = time(5, 0)
    #: Night buckets: minimum night flow is the smallest bucket-average flow (the box's bucket_min default).
    bucket_min: int = 60
    #: Two meter samples further apart than this carry no night flow (the box's max_gap_min default).
    max_gap_min: float = 15.0
    #: A marked day is recomputed once its first mark is this old (today is marked by every batch).
    settle_min: float = 5.0
    #: Device-days recomputed per job run at most (the rest waits for the next run).
    days_per_run: int = 2000

    @property
    def zone(self) -> ZoneInfo:
        """The time zone."""
        return ZoneInfo(self.timezone)


@dataclass(frozen=True, slots=True)
class RetentionSettings:
    """How long raw readings are kept once their day is rolled up."""

    #: A year of comparison at full resolution (this month against the same month last year), plus a month
    #: for late data and the roll-up to settle.
    raw_keep_days: int = 400
    #: Readings deleted per transaction (short transactions: ingest goes on meanwhile).
    chunk_rows: int = 5000
    enabled: bool = True
    #: An inhabitant's photo is erased this many days after their report was closed (it may show people).
    report_photo_keep_days: int = 90


def parse_rollups(raw: Mapping[str, Any], where: str) -> RollupSettings:
    """RollupSettings from a `[rollups]` table; FleetConfigError names file, key and reason."""
    t = _Table(raw, "rollups", where)
    t.only(("timezone", "night_start", "night_end", "bucket_min", "max_gap_min", "settle_min", "days_per_run"))
    zone = raw.get("timezone", "Europe/Paris")
    try:
        ZoneInfo(zone if isinstance(zone, str) else "")
    except (ValueError, ZoneInfoNotFoundError):
        raise t.fail("timezone", f"not a known time zone (e.g. \"Europe/Paris\"), got {zone!r}") from None
    start, end = t.clock("night_start", time(1, 0)), t.clock("night_end", time(5, 0))
    if start == end:
        raise t.fail("night_end", "the night window is empty (night_start equals night_end)")
    bucket = t.number("bucket_min", 60, 5, 240, integer=True)
    minutes = ((end.hour - start.hour) * 60 + end.minute - start.minute) % (24 * 60)
    if minutes % bucket:
        raise t.fail("bucket_min", f"the night window ({minutes} min) is not a whole number of {bucket}-min buckets")
    return RollupSettings(
        timezone=zone, night_start=start, night_end=end, bucket_min=bucket,
        max_gap_min=float(t.number("max_gap_min", 15.0, 1, 120)),
        settle_min=float(t.number("settle_min", 5.0, 0, 1440)),
        days_per_run=t.number("days_per_run", 2000, 1, 1_000_000, integer=True),
    )


def parse_retention(raw: Mapping[str, Any], where: str) -> RetentionSettings:
    """RetentionSettings from a `[retention]` table; FleetConfigError names file, key and reason."""
    t = _Table(raw, "retention", where)
    t.only(("raw_keep_days", "chunk_rows", "enabled", "report_photo_keep_days"))
    enabled = raw.get("enabled", True)
    if not isinstance(enabled, bool):
        raise t.fail("enabled", f"must be true or false, got {enabled!r}")
    return RetentionSettings(
        raw_keep_days=t.number("raw_keep_days", 400, 7, 36500, integer=True),
        chunk_rows=t.number("chunk_rows", 5000, 100, 1_000_000, integer=True),
        enabled=enabled,
        report_photo_keep_days=t.number("report_photo_keep_days", 90, 0, 36500, integer=True),
    )
