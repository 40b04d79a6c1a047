"""The `[notify]` settings: defaults, every refusal one line naming the file and the key, secrets kept out of
messages and reprs, plain http only to loopback, the backoff's schedule."""

from __future__ import annotations

from datetime import time
from pathlib import Path
from typing import Any

import pytest

from fleet.errors import FleetConfigError
from fleet.notify import notify_jobs, parse_notify_settings
from fleet.notify.settings import NotifySettings
from tests.fleet_notify_helpers import SECRET, secret_file

SMTP = {"host": "smtp.village.test", "from": "fleet@village.test", "recipients": ["ops@village.test"]}


def test_notify_settings_defaults_send_nothing() -> None:
    s = parse_notify_settings({}, "fleet.toml")
    assert s == NotifySettings()
    assert (s.min_severity, s.group_window_s, s.group_threshold, s.digest_time, s.timezone) == (
        "warning", 120.0, 3, time(8, 0), "UTC")
    assert (s.retry_first_s, s.retry_max_s, s.max_attempts, s.timeout_s) == (30.0, 3600.0, 12, 10.0)
    assert not s.enabled and notify_jobs(s) == () and notify_jobs(None) == ()


def test_notify_settings_full_table(tmp_path: Path) -> None:
    password = secret_file(tmp_path, "hunter2-but-longer")
    s = parse_notify_settings({
        "min_severity": "critical", "group_window_s": 60, "group_threshold": 5, "digest_time": "07:30",
        "timezone": "Europe/Paris", "max_attempts": 4, "timeout_s": 5,
        "smtp": {**SMTP, "security": "tls", "username": "fleet", "password_file": str(password)},
        "webhook": {"urls": ["https://hooks.village.test/a?token=x", "http://127.0.0.1:9000/h", "http://[::1]/h"],
                    "secret_file": str(secret_file(tmp_path))},
    }, "fleet.toml")
    assert s.smtp is not None and s.webhook is not None
    assert (s.smtp.host, s.smtp.port, s.smtp.security, s.smtp.username) == ("smtp.village.test", 465, "tls", "fleet")
    assert s.smtp.password == "hunter2-but-longer" and s.webhook.secret == SECRET.encode()
    assert "hunter2" not in repr(s) and SECRET not in repr(s)
    assert (s.digest_time, s.group_threshold, s.max_attempts) == (time(7, 30), 5, 4)
    assert [job.name for job in notify_jobs(s)] == ["notify-plan", "notify-send"]
    assert not s.announces("warning") and s.announces("critical")
    starttls = parse_notify_settings({"smtp": SMTP}, "fleet.toml").smtp
    assert starttls is not None and (starttls.security, starttls.port) == ("starttls", 587)


def test_notify_settings_backoff_doubles_from_30_s_to_1_h() -> None:
    s = NotifySettings()
    assert [s.retry_delay_s(n) for n in range(1, 11)] == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]


