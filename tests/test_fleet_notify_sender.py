"""The sender on both engines: one row claimed by one sender only (two serve processes), a redirect taken as a
failure (the body goes nowhere else) without the URL's token in the error, and STARTTLS required: a server
that does not offer it gets nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fleet.notify import outbox
from fleet.notify.compose import Message
from fleet.notify.sender import deliver_due
from fleet.notify.settings import NotifySettings
from fleet.store.db import Database
from hil_tests.http_receiver import HttpReceiver
from hil_tests.smtp_receiver import SmtpReceiver
from tests.fleet_notify_helpers import T0, fleet_db, outbox_rows, settings


@pytest.fixture
def db(store_url: str) -> Iterator[Database]:
    with fleet_db(store_url) as database:
        yield database


def _queue(db: Database, s: NotifySettings) -> None:
    message = Message("alarm", ("a1",), "[Hameau] WARNING offline on box-09", "box-09 lost its link\n", {"version": 1})
    with db.transaction():
        outbox.enqueue(db, s, message, T0)


def test_notify_webhook_redirect_is_a_failure(db: Database) -> None:
    with HttpReceiver() as http:
        s = settings(webhook={"urls": [http.url("/hook?token=s3cr3t")]})
        _queue(db, s)
        http.fail_next(302)
        report = deliver_due(db, s, T0)
        assert len(report.retried) == 1 and [p.path for p in http.posts] == ["/hook?token=s3cr3t"]
    [row] = outbox_rows(db)
    assert "HTTP 302" in row["last_error"] and "s3cr3t" not in row["last_error"]


def test_notify_a_row_is_claimed_by_one_sender_only(db: Database, store_url: str) -> None:
    s = settings(webhook={"urls": ["http://127.0.0.1:9/h"]})
    _queue(db, s)
    with fleet_db(store_url) as other:
        [mine], [theirs] = outbox.due(db, T0, 10), outbox.due(other, T0, 10)  # both saw it due
        assert outbox.claim(db, mine, T0, 300.0)
        assert not outbox.claim(other, theirs, T0, 300.0)
        assert outbox.due(other, T0 + 299, 10) == []  # hidden while the first sender holds it
    [row] = outbox_rows(db)
    assert (row["attempts"], row["next_attempt_at"]) == (1, T0 + 300)


def test_notify_starttls_required_but_not_offered_sends_nothing(db: Database) -> None:
    with SmtpReceiver() as plain:  # no certificate: no STARTTLS
        s = settings(smtp={"port": plain.port, "security": "starttls"})
        _queue(db, s)
        report = deliver_due(db, s, T0)
        assert len(report.retried) == 1 and plain.messages == [] and plain.attempts == []
    [row] = outbox_rows(db)
    assert row["last_error"] == "the SMTP server does not offer STARTTLS"
