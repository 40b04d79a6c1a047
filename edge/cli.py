"""`hameau-edge`: the box's command line."""

from __future__ import annotations


def main(argv: list[str] | None = None) -> int:
    """Entry point of `hameau-edge`."""
    return 0
