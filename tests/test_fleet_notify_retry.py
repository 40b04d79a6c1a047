"""Delivery on both engines when the far end misbehaves: SMTP answering 451 twice, a webhook answering 500, a
receiver hanging past the timeout, a server that is not there; retried at 30 s doubling, given up after the
last attempt (counted, logged); never a crash."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from fleet.notify import outbox
from fleet.notify.compose import Message
from fleet.notify.sender import deliver_due
from fleet.notify.settings import NotifySettings
from fleet.store.db import Database
from hil_tests.http_receiver import HttpReceiver
from hil_tests.smtp_receiver import SmtpReceiver
from tests.fleet_notify_helpers import T0, fleet_db, outbox_rows, secret_file, settings


@pytest.fixture
def db(store_url: str) -> Iterator[Database]:
    with fleet_db(store_url) as database:
        yield database


def _queue(db: Database, s: NotifySettings, subject: str = "[Hameau] WARNING offline on box-09") -> None:
    message = Message("alarm", ("a1",), subject, "box-09 lost its link\n", {"version": 1, "kind": "alarm"})
    with db.transaction():
        outbox.enqueue(db, s, message, T0)


def _attempt_times(db: Database, s: NotifySettings, times: list[float]) -> list[float]:
    """Run the sender at each time; the times at which it tried something."""
    tried = []
    for now in times:
        report = deliver_due(db, s, now)
        if report.sent or report.retried or report.failed:
            tried.append(now - T0)
    return tried


def test_notify_smtp_failing_twice_is_delivered_once_at_30_then_90_s(db: Database) -> None:
    with SmtpReceiver() as smtp:
        s = settings(smtp={"port": smtp.port})
        _queue(db, s)
        smtp.fail_next(451, 451)
        tried = _attempt_times(db, s, [T0 + t for t in (0, 29, 30, 31, 89, 90, 91, 500, 5000)])
        assert tried == [0, 30, 90]  # then 30 s, then 60 s: the backoff doubles
        assert len(smtp.attempts) == 3 and len(smtp.messages) == 1
        assert smtp.messages[0].message["Subject"] == "[Hameau] WARNING offline on box-09"
    [row] = outbox_rows(db)
    assert (row["state"], row["attempts"], row["sent_at"], row["last_error"]) == ("sent", 3, T0 + 90, None)


def test_notify_webhook_500_then_200_is_delivered_with_the_same_body(db: Database, tmp_path: Path) -> None:
    with HttpReceiver() as http:
        s = settings(webhook={"urls": [http.url()], "secret_file": str(secret_file(tmp_path))})
        _queue(db, s)
        http.fail_next(500)
        assert _attempt_times(db, s, [T0, T0 + 29, T0 + 30, T0 + 60]) == [0, 30]
        assert [p.status for p in http.posts] == [500, 200]
        assert http.posts[0].body == http.posts[1].body
        assert http.posts[0].headers["X-Hameau-Signature"] == http.posts[1].headers["X-Hameau-Signature"]
        assert json.loads(http.posts[1].body)["id"] == http.posts[1].headers["X-Hameau-Message-Id"]
    [row] = outbox_rows(db)
    assert (row["state"], row["attempts"]) == ("sent", 2)


def test_notify_hanging_receivers_time_out_and_are_retried(db: Database) -> None:
    with HttpReceiver(hang_s=10) as http, SmtpReceiver(hang_s=10) as smtp:
        s = settings(timeout_s=0.5, smtp={"port": smtp.port}, webhook={"urls": [http.url()]})
        _queue(db, s)
        http.fail_next("hang")
        smtp.fail_next("hang")
        started = time.monotonic()
        report = deliver_due(db, s, T0)
        elapsed = time.monotonic() - started
        assert len(report.retried) == 2 and not report.sent
        assert elapsed < 3.0  # two timeouts of 0.5 s each, not the receivers' 10 s
        errors = sorted(row["last_error"] for row in outbox_rows(db))
        assert all("timed out after 0.5 s" in error for error in errors), errors
        report = deliver_due(db, s, T0 + 30)
        assert len(report.sent) == 2
        assert len(smtp.messages) == 1 and [p.status for p in http.posts] == [None, 200]


def test_notify_dead_server_is_given_up_after_max_attempts_and_holds_the_rest(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    with SmtpReceiver() as smtp:
        port = smtp.port  # free once stopped: nothing listens there
    s = settings(max_attempts=3, smtp={"port": port})
    _queue(db, s, "first")
    _queue(db, s, "second")
    with caplog.at_level(logging.WARNING, logger="hameau.fleet.notify"):
        tried = _attempt_times(db, s, [T0 + t for t in (0, 10, 30, 60, 90, 100)])
    assert tried == [0, 30, 90]
    rows = outbox_rows(db)
    # One row took every attempt; the other waited with it, never tried, until 30 s after the last.
    assert sorted((r["state"], r["attempts"], r["next_attempt_at"]) for r in rows) == [
        ("failed", 3, T0 + 90), ("pending", 0, T0 + 120)]
    assert "Connection refused" in next(r["last_error"] for r in rows if r["state"] == "failed")
    assert _attempt_times(db, s, [T0 + 119, T0 + 120]) == [120]
    assert outbox.counts(db)[("email", "failed")] == 1
    assert any("gave up" in r.getMessage() and r.levelno == logging.ERROR for r in caplog.records)
