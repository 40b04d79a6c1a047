"""`hameau-fleet export csv|series`: a device's series over a date range as CSV, and the series it has."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from pathlib import Path

from fleet.cli_common import emit, group_parser, opened, subcommand, when
from fleet.cli_users import acting_user
from fleet.errors import FleetError
from fleet.export.catalog import catalog, default_span, unit_of
from fleet.export.readings import untrusted_count
from fleet.export.rollups import ROLLUPS
from fleet.export.span import parse_span
from fleet.export.table import CsvExport, ExportRequest
from fleet.settings import load_settings
from fleet.store.db import Database
from fleet.tenants.scope import Scope

RANGE_HELP = "YYYY-MM-DD (a local day in the fleet's time zone, included) or an ISO 8601 datetime"


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `export csv` and `export series`."""
    group = group_parser(commands, "export", "a device's series over a date range as CSV, and what it has",
                         dest="export_command", metavar="WHAT")
    csv_ = subcommand(group, "csv", "one series as CSV (raw readings of a sensor, or a roll-up)", _csv,
                      json_output=False, settings=True)
    csv_.add_argument("--device", required=True, metavar="ID")
    csv_.add_argument("--sensor", help="the sensor id (raw readings), or the meter/circuit of a roll-up")
    csv_.add_argument("--reading", help="the reading name, e.g. temperature_c (or an energy_days register)")
    csv_.add_argument("--rollup", choices=tuple(ROLLUPS), help="a roll-up instead of raw readings")
    csv_.add_argument("--from", dest="first", required=True, help=f"start: {RANGE_HELP}")
    csv_.add_argument("--to", dest="last", required=True,
                      help=f"end: {RANGE_HELP}; a day is included, a datetime excluded")
    csv_.add_argument("--output", metavar="FILE", help="write to FILE (default: standard output)")
    csv_.add_argument("--user", default=None, metavar="NAME",
                      help="export as this fleet user: only their commune's boxes (a service user: any)")
    series = subcommand(group, "series", "the series a device has: readings (last 31 days unless --from/--to) "
                        "and roll-ups", _series, settings=True)
    series.add_argument("--device", required=True, metavar="ID")
    series.add_argument("--from", dest="first", help=f"start: {RANGE_HELP}")
    series.add_argument("--to", dest="last", help=f"end: {RANGE_HELP}")
    series.add_argument("--user", default=None, metavar="NAME",
                        help="as this fleet user: only their commune's boxes (a service user: any)")


def _csv(args: argparse.Namespace) -> int:
    zone = load_settings(args.settings).rollups.zone
    span = parse_span(args.first, args.last, zone)
    request = ExportRequest(args.device, span, args.sensor, args.reading, args.rollup)
    request.check()
    with opened(args) as db:
        _in_scope(db, args.user, args.device)
        export = CsvExport(db, request, zone)
        if args.output is None:
            for chunk in export.chunks():
                sys.stdout.write(chunk)
            sys.stdout.flush()
        else:
            _write(Path(args.output), export)
            print(f"{export.rows} row(s) written to {args.output}", file=sys.stderr)
        if request.rollup is None and request.sensor and request.reading:
            untrusted = untrusted_count(db, request.device, request.sensor, request.reading)
            if untrusted:
                print(f"note: {untrusted} reading(s) of this series have no trusted time yet and are not exported",
                      file=sys.stderr)
    return 0


def _in_scope(db: Database, user: str | None, device: str) -> None:
    """With --user: the box must be one the user sees (another commune's is said unknown, as a missing one)."""
    if user is not None:
        Scope(acting_user(db, user, doing="export").commune).require_device(db, device)


def _write(path: Path, export: CsvExport) -> None:
    """Write to FILE.part, then rename: an interrupted export never leaves a file that looks complete."""
    part = path.with_name(path.name + ".part")
    try:
        with part.open("w", encoding="utf-8", newline="") as out:
            for chunk in export.chunks():
                out.write(chunk)
        os.replace(part, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            part.unlink()
        raise FleetError(f"--output {path}: {exc.strerror or exc}") from None
    except BaseException:
        with contextlib.suppress(OSError):
            part.unlink()
        raise


def _series(args: argparse.Namespace) -> int:
    zone = load_settings(args.settings).rollups.zone
    if (args.first is None) != (args.last is None):
        raise FleetError("give both --from and --to, or neither (the last 31 days)")
    span = default_span(time.time()) if args.first is None else parse_span(args.first, args.last, zone)
    with opened(args) as db:
        _in_scope(db, args.user, args.device)
        found = catalog(db, args.device, span)
    lines = [f"{found.device}" + (f" ({found.site})" if found.site else ""),
             f"readings from {when(span.start_s)} to {when(span.end_s)}:"]
    lines += [f"  --sensor {s.sensor} --reading {s.reading}  [{unit_of(s.reading) or '-'}]  {s.count} reading(s)"
              f" {when(s.first_s)} .. {when(s.last_s)}" + (f", {s.untrusted} untrusted" if s.untrusted else "")
              for s in found.readings] or ["  none"]
    lines.append("roll-ups:")
    lines += [f"  --rollup {s.rollup} --sensor {s.sensor}" + (f" --reading {s.register}" if s.register else "")
              + f"  {s.count} day(s) {s.first_day} .. {s.last_day}" for s in found.rollups] or ["  none"]
    emit(args, found.as_dict(), lines)
    return 0
