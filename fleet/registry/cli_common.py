"""What the registry's commands share: `--db`/`--json`, one-line errors (never a traceback), time formats."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, NoReturn

from fleet.app import open_fleet
from fleet.errors import FleetError
from fleet.store.db import Database

DB_HELP = ("store URL: sqlite:////abs/path.db or postgresql://USER@HOST/DB "
           "(default: fleet.db in $HAMEAU_FLEET_DATA or ~/.local/share/hameau-fleet)")
Run = Callable[[argparse.Namespace], int]


def one_line_errors(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Make argparse's own refusals one line, `hameau-fleet <command>: <reason>`, exit 2 (no usage dump)."""

    def error(message: str) -> NoReturn:
        print(f"{parser.prog}: {message}", file=sys.stderr)
        raise SystemExit(2)

    parser.error = error  # type: ignore[method-assign]
    return parser


def subcommand(group: argparse._SubParsersAction, name: str, help_text: str, run: Run,  # type: ignore[type-arg]
               *, db: bool = True, json_output: bool = True) -> argparse.ArgumentParser:
    """A subcommand with one-line errors, `--db` and `--json` when asked, and its `run` wrapped in `guarded`."""
    parser = one_line_errors(group.add_parser(name, help=help_text, description=help_text))
    if db:
        parser.add_argument("--db", default=None, metavar="URL", help=DB_HELP)
    if json_output:
        parser.add_argument("--json", action="store_true", help="print JSON for scripts")
    parser.set_defaults(run=guarded(parser.prog, run))
    return parser


def group_parser(commands: argparse._SubParsersAction, name: str, help_text: str  # type: ignore[type-arg]
                 ) -> argparse._SubParsersAction:  # type: ignore[type-arg]
    """A command group (`devices`, `groups`, `users`) whose subcommands are added to what it returns."""
    parser = one_line_errors(commands.add_parser(name, help=help_text, description=help_text))
    return parser.add_subparsers(dest=f"{name}_command", metavar="SUBCOMMAND")


def guarded(prog: str, run: Run) -> Run:
    """`run`, with a FleetError printed as one line `prog: reason` and exit status 2."""

    def wrapper(args: argparse.Namespace) -> int:
        try:
            return run(args)
        except FleetError as error:
            print(f"{prog}: {error}", file=sys.stderr)
            return 2

    return wrapper


@contextmanager
def opened(args: argparse.Namespace) -> Iterator[Database]:
    """The fleet store of `--db` (migrated), closed after."""
    store = open_fleet(args.db)
    try:
        yield store.db
    finally:
        store.close()


def emit(args: argparse.Namespace, data: Any, lines: Sequence[str]) -> None:
    """Print `data` as JSON with `--json`, else the text lines."""
    if getattr(args, "json", False):
        print(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        for line in lines:
            print(line)


def when(at: float | None) -> str:
    """An epoch time as `YYYY-MM-DD HH:MMZ` (UTC), or '-'."""
    return "-" if at is None else time.strftime("%Y-%m-%d %H:%MZ", time.gmtime(at))


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Left-aligned columns, two spaces apart."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]
    return ["  ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
            for row in (header, *rows)]
