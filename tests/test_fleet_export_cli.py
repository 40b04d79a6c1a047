"""`hameau-fleet export csv|series`: the file or standard output holds the series, the fleet's time zone comes
from the settings, and every refusal is one line with exit 2 (no traceback, no half-written file)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from fleet.cli import main
from fleet.registry.devices import add_device
from fleet.store import open_store
from tests.fleet_export_data import RECEIVED, store_readings, utc


def settings_file(tmp_path: Path, zone: str) -> str:
    path = tmp_path / f"fleet-{zone.replace('/', '-')}.toml"
    path.write_text(f'[rollups]\ntimezone = "{zone}"\n', encoding="utf-8")
    return str(path)


@pytest.fixture
def url(tmp_path: Path) -> str:
    db = f"sqlite:///{tmp_path / 'fleet.db'}"
    store = open_store(db)
    try:
        add_device(store.db, "box-a", "Mairie", now=RECEIVED)
        store_readings(store, [
            (utc("2026-07-01T03:59:59"), "hall", "temperature_c", 17.0),
            (utc("2026-07-01T04:00:00"), "hall", "temperature_c", 18.0),
            (utc("2026-07-01T21:59:59"), "hall", "temperature_c", 26.5),
            (utc("2026-07-01T22:00:00"), "hall", "temperature_c", 25.0),
        ])
        store_readings(store, [(utc("2026-07-01T12:00:00"), "hall", "temperature_c", 99.0)], clock="unsynced",
                       first_seq=5, boot="b2")
        store.db.execute("INSERT INTO lighting_days VALUES ('box-a', 'street', '2026-07-01', 3600.0, 28800.0, 2)")
    finally:
        store.close()
    return db


def test_export_cli_writes_the_file_in_the_settings_zone(url: str, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "hall.csv"
    paris = settings_file(tmp_path, "Europe/Paris")  # July: UTC+2, the day is 2026-06-30T22:00Z .. 07-01T22:00Z
    assert main(["export", "csv", "--db", url, "--settings", paris, "--device", "box-a", "--sensor", "hall",
                 "--reading", "temperature_c", "--from", "2026-07-01", "--to", "2026-07-01", "--output", str(out)]) == 0
    err = capsys.readouterr().err
    assert "3 row(s) written to" in err
    assert "1 reading(s) of this series have no trusted time yet and are not exported" in err
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8"), newline="")))
    assert [(r[1], r[-1]) for r in rows[1:]] == [
        ("2026-07-01T05:59:59+02:00", "17.0"), ("2026-07-01T06:00:00+02:00", "18.0"),
        ("2026-07-01T23:59:59+02:00", "26.5")]
    assert not (tmp_path / "hall.csv.part").exists()
    montreal = settings_file(tmp_path, "America/Toronto")  # UTC-4: the day is 07-01T04:00Z .. 07-02T04:00Z
    assert main(["export", "csv", "--db", url, "--settings", montreal, "--device", "box-a", "--sensor", "hall",
                 "--reading", "temperature_c", "--from", "2026-07-01", "--to", "2026-07-01"]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out, newline="")))
    assert [(r[0], r[1]) for r in rows[1:]] == [
        ("2026-07-01T04:00:00Z", "2026-07-01T00:00:00-04:00"), ("2026-07-01T21:59:59Z", "2026-07-01T17:59:59-04:00"),
        ("2026-07-01T22:00:00Z", "2026-07-01T18:00:00-04:00")]


def test_export_cli_rollup_to_stdout(url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "csv", "--db", url, "--settings", settings_file(tmp_path, "Europe/Paris"),
                 "--device", "box-a", "--rollup", "lighting_days", "--from", "2026-07-01", "--to", "2026-07-01"]) == 0
    assert capsys.readouterr().out == (
        "day,device,site,circuit,lit_s,dark_s,switches\r\n2026-07-01,box-a,Mairie,street,3600.0,28800.0,2\r\n")


def test_export_cli_lists_series(url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    paris = settings_file(tmp_path, "Europe/Paris")
    assert main(["export", "series", "--db", url, "--settings", paris, "--device", "box-a", "--from", "2026-07-01",
                 "--to", "2026-07-02", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["site"] == "Mairie"
    assert data["readings"] == [{"sensor": "hall", "reading": "temperature_c", "unit": "°C", "count": 4,
                                 "first_s": utc("2026-07-01T03:59:59"), "last_s": utc("2026-07-01T22:00:00"),
                                 "untrusted": 1}]
    assert data["rollups"] == [{"rollup": "lighting_days", "sensor": "street", "register": None, "count": 1,
                                "first_day": "2026-07-01", "last_day": "2026-07-01"}]
    assert main(["export", "series", "--db", url, "--settings", paris, "--device", "box-a", "--from", "2026-07-01",
                 "--to", "2026-07-02"]) == 0
    text = capsys.readouterr().out
    assert "--sensor hall --reading temperature_c  [°C]  4 reading(s)" in text and "1 untrusted" in text
    assert "--rollup lighting_days --sensor street  1 day(s) 2026-07-01 .. 2026-07-01" in text


@pytest.mark.parametrize(("extra", "message"), [
    (["--device", "box-z", "--sensor", "s", "--reading", "r"], "hameau-fleet export csv: no device 'box-z'"),
    (["--device", "box-a"], "hameau-fleet export csv: say which series: --sensor S --reading R"),
    (["--device", "box-a", "--rollup", "water_nights", "--from", "2026-07-01T00:00"], "roll-ups are per day"),
    (["--device", "box-a", "--rollup", "gas"], "argument --rollup: invalid choice"),
    (["--device", "box-a", "--sensor", "hall", "--reading", "temperature_c", "--output", "/nonexistent/dir/x.csv"],
     "hameau-fleet export csv: --output /nonexistent/dir/x.csv: No such file or directory"),
    (["--device", "box-a", "--sensor", "s", "--reading", "r", "--to", "2026-13-01"], "--to '2026-13-01': not a date"),
])
def test_export_cli_refuses_in_one_line(url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                        extra: list[str], message: str) -> None:
    argv = ["export", "csv", "--db", url, "--settings", settings_file(tmp_path, "Europe/Paris"),
            "--from", "2026-07-01", "--to", "2026-07-01", *extra]
    try:
        code = main(argv)
    except SystemExit as exit_:  # argparse's own refusals
        code = int(exit_.code or 0)
    captured = capsys.readouterr()
    assert code == 2 and captured.out == ""
    assert message in captured.err and len(captured.err.strip().splitlines()) == 1 and "Traceback" not in captured.err
