"""fleet/broker_files.py: Mosquitto's password format, the ACL text, mosquitto.conf, images/fleet in sync."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest

from fleet import broker_files
from fleet.broker_files import BrokerFilesError, BrokerSettings

ROOT = Path(__file__).resolve().parent.parent
# Written by `mosquitto_passwd -c -b FILE alice secret` (Mosquitto 2.0.11, Debian 12).
MOSQUITTO_PASSWD_LINE = ("alice:$7$101$YeMNJqL4IQPlb4mU$qYAtApiwzqsxGJqmssGrbgI3FRmU3UUzsMAsPDEAxHVAjVOgOP7VRxKMZx5"
                         "a5/hzus4lzwZ790ryk3xesMPRKA==")


def settings(**changes: object) -> BrokerSettings:
    values: dict[str, object] = {
        "port": 18883, "cafile": "/x/ca.crt", "certfile": "/x/s.crt", "keyfile": "/x/s.key",
        "password_file": "/x/pw", "acl_file": "/x/acl", "bind_address": "127.0.0.1"}
    values.update(changes)
    return BrokerSettings(**values)  # type: ignore[arg-type]


def test_password_line_reproduces_mosquitto_passwd_for_the_same_salt() -> None:
    salt = base64.b64decode("YeMNJqL4IQPlb4mU")
    assert broker_files.password_line("alice", "secret", salt=salt) == MOSQUITTO_PASSWD_LINE


def test_password_line_checker_reads_mosquitto_passwd() -> None:
    assert broker_files.password_matches(MOSQUITTO_PASSWD_LINE, "alice", "secret")
    assert not broker_files.password_matches(MOSQUITTO_PASSWD_LINE, "alice", "secreT")
    assert not broker_files.password_matches(MOSQUITTO_PASSWD_LINE, "bob", "secret")


def test_password_line_has_mosquittos_shape() -> None:
    user, _, hashed = broker_files.password_line("box-1", "pw").partition(":")
    empty, kind, iterations, salt, digest = hashed.split("$")
    assert (user, empty, kind, iterations) == ("box-1", "", "7", "101")
    assert len(base64.b64decode(salt)) == 12 and len(base64.b64decode(digest)) == 64
    expected = hashlib.pbkdf2_hmac("sha512", b"pw", base64.b64decode(salt), 101)
    assert base64.b64decode(digest) == expected
    assert broker_files.password_line("box-1", "pw") != broker_files.password_line("box-1", "pw")  # fresh salt


@pytest.mark.parametrize("line", [
    "alice", "alice:$6$abc$def", "alice:$7$x$YWJj$YWJj", "alice:$7$101$!!$YWJj", "alice:$7$101$YWJj$YWJj",
    "ali ce:$7$101$YWJj$YWJj", "al:ice$7$", "",
])
def test_password_line_parser_refuses_malformed_lines(line: str) -> None:
    with pytest.raises(BrokerFilesError):
        broker_files.parse_password_line(line)


@pytest.mark.parametrize("user", ["", "a:b", "a b", "#", "+", "a/b", "a\nb", "-a", "x" * 65])
def test_password_line_refuses_users_mosquitto_would_misread(user: str) -> None:
    with pytest.raises(BrokerFilesError):
        broker_files.password_line(user, "pw")


def test_password_file_set_and_remove_user_touch_one_line() -> None:
    a1, b1, a2 = (broker_files.password_line(u, p) for u, p in (("a", "1"), ("b", "1"), ("a", "2")))
    text = broker_files.set_user(broker_files.set_user("", a1), b1)
    assert text.splitlines() == [a1, b1]
    assert broker_files.set_user(text, a2).splitlines() == [b1, a2]
    assert broker_files.remove_user(text, "a").splitlines() == [b1]
    assert broker_files.remove_user(broker_files.remove_user(text, "a"), "b") == ""


def test_acl_grants_exactly_the_fleet_and_device_rules() -> None:
    rules = [line for line in broker_files.acl_text().splitlines() if line and not line.startswith("#")]
    assert rules == [
        "user fleet.hameau",
        "topic read hameau/v1/+/up", "topic read hameau/v1/+/status",
        "topic write hameau/v1/+/ack", "topic write hameau/v1/+/config", "topic write hameau/v1/+/cmd",
        "pattern write hameau/v1/%u/up", "pattern write hameau/v1/%u/status",
        "pattern read hameau/v1/%u/ack", "pattern read hameau/v1/%u/config", "pattern read hameau/v1/%u/cmd",
    ]


def test_acl_refuses_a_fleet_user_a_device_could_be() -> None:
    with pytest.raises(BrokerFilesError, match="no dot"):
        broker_files.acl_text(("fleet",))
    assert broker_files.acl_text(("fleet.a", "fleet.b")).count("topic read hameau/v1/+/up") == 2


def test_conf_puts_every_listener_option_after_the_only_listener_line() -> None:
    lines = broker_files.mosquitto_conf(settings()).splitlines()
    listeners = [i for i, line in enumerate(lines) if line.startswith("listener ")]
    assert [lines[i] for i in listeners] == ["listener 18883 127.0.0.1"]
    for option in ("cafile", "certfile", "keyfile", "require_certificate", "tls_version", "use_username_as_clientid"):
        (at,) = [i for i, line in enumerate(lines) if line.split(" ")[0] == option]
        assert at > listeners[0], option
    for needed in ("allow_anonymous false", "use_username_as_clientid true", "require_certificate false",
                   "tls_version tlsv1.2", "password_file /x/pw", "acl_file /x/acl", "persistence false"):
        assert needed in lines
    assert not any(line.startswith(("port ", "bind_address")) for line in lines)


def test_conf_limits_fit_the_protocols_256_kib_payloads() -> None:
    values = dict(line.split(" ", 1) for line in broker_files.mosquitto_conf(settings()).splitlines()
                  if line and not line.startswith("#"))
    assert 256 * 1024 < int(values["message_size_limit"]) <= 264 * 1024
    assert int(values["message_size_limit"]) + 1024 < int(values["max_packet_size"]) <= 300 * 1024
    assert int(values["max_queued_messages"]) == 16_000  # 16 per device for the 1,000 expected
    values = dict(line.split(" ", 1) for line in broker_files.mosquitto_conf(settings(devices_expected=10))
                  .splitlines() if line and not line.startswith("#"))
    assert int(values["max_queued_messages"]) == 1000


def test_conf_persistence_when_asked() -> None:
    text = broker_files.mosquitto_conf(settings(persistence_dir="/var/lib/m"))
    assert "persistence true\npersistence_location /var/lib/m/\nautosave_interval 60\n" in text


@pytest.mark.parametrize("change", [
    {"port": 0}, {"port": 70000}, {"cafile": ""}, {"keyfile": "/x\nlistener 1883"}, {"acl_file": " /x"},
    {"devices_expected": 0}, {"log_types": ("loud",)}, {"log_types": ()}, {"bind_address": "1.2.3.4\n"},
])
def test_conf_settings_refuse_what_would_break_or_inject_the_file(change: dict[str, object]) -> None:
    with pytest.raises(BrokerFilesError):
        settings(**change)


def test_images_fleet_files_are_what_the_generator_writes() -> None:
    for name, text in broker_files.production_files().items():
        on_disk = (ROOT / "images" / "fleet" / name).read_text(encoding="utf-8")
        assert on_disk == text, f"images/fleet/{name} is stale: .venv/bin/python -m fleet.broker_files images/fleet"
    conf = (ROOT / "images" / "fleet" / "mosquitto.conf").read_text(encoding="utf-8")
    assert "listener 8883\n" in conf and "listener 1883" not in conf
