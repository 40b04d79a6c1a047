"""The box's [link] table: TLS-only broker URL, CA and password files judged at load, defaults and ranges, and
check-config naming file, key and reason with no traceback."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from edge.cli import main
from edge.config.loader import load_config
from edge.config.reader import ConfigError

BOX = """
[device]
id = "ecole-01"
latitude = 45.2
longitude = 5.7
timezone = "Europe/Paris"

[buses.gpio]
type = "gpio"

[[sensors]]
id = "water"
driver = "pulse_meter"
bus = "gpio"
pin = 17
litres_per_pulse = 1.0
"""


@pytest.fixture(scope="module")
def ca_pem(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real self-signed CA certificate made by openssl."""
    folder = tmp_path_factory.mktemp("ca")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(folder / "ca.key"), "-out", str(folder / "ca.pem"), "-days", "2", "-subj", "/CN=test-ca"],
        check=True, capture_output=True,
    )
    return folder / "ca.pem"


def _box(tmp_path: Path, ca_pem: Path, link: str, *, mode: int = 0o600, agent: str = "") -> Path:
    secret = tmp_path / "password"
    secret.write_text("s3cret\n", encoding="utf-8")
    secret.chmod(mode)
    path = tmp_path / "box.toml"
    link_table = f'[link]\nca_file = "{ca_pem}"\npassword_file = "password"\n{link}'
    path.write_text(
        BOX + f'\n[agent]\ndb_path = "{tmp_path / "hameau.db"}"\n{agent}\n{link_table}', encoding="utf-8"
    )
    return path


def _problems(path: Path) -> dict[str, str]:
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert all(p.file == str(path) for p in info.value.problems)
    return {p.key: p.reason for p in info.value.problems}


def test_link_config_absent_table_means_no_link(tmp_path: Path) -> None:
    path = tmp_path / "box.toml"
    path.write_text(BOX + f'\n[agent]\ndb_path = "{tmp_path / "x.db"}"\n', encoding="utf-8")
    assert load_config(path).link is None


def test_link_config_defaults(tmp_path: Path, ca_pem: Path) -> None:
    link = load_config(_box(tmp_path, ca_pem, 'broker = "mqtts://fleet.example.org"')).link
    assert link is not None
    assert (link.host, link.port, link.username) == ("fleet.example.org", 8883, "ecole-01")
    assert link.password_file == tmp_path / "password"  # relative to the config file
    assert (link.keepalive_s, link.reconnect_min_s, link.reconnect_max_s, link.ack_timeout_s) == (60, 1.0, 300.0, 60.0)
    assert link.batch_max_bytes == 200_000
    assert link.batch_ages_s == {"event": 0.0, "total": 30.0, "raw": 60.0}
    assert 0 < link.outbox_budget_mb <= 1024  # inside the store's default database budget


def test_link_config_keys_are_read(tmp_path: Path, ca_pem: Path) -> None:
    link = load_config(_box(tmp_path, ca_pem, 'broker = "mqtts://10.0.0.2:18883"\nusername = "box-a"\n'
                            "keepalive_s = 15\nreconnect_min_s = 2\nreconnect_max_s = 60\nack_timeout_s = 30\n"
                            "batch_max_bytes = 262144\nbatch_age_raw_s = 120\noutbox_budget_mb = 100\n")).link
    assert link is not None
    assert (link.host, link.port, link.username, link.keepalive_s) == ("10.0.0.2", 18883, "box-a", 15)
    assert (link.reconnect_min_s, link.reconnect_max_s, link.ack_timeout_s) == (2.0, 60.0, 30.0)
    assert (link.batch_max_bytes, link.batch_age_raw_s, link.outbox_budget_mb) == (262_144, 120.0, 100.0)


