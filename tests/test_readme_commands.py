"""The README's commands work as written: after the set-up and its activation line, and on a box."""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import shutil
import subprocess
from itertools import product
from pathlib import Path

import pytest

from edge.cli import _parser

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
BOX_README = (ROOT / "images" / "README.md").read_text(encoding="utf-8")
UNIT = (ROOT / "images" / "systemd" / "hameau-edge.service").read_text(encoding="utf-8")
PROGRAM = re.compile(r"^(?:\.venv/bin/)?hameau-edge\b")


def _code_lines(text: str) -> list[str]:
    """Every `hameau-edge ...` line of the text's ```sh blocks, without its comment."""
    lines = []
    for block in re.findall(r"```sh\n(.*?)```", text, flags=re.DOTALL):
        lines += [line.split("#", 1)[0].strip() for line in block.splitlines() if PROGRAM.match(line.strip())]
    return lines


def _inline(text: str) -> list[str]:
    """Every `hameau-edge <command> ...` written inline in the prose."""
    return [span for span in re.findall(r"`([^`\n]+)`", text) if re.match(r"^hameau-edge [a-z]", span)]


def _variants(line: str) -> list[list[str]]:
    """The argument lists a line stands for, with and without each `[--option]`."""
    words = shlex.split(line)[1:]
    choices = [[[w[1:-1]], []] if w.startswith("[") and w.endswith("]") else [[w]] for w in words]
    return [[w for part in pick for w in part] for pick in product(*choices)]


def _parses(argv: list[str]) -> bool:
    with contextlib.redirect_stderr(io.StringIO()):
        try:
            _parser().parse_args(argv)
        except SystemExit:
            return False
    return True


def test_readme_commands_parse_as_written() -> None:
    lines = _code_lines(README) + _code_lines(BOX_README)
    # The README shows at least these: config check, status, relay, alarms, hydrant, valve, simulate, probe.
    assert {shlex.split(line)[1] for line in lines} >= {
        "check-config", "status", "relay", "alarms", "hydrant", "valve", "simulate", "probe"
    }
    bad = [argv for line in lines for argv in _variants(line) if not _parses(argv)]
    assert bad == []


def test_readme_inline_commands_exist() -> None:
    full = [shlex.split(line)[1:] for line in _code_lines(README)]
    spans = _inline(README) + _inline(BOX_README)
    assert "hameau-edge run --config /etc/hameau/box.toml" in spans
    for span in spans:
        for argv in _variants(span):
            # A whole command, or the start of one the README gives in full.
            assert _parses(argv) or any(argv == whole[: len(argv)] for whole in full), span


def test_readme_log_level_is_an_option_of_run_and_simulate() -> None:
    assert "`--log-level`" in README
    assert _parses(["run", "--config", "box.toml", "--log-level", "debug"])
    assert _parses(["simulate", "--config", "b", "--world", "w", "--days", "1", "--log-level", "info"])
    assert not _parses(["run", "--config", "box.toml", "--log-level", "verbose"])


@pytest.mark.parametrize("shell", ["bash", "sh"])
def test_readme_activation_puts_hameau_edge_on_the_path(shell: str) -> None:
    activation = re.search(r"Then `([^`]*activate)`", README)
    assert activation is not None, "the README says how to activate the venv after the set-up commands"
    if not (ROOT / ".venv" / "bin" / "activate").exists() or shutil.which(shell) is None:
        pytest.skip(f"no .venv in the checkout, or no {shell}")
    # A fresh login's PATH (Debian's, as for a non-root user), no venv active.
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH"}}
    env["PATH"] = "/usr/local/bin:/usr/bin:/bin"
    script = f"{activation[1]} && command -v hameau-edge && hameau-edge --version && hameau-edge status --help"
    result = subprocess.run(
        [shell, "-c", script], check=False, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    found, version = result.stdout.splitlines()[:2]
    assert Path(found) == ROOT / ".venv" / "bin" / "hameau-edge"
    assert version.startswith("hameau-edge ")


def test_readme_box_install_puts_the_unit_s_command_on_the_path() -> None:
    # Debian puts /usr/local/bin on root's, every user's and sudo's PATH (/etc/profile, sudoers secure_path).
    start = re.search(r"^ExecStart=(\S+) run ", UNIT, flags=re.MULTILINE)
    link = re.search(r"^ln -sf (\S+) (\S+)", BOX_README, flags=re.MULTILINE)
    assert start is not None and link is not None
    assert link[1] == start[1]
    assert link[2] == "/usr/local/bin/hameau-edge"
    assert "bash /opt/hameau/scripts/setup" in BOX_README and start[1].startswith("/opt/hameau/.venv/")
