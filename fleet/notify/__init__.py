"""Notifications: alarms announced by e-mail and webhook (one message per alarm, grouped when many of one kind
open together), their clearing, and a daily digest; through an outbox with retries and backoff."""

from fleet.notify.jobs import notify_jobs
from fleet.notify.settings import NotifySettings, parse_notify_settings

__all__ = ["NotifySettings", "notify_jobs", "parse_notify_settings"]
