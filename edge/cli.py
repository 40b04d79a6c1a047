"""`hameau-edge`: the box's command line (agent, simulation, config check, wiring probe, technician).

This is the composition root: only here is a box built on its real buses or on simulated ones.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import UTC, datetime
from importlib.metadata import version

# Ctrl-C while these load (a slow card, a busy box) ends the command quietly, as it does once main() runs.
try:
    from edge.config.box import BoxConfig
    from edge.config.loader import ConfigError, load_config
    from edge.hardware.assembly import Hardware
    from edge.runtime.lock import AgentLock, AgentLockedError
    from edge.runtime.logs import LEVELS, to_stderr
    from edge.storage.device import device_refusal
    from edge.storage.place import db_path_mistake, db_place_problem
    from edge.technician.commands import add_technician_commands, run_technician
    from edge.technician.provision import add_provision_command, run_provision
except KeyboardInterrupt:
    sys.stderr.write("hameau-edge: interrupted\n")
    raise SystemExit(130) from None

EXIT_OK = 0
EXIT_FAULTS = 1
EXIT_CONFIG = 2
#: What a shell reports for a command stopped by Ctrl-C (128 + SIGINT).
EXIT_INTERRUPTED = 130


def _pulse_window_s(text: str) -> float:
    """--pulse-window-s: a number of seconds from 0 to a day (a slow meter may need an hour to pulse)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 <= value <= 86_400:  # also refuses NaN
        raise argparse.ArgumentTypeError(f"{text} s is out of range: 0 to 86400 s (a day)")
    return value


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
        "--pulse-window-s", type=_pulse_window_s, default=5.0,
        help="seconds to count meter pulses before reading flow (0 to 86400, default 5)",
    )
    run = commands.add_parser("run", help="run the agent (until SIGTERM)")
    run.add_argument("--config", required=True, help="the box's TOML config")
    run.add_argument("--log-level", choices=LEVELS, default="info",
                     help="log on stderr from this level: debug adds readings, info each event (default info)")

    sim = commands.add_parser("simulate", help="run the agent against a simulated world in simulated time")
    sim.add_argument("--config", required=True, help="the box's TOML config")
    sim.add_argument("--world", required=True, help="the world's TOML file")
    sim.add_argument("--days", type=float, required=True, help="simulated days to run")
    sim.add_argument("--json", action="store_true", help="print the report as one JSON object")
    sim.add_argument("--db", help="keep the agent's database at this path (default: a temporary one)")
    sim.add_argument("--story", action="store_true", help="tell what the box did in plain words instead")
    sim.add_argument("--html", metavar="FILE", help="also write a one-page report with charts to FILE")
    sim.add_argument("--price-eur-kwh", type=float, default=0.25,
                     help="price of a kWh the lighting savings are counted at (default 0.25)")
    sim.add_argument("--log-level", choices=LEVELS, default="error",
                     help="log on stderr from this level, at simulated times (default error: the report tells)")
    add_technician_commands(commands)
    add_provision_command(commands)
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
    with to_stderr(getattr(args, "log_level", "warning"), os.environ):
        return _dispatch(args)


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "check-config":
        return _check_config(args.file)
    if args.command in {"status", "relay", "alarms", "hydrant", "valve"}:
        return run_technician(args)
    if args.command == "run":
        return _run(args.config)
    if args.command == "provision":
        return run_provision(args)
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
    try:  # held while the agent lives: `status` asks it whether the agent runs, a second `run` is refused
        with AgentLock(config.agent.db_path, config.device.id, datetime.now(UTC)):
            # The agent records its device in the database it uses; one that names another is refused.
            refusal = device_refusal(config.agent.db_path, config.device.id, config.path)
            if refusal is not None:
                print(refusal, file=sys.stderr)
                return EXIT_CONFIG
            return _run_agent(config)
    except (AgentLockedError, OSError) as exc:
        print(f"{config.path}: {exc}", file=sys.stderr)
        return EXIT_CONFIG


def _run_agent(config: BoxConfig) -> int:
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
    from edge.simulation.simulate import days_refusal, simulate
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
    refusal = days_refusal(spec, args.days)
    if refusal is not None:
        print(refusal, file=sys.stderr)
        return EXIT_CONFIG
    place = db_place_problem(Path(args.db)) if args.db else None
    if place is not None:  # unlike a box, a simulation has no reason to run without its database
        print(f"--db {args.db}: {place}", file=sys.stderr)
        return EXIT_CONFIG
    refusal = device_refusal(Path(args.db), config.device.id, config.path) if args.db else None
    if refusal is not None:  # a database belongs to one device
        print(refusal, file=sys.stderr)
        return EXIT_CONFIG
    from edge.simulation.html_report import html_place_problem, write_html
    from edge.simulation.story import format_story
    from edge.simulation.traces import Traces

    html = Path(args.html) if args.html else None
    problem = html_place_problem(html, args.price_eur_kwh)
    if problem is not None:
        print(problem, file=sys.stderr)
        return EXIT_CONFIG
    traces = Traces() if html is not None else None
    report = simulate(config, spec, args.days, Path(args.db) if args.db else None, traces)
    text = format_story(report, args.price_eur_kwh) if args.story else format_report(report)
    print(json.dumps(report, ensure_ascii=False) if args.json else text)
    if html is not None and traces is not None:
        try:
            write_html(html, report, traces, args.price_eur_kwh)
        except OSError as exc:
            print(f"--html {html}: cannot write the report: {exc.strerror or exc}", file=sys.stderr)
            return EXIT_FAULTS
        print(f"report with charts: {html.resolve()}", file=sys.stderr if args.json else sys.stdout)
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
