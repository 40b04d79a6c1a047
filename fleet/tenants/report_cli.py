"""`hameau-fleet communes report`: every commune's figures over a year (or first..last) against the year before,
as the service's page /service/communes shows them: a table, CSV (a file or standard output) or JSON."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from datetime import datetime
from pathlib import Path

from fleet.cli_common import Group, emit, opened, subcommand, table
from fleet.errors import FleetError
from fleet.settings import load_settings
from fleet.tenants.service_report import (
    ReportError,
    ServiceReport,
    as_records,
    change,
    csv_text,
    report_span,
    service_report,
)


def register(communes: Group) -> None:
    """Add `communes report` to the `communes` group."""
    report = subcommand(communes, "report", "every commune's savings over a year against the year before "
                        "(the service's annual report)", _report, settings=True)
    report.add_argument("--year", default=None, metavar="YYYY",
                        help="a calendar year (default: the last complete one; this year: to today)")
    report.add_argument("--first", default=None, metavar="YYYY-MM-DD", help="first local day (with --last)")
    report.add_argument("--last", default=None, metavar="YYYY-MM-DD", help="last local day, included")
    report.add_argument("--csv", default=None, metavar="FILE",
                        help="write the rows as CSV to FILE ('-': standard output)")


def _text(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _lines(report: ServiceReport) -> list[str]:
    span, (b0, b1) = report.span, report.span.before
    rows = [[r.title, str(r.boxes), _text(r.now.saved_h), _text(r.now.saved_pct), _text(r.now.saved_kwh),
             _text(r.now.saved_eur, 2), _text(r.now.saved_co2_kg), _text(r.now.energy_kwh), str(r.now.leaks),
             _text(r.now.water_caught_l, 0), _text(change(r.now, r.before, "saved_kwh"))] for r in report.every]
    header = ["COMMUNE", "BOXES", "SAVED_H", "SAVED_%", "SAVED_KWH", "SAVED_EUR", "CO2_KG", "ENERGY_KWH", "LEAKS",
              "CAUGHT_L", "KWH_VS_YEAR_BEFORE"]
    return [f"{span.label}: {span.first} to {span.last}, compared with {b0} to {b1}", *table(header, rows)]


def _write(path: Path, text: str) -> None:
    """Write FILE.part, then rename: an interrupted report never leaves a file that looks complete."""
    part = path.with_name(path.name + ".part")
    try:
        with part.open("w", encoding="utf-8", newline="") as out:
            out.write(text)
        os.replace(part, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            part.unlink()
        raise FleetError(f"--csv {path}: {exc.strerror or exc}") from None


def _report(args: argparse.Namespace) -> int:
    if args.csv == "-" and args.json:
        raise ReportError("--csv - and --json both write to standard output: give one")
    zone, now = load_settings(args.settings).rollups.zone, time.time()
    span = report_span(args.year, args.first, args.last, datetime.fromtimestamp(now, zone).date(), dash="--")
    with opened(args) as db:
        report = service_report(db, span, zone, now)
    if args.csv == "-":
        sys.stdout.write(csv_text(report))
        sys.stdout.flush()
        return 0
    if args.csv is not None:
        _write(Path(args.csv).expanduser(), csv_text(report))
        print(f"{len(report.every)} row(s) written to {args.csv}", file=sys.stderr)
    emit(args, as_records(report), _lines(report))
    return 0
