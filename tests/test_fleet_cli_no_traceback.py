"""Nothing a user can type gets a traceback out of `hameau-fleet`: every subcommand, read from the real parser
(a new one is swept without editing this file), run in-process with its arguments valid but one, that one given
bad values (not numbers, out of range, empty, unknown ids, a directory or a missing file where a file is due, a
URL with a password). Exit status 0, 1 or 2; no "Traceback" in what it prints; the password never said back.

`serve` would connect to its broker once its arguments pass: each of its cases keeps one argument unusable (an
empty password file, refused before any connection) besides the one under test, so only its argument checks
run here; its --db and --settings go through the same opening as every other command, swept with them.
Every bad value is given to every argument (about 2,000 cases, ~15 s: the parser is built once).
"""

from __future__ import annotations

import argparse
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from fleet.cli import build_parser, main
from fleet.cli_common import guarded
from fleet.errors import FleetError
from fleet.registry.devices import add_device
from fleet.store import open_store

SECRET_URL = "postgresql://u:secret@127.0.0.1:1/x"
#: What a user can type where a value is due: not numbers, out of range, empty, unknown, paths that are no file.
BAD_VALUES = ("nan", "inf", "-1", "0", "1e400", "99999999999999999999999", "", " ", "no-such-id", "/",
              "/nonexistent/file.toml", "é\u202e")
Path_ = tuple[tuple[str, argparse.ArgumentParser], ...]


def _leaves(parser: argparse.ArgumentParser, path: Path_ = ()) -> Iterator[Path_]:
    """Every runnable command: the chain of (name, parser) from the top to a parser without subcommands."""
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs and path:
        yield path
    for action in subs:
        for name, sub in action.choices.items():
            yield from _leaves(sub, (*path, (name, sub)))


