"""Nothing a user can type gets a traceback: every subcommand of `hameau-edge`, fed bad input, says why in a line.

The subcommands and their arguments are read from the real parser, so a new one is covered without editing
this file. Each is run with its arguments valid but one (bad numbers, empty strings, unknown ids) and with
config, world and database files that are missing, directories, FIFOs, binary or cut short. Any exception out
of `main`, any "Traceback" in what it prints, or an exit status outside {0, 1, 2, 3} fails.
The same cases through a real process, and Ctrl-C, are in hil_tests/test_cli_no_traceback_hil.py.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge.cli import _parser, main

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
BOX = EXAMPLES / "village-inlet.toml"
WORLD = EXAMPLES / "village-inlet-world.toml"
EXAMPLE_DB = "~/.local/state/hameau/village-inlet.db"
EXIT_STATUSES = {0, 1, 2, 3}
#: What a user can type where a value is due: not numbers, out of range, empty, unknown.
BAD_VALUES = ("nan", "inf", "-inf", "-1", "0", "1e400", "99999999999999999999999", "", " ", "no-such-id",
              "é\u202e", "--")
#: Arguments that name a file, and what kind of file each names.
FILE_ARGUMENTS = {"file": "config", "config": "config", "world": "world", "db": "db", "html": "output"}
#: Kinds of files a command may create, where a bad path may be refused or worked around (no exit status asserted).
CREATED = {"db", "output"}


def _subcommands(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> Iterator[
        tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Every (sub-)subcommand of the parser, with its own parser: the leaves of the command tree."""
    found = False
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found = True
            for name, sub in action.choices.items():
                yield from _subcommands(sub, (*prefix, name))
    if not found and prefix:
        yield prefix, parser


