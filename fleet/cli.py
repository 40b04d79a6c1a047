"""`hameau-fleet`: the fleet controller's command line."""

from __future__ import annotations

import argparse
from importlib.metadata import version


def main(argv: list[str] | None = None) -> int:
    """Entry point of `hameau-fleet`."""
    parser = argparse.ArgumentParser(prog="hameau-fleet", description="Hameau fleet controller.")
    parser.add_argument("--version", action="version", version=f"hameau-fleet {version('hameau')}")
    parser.parse_args(argv)
    parser.print_help()
    return 0