def _bad(tmp_path: Path) -> list[tuple[dict[str, Any], str]]:
    loose = secret_file(tmp_path, "pw", mode=0o644)
    return [
        ({"min_severity": "loud"}, "notify.min_severity: 'loud' is not one of info, warning, critical"),
        ({"group_window_s": float("nan")}, "notify.group_window_s: nan is out of range"),
        ({"group_window_s": -1}, "notify.group_window_s: -1 is out of range [0, 3600]"),
        ({"group_threshold": True}, "notify.group_threshold: expected an integer"),
        ({"timeout_s": 30}, "notify.timeout_s: 30 is out of range [0.1, 10]"),
        ({"max_attempts": 0}, "notify.max_attempts: 0 is out of range"),
        ({"retry_first_s": 60, "retry_max_s": 30}, "notify.retry_max_s: 30 is out of range [60,"),
        ({"digest_time": "8h"}, "notify.digest_time: '8h': expected \"HH:MM\""),
        ({"digest_time": "25:00"}, "notify.digest_time: '25:00'"),
        ({"timezone": "Mars/Olympus"}, "notify.timezone: 'Mars/Olympus' is not a time zone"),
        ({"colour": "red"}, "notify.colour: unknown key"),
        ({"smtp": "smtp.village.test"}, "notify.smtp: expected a table"),
        ({"smtp": {**SMTP, "host": ""}}, "notify.smtp.host: required"),
        ({"smtp": {**SMTP, "port": 0}}, "notify.smtp.port: 0 is out of range [1, 65535]"),
        ({"smtp": {**SMTP, "security": "ssl"}}, "notify.smtp.security: 'ssl' is not one of starttls, tls, none"),
        ({"smtp": {**SMTP, "security": "none", "username": "fleet", "password_file": str(loose)}},
         "notify.smtp.username: refusing to log in without TLS"),
        ({"smtp": {**SMTP, "username": "fleet"}}, "notify.smtp.password_file: username and password_file go together"),
        ({"smtp": {**SMTP, "username": "fleet", "password_file": str(loose)}},
         "notify.smtp.password_file: " + str(loose) + ": readable by group or others (mode 644); chmod 600 it"),
        ({"smtp": {**SMTP, "username": "fleet", "password_file": str(tmp_path / "none")}},
         "notify.smtp.password_file: " + str(tmp_path / "none") + ": No such file or directory"),
        ({"smtp": {**SMTP, "recipients": "ops@village.test"}}, "notify.smtp.recipients: expected a non-empty list"),
        ({"smtp": {**SMTP, "recipients": ["the caretaker"]}}, "notify.smtp.recipients: 'the caretaker' is not an"),
        ({"smtp": {**SMTP, "from": "a@b.test\nBcc: x@y.test"}}, "notify.smtp.from: must be one line"),
        ({"smtp": {**SMTP, "ca_file": str(tmp_path / "ca.crt")}}, "notify.smtp.ca_file: " + str(tmp_path / "ca.crt")),
        ({"smtp": {**SMTP, "relay": True}}, "notify.smtp.relay: unknown key"),
        ({"webhook": {"urls": []}}, "notify.webhook.urls: expected a non-empty list"),
        ({"webhook": {"urls": ["http://hooks.village.test/h"]}},
         "notify.webhook.urls: 'http://hooks.village.test/h': plain http only to 127.0.0.1 or ::1 (use https)"),
        ({"webhook": {"urls": ["http://localhost/h"]}}, "plain http only to 127.0.0.1 or ::1"),
        ({"webhook": {"urls": ["ftp://hooks.village.test/h"]}},
         "notify.webhook.urls: 'ftp://hooks.village.test/h': expected https://"),
        ({"webhook": {"urls": ["https://u:pw@hooks.village.test/h"]}}, "no user or password in the URL"),
        ({"webhook": {"urls": ["https:///h"]}}, "notify.webhook.urls: 'https:///h': no host"),
        ({"webhook": {"urls": ["https://h.test/"], "secret_file": str(loose)}},
         "notify.webhook.secret_file: " + str(loose) + ": readable by group or others"),
    ]


def test_notify_settings_refusals_name_file_and_key_in_one_line(tmp_path: Path) -> None:
    for table, expected in _bad(tmp_path):
        with pytest.raises(FleetConfigError) as caught:
            parse_notify_settings(table, "/etc/hameau/fleet.toml")
        message = str(caught.value)
        assert message.startswith("/etc/hameau/fleet.toml: notify."), message
        assert expected in message, (table, message)
        assert "\n" not in message


def test_notify_settings_refusal_hides_the_url_query() -> None:
    with pytest.raises(FleetConfigError) as caught:
        parse_notify_settings({"webhook": {"urls": ["http://hooks.village.test/h?token=s3cr3t"]}}, "fleet.toml")
    assert "s3cr3t" not in str(caught.value) and "plain http only" in str(caught.value)
