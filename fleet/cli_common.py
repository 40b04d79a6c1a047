"""What every `hameau-fleet` command shares: one-line argparse errors, `--db`/`--json`, the guarded runner
(a FleetError is one line and exit 2, a closed pipe a quiet exit 1, never a traceback), the opened store,
and the output helpers."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, NoReturn

from fleet.app import open_fleet
from fleet.errors import FleetError
from fleet.settings import add_settings_argument, load_settings
from fleet.store.db import Database

DB_HELP = ("store URL: sqlite:////abs/path.db or postgresql://USER@HOST/DB "
           "(default: fleet.db in $HAMEAU_FLEET_DATA or ~/.local/share/hameau-fleet)")
#: `scheme://user:password@` (or `scheme:/user:password@`, as a path shows it): the password is never said back.
_PASSWORD = re.compile(r"(\w+:/+[^\s/@:'\"]*:)[^\s/@'\"]*@")
Run = Callable[[argparse.Namespace], int]
Group = argparse._SubParsersAction  # type: ignore[type-arg]


def redact(text: str) -> str:
    """`text` with the password of any URL in it replaced by `***`."""
    return _PASSWORD.sub(r"\1***@", text)


def say(prog: str, reason: object) -> None:
    """One line on stderr, `prog: reason`, with any URL's password hidden."""
    print(redact(f"{prog}: {reason}"), file=sys.stderr)


def one_line_errors(parser: argparse.ArgumentParser, prog: str | None = None) -> argparse.ArgumentParser:
    """Make argparse's own refusals one line, `<prog>: <reason>`, exit 2 (no usage dump)."""
    name = prog or parser.prog

    def error(message: str) -> NoReturn:
        say(name, message)
        raise SystemExit(2)

    parser.error = error  # type: ignore[method-assign]
    return parser


def default_user() -> str:
    """Who the CLI says acts when --user is not given: $USER, else "cli"."""
    return os.environ.get("USER") or "cli"


def guarded(prog: str, run: Run) -> Run:
    """`run`, with a FleetError printed as one line `prog: reason` (exit 2) and a closed pipe a quiet exit 1."""

    def wrapper(args: argparse.Namespace) -> int:
        try:
            return run(args)
        except FleetError as error:
            say(prog, error)
            return 2
        except BrokenPipeError:  # `... | head`: the reader went away; no traceback at exit either
            with contextlib.suppress(OSError, ValueError):  # stdout with no file descriptor: nothing to flush
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 1

    return wrapper


def subcommand(group: Group, name: str, help_text: str, run: Run, *, db: bool = True, json_output: bool = True,
               settings: bool = False, prog: str | None = None) -> argparse.ArgumentParser:
    """A subcommand with one-line errors, `--db`, `--json` and `--settings` as asked, its `run` guarded.

    `prog` names the command in its messages when argparse's own name would carry positionals
    (`hameau-fleet commands send ID override` -> `hameau-fleet commands send`)."""
    parser = group.add_parser(name, help=help_text, description=help_text)
    name_said = prog or parser.prog
    one_line_errors(parser, name_said)
    if db:
        parser.add_argument("--db", default=None, metavar="URL", help=DB_HELP)
    if settings:
        add_settings_argument(parser)
    if json_output:
        parser.add_argument("--json", action="store_true", help="print JSON for scripts")
    parser.set_defaults(run=guarded(name_said, run))
    return parser


def group_parser(commands: Group, name: str, help_text: str, *, dest: str | None = None,
                 metavar: str = "SUBCOMMAND") -> Group:
    """A command group (`devices`, `alarms`, `report`...) whose subcommands are added to what it returns."""
    parser = one_line_errors(commands.add_parser(name, help=help_text, description=help_text))
    return parser.add_subparsers(dest=dest or f"{name}_command", metavar=metavar, required=True)


@contextmanager
def opened(args: argparse.Namespace) -> Iterator[Database]:
    """The fleet store of `--db` (migrated; with the `--settings` of a command that takes them), closed after."""
    settings = load_settings(args.settings) if hasattr(args, "settings") else None
    store = open_fleet(args.db, settings)
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


def when_s(at: float | None) -> str:
    """An epoch time as `YYYY-MM-DD HH:MM:SSZ` (UTC), or '-'."""
    return "-" if at is None else time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime(at))


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Left-aligned columns, two spaces apart."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]
    return ["  ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
            for row in (header, *rows)]
