"""Benchmark: the live agent's memory and CPU next to a bare interpreter importing the same libraries.

Runs `hameau-edge run` on the example town hall box (simulated buses, a 10 s tick) and, in the
same run, a bare Python process that imports the agent's libraries and sleeps. For both: peak
RSS, and CPU seconds per hour of running measured after a warm-up (imports and start-up excluded).

usage: .venv/bin/python bench/footprint.py [--seconds 120] [--warmup 20]
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "examples" / "village-hall.toml"
LIBRARIES = "gpiozero, smbus2, serial, paho.mqtt.client, schedule, pymodbus.client, astral.sun, pytz, sqlite3, tomllib"
TICKS_PER_S = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Footprint:
    """What one process used."""

    peak_rss_mb: float
    cpu_s_per_hour: float
    startup_cpu_s: float


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS_PER_S


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM")


def _say(text: str) -> None:
    """One progress line on stderr, timed, so a long measurement shows what it is doing."""
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def measure(name: str, command: list[str], seconds: float, warmup: float) -> Footprint:
    """Run `command` for `seconds`, then stop it; CPU per hour is counted after `warmup`."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _say(f"{name}: started (pid {process.pid}); warming up for {warmup:g} s (imports and start-up)")
        time.sleep(warmup)
        if process.poll() is not None:
            raise SystemExit(f"{name}: stopped by itself during the warm-up (exit status {process.returncode})")
        cpu_warm = _cpu_s(process.pid)
        _say(f"{name}: start-up took {cpu_warm:.2f} CPU s; counting CPU and RSS for {seconds - warmup:g} s")
        time.sleep(seconds - warmup)
        cpu_end = _cpu_s(process.pid)
        peak = _peak_rss_mb(process.pid)
        _say(f"{name}: peak RSS {peak:.1f} MB, {cpu_end - cpu_warm:.2f} CPU s after the warm-up; stopping it")
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return Footprint(peak, (cpu_end - cpu_warm) * 3600 / (seconds - warmup), cpu_warm)


def main(argv: list[str] | None = None) -> int:
    """Measure both processes and print them side by side; progress goes to stderr as it measures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--warmup", type=float, default=20.0)
    args = parser.parse_args(argv)
    if not 0 < args.warmup < args.seconds < 86_400:
        parser.error("need 0 < --warmup < --seconds < 86400")
    with tempfile.TemporaryDirectory(prefix="hameau-footprint-") as tmp:
        config = Path(tmp) / "box.toml"
        text = CONFIG.read_text(encoding="utf-8")
        config.write_text(
            re.sub(r'(?m)^db_path = ".*"', f'db_path = "{Path(tmp) / "hameau.db"}"', text),
            encoding="utf-8",
        )
        agent_cmd = [str(Path(sys.executable).parent / "hameau-edge"), "run", "--config", str(config)]
        bare_cmd = [sys.executable, "-c", f"import {LIBRARIES}; import time; time.sleep(1e6)"]
        _say(f"measuring two processes, {args.seconds:g} s each: the agent, then a bare interpreter")
        agent = measure("agent (hameau-edge run, example town hall box)", agent_cmd, args.seconds, args.warmup)
        bare = measure("bare interpreter with the agent's imports", bare_cmd, args.seconds, args.warmup)
    print(f"over {args.seconds:g} s ({args.warmup:g} s warm-up), example town hall box, 10 s tick:")
    print(f"  agent: peak RSS {agent.peak_rss_mb:.1f} MB, {agent.cpu_s_per_hour:.1f} CPU s per hour "
          f"({100 * agent.cpu_s_per_hour / 3600:.3f} % of a core), start-up {agent.startup_cpu_s:.2f} CPU s")
    print(f"  bare interpreter with the same imports: peak RSS {bare.peak_rss_mb:.1f} MB, "
          f"{bare.cpu_s_per_hour:.1f} CPU s per hour, start-up {bare.startup_cpu_s:.2f} CPU s")
    print(f"  ratio agent / bare: RSS {agent.peak_rss_mb / bare.peak_rss_mb:.2f}, "
          f"RSS above bare {agent.peak_rss_mb - bare.peak_rss_mb:.1f} MB")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # measure() stops the process it started on the way out
        print("footprint: interrupted", file=sys.stderr)
        sys.exit(130)
