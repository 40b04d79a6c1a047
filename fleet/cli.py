"""`hameau-fleet`: the fleet controller's command line."""

from __future__ import annotations

import argparse
from importlib.metadata import version


def main(argv: list[str] | None = None) -> int:
    """Entry point of `hameau-fleet`."""
    parser = argparse.ArgumentParser(prog="hameau-fleet", description="Hameau fleet controller.")
    parser.add_argument("--version", action="version", version=f"hameau-fleet {version('hameau')}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve = commands.add_parser(
        "serve", help="ingest every box's batches and status from the broker, store them, acknowledge"
    )
    from fleet.serve.run import add_arguments
    from fleet.serve.run import serve as run_serve

    add_arguments(serve)
    args = parser.parse_args(argv)
    if args.command == "serve":
        return run_serve(args)
    parser.print_help()
    return 0
