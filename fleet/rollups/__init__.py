"""Per-night water and per-day lighting and energy roll-ups of the stored records, and raw-reading retention."""

from __future__ import annotations

from collections.abc import Sequence

from fleet.rollups.job import RollupJob
from fleet.rollups.marks import RollupMarks
from fleet.rollups.retention import Retention
from fleet.rollups.settings import RetentionSettings, RollupSettings
from fleet.serve.jobs import Job


def observer(settings: RollupSettings) -> RollupMarks:
    """The ingest observer that marks the days a batch touched."""
    return RollupMarks(settings)


def jobs(rollups: RollupSettings, retention: RetentionSettings) -> Sequence[Job]:
    """The roll-up job (every minute) and the retention job (every hour)."""
    return (RollupJob(rollups).job(), Retention(retention, rollups).job())


__all__ = ["Retention", "RetentionSettings", "RollupJob", "RollupMarks", "RollupSettings", "jobs", "observer"]
