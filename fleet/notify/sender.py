"""The sender job's work: deliver the outbox's due rows, each claimed first (so two serve processes never send
one twice), retried with backoff on failure, given up after the last attempt (the row stays `failed`, counted
by `fleet.notify.outbox.counts` and logged). A target that fails (server down, hanging, answering 5xx) is tried once per
run: its other rows wait with the failed one, so a dead server costs one timeout per run, not one per row."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from fleet.notify.outbox import Outgoing, claim, due, mark_failed, mark_sent, postpone
from fleet.notify.settings import NotifySettings
from fleet.notify.transport import DeliveryError, MailSession, post_webhook, redact_url
from fleet.store.db import Database

LOG = logging.getLogger("hameau.fleet.notify")

#: Rows looked at per run.
BATCH = 100
#: A run claims no new row after this long (the jobs thread has other work).
RUN_BUDGET_S = 30.0
#: A claimed row is hidden from other processes this long (longer than any run).
LEASE_S = 300.0


@dataclass(slots=True)
class SendReport:
    """What one run did."""

    sent: list[str] = field(default_factory=list)
    retried: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def _show(item: Outgoing) -> str:
    return item.target if item.channel == "email" else redact_url(item.target)


def deliver_due(
    db: Database, settings: NotifySettings, now: float, *, monotonic: Callable[[], float] = time.monotonic
) -> SendReport:
    """Send what is due at `now` on every configured channel; never raises for a delivery failure."""
    report = SendReport()
    started = monotonic()
    dead: dict[tuple[str, str], float] = {}
    held: dict[tuple[str, str], list[str]] = {}
    mail = None if settings.smtp is None else MailSession(settings.smtp, settings.timeout_s)
    try:
        for item in due(db, now, BATCH):
            key = ("email", "") if item.channel == "email" else (item.channel, item.target)
            if key in dead:
                held.setdefault(key, []).append(item.id)
                continue
            if monotonic() - started > RUN_BUDGET_S:
                break
            if not claim(db, item, now, LEASE_S):
                continue
            try:
                _send(item, settings, mail)
            except DeliveryError as error:
                next_at = _failed(db, item, str(error), now, settings, report)
                if error.connection:
                    dead[key] = now + settings.retry_first_s if next_at is None else next_at
                continue
            except Exception as exc:  # a bug or an odd input must not wedge the outbox: counted as an attempt
                LOG.exception("notify: unexpected error sending %s message %s", item.kind, item.id)
                _failed(db, item, f"unexpected {type(exc).__name__}", now, settings, report)
                continue
            mark_sent(db, item.id, now)
            report.sent.append(item.id)
    finally:
        if mail is not None:
            mail.close()
    for key, ids in held.items():
        postpone(db, ids, dead[key])
    return report


def _send(item: Outgoing, settings: NotifySettings, mail: MailSession | None) -> None:
    if item.channel == "email":
        if mail is None:
            raise DeliveryError("e-mail is no longer configured ([notify.smtp])", connection=True)
        mail.send(item.id, item.target, item.subject, item.body)
    elif item.channel == "webhook":
        if settings.webhook is None:
            raise DeliveryError("webhooks are no longer configured ([notify.webhook])", connection=True)
        post_webhook(settings.webhook, item.target, item.id, item.body, settings.timeout_s)
    else:
        raise DeliveryError(f"unknown channel {item.channel!r}", connection=False)


def _failed(db: Database, item: Outgoing, reason: str, now: float, settings: NotifySettings,
            report: SendReport) -> float | None:
    attempts = item.attempts + 1
    next_at = mark_failed(db, item.id, attempts, reason, now, settings)
    if next_at is None:
        report.failed.append(item.id)
        LOG.error("notify: gave up on %s message %s to %s after %d attempts: %s",
                  item.kind, item.id, _show(item), attempts, reason)
    else:
        report.retried.append(item.id)
        LOG.warning("notify: %s message %s to %s failed (attempt %d, next in %.0f s): %s",
                    item.kind, item.id, _show(item), attempts, next_at - now, reason)
    return next_at
