"""Notifications on both engines: one alarm is one mail and one signed webhook POST; a power cut's 30 offline
alarms are one grouped message (and their return one more); the clearing of an alarm is told once; an info
alarm is not told; a local SMTP server and a local HTTP receiver take the messages."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from fleet.notify.planner import plan
from fleet.notify.sender import deliver_due
from fleet.notify.settings import NotifySettings
from fleet.store.db import Database
from hil_tests.http_receiver import HttpReceiver
from hil_tests.smtp_receiver import SmtpReceiver
from tests.fleet_notify_helpers import (
    SECRET,
    T0,
    clear_alarm,
    fleet_db,
    outbox_rows,
    raise_alarm,
    secret_file,
    settings,
)


@pytest.fixture
def db(store_url: str) -> Iterator[Database]:
    with fleet_db(store_url) as database:
        yield database


@pytest.fixture
def smtp() -> Iterator[SmtpReceiver]:
    with SmtpReceiver() as receiver:
        yield receiver


@pytest.fixture
def http() -> Iterator[HttpReceiver]:
    with HttpReceiver() as receiver:
        yield receiver


def _both(smtp: SmtpReceiver, http: HttpReceiver, tmp_path: Path, **top: object) -> NotifySettings:
    hook = {"urls": [http.url()], "secret_file": str(secret_file(tmp_path))}
    return settings(smtp={"port": smtp.port}, webhook=hook, digest_time="", **top)


def test_notify_one_alarm_is_one_mail_and_one_signed_webhook_post(
    db: Database, smtp: SmtpReceiver, http: HttpReceiver, tmp_path: Path
) -> None:
    s = _both(smtp, http, tmp_path)
    evidence = {"flow_lph": 120.0, "duration_s": 2100, "meter": "main"}
    alarm_id = raise_alarm(db, "box-07", "leak", T0, severity="critical", evidence=evidence,
                           message="water flowing 120 L/h for 35 min with the hall closed")
    assert plan(db, s, T0 + 1).messages == ()  # noticed: the group window (120 s) starts
    assert plan(db, s, T0 + 120).messages == ()
    planned = plan(db, s, T0 + 121).messages
    assert [m.kind for m in planned] == ["alarm"]
    report = deliver_due(db, s, T0 + 121)
    assert len(report.sent) == 2 and not report.retried
    for later in (T0 + 200, T0 + 3600):  # never told twice
        plan(db, s, later)
        deliver_due(db, s, later)

    assert len(smtp.messages) == 1
    mail = smtp.messages[0]
    assert mail.rcpt_tos == ("ops@village.test",) and mail.mail_from == "fleet@hameau.test"
    assert "box-07" in mail.message["Subject"] and "leak" in mail.message["Subject"]
    assert "CRITICAL" in mail.message["Subject"]
    text = mail.message.get_content()
    assert "water flowing 120 L/h for 35 min" in text and alarm_id in text
    assert '"flow_lph": 120.0' in text and '"duration_s": 2100' in text
    assert "2026-11-28 11:00:00 CET" in text  # first seen, in Paris time

    assert len(http.posts) == 1
    post = http.posts[0]
    expected = "sha256=" + hmac.new(SECRET.encode(), post.body, hashlib.sha256).hexdigest()
    assert post.headers["X-Hameau-Signature"] == expected
    assert post.headers["Content-Type"] == "application/json"
    document = json.loads(post.body)
    assert post.headers["X-Hameau-Message-Id"] == document["id"]
    assert document["kind"] == "alarm" and document["version"] == 1
    assert [(a["id"], a["device"], a["kind"], a["severity"], a["state"], a["evidence"], a["first_seen"])
            for a in document["alarms"]] == [(alarm_id, "box-07", "leak", "critical", "open", evidence, T0)]
    assert [(r["channel"], r["state"], r["attempts"], r["sent_at"]) for r in outbox_rows(db)] == [
        ("email", "sent", 1, T0 + 121), ("webhook", "sent", 1, T0 + 121)]


def test_notify_power_cut_of_30_boxes_is_one_grouped_message(
    db: Database, smtp: SmtpReceiver, http: HttpReceiver, tmp_path: Path
) -> None:
    s = _both(smtp, http, tmp_path)
    devices = [f"box-{i:02d}" for i in range(1, 31)]
    ids = {}
    planned: list[tuple[float, str]] = []
    # The boxes' last wills arrive over 90 s (their keepalive timers differ); the planner runs every 10 s.
    for step in range(0, 300, 10):
        now = T0 + step
        for i, device in enumerate(devices):
            if step <= i * 3 < step + 10:
                ids[device] = raise_alarm(db, device, "offline", now, message=f"{device} lost its link")
        planned += [(now - T0, m.kind) for m in plan(db, s, now).messages]
        deliver_due(db, s, now)
    assert planned == [(120.0, "group")]  # the window opened at the first notice, at T0
    assert len(smtp.messages) == 1 and len(http.posts) == 1
    text = smtp.messages[0].message.get_content()
    assert all(device in text for device in devices)
    assert "30 boxes" in smtp.messages[0].message["Subject"]
    document = json.loads(http.posts[0].body)
    assert document["kind"] == "group" and document["group_kind"] == "offline"
    assert sorted(a["id"] for a in document["alarms"]) == sorted(ids.values())

    # The power comes back: the 30 clearings are one message too.
    for i, device in enumerate(devices):
        clear_alarm(db, device, "offline", T0 + 1000 + i)
    cleared = [plan(db, s, T0 + 1030 + step).messages for step in range(0, 200, 10)]
    # First noticed by the run at T0 + 1030, told at the first run 120 s later.
    assert [(step, [m.kind for m in ms]) for step, ms in enumerate(cleared) if ms] == [(12, ["cleared"])]
    assert set(cleared[12][0].alarm_ids) == set(ids.values())
    assert "cleared: offline on 30 boxes" in cleared[12][0].subject


def test_notify_a_few_alarms_of_one_kind_are_told_one_by_one(
    db: Database, smtp: SmtpReceiver, http: HttpReceiver, tmp_path: Path
) -> None:
    s = _both(smtp, http, tmp_path)  # group_threshold 3: more than 3 make a group
    for device in ("box-01", "box-02", "box-03"):
        raise_alarm(db, device, "offline", T0)
    plan(db, s, T0)
    messages = plan(db, s, T0 + 120).messages
    assert [m.kind for m in messages] == ["alarm", "alarm", "alarm"]
    assert [m.subject for m in messages] == [f"[Hameau] WARNING offline on box-0{i}" for i in (1, 2, 3)]


def test_notify_clearing_is_told_once_and_info_alarms_never(
    db: Database, smtp: SmtpReceiver, http: HttpReceiver, tmp_path: Path
) -> None:
    s = _both(smtp, http, tmp_path, group_window_s=0)
    leak = raise_alarm(db, "box-03", "leak", T0, severity="critical")
    raise_alarm(db, "box-04", "data_thinned", T0, severity="info")
    assert [(m.kind, m.alarm_ids) for m in plan(db, s, T0).messages] == [("alarm", (leak,))]
    clear_alarm(db, "box-03", "leak", T0 + 3 * 3600 + 600)
    told = plan(db, s, T0 + 4 * 3600).messages
    assert [(m.kind, m.alarm_ids) for m in told] == [("cleared", (leak,))]
    assert "after 3 h 10 min" in told[0].text
    assert plan(db, s, T0 + 5 * 3600).messages == ()
    # Raised and cleared between two runs: told once, as already cleared.
    brief = raise_alarm(db, "box-05", "burst", T0 + 6 * 3600, severity="critical")
    clear_alarm(db, "box-05", "burst", T0 + 6 * 3600 + 5)
    told = plan(db, s, T0 + 6 * 3600 + 10).messages
    assert [(m.kind, m.alarm_ids) for m in told] == [("alarm", (brief,))]
    assert "already cleared" in told[0].subject
    assert plan(db, s, T0 + 7 * 3600).messages == ()
