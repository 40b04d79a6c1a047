"""Test side of the umockdev testbed: start the helper under Debian's python3, steer it, read its log.

Runs in the project's virtual environment; it imports nothing from drivers/ or edge/.
"""

from __future__ import annotations

import functools
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

HIL_TESTS = Path(__file__).resolve().parent.parent
HELPER_PYTHON = os.environ.get("HAMEAU_UMOCKDEV_PYTHON", "/usr/bin/python3")
PRELOAD = "libumockdev-preload.so.0"
DEBIAN_PACKAGES = "umockdev gir1.2-umockdev-1.0 python3-gi"
START_TIMEOUT_S = 20.0
REPLY_TIMEOUT_S = 10.0
REQUIRE_ENV = "HAMEAU_REQUIRE_UMOCKDEV"  # set to 1 where a missing umockdev must fail, not skip


@functools.cache
def unavailable_reason() -> str | None:
    """Why the umockdev tests cannot run on this machine, or None when they can."""
    if not sys.platform.startswith("linux"):
        return f"umockdev emulates Linux device nodes; this is {sys.platform}"
    if not Path(HELPER_PYTHON).exists():
        return f"{HELPER_PYTHON} (Debian's python3, which has GObject introspection) is not installed"
    gi_check = subprocess.run(
        [HELPER_PYTHON, "-c", "import gi; gi.require_version('UMockdev', '1.0'); from gi.repository import UMockdev"],
        capture_output=True, text=True, timeout=60, check=False,
    )
    if gi_check.returncode != 0:
        last = (gi_check.stderr.strip().splitlines() or ["no error text"])[-1]
        return (
            f"{HELPER_PYTHON} cannot import UMockdev through GObject introspection ({last}); "
            f"apt install {DEBIAN_PACKAGES}"
        )
    preload_check = subprocess.run(
        [sys.executable, "-c", "pass"], env={**os.environ, "LD_PRELOAD": PRELOAD}, capture_output=True,
        text=True, timeout=60, check=False,
    )
    if "cannot be preloaded" in preload_check.stderr or preload_check.returncode != 0:
        return f"{PRELOAD} cannot be preloaded ({preload_check.stderr.strip()}); apt install {DEBIAN_PACKAGES}"
    return None


def hameau_edge() -> str:
    """The `hameau-edge` console script of the interpreter running the tests."""
    beside = Path(sys.executable).with_name("hameau-edge")
    found = str(beside) if beside.exists() else shutil.which("hameau-edge")
    if found is None:
        raise FileNotFoundError("no hameau-edge console script: run bash scripts/setup --test")
    return found


@dataclass(frozen=True)
class I2CMessage:
    """One I2C message a chip saw (or NACKed): which ioctl carried it, direction and bytes."""

    t_s: float
    seq: int
    ioctl: str
    smbus: str | None
    addr: int
    part: str | None
    dir: str
    length: int
    data: bytes
    ack: bool


def i2c_messages(entries: list[dict[str, Any]], addr: int | None = None) -> list[I2CMessage]:
    """The I2C messages in a transaction log (at one address), oldest first."""
    return [
        I2CMessage(e["t_s"], e["seq"], e["ioctl"], e["smbus"], e["addr"], e["part"], e["dir"], e["length"],
                   bytes.fromhex(e["data"]), e["ack"])
        for e in entries
        if "seq" in e and (addr is None or e["addr"] == addr)
    ]


def w1_conversions(entries: list[dict[str, Any]], rom_id: str) -> list[dict[str, Any]]:
    """The Convert T + Read Scratchpad cycles a thermometer ran, from a transaction log."""
    return [e for e in entries if e.get("rom_id") == rom_id and e.get("op") == "convert_t+read_scratchpad"]


def require_umockdev() -> None:
    """Skip with the precise reason, or fail with it when HAMEAU_REQUIRE_UMOCKDEV=1."""
    import pytest

    reason = unavailable_reason()
    if reason is None:
        return
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{REQUIRE_ENV}=1 but the umockdev tests cannot run: {reason}", pytrace=False)
    pytest.skip(f"umockdev I2C/1-Wire emulation unavailable: {reason}")