def _valued(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    """The arguments of one level that take a value (positionals and options)."""
    return [a for a in parser._actions if a.nargs != 0 and not isinstance(a, argparse._SubParsersAction)
            and a.dest not in ("help", "version")]


PARSER = build_parser()  # built once (gettext makes a build cost ~50 ms), reused by every case
LEAVES = {" ".join(name for name, _ in path): path for path in _leaves(PARSER)}


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Good values for the arguments that name a file or a store, all in one directory."""
    root = tmp_path_factory.mktemp("fleet")
    (root / "settings.toml").write_text("", encoding="utf-8")
    (root / "fragment.toml").write_text("[agent]\ntick_s = 2.0\n", encoding="utf-8")
    (root / "passwords").write_text("", encoding="utf-8")
    (root / "acl").write_text("", encoding="utf-8")
    (root / "password").write_text("", encoding="utf-8")  # empty: serve refuses it before any connection
    (root / "password").chmod(0o600)
    subprocess.run(  # a one-certificate CA: quicker to read than the system's bundle, at every case
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(root / "ca.key"), "-out", str(root / "ca.crt"), "-days", "2", "-subj", "/CN=test CA",
         "-addext", "basicConstraints=critical,CA:TRUE"], check=True, capture_output=True)
    db = f"sqlite:///{root / 'fleet.db'}"
    for argv in (["users", "add", "marie", "--role", "technician"], ["groups", "add", "valley"]):
        assert main([*argv, "--db", db], parser=PARSER) == 0
    store = open_store(db)  # box-1 registered (without the broker files a `devices add` writes)
    try:
        add_device(store.db, "box-1", "Mairie", now=1.0e9, groups=["valley"])
    finally:
        store.close()
    return {"db": f"sqlite:///{root / 'fleet.db'}", "settings": str(root / "settings.toml"),
            "file": str(root / "fragment.toml"), "broker_passwords": str(root / "passwords"),
            "broker_acl": str(root / "acl"), "password_file": str(root / "password"),
            "bundle_dir": str(root / "bundle"), "reload_command": "none", "ca": str(root / "ca.crt")}


GOOD = {"broker": "mqtts://127.0.0.1:1", "for_s": "1h",
        "ttl_s": "10m", "lat": "45.1", "lon": "5.7", "timezone": "Europe/Paris", "role": "technician",
        "priority": "10", "limit": "5", "keep_days": "30", "first": "2026-01-01", "last": "2026-01-02",
        "user": "marie", "group": "valley", "name": "valley", "site": "Mairie", "email": "marie@example.org", "username": "fleet.hameau"}


def _good(action: argparse.Action, files: dict[str, str]) -> str:
    if action.choices:
        return str(next(iter(action.choices)))
    return files.get(action.dest) or GOOD.get(action.dest, "box-1")


def _left_out(parser: argparse.ArgumentParser, bad_dest: str | None) -> set[str]:
    """Of each group of arguments that exclude each other, all but one (the bad one, else the first)."""
    out: set[str] = set()
    for group in parser._mutually_exclusive_groups:
        dests = [a.dest for a in group._group_actions]
        kept = bad_dest if bad_dest in dests else dests[0]
        out.update(d for d in dests if d != kept)
    return out


def _argv(path: Path_, files: dict[str, str], bad: tuple[int, str, str] | None) -> list[str]:
    """The command with a good value for each argument but `bad` = (level, dest, value)."""
    argv: list[str] = []
    for level, (name, parser) in enumerate(path):
        argv.append(name)
        left_out = _left_out(parser, bad[1] if bad is not None and bad[0] == level else None)
        for action in _valued(parser):
            if action.dest in left_out:
                continue
            wrong = bad is not None and bad[:2] == (level, action.dest)
            value = bad[2] if wrong else _good(action, files)  # type: ignore[index]
            argv += [action.option_strings[-1], value] if action.option_strings else [value]
    return argv


def _cases() -> Iterator[tuple[str, int, str, str]]:
    for command, path in LEAVES.items():
        for level, (_, parser) in enumerate(path):
            for action in _valued(parser):
                for value in (SECRET_URL, *BAD_VALUES):
                    yield command, level, action.dest, value


CASES = list(_cases())


def test_fleet_cli_no_traceback_sweeps_every_subcommand() -> None:
    assert {"serve", "devices add", "commands send override", "report energy", "notify retry"} <= set(LEAVES)
    swept = {command for command, *_ in CASES}
    assert swept == set(LEAVES)  # every command has an argument to sweep


@pytest.mark.parametrize("command", sorted(LEAVES))
def test_fleet_cli_no_traceback_bad_values(
    command: str, files: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)  # relative paths typed as values land here
    monkeypatch.setenv("HAMEAU_FLEET_DATA", str(tmp_path / "data"))
    path = LEAVES[command]
    for case in [None, *[(level, dest, value) for c, level, dest, value in CASES if c == command]]:
        argv = _argv(path, files, case)
        try:
            code = main(argv, parser=PARSER)
        except SystemExit as exit_:  # argparse's refusals and --help
            code = exit_.code
        out, err = capsys.readouterr()
        assert code in (0, 1, 2), (argv, code, err)
        assert "Traceback" not in out + err, (argv, err)
        assert "secret" not in err, (argv, err)
        if case is not None and (case[1] == "db" or code != 0):
            assert "secret" not in out, (argv, out)  # a store URL's password, or anything a refusal echoes


@pytest.mark.parametrize(("argv", "says"), [
    (["nope"], "hameau-fleet: argument COMMAND: invalid choice: 'nope'"),
    (["--bogus"], "hameau-fleet: unrecognized arguments: --bogus"),
    (["devices"], "hameau-fleet devices: the following arguments are required: SUBCOMMAND"),
    (["commands", "send", "box-1"], "hameau-fleet commands send: the following arguments are required: ACTION"),
    (["alarms", "list", "--db", SECRET_URL, "--kind", "x"], "hameau-fleet alarms list: argument --kind: invalid"),
])
def test_fleet_cli_no_traceback_parser_refusals_are_one_line(
    argv: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(argv, parser=PARSER)
    out, err = capsys.readouterr()
    assert (exit_.value.code, out) == (2, "")
    assert err.startswith(says) and err.count("\n") == 1, err


def test_fleet_cli_no_traceback_closed_pipe_is_a_quiet_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    def reader_gone(_args: argparse.Namespace) -> int:
        raise BrokenPipeError(32, "Broken pipe")

    def refused(_args: argparse.Namespace) -> int:
        raise FleetError(f"--db {SECRET_URL!r}: cannot connect")

    assert guarded("hameau-fleet x", reader_gone)(argparse.Namespace()) == 1
    assert capsys.readouterr() == ("", "")
    assert guarded("hameau-fleet x", refused)(argparse.Namespace()) == 2
    assert capsys.readouterr().err == "hameau-fleet x: --db 'postgresql://u:***@127.0.0.1:1/x': cannot connect\n"
