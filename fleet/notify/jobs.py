"""The notifier's two serve jobs: the planner (alarms and the digest into the outbox) and the sender."""

from __future__ import annotations

from fleet.notify.planner import plan
from fleet.notify.sender import deliver_due
from fleet.notify.settings import NotifySettings
from fleet.serve.jobs import Job, JobContext

#: How often the planner looks at the alarms (a message waits at most this long beyond its window).
PLAN_INTERVAL_S = 10.0
#: How often the sender looks at the outbox.
SEND_INTERVAL_S = 10.0


def notify_jobs(settings: NotifySettings | None) -> tuple[Job, ...]:
    """The planner and sender jobs, or none when no channel (e-mail, webhook) is configured."""
    if settings is None or not settings.enabled:
        return ()

    def run_plan(ctx: JobContext) -> None:
        plan(ctx.db, settings, ctx.now)

    def run_send(ctx: JobContext) -> None:
        deliver_due(ctx.db, settings, ctx.now)

    return (Job("notify-plan", PLAN_INTERVAL_S, run_plan), Job("notify-send", SEND_INTERVAL_S, run_send))
