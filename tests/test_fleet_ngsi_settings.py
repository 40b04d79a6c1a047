"""The `[ngsi]` settings table (off by default; every error names file, table, key, reason), the serve job it
adds, `hameau-fleet ngsi export|status`, and https verified against a CA file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from ngsi_double import NOW, broker_double, seed

from fleet.app import jobs, open_fleet
from fleet.cli import main
from fleet.errors import FleetConfigError
from fleet.opendata.client import BrokerUnavailable
from fleet.opendata.export import NgsiExport
from fleet.opendata.settings import BUILDING_CATEGORIES, NgsiSettings
from fleet.serve.jobs import JobRunner
from fleet.settings import FleetSettings, load_settings


def settings_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "fleet.toml"
    path.write_text("[ngsi]\n" + text, encoding="utf-8")
    return path


def test_ngsi_settings_are_off_by_default_and_add_no_job() -> None:
    assert FleetSettings().ngsi == NgsiSettings()
    assert not NgsiSettings().enabled and NgsiSettings().id_prefix == "hameau" and NgsiSettings().interval_s == 300.0
    assert "ngsi-export" not in [job.name for job in jobs(FleetSettings())]


def test_ngsi_settings_read_every_key(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("abc\n", encoding="utf-8")
    path = settings_file(tmp_path, (
        'enabled = true\nurl = "https://broker.example:1026/"\ntenant = "saint-aubin"\nid_prefix = "fr-38999"\n'
        f'token_file = "{tmp_path / "token"}"\ninterval_s = 600\ntimeout_s = 5\nretries = 1\n'
        'building_category = "public"\nlocality = "Saint-Aubin"\n'
    ))
    found = load_settings(path).ngsi
    assert found == NgsiSettings(enabled=True, url="https://broker.example:1026", tenant="saint-aubin",
                                 id_prefix="fr-38999", token_file=tmp_path / "token", interval_s=600.0,
                                 timeout_s=5.0, retries=1, building_category="public", locality="Saint-Aubin")
    assert found.token() == "abc" and "abc" not in repr(found)
    [job] = [job for job in jobs(FleetSettings(ngsi=found)) if job.name == "ngsi-export"]
    assert job.interval_s == 600.0


@pytest.mark.parametrize(("text", "key", "reason"), [
    ("enabled = \"yes\"\n", "enabled", "must be true or false"),
    ("enabled = true\n", "url", "required when enabled"),
    ("url = \"ftp://broker.example\"\n", "url", "expected http(s)://host"),
    ("url = \"https://user:pw@broker.example\"\n", "url", "without credentials"),
    ("url = \"http://broker.example\"\ntoken_file = \"{token}\"\n", "token_file", "only sent over https"),
    ("token_file = \"{missing}\"\n", "token_file", "no such file"),
    ("ca_file = \"{token}\"\n", "ca_file", "not a usable CA certificate file"),
    ("interval_s = 1\n", "interval_s", "must be within 10..86400"),
    ("timeout_s = nan\n", "timeout_s", "must be within"),
    ("retries = 1.5\n", "retries", "must be an integer"),
    ("id_prefix = \"a b\"\n", "id_prefix", "does not match"),
    ("tenant = \"x/y\"\n", "tenant", "does not match"),
    ("building_category = \"castle\"\n", "building_category", "not a Smart Data Models Building category"),
    ("colour = \"red\"\n", "colour", "unknown key"),
])
def test_ngsi_settings_errors_name_file_table_key_and_reason(tmp_path: Path, text: str, key: str, reason: str) -> None:
    (tmp_path / "token").write_text("abc\n", encoding="utf-8")
    path = settings_file(tmp_path, text.format(token=tmp_path / "token", missing=tmp_path / "nope"))
    with pytest.raises(FleetConfigError) as caught:
        load_settings(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: [ngsi] {key}: ") and reason in message and "\n" not in message


def test_ngsi_settings_building_categories_are_the_models() -> None:
    from ngsi_double import REFERENCE

    schema = json.loads((REFERENCE / "Building" / "schema.json").read_text(encoding="utf-8"))
    assert set(BUILDING_CATEGORIES) == set(schema["allOf"][2]["properties"]["category"]["items"]["enum"])


@pytest.fixture
def seeded_url(store_url: str) -> Iterator[str]:
    store = open_fleet(store_url)
    try:
        seed(store)
    finally:
        store.close()
    yield store_url


def test_ngsi_job_and_cli_push_and_print(seeded_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    at = "2026-01-15T12:00:00Z"  # the seeded fleet's NOW
    assert main(["ngsi", "export", "--dry-run", "--json", "--db", seeded_url, "--device", "box-a", "--at", at]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert len(printed) == 7 and {e["id"].split(":")[4] for e in printed} == {"box-a"}
    assert main(["ngsi", "export", "--db", seeded_url, "--settings", str(settings_file(tmp_path, ""))]) == 2
    assert capsys.readouterr().err.strip() == (
        "hameau-fleet ngsi export: [ngsi] url is not set in the settings: nothing to push to (try --dry-run)")
    assert main(["ngsi", "export", "--dry-run", "--db", seeded_url, "--device", "box-z"]) == 2
    assert "--device box-z: no such box" in capsys.readouterr().err
    assert main(["ngsi", "export", "--dry-run", "--db", seeded_url, "--at", "yesterday"]) == 2
    assert "--at 'yesterday': expected an ISO 8601 time" in capsys.readouterr().err
    with broker_double() as double:
        path = settings_file(tmp_path, f'enabled = true\nurl = "{double.url}"\n')
        store = open_fleet(seeded_url)
        try:  # serve's job runner, with every job of the composition root
            runner = JobRunner(jobs(load_settings(path)), store.db, lambda *_args: None, now=lambda: NOW)
            runner.run_due()
        finally:
            store.close()
        assert runner.failures["ngsi-export"] == 0
        assert len(double.entities) == 8 and double.violations == []
        assert main(["ngsi", "export", "--json", "--db", seeded_url, "--settings", str(path), "--at", at]) == 0
        pushed = json.loads(capsys.readouterr().out)
        assert (pushed["upserted"], pushed["refused"], pushed["devices"]) == ([], [], 2)
    assert main(["ngsi", "status", "--json", "--db", seeded_url]) == 0
    status = json.loads(capsys.readouterr().out)
    assert (status["runs"], status["upserted"], status["entities"]) == (2, 8, 8)


def make_pki(directory: Path) -> tuple[Path, Path, Path]:
    """(CA certificate, server certificate, server key) for 127.0.0.1, made with the openssl command."""
    import subprocess

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=directory, capture_output=True, timeout=30, check=True)

    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=ngsi test CA",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    openssl("req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=ngsi test broker")
    (directory / "server.ext").write_text("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
                                          "extendedKeyUsage=serverAuth\n", encoding="utf-8")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", "server.crt", "-days", "2", "-extfile", "server.ext")
    return directory / "ca.crt", directory / "server.crt", directory / "server.key"


def test_ngsi_export_verifies_https_against_the_ca_file(store_url: str, tmp_path: Path) -> None:
    ca, cert, key = make_pki(tmp_path)
    store = open_fleet(store_url)
    try:
        seed(store)
        with broker_double(tls=(cert, key)) as double:
            untrusted = NgsiExport(NgsiSettings(enabled=True, url=double.url, retries=0), sleep=lambda _s: None)
            with pytest.raises(BrokerUnavailable, match="certificate not trusted"):
                untrusted.run(store.db, NOW)
            assert double.received == []
            trusted = NgsiExport(NgsiSettings(enabled=True, url=double.url, ca_file=ca), sleep=lambda _s: None)
            report = trusted.run(store.db, NOW + 60)
            assert report is not None and len(report.upserted) == 8
    finally:
        store.close()
