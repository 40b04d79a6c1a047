"""`hameau-fleet`: the fleet controller's command line (one module per command group)."""

from __future__ import annotations

import argparse
import importlib
import sys
from importlib.metadata import version

from fleet.cli_common import one_line_errors

#: What a shell reports for a command stopped by Ctrl-C (128 + SIGINT).
EXIT_INTERRUPTED = 130

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
    "fleet.export.cli",
    "fleet.web.cli",
    "fleet.opendata.cli",
    "fleet.tenants.cli",
)


def build_parser() -> argparse.ArgumentParser:
    """The full parser, every command group registered."""
    parser = one_line_errors(argparse.ArgumentParser(prog="hameau-fleet", description="Hameau fleet controller."))
    parser.add_argument("--version", action="version", version=f"hameau-fleet {version('hameau')}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(commands)
    return parser


def main(argv: list[str] | None = None, *, parser: argparse.ArgumentParser | None = None) -> int:
    """Entry point of `hameau-fleet` (`parser`: one from `build_parser()`, reused by a caller running many)."""
    try:
        parser = build_parser() if parser is None else parser
        args = parser.parse_args(argv)
        run = getattr(args, "run", None)
        if run is None:  # no command: what there is (every group requires its subcommand)
            parser.print_help()
            return 0
        return int(run(args))
    except KeyboardInterrupt:
        print("hameau-fleet: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
