"""`hameau-fleet serve` arguments: one clear line and exit 2 for anything unusable, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from fleet.cli import main
from fleet.errors import FleetConfigError
from fleet.serve.config import parse_broker, read_password
from fleet.serve.handler import reason_key


def test_fleet_serve_broker_url_is_tls_only() -> None:
    assert parse_broker("mqtts://fleet.example:8883") == ("fleet.example", 8883)
    assert parse_broker("mqtts://127.0.0.1") == ("127.0.0.1", 8883)
    for bad in ("mqtt://fleet.example:1883", "tcp://x", "mqtts://", "mqtts://h:99999", "mqtts://u:p@h:1", "h:1"):
        with pytest.raises(FleetConfigError, match="--broker"):
            parse_broker(bad)


def test_fleet_serve_password_file_must_be_private_and_not_empty(tmp_path: Path) -> None:
    path = tmp_path / "pw"
    path.write_text("s3cret\nignored\n", encoding="utf-8")
    path.chmod(0o640)
    with pytest.raises(FleetConfigError, match="chmod 600"):
        read_password(path)
    path.chmod(0o600)
    assert read_password(path) == "s3cret"
    path.write_text("", encoding="utf-8")
    with pytest.raises(FleetConfigError, match="empty"):
        read_password(path)
    with pytest.raises(FleetConfigError, match="No such file"):
        read_password(tmp_path / "absent")


def test_fleet_serve_reject_reasons_fold_record_indexes() -> None:
    assert reason_key("records[12].seq: must be > 3") == reason_key("records[7].seq: must be > 3")
    assert reason_key("records[12].seq: must be > 3") == "records[].seq: must be > 3"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"--broker": "mqtt://127.0.0.1:1"}, "TLS only"),
        ({"--ca": "/nonexistent/ca.crt"}, "--ca /nonexistent/ca.crt: no such file"),
        ({"--ca": "PASSWORD"}, "not a usable CA certificate"),
        ({"--db": "postgresql://fleet:secret@127.0.0.1:1/fleet"}, "cannot open fleet store postgresql://fleet:***@"),
        ({"--db": "sqlite:////nonexistent/dir/fleet.db"}, "directory /nonexistent/dir does not exist"),
        ({"--password-file": "/nonexistent/pw"}, "--password-file /nonexistent/pw"),
    ],
)
def test_fleet_serve_bad_argument_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], change: dict[str, str], message: str
) -> None:
    password = tmp_path / "pw"
    password.write_text("s3cret\n", encoding="utf-8")
    password.chmod(0o600)
    args = {"--broker": "mqtts://127.0.0.1:1", "--ca": "/etc/ssl/certs/ca-certificates.crt",
            "--password-file": str(password), "--db": f"sqlite:///{tmp_path}/fleet.db"}
    args.update({k: (str(password) if v == "PASSWORD" else v) for k, v in change.items()})
    assert main(["serve", *[x for kv in args.items() for x in kv]]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and "secret" not in err