def _valued(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    """The arguments that take a value (positionals and options), in the parser's order."""
    return [a for a in parser._actions if a.nargs != 0 and not isinstance(a, argparse._SubParsersAction)
            and a.dest not in ("help", "version")]


COMMANDS = dict(_subcommands(_parser()))


def _good_value(action: argparse.Action, files: dict[str, Path]) -> str:
    """A value the command accepts, so that a case breaks one argument only."""
    if action.choices:
        return str(next(iter(action.choices)))
    kind = FILE_ARGUMENTS.get(action.dest)
    if kind is not None:
        return str(files[kind])
    return {"relay_id": "inlet-valve", "target": "leak-inlet", "alarm_id": "1", "days": "0.02",
            "pulse_window_s": "0.1", "duration": "2h", "reason": "test"}.get(action.dest, "1")


def _argv(command: tuple[str, ...], files: dict[str, Path], bad: tuple[str, str] | None = None) -> list[str]:
    """The command with every argument it takes given a good value, but `bad` = (dest, value)."""
    argv = list(command)
    for action in _valued(COMMANDS[command]):
        value = bad[1] if bad is not None and bad[0] == action.dest else _good_value(action, files)
        if action.option_strings:
            argv += [action.option_strings[-1], value]
        else:
            argv.append(value)
    return argv


def _box(tmp_path: Path, db_path: str) -> Path:
    config = tmp_path / f"box-{abs(hash(db_path))}.toml"
    text = BOX.read_text(encoding="utf-8").replace(EXAMPLE_DB, db_path)
    config.write_text(text, encoding="utf-8")
    return config


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run each case in its own directory: a value taken as a relative file name lands there."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    db = tmp_path / "state" / "box.db"
    return {"config": _box(tmp_path, str(db)), "world": WORLD, "db": tmp_path / "sim.db",
            "output": tmp_path / "report.html"}


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run `hameau-edge argv` in this process; its exit status, what it printed and what it said on stderr.

    A command that hangs (a FIFO read, a sleep of `inf` seconds, a year simulated) stops the test run.
    """
    timer = _with_timeout(120)
    try:
        status = main(argv)
    except SystemExit as exc:  # argparse's own refusals
        status = exc.code if isinstance(exc.code, int) else 2
    finally:
        timer.cancel()
    captured = capsys.readouterr()
    return status, captured.out + captured.err, captured.err


def _assert_one_line_reason(argv: list[str], status: int, output: str) -> None:
    assert "Traceback" not in output, f"hameau-edge {argv!r} printed a traceback:\n{output}"
    assert status in EXIT_STATUSES, f"hameau-edge {argv!r} exited {status}:\n{output}"
    if status == 2:
        assert output.strip(), f"hameau-edge {argv!r} refused without saying why"


def test_cli_every_subcommand_is_enumerated() -> None:
    # The commands README.md documents: if one is missing, the enumeration (not the parser) is wrong.
    assert {("check-config",), ("probe",), ("run",), ("simulate",), ("status",), ("relay",), ("alarms",),
            ("hydrant",), ("valve",)} <= set(COMMANDS)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_cli_no_arguments_is_a_usage_line(command: tuple[str, ...], capsys: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HAMEAU_CONFIG", str(tmp_path / "absent.toml"))
    status, output, _err = _run(list(command), capsys)
    _assert_one_line_reason(list(command), status, output)
    assert status == 2


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_cli_bad_values_are_refused_with_a_reason(command: tuple[str, ...], files: dict[str, Path],
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    for action in _valued(COMMANDS[command]):
        if action.dest in FILE_ARGUMENTS:
            continue  # files have their own cases below
        for value in BAD_VALUES:
            argv = _argv(command, files, (action.dest, value))
            status, output, _err = _run(argv, capsys)
            _assert_one_line_reason(argv, status, output)


def _bad_files(tmp_path: Path) -> dict[str, Path]:
    """Files a user may name by mistake: absent, a directory, a FIFO, binary, not UTF-8, unreadable."""
    tmp_path.mkdir(exist_ok=True)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    binary = tmp_path / "binary"
    binary.write_bytes(bytes(range(256)) * 4)
    latin1 = tmp_path / "latin1.toml"
    latin1.write_bytes("[device]\nname = \"Mairie d'Évian\"\n".encode("latin-1"))
    locked = tmp_path / "locked.toml"
    locked.write_text("[device]\n", encoding="utf-8")
    locked.chmod(0)
    return {"missing": tmp_path / "absent.toml", "directory": tmp_path, "fifo": fifo, "binary": binary,
            "latin1": latin1, "locked": locked, "under a file": binary / "x.toml", "empty name": Path("")}


def _hung(seconds: float) -> None:
    sys.__stderr__.write(f"\nhameau-edge hung for {seconds:g} s: stopping the test run\n")
    os._exit(99)


def _with_timeout(seconds: float) -> threading.Timer:
    """Fail loudly rather than hang forever (a FIFO opened for reading waits for a writer)."""
    timer = threading.Timer(seconds, _hung, (seconds,))
    timer.daemon = True
    timer.start()
    return timer


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_cli_bad_files_are_refused_with_a_reason(command: tuple[str, ...], files: dict[str, Path],
                                                 tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = _bad_files(tmp_path / "bad")
    for action in _valued(COMMANDS[command]):
        if action.dest not in FILE_ARGUMENTS:
            continue
        for name, path in bad.items():
            argv = _argv(command, files, (action.dest, str(path)))
            status, output, _err = _run(argv, capsys)
            _assert_one_line_reason(argv, status, output)
            if FILE_ARGUMENTS[action.dest] not in CREATED:
                assert status == 2, f"{name}: {argv!r} exited {status}:\n{output}"


def _databases(tmp_path: Path) -> dict[str, str]:
    """Database paths that cannot work, by why."""
    tmp_path.mkdir(exist_ok=True)
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(os.urandom(8192))
    cut = tmp_path / "cut.db"
    with sqlite3.connect(cut) as conn:
        conn.execute("CREATE TABLE t (x TEXT)")
        conn.executemany("INSERT INTO t VALUES (?)", [("x" * 200,)] * 200)
    conn.close()
    cut.write_bytes(cut.read_bytes()[:5000])
    header_only = tmp_path / "header.db"
    header_only.write_bytes(b"SQLite format 3\x00" + b"\xff" * 84)
    directory = tmp_path / "a-directory.db"
    directory.mkdir()
    fifo = tmp_path / "fifo.db"
    os.mkfifo(fifo)
    return {"fifo": str(fifo), "garbage": str(garbage), "cut": str(cut), "header only": str(header_only),
            "a directory": str(directory), "under a file": str(garbage / "x.db"), "in /proc": "/proc/hameau/x.db",
            "empty": ""}


#: Commands that run until stopped when their config is good: their database cases are run as processes.
LONG_RUNNING = {("run",)}


@pytest.mark.parametrize("command", sorted(set(COMMANDS) - LONG_RUNNING))
def test_cli_unusable_database_is_one_line(command: tuple[str, ...], tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    for why, db_path in _databases(tmp_path / "dbs").items():
        files = {"config": _box(tmp_path, db_path), "world": WORLD, "db": tmp_path / "sim.db",
                 "output": tmp_path / "report.html"}
        argv = _argv(command, files)
        status, output, err = _run(argv, capsys)
        _assert_one_line_reason(argv, status, output)
        if status != 0:  # a report may follow on stdout (status of a box whose database is broken)
            assert len(err.strip().splitlines()) <= 3, f"{why}: {argv!r}:\n{output}"


@pytest.mark.parametrize(
    ("mistake", "fix", "key", "said"),
    [
        ('rom_id = "28-0416b3a1c2ff"', 'rom_id = "28-nothex"', "sensors[1].rom_id", "28-nothex"),
        ('driver = "ds18b20"', 'driver = "ds18b21"', "sensors[1].driver", "unknown driver 'ds18b21'"),
        ('bus = "w1"', 'bus = "w2"', "sensors[1].bus", "w2"),
        ("pin = 17", "pin = 99", "sensors[0].pin", "99"),
        ('driver = "pulse_meter"', 'driver = "pulse_metre"', "sensors[0].driver", "unknown driver 'pulse_metre'"),
        ("pin = 24", "pin = -4", "actuators[1].pin", "-4"),
        ("pin = 22", 'pin = "22"', "actuators[0].pin", "expected an integer"),
        # A bus refused for its own table: its thermometer, and the heating zone naming it, are not told again.
        ('path = "/sys/bus/w1/devices"', "path = 12", "buses.w1.path", "expected a string"),
        ('type = "onewire"', 'type = "onewir"', "buses.w1.type", "'onewir' is not one of"),
    ],
)
def test_check_config_one_mistake_in_a_part_is_one_message(
    mistake: str, fix: str, key: str, said: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Each mistake is in one sensor's or relay's own table, which a controller ([[leak]], [[heating]]) names:
    # the controller must not then be told that part is "not declared".
    text = BOX.read_text(encoding="utf-8").replace(EXAMPLE_DB, str(tmp_path / "box.db"))
    assert text.count(mistake) == 1
    config = tmp_path / "box.toml"
    config.write_text(text.replace(mistake, fix), encoding="utf-8")
    status, output, err = _run(["check-config", str(config)], capsys)
    assert status == 2 and "Traceback" not in output
    lines = err.strip().splitlines()
    assert lines[0] == "1 problem(s):", err
    assert lines[1].startswith(f"  {config}: {key}: ") and said in lines[1], err


def test_check_config_a_misspelt_reference_is_still_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The quiet reference is only for parts declared with a mistake: a name declared nowhere is still one message.
    text = BOX.read_text(encoding="utf-8").replace(EXAMPLE_DB, str(tmp_path / "box.db"))
    config = tmp_path / "box.toml"
    config.write_text(text.replace('thermometer = "cabinet-temp"', 'thermometer = "cabinet-tmp"'), "utf-8")
    status, _output, err = _run(["check-config", str(config)], capsys)
    assert status == 2
    assert err.strip().splitlines() == [
        "1 problem(s):",
        (f"  {config}: heating[0].thermometer: no sensor 'cabinet-tmp' under [[sensors]] (declared: cabinet-temp, "
         "inlet-meter)"),
    ]


#: The example world runs from 2026-01-01 00:00 local time (Europe/Paris) for 365 days.
SPAN = "it runs from 2026-01-01 00:00 to 2027-01-01 00:00 CET (365 days)"


@pytest.mark.parametrize(("days", "said"), [
    ("365.5", f"--days 365.5 is beyond the world's span: {SPAN}"),
    ("1e400", f"--days inf is beyond the world's span: {SPAN}"),
    ("nan", "--days nan: give a positive number of days (this world spans 365 days)"),
    ("0", "--days 0: give a positive number of days (this world spans 365 days)"),
])
def test_simulate_days_beyond_the_world_is_refused_with_its_span(
    days: str, said: str, files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["simulate", "--config", str(files["config"]), "--world", str(WORLD), "--days", days]
    status, output, err = _run(argv, capsys)  # a refusal is immediate; a year simulated is not
    assert status == 2 and "Traceback" not in output
    assert err.strip() == said