class UmockdevBox:
    """The helper process holding the testbed; `close()` stops it and removes every file it made."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        # not "hameau-*": test_agent_restart_hil sweeps new /tmp/hameau-* folders, even other runs' ones
        self.workdir = Path(tempfile.mkdtemp(prefix="i2cdev-umockdev-"))
        self.log_path = self.workdir / "transactions.jsonl"
        self.stderr_path = self.workdir / "helper.stderr"
        self.umockdev_dir: Path | None = None
        self._process: subprocess.Popen[str] | None = None

    def start(self) -> Self:
        """Start the helper and wait until its emulated nodes exist."""
        env = {**os.environ, "PYTHONPATH": str(HIL_TESTS), "TMPDIR": str(self.workdir)}
        env.pop("UMOCKDEV_DIR", None)
        env.pop("LD_PRELOAD", None)
        with open(self.stderr_path, "w", encoding="utf-8") as stderr:
            self._process = subprocess.Popen(
                [HELPER_PYTHON, "-s", "-m", "i2cdev.helper", json.dumps(self.spec), str(self.log_path)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, text=True, env=env, cwd=self.workdir,
            )
        ready = self._reply(START_TIMEOUT_S)
        self.umockdev_dir = Path(ready["umockdev_dir"])
        return self

    def env(self, base: dict[str, str] | None = None) -> dict[str, str]:
        """Environment for a process that should see the emulated /dev/i2c-1 and /sys."""
        assert self.umockdev_dir is not None, "start() first"
        env = dict(os.environ if base is None else base)
        preload = env.get("LD_PRELOAD", "")
        env["LD_PRELOAD"] = f"{PRELOAD} {preload}".strip()
        env["UMOCKDEV_DIR"] = str(self.umockdev_dir)
        return env

    def run(self, args: Sequence[str], *, timeout_s: float = 60.0) -> subprocess.CompletedProcess[str]:
        """Run a command inside the emulated world and capture its output."""
        return subprocess.run(
            list(args), env=self.env(), capture_output=True, text=True, timeout=timeout_s, cwd=self.workdir,
            check=False,
        )

    def set(self, target: str, **values: float) -> None:
        """Change what a chip measures, e.g. set("0x23", illuminance_lx=12.0)."""
        self._command({"op": "set", "target": target, **values})

    def unplug(self, target: str) -> None:
        """Pull a chip ("0x44") or a thermometer ("28-...") off its bus."""
        self._command({"op": "unplug", "target": target})

    def plug(self, target: str) -> None:
        """Put a chip back (power-on reset state) or a thermometer."""
        self._command({"op": "plug", "target": target})

    def entries(self) -> list[dict[str, Any]]:
        """Every log entry so far."""
        if not self.log_path.exists():
            return []
        lines = self.log_path.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]

    def i2c_messages(self, addr: int | None = None) -> list[I2CMessage]:
        """The I2C messages on the bus (at one address), oldest first."""
        return i2c_messages(self.entries(), addr)

    def w1_conversions(self, rom_id: str) -> list[dict[str, Any]]:
        """The Convert T + Read Scratchpad cycles a thermometer ran."""
        return w1_conversions(self.entries(), rom_id)

    def helper_stderr(self) -> str:
        """What the helper printed on stderr (tracebacks of emulation bugs)."""
        return self.stderr_path.read_text(encoding="utf-8") if self.stderr_path.exists() else ""

    def close(self) -> None:
        """Stop the helper (politely, then by force) and delete the testbed and log."""
        process, self._process = self._process, None
        try:
            if process is not None and process.poll() is None:
                try:
                    assert process.stdin is not None
                    process.stdin.write(json.dumps({"op": "quit"}) + "\n")
                    process.stdin.flush()
                    process.wait(timeout=10)
                except (OSError, subprocess.TimeoutExpired):
                    process.send_signal(signal.SIGKILL)
                    process.wait(timeout=10)
            if process is not None:
                for stream in (process.stdin, process.stdout):
                    if stream is not None:
                        stream.close()
        finally:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> Self:
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _command(self, request: dict[str, Any]) -> None:
        process = self._process
        assert process is not None and process.stdin is not None, "start() first"
        process.stdin.write(json.dumps(request) + "\n")
        process.stdin.flush()
        reply = self._reply(REPLY_TIMEOUT_S)
        if not reply.get("ok"):
            raise RuntimeError(f"testbed refused {request}: {reply.get('error')}")

    def _reply(self, timeout_s: float) -> dict[str, Any]:
        process = self._process
        assert process is not None and process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], timeout_s)
        line = process.stdout.readline() if ready else ""
        if not line:
            raise RuntimeError(
                f"umockdev helper gave no answer within {timeout_s} s (exit {process.poll()}):\n{self.helper_stderr()}"
            )
        return json.loads(line)
