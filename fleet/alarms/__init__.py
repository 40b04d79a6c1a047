"""Fleet alarms: derived from what boxes send (inside the ingest transaction), a silence job, acknowledgement."""

from __future__ import annotations

from fleet.alarms.model import AlarmSettings, parse_alarm_settings
from fleet.alarms.observer import AlarmObserver
from fleet.alarms.silence import silence_job

__all__ = ["AlarmObserver", "AlarmSettings", "parse_alarm_settings", "silence_job"]
