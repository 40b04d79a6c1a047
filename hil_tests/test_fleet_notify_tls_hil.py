"""Notifications over TLS, against a local SMTP server and HTTPS receiver with the test PKI's certificates:
STARTTLS with login, implicit TLS, https webhooks, all verified against the CA file; a certificate from
another CA refused (retried later) without the password ever reaching a log or the outbox."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from broker import BrokerPki
from http_receiver import HttpReceiver
from smtp_receiver import SmtpReceiver

from fleet.notify import outbox
from fleet.notify.compose import Message
from fleet.notify.sender import deliver_due
from fleet.notify.settings import NotifySettings
from fleet.store.db import Database
from tests.fleet_notify_helpers import T0, fleet_db, outbox_rows, secret_file, settings

PASSWORD = "correct-horse-battery-staple"


@pytest.fixture
def db(store_url: str) -> Iterator[Database]:
    with fleet_db(store_url) as database:
        yield database


@pytest.fixture
def pki(broker_pki: BrokerPki) -> BrokerPki:
    return broker_pki


def _queue(db: Database, s: NotifySettings) -> None:
    message = Message("alarm", ("a1",), "[Hameau] WARNING offline on box-09", "box-09 lost its link\n", {"version": 1})
    with db.transaction():
        outbox.enqueue(db, s, message, T0)


def test_notify_smtp_starttls_login_with_verified_certificate(
    db: Database, pki: BrokerPki, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    password = secret_file(tmp_path, PASSWORD)
    with SmtpReceiver(cert=pki.server("server"), users={"fleet": PASSWORD}) as smtp:
        trusted = settings(smtp={"port": smtp.port, "security": "starttls", "ca_file": str(pki.ca),
                                 "username": "fleet", "password_file": str(password)})
        _queue(db, trusted)
        assert len(deliver_due(db, trusted, T0).sent) == 1
        assert [m.user for m in smtp.messages] == ["fleet"]
        wrong_ca = settings(smtp={"port": smtp.port, "security": "starttls", "ca_file": str(pki.other_ca),
                                  "username": "fleet", "password_file": str(password)})
        _queue(db, wrong_ca)
        with caplog.at_level(logging.DEBUG):
            report = deliver_due(db, wrong_ca, T0 + 1)
        assert len(report.retried) == 1 and len(smtp.messages) == 1
    error = next(r["last_error"] for r in outbox_rows(db) if r["state"] == "pending")
    assert "certificate not trusted" in error
    assert PASSWORD not in caplog.text and PASSWORD not in error


def test_notify_smtp_implicit_tls_and_https_webhook_verified(db: Database, pki: BrokerPki) -> None:
    with SmtpReceiver(cert=pki.server("server"), implicit_tls=True) as smtp, \
            HttpReceiver(cert=pki.server("server")) as https:
        s = settings(smtp={"port": smtp.port, "security": "tls", "ca_file": str(pki.ca)},
                     webhook={"urls": [https.url()], "ca_file": str(pki.ca)})
        _queue(db, s)
        assert len(deliver_due(db, s, T0).sent) == 2
        assert len(smtp.messages) == 1 and [p.status for p in https.posts] == [200]
        assert "X-Hameau-Signature" not in https.posts[0].headers  # no secret file: unsigned


def test_notify_https_webhook_with_a_certificate_for_another_name_is_refused(db: Database, pki: BrokerPki) -> None:
    with HttpReceiver(cert=pki.server("elsewhere-server")) as https:
        s = settings(webhook={"urls": [https.url()], "ca_file": str(pki.ca)})
        _queue(db, s)
        report = deliver_due(db, s, T0)
        assert len(report.retried) == 1 and https.posts == []
    [row] = outbox_rows(db)
    assert "certificate not trusted" in row["last_error"] and row["next_attempt_at"] == T0 + 30
