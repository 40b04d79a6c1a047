"""`hameau-fleet`: the fleet controller's command line (one module per command group)."""

from __future__ import annotations

import argparse
import importlib
import sys
from importlib.metadata import version

#: Modules that each add their command group with `register(commands)`; the parser they add sets `run`.
COMMAND_MODULES: tuple[str, ...] = (
    "fleet.serve.run",
    "fleet.rollups.cli",
    "fleet.configs.cli",
    "fleet.commands.cli",
    "fleet.registry.cli_devices",
    "fleet.registry.cli_groups",
    "fleet.alarms.cli",
    "fleet.notify.cli",
)


def build_parser() -> argparse.ArgumentParser:
    """The full parser, every command group registered."""
    parser = argparse.ArgumentParser(prog="hameau-fleet", description="Hameau fleet controller.")
    parser.add_argument("--version", action="version", version=f"hameau-fleet {version('hameau')}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of `hameau-fleet`."""
    parser = build_parser()
    args = parser.parse_args(argv)
    run = getattr(args, "run", None)
    if run is None:
        parser.print_help(sys.stderr if args.command else sys.stdout)
        return 0 if args.command is None else 2
    return int(run(args))
