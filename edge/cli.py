"""`hameau-edge`: the box's command line (agent, simulation, config check, wiring probe, technician).

This is the composition root: only here is a box built on its real buses or on simulated ones.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from importlib.metadata import version

from edge.config.box import BoxConfig
from edge.config.loader import ConfigError, load_config
from edge.hardware.assembly import Hardware
from edge.storage.place import db_path_mistake, db_place_problem
from edge.technician.commands import add_technician_commands, run_technician

EXIT_OK = 0
EXIT_FAULTS = 1
EXIT_CONFIG = 2
#: What a shell reports for a command stopped by Ctrl-C (128 + SIGINT).
EXIT_INTERRUPTED = 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hameau-edge", description="Hameau village box agent.")
    parser.add_argument("--version", action="version", version=f"hameau-edge {version('hameau')}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check = commands.add_parser("check-config", help="validate a config file and list every problem")
    check.add_argument("file", help="the box's TOML config")

    probe = commands.add_parser("probe", help="read every sensor once and scan the buses (wiring check)")
    probe.add_argument("--config", required=True, help="the box's TOML config")
    probe.add_argument("--json", action="store_true", help="print one JSON object")
    probe.add_argument(
        "--pulse-window-s", type=float, default=5.0,
        help="seconds to count meter pulses before reading flow (default 5)",
    )
    run = commands.add_parser("run", help="run the agent (until SIGTERM)")
    run.add_argument("--config", required=True, help="the box's TOML config")

    sim = commands.add_parser("simulate", help="run the agent against a simulated world in simulated time")
    sim.add_argument("--config", required=True, help="the box's TOML config")
    sim.add_argument("--world", required=True, help="the world's TOML file")
    sim.add_argument("--days", type=float, required=True, help="simulated days to run")
    sim.add_argument("--json", action="store_true", help="print the report as one JSON object")
    sim.add_argument("--db", help="keep the agent's database at this path (default: a temporary one)")
    add_technician_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of `hameau-edge`: Ctrl-C stops any command cleanly, with no traceback."""
    try:
        return _main(argv)
    except KeyboardInterrupt:
        print("hameau-edge: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def _main(argv: list[str] | None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # The Modbus driver reports every failed exchange as a typed error; pymodbus's own log is noise.
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
    if args.command == "check-config":
        return _check_config(args.file)
    if args.command in {"status", "relay", "alarms", "hydrant", "valve"}:
        return run_technician(args)
    if args.command == "run":
        return _run(args.config)
    if args.command == "simulate":
        return _simulate(args)
    return _probe(args.config, as_json=args.json, pulse_window_s=args.pulse_window_s)


def _load(path: str) -> BoxConfig | None:
    try:
        return load_config(path)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return None


def _run(path: str) -> int:
    config = _load(path)
    if config is None:
        return EXIT_CONFIG
    mistake = db_path_mistake(config.agent.db_path)
    if mistake is not None:
        print(f"{config.path}: agent.db_path: {mistake}", file=sys.stderr)
        return EXIT_CONFIG
    problem = db_place_problem(config.agent.db_path)
    if problem is not None:  # the agent runs anyway, from memory and its safety copy, and retries
        print(f"{config.path}: agent.db_path: {problem}; running without the database until it can", file=sys.stderr)
    logging.getLogger("hameau").setLevel(logging.INFO)
    if config.simulation.enabled:
        from edge.simulation.live import run_simulated_agent

        return run_simulated_agent(config)
    from edge.runtime.live import run_agent

    return run_agent(config)


def _open_hardware(config: BoxConfig) -> Hardware:
    """The box's hardware: simulated buses and twins when its config says so, its real buses otherwise."""
    if config.simulation.enabled:
        from edge.simulation.hardware import open_simulated_hardware

        return open_simulated_hardware(config)
    from edge.hardware.buses import open_hardware

    return open_hardware(config)


def _simulate(args: argparse.Namespace) -> int:
    from pathlib import Path

    from edge.simulation.report import format_report
    from edge.simulation.simulate import simulate
    from edge.simulation.world_file import load_world

    config = _load(args.config)
    if config is None:
        return EXIT_CONFIG
    try:
        spec = load_world(Path(args.world), config.device, config)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return EXIT_CONFIG
    if args.days <= 0:
        print("--days must be positive", file=sys.stderr)
        return EXIT_CONFIG
    report = simulate(config, spec, args.days, Path(args.db) if args.db else None)
    print(json.dumps(report, ensure_ascii=False) if args.json else format_report(report))
    return EXIT_OK


def _check_config(path: str) -> int:
    try:
        config = load_config(path)
    except ConfigError as exc:
        print(f"{len(exc.problems)} problem(s):", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return EXIT_CONFIG
    mistake = db_path_mistake(config.agent.db_path)
    if mistake is not None:
        print(f"1 problem(s):\n  {config.path}: agent.db_path: {mistake}", file=sys.stderr)
        return EXIT_CONFIG
    problem = db_place_problem(config.agent.db_path)
    if problem is not None:  # not a config mistake: the agent must still start (and run without its database)
        print(f"warning: {config.path}: agent.db_path: {problem}; the agent will run without its database "
              "until it can write there", file=sys.stderr)
    print(
        f"OK: {path}: device {config.device.id!r}, {len(config.buses)} buses, "
        f"{len(config.sensors)} sensors, {len(config.actuators)} actuators"
        + (" (simulated)" if config.simulation.enabled else "")
    )
    return EXIT_OK


def _probe(path: str, *, as_json: bool, pulse_window_s: float) -> int:
    from edge.technician.probe import format_probe, run_probe

    config = _load(path)
    if config is None:
        return EXIT_CONFIG
    with _open_hardware(config) as hardware:
        report = run_probe(hardware, pulse_window_s=pulse_window_s)
    if as_json:
        print(json.dumps(report, ensure_ascii=False))
    else:
        print(format_probe(report))
    return EXIT_OK if all(s["ok"] for s in report["sensors"]) else EXIT_FAULTS
