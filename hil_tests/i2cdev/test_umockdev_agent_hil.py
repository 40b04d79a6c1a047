"""The live agent (`hameau-edge run`) on the emulated i2c-dev and 1-Wire sysfs, then `hameau-edge status`."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import pytest

from i2cdev import expected as ds
from i2cdev.scenario import (
    AIR_HUMIDITY_PCT,
    AIR_TEMPERATURE_C,
    BH1750_ADDRESS,
    CELLAR_BITS,
    CELLAR_ROM,
    CELLAR_TEMPERATURE_C,
    LUX_BH1750_LX,
    LUX_VEML7700_LX,
    ROOM_BITS,
    ROOM_ROM,
    ROOM_TEMPERATURE_C,
    SHT31_ADDRESS,
    VEML7700_ADDRESS,
    default_spec,
    write_box_config,
)
from i2cdev.testbed import (
    I2CMessage,
    UmockdevBox,
    hameau_edge,
    i2c_messages,
    require_umockdev,
    w1_conversions,
)

# The console script `hameau-edge` is edge.cli:main (pyproject.toml [project.scripts]).
IMPORTTIME_ENTRY = "import sys; from edge.cli import main; sys.exit(main())"
SIMULATOR_PREFIXES = ("drivers.sim", "edge.simulation", "edge.sim")
REPEATS = 2  # samples each chip must have answered before the agent is stopped
RUN_DEADLINE_S = 30.0
STOP_TIMEOUT_S = 20.0


@dataclass(frozen=True)
class AgentRun:
    """One agent run until SIGTERM: its exit, stderr, the status afterwards and what the chips saw."""

    returncode: int
    stderr: str
    status: dict[str, Any]
    entries: list[dict[str, Any]]

    def messages(self, addr: int) -> list[I2CMessage]:
        """The messages at one address."""
        return i2c_messages(self.entries, addr)

    def readings(self, sensor_id: str) -> dict[str, float]:
        """The latest readings of a sensor in `hameau-edge status --json`."""
        entry = next(s for s in self.status["sensors"] if s["id"] == sensor_id)
        assert entry["health"] == "ok", entry
        return {name: reading["value"] for name, reading in entry["readings"].items()}


def samples(entries: list[dict[str, Any]]) -> dict[str, int]:
    """Completed measurements per part: data reads on I2C, conversions on 1-Wire."""
    def reads(addr: int, length: int, register: bytes | None = None) -> int:
        messages = i2c_messages(entries, addr)
        return sum(
            1 for i, m in enumerate(messages)
            if m.ack and m.dir == "r" and m.length == length and (register is None or messages[i - 1].data == register)
        )
    return {
        "BH1750": reads(BH1750_ADDRESS, 2),
        "VEML7700": reads(VEML7700_ADDRESS, 2, b"\x04"),
        "SHT31": reads(SHT31_ADDRESS, 6),
        ROOM_ROM: len(w1_conversions(entries, ROOM_ROM)),
        CELLAR_ROM: len(w1_conversions(entries, CELLAR_ROM)),
    }


@pytest.fixture(scope="module")
def agent_runs() -> Iterator[dict[str, AgentRun]]:
    """The agent run twice at once, each in its own emulated box: as the console script and under -X importtime."""
    require_umockdev()
    with ExitStack() as stack:
        runs: dict[str, tuple[UmockdevBox, Any, subprocess.Popen[str]]] = {}
        commands = {
            "console": [hameau_edge()],
            "importtime": [sys.executable, "-X", "importtime", "-c", IMPORTTIME_ENTRY],
        }
        for name, command in commands.items():
            box = stack.enter_context(UmockdevBox(default_spec()))
            config = write_box_config(box.workdir / "box.toml", db_path=box.workdir / "hameau.db")
            stderr = stack.enter_context(open(box.workdir / "agent.stderr", "w+", encoding="utf-8"))
            process = subprocess.Popen(
                [*command, "run", "--config", str(config)], env=box.env(), stdout=subprocess.DEVNULL,
                stderr=stderr, text=True, cwd=box.workdir,
            )
            stack.callback(_kill, process)
            runs[name] = (box, config, process)
        deadline = time.monotonic() + RUN_DEADLINE_S
        while time.monotonic() < deadline:
            counts = [samples(box.entries()) for box, _, _ in runs.values()]
            if all(min(c.values()) >= REPEATS for c in counts) or any(p.poll() is not None for *_, p in runs.values()):
                break
            time.sleep(0.2)
        for _, _, process in runs.values():
            process.send_signal(signal.SIGTERM)
        statuses = {}
        for name, (box, config, process) in runs.items():
            process.wait(timeout=STOP_TIMEOUT_S)
            statuses[name] = subprocess.Popen(
                [hameau_edge(), "status", "--config", str(config), "--json"], env=box.env(),
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=box.workdir,
            )
            stack.callback(_kill, statuses[name])
        results = {}
        for name, (box, _, process) in runs.items():
            status_out, status_err = statuses[name].communicate(timeout=STOP_TIMEOUT_S)
            # The agent stopped: status says so (exit 1) and shows the relays as the stop left them.
            assert statuses[name].returncode == 1, status_err
            assert not box.helper_stderr(), box.helper_stderr()
            stderr_text = (box.workdir / "agent.stderr").read_text(encoding="utf-8")
            results[name] = AgentRun(process.returncode, stderr_text, json.loads(status_out), box.entries())
        yield results


def _kill(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.kill()
        process.wait(timeout=10)


def test_agent_run_stops_cleanly_on_sigterm(agent_runs: dict[str, AgentRun]) -> None:
    for name, run in agent_runs.items():
        assert run.returncode == 0, f"{name}: {run.stderr[-2000:]}"
        assert "Traceback" not in run.stderr, f"{name}: {run.stderr[-2000:]}"


def test_agent_run_chips_saw_repeated_measurements(agent_runs: dict[str, AgentRun]) -> None:
    for name, run in agent_runs.items():
        counts = samples(run.entries)
        assert min(counts.values()) >= REPEATS, f"{name}: {counts}"
        sht = run.messages(SHT31_ADDRESS)
        single_shots = [i for i, m in enumerate(sht) if m.dir == "w" and m.data == ds.SHT_MEASURE_HIGH_NO_STRETCH]
        assert len(single_shots) >= REPEATS
        for index in single_shots:
            read = sht[index + 1]
            assert read.dir == "r" and read.t_s - sht[index].t_s >= ds.SHT_HIGH_MAX_S
        assert ds.writes(sht).count(ds.SHT_SOFT_RESET) == 1  # reset once, then single shots only


def test_agent_run_status_shows_the_datasheet_values(agent_runs: dict[str, AgentRun]) -> None:
    for run in agent_runs.values():
        resolution, mtreg = ds.bh1750_last_setting(run.messages(BH1750_ADDRESS))
        per_lx = ds.bh1750_counts_per_lx(resolution, mtreg)
        bh1750_lx = ds.bh1750_count(LUX_BH1750_LX, resolution, mtreg) / per_lx
        gain, integration_ms = ds.veml_last_setting(run.messages(VEML7700_ADDRESS))
        veml_lx = ds.veml_lux(ds.veml_counts(LUX_VEML7700_LX, gain, integration_ms), gain, integration_ms)
        assert run.readings("lux-bh") == {"illuminance_lx": pytest.approx(bh1750_lx, abs=1e-9)}
        assert run.readings("lux-veml") == {"illuminance_lx": pytest.approx(veml_lx, rel=1e-12)}
        assert run.readings("air") == {
            "temperature_c": pytest.approx(-45 + 175 * ds.sht_temperature_code(AIR_TEMPERATURE_C) / 65535, abs=1e-9),
            "relative_humidity_pct": pytest.approx(100 * ds.sht_humidity_code(AIR_HUMIDITY_PCT) / 65535, abs=1e-9),
        }
        assert run.readings("room") == {"temperature_c": ds.ds18b20_temperature_c(ROOM_TEMPERATURE_C, ROOM_BITS)}
        assert run.readings("cellar") == {"temperature_c": ds.ds18b20_temperature_c(CELLAR_TEMPERATURE_C, CELLAR_BITS)}


def test_agent_run_powers_the_light_sensors_down_when_stopped(agent_runs: dict[str, AgentRun]) -> None:
    for run in agent_runs.values():
        assert ds.writes(run.messages(BH1750_ADDRESS))[-1] == b"\x00"  # power down
        last_conf = ds.writes(run.messages(VEML7700_ADDRESS))[-1]
        assert last_conf[0] == 0x00 and last_conf[1] & 1  # ALS_CONF with ALS_SD = 1: shut down


def test_live_agent_imports_no_simulator_module(agent_runs: dict[str, AgentRun]) -> None:
    lines = [line for line in agent_runs["importtime"].stderr.splitlines() if line.startswith("import time:")]
    modules = [line.rsplit("|", 1)[-1].strip() for line in lines]
    assert "edge.cli" in modules and "smbus2" in modules  # the importtime output is there and is the live path
    simulator = sorted(m for m in modules if m.startswith(SIMULATOR_PREFIXES))
    assert simulator == [], f"the live agent imported simulator modules: {simulator}"