@pytest.mark.parametrize("url", ["mqtt://fleet.example.org:1883", "MQTT://fleet.example.org", "tcp://h:1883"])
def test_link_config_plaintext_broker_is_refused(tmp_path: Path, ca_pem: Path, url: str) -> None:
    reason = _problems(_box(tmp_path, ca_pem, f'broker = "{url}"'))["link.broker"]
    assert "plaintext" in reason and "mqtts://" in reason


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("https://h", "scheme must be mqtts"),
        ("mqtts://", "names no host"),
        ("mqtts://u:p@h:8883", "password_file"),
        ("mqtts://h:8883/x", "path"),
        ("mqtts://h:99999", "not a broker URL"),
        ("fleet.example.org", "scheme must be mqtts"),
    ],
)
def test_link_config_bad_broker_urls_are_named(tmp_path: Path, ca_pem: Path, url: str, said: str) -> None:
    assert said in _problems(_box(tmp_path, ca_pem, f'broker = "{url}"'))["link.broker"]


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660, 0o602])
def test_link_config_password_file_open_to_others_is_refused(tmp_path: Path, ca_pem: Path, mode: int) -> None:
    reason = _problems(_box(tmp_path, ca_pem, 'broker = "mqtts://h"', mode=mode))["link.password_file"]
    assert str(tmp_path / "password") in reason and f"{mode:04o}" in reason and "chmod 600" in reason


def test_link_config_password_file_owner_only_is_accepted(tmp_path: Path, ca_pem: Path) -> None:
    assert load_config(_box(tmp_path, ca_pem, 'broker = "mqtts://h"', mode=0o400)).link is not None


def test_link_config_missing_and_bad_files_are_named(tmp_path: Path, ca_pem: Path) -> None:
    path = _box(tmp_path, ca_pem, 'broker = "mqtts://h"')
    text = path.read_text(encoding="utf-8")
    not_pem = tmp_path / "not.pem"
    not_pem.write_text("hello\n", encoding="utf-8")
    path.write_text(text.replace(str(ca_pem), str(not_pem)).replace('"password"', '"nope"'), encoding="utf-8")
    problems = _problems(path)
    assert "not a PEM CA certificate" in problems["link.ca_file"] and str(not_pem) in problems["link.ca_file"]
    assert problems["link.password_file"] == f"{tmp_path / 'nope'}: no such file"


def test_link_config_empty_password_file_is_refused(tmp_path: Path, ca_pem: Path) -> None:
    path = _box(tmp_path, ca_pem, 'broker = "mqtts://h"')
    (tmp_path / "password").write_text("\n", encoding="utf-8")
    assert "empty" in _problems(path)["link.password_file"]


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ("batch_max_bytes = 262145", "link.batch_max_bytes"),  # over fleet.protocol.MAX_PAYLOAD_BYTES
        ("keepalive_s = 0", "link.keepalive_s"),
        ("reconnect_min_s = nan", "link.reconnect_min_s"),
        ("reconnect_max_s = 0.5\nreconnect_min_s = 2", "link.reconnect_max_s"),
        ("ack_timeout_s = -1", "link.ack_timeout_s"),
        ("outbox_budget_mb = 2048", "link.outbox_budget_mb"),  # over the store's 1024 MB budget
        ("insecure = true", "link.insecure"),  # there is no way to switch verification off
    ],
)
def test_link_config_values_out_of_range_are_named(tmp_path: Path, ca_pem: Path, line: str, key: str) -> None:
    assert key in _problems(_box(tmp_path, ca_pem, f'broker = "mqtts://h"\n{line}'))


def test_link_config_max_payload_matches_the_protocol() -> None:
    from edge.config.link import MAX_PAYLOAD_BYTES
    from fleet import protocol

    assert MAX_PAYLOAD_BYTES == protocol.MAX_PAYLOAD_BYTES


def test_link_config_check_config_reports_without_traceback(
    tmp_path: Path, ca_pem: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _box(tmp_path, ca_pem, 'broker = "mqtt://h:1883"', mode=0o644)
    assert main(["check-config", str(path)]) == 2
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    assert f"{path}: link.broker: " in captured.err and f"{path}: link.password_file: " in captured.err
