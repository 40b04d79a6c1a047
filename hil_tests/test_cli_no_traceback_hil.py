"""Nothing a user can type gets a traceback, through the installed `hameau-edge` in real processes.

Every subcommand, read from the real parser, is run with a config file that is missing, and `run` is run on
databases that cannot work (random bytes, cut short, a directory, a FIFO, under a file, in /proc): each must
say why in a line and exit with a status of its own, or, for `run`, keep running without its database until
Ctrl-C stops it cleanly. The matrix of bad values is tests/test_cli_no_traceback.py (in one process);
Ctrl-C during `simulate` is hil_tests/test_simulate_cli_hil.py.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from edge.cli import _parser

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
BOX = EXAMPLES / "village-inlet.toml"
EXAMPLE_DB = "~/.local/state/hameau/village-inlet.db"
SCRIPT = Path(sys.executable).parent / "hameau-edge"
EXIT_STATUSES = {0, 1, 2, 3, 130}


def _subcommands() -> list[str]:
    commands = next(a for a in _parser()._actions if a.dest == "command")
    return sorted(commands.choices)


def _required_arguments(command: str, config: Path) -> list[str]:
    """The arguments `command` cannot do without, all but the config valid (so the config is what fails)."""
    sub = next(a for a in _parser()._actions if a.dest == "command").choices[command]
    argv = []
    for action in sub._actions:
        if action.option_strings and not action.required:
            continue
        if action.dest in ("help",) or (not action.option_strings and action.nargs == "?"):
            continue
        value = {"file": str(config), "config": str(config), "world": str(EXAMPLES / "village-inlet-world.toml"),
                 "days": "0.02", "relay_id": "inlet-valve", "target": "leak-inlet"}.get(action.dest)
        if action.choices:
            value = str(next(iter(action.choices)))
        argv += [*action.option_strings[-1:], value or "1"]
    if "--config" not in argv and "file" not in {a.dest for a in sub._actions}:
        argv += ["--config", str(config)]
    return argv


def _run(argv: list[str], *, interrupt_after_s: float | None = None) -> tuple[int, str]:
    """Run the installed script; with `interrupt_after_s`, Ctrl-C it then if it still runs."""
    process = subprocess.Popen([str(SCRIPT), *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    if interrupt_after_s is not None:
        deadline = time.monotonic() + interrupt_after_s
        while process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    return process.returncode, out + err


def test_cli_every_subcommand_with_a_missing_config_says_why_in_a_line(tmp_path: Path) -> None:
    absent = tmp_path / "absent.toml"
    cases = {command: [command, *_required_arguments(command, absent)] for command in _subcommands()}
    with ThreadPoolExecutor(max_workers=3) as pool:
        results = dict(zip(cases, pool.map(_run, cases.values()), strict=True))
    assert len(results) >= 9
    for command, (status, output) in results.items():
        assert "Traceback" not in output, f"{cases[command]}:\n{output}"
        assert status == 2, f"{cases[command]} exited {status}:\n{output}"
        assert output.strip().splitlines() in ([f"{absent}: (file): no such file"],
                                               ["1 problem(s):", f"  {absent}: (file): no such file"]), output


def _bad_databases(tmp_path: Path) -> dict[str, str]:
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(os.urandom(8192))
    cut = tmp_path / "cut.db"
    with sqlite3.connect(cut) as conn:
        conn.execute("CREATE TABLE t (x TEXT)")
        conn.executemany("INSERT INTO t VALUES (?)", [("x" * 200,)] * 200)
    conn.close()
    cut.write_bytes(cut.read_bytes()[:5000])
    directory = tmp_path / "dir.db"
    directory.mkdir()
    fifo = tmp_path / "fifo.db"
    os.mkfifo(fifo)
    return {"garbage": str(garbage), "cut": str(cut), "directory": str(directory), "fifo": str(fifo),
            "under a file": str(garbage / "x.db"), "in /proc": "/proc/hameau/x.db"}


#: What `run` must do with each: refuse at once (exit 2), or run without (or with a fresh) database until Ctrl-C.
REFUSED = {"directory", "fifo", "under a file"}


def test_cli_run_on_an_unusable_database_refuses_or_runs_without_a_traceback(tmp_path: Path) -> None:
    configs = {}
    for why, db_path in _bad_databases(tmp_path).items():
        config = tmp_path / f"{why.replace(' ', '-').replace('/', '')}.toml"
        config.write_text(BOX.read_text(encoding="utf-8").replace(EXAMPLE_DB, db_path), encoding="utf-8")
        configs[why] = ["run", "--config", str(config)]
    with ThreadPoolExecutor(max_workers=3) as pool:
        results = dict(zip(configs, pool.map(lambda argv: _run(argv, interrupt_after_s=4.0), configs.values()),
                           strict=True))
    for why, (status, output) in results.items():
        assert "Traceback" not in output, f"{why}:\n{output}"
        if why in REFUSED:
            assert status == 2 and len(output.strip().splitlines()) == 1, f"{why}: exit {status}:\n{output}"
            assert "agent.db_path" in output
        elif status == 130:  # Ctrl-C came while the agent was still starting (a loaded machine)
            assert output.strip().splitlines()[-1] == "hameau-edge: interrupted", f"{why}:\n{output}"
        else:  # the agent's own clean stop on Ctrl-C
            assert status == 0, f"{why}: exit {status}:\n{output}"
            assert "agent: stopped" in output, f"{why}:\n{output}"


@pytest.mark.skipif(os.geteuid() != 0 or not Path("/usr/sbin/runuser").exists(), reason="needs root to become nobody")
def test_cli_run_as_a_user_who_cannot_write_the_database_directory() -> None:
    # The case: `hameau-edge run` by a user who cannot write /var/lib/hameau. Here: a root-owned 0755 dir.
    with tempfile.TemporaryDirectory(dir="/tmp") as tmp:
        _as_nobody(Path(tmp))


def _as_nobody(tmp_path: Path) -> None:
    tmp_path.chmod(0o755)
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o755)
    config = tmp_path / "box.toml"
    config.write_text(BOX.read_text(encoding="utf-8").replace(EXAMPLE_DB, str(locked / "box.db")), "utf-8")
    config.chmod(0o644)
    for path in (config, SCRIPT, Path(sys.executable).resolve()):
        if subprocess.run(["/usr/sbin/runuser", "-u", "nobody", "--", "test", "-r", str(path)],
                          check=False).returncode != 0:
            pytest.skip(f"user nobody cannot read {path}")
    process = subprocess.run(["/usr/sbin/runuser", "-u", "nobody", "--", str(SCRIPT), "check-config", str(config)],
                             capture_output=True, text=True, timeout=60, check=False)
    output = process.stdout + process.stderr
    assert "Traceback" not in output and process.returncode in EXIT_STATUSES, output
    assert f"agent.db_path: {locked} is not writable by user nobody" in output, output
