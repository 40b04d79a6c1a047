"""`hameau-fleet report ...` (water nights, lighting, energy from the roll-up tables), `hameau-fleet rollups run`
and `hameau-fleet retention run` (the two periodic jobs, by hand)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from fleet.errors import FleetConfigError, FleetError
from fleet.rollups import queries
from fleet.rollups.job import RollupJob
from fleet.rollups.marks import mark_stored
from fleet.rollups.retention import Retention
from fleet.settings import add_settings_argument, load_settings
from fleet.store import open_store

DB_HELP = "store URL: sqlite:////abs/path.db or postgresql://USER@HOST/DB (default: the embedded fleet.db)"


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `report`, `rollups` and `retention` to the command line."""
    report = commands.add_parser("report", help="per-night water and per-day lighting and energy figures")
    kinds = report.add_subparsers(dest="report", metavar="REPORT", required=True)
    water = _report(kinds, "water-nights", "minimum night flow per meter and night (named by its evening)")
    water.add_argument("--meter", help="one meter (sensor id)")
    water.set_defaults(run=_runner("report water-nights", _water))
    lighting = _report(kinds, "lighting", "hours lit per circuit and day, against the astronomical night")
    lighting.add_argument("--circuit", help="one lighting circuit (controller id)")
    lighting.set_defaults(run=_runner("report lighting", _lighting))
    energy = _report(kinds, "energy", "energy per meter register and day")
    energy.add_argument("--meter", help="one meter (sensor id)")
    energy.add_argument("--register", help="one register, e.g. import_energy_kwh")
    energy.add_argument("--total", action="store_true", help="one line per day: the sum over the devices")
    energy.set_defaults(run=_runner("report energy", _energy))
    rollups = commands.add_parser("rollups", help="the per-day roll-ups")
    actions = rollups.add_subparsers(dest="action", metavar="ACTION", required=True)
    run = actions.add_parser("run", help="recompute every day marked dirty now")
    _common(run, json_flag=True)
    run.set_defaults(run=_runner("rollups run", _rollups_run))
    backfill = actions.add_parser("backfill", help="mark every day of the stored records (then `rollups run`)")
    _common(backfill, json_flag=True)
    backfill.add_argument("--device", help="one device (default: every device)")
    backfill.set_defaults(run=_runner("rollups backfill", _rollups_backfill))
    retention = commands.add_parser("retention", help="raw readings kept raw_keep_days, roll-ups kept")
    actions = retention.add_subparsers(dest="action", metavar="ACTION", required=True)
    run = actions.add_parser("run", help="delete raw readings of rolled-up days older than raw_keep_days now")
    _common(run, json_flag=True)
    run.add_argument("--keep-days", type=int, help="override raw_keep_days of the settings")
    run.set_defaults(run=_runner("retention run", _retention_run))


def _common(parser: argparse.ArgumentParser, *, json_flag: bool) -> None:
    parser.add_argument("--db", default=None, help=DB_HELP)
    add_settings_argument(parser)
    if json_flag:
        parser.add_argument("--json", action="store_true", help="JSON output")


def _report(kinds: Any, name: str, text: str) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = kinds.add_parser(name, help=text)
    _common(parser, json_flag=True)
    parser.add_argument("--device", action="append", default=[], help="a device (repeat for several)")
    parser.add_argument("--group", help="every device of a registry group (a commune)")
    parser.add_argument("--from", dest="first", help="first day/night, YYYY-MM-DD")
    parser.add_argument("--to", dest="last", help="last day/night, YYYY-MM-DD")
    return parser


def _runner(name: str, body: Callable[[argparse.Namespace, Any], int]) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        try:
            for flag in ("first", "last"):
                value = getattr(args, flag, None)
                if value is not None:
                    try:
                        date.fromisoformat(value)
                    except ValueError:
                        raise FleetConfigError(
                            f"--{'from' if flag == 'first' else 'to'} {value!r}: expected YYYY-MM-DD"
                        ) from None
            store = open_store(args.db)
            try:
                return body(args, store.db)
            finally:
                store.close()
        except FleetError as error:
            print(f"hameau-fleet {name}: {error}", file=sys.stderr)
            return 2
    return run


def _devices(args: argparse.Namespace, db: Any) -> list[str]:
    devices = list(args.device)
    if args.group:
        devices += queries.group_devices(db, args.group)
    if not devices:
        raise FleetConfigError("say which devices: --device D (repeatable) or --group G")
    return sorted(set(devices))


def _print(args: argparse.Namespace, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> int:
    if args.json:
        print(json.dumps([dict(zip(columns, row, strict=True)) for row in rows], indent=1))
        return 0
    print("  ".join(columns))
    for row in rows:
        print("  ".join("-" if v is None else f"{v:.3f}" if isinstance(v, float) else str(v) for v in row))
    return 0


def _water(args: argparse.Namespace, db: Any) -> int:
    rows = queries.water_nights(db, _devices(args, db), meter=args.meter, first=args.first, last=args.last)
    return _print(args, queries.WATER_COLUMNS, rows)


def _lighting(args: argparse.Namespace, db: Any) -> int:
    rows = queries.lighting_days(db, _devices(args, db), circuit=args.circuit, first=args.first, last=args.last)
    if args.json:
        return _print(args, queries.LIGHTING_COLUMNS, rows)
    hours = [(*row[:3], row[3] / 3600.0, None if row[4] is None else row[4] / 3600.0, row[5]) for row in rows]
    return _print(args, ("device", "circuit", "day", "lit_h", "dark_h", "switches"), hours)


def _energy(args: argparse.Namespace, db: Any) -> int:
    devices = _devices(args, db)
    if args.total:
        rows = queries.energy_totals(db, devices, register=args.register, first=args.first, last=args.last)
        return _print(args, ("day", "energy_kwh"), rows)
    rows = queries.energy_days(
        db, devices, meter=args.meter, register=args.register, first=args.first, last=args.last
    )
    return _print(args, queries.ENERGY_COLUMNS, rows)


def _rollups_run(args: argparse.Namespace, db: Any) -> int:
    job = RollupJob(load_settings(args.settings).rollups, settle_s=0.0)
    days = 0
    while True:
        result = job.run(db, time.time())
        days += result.days
        if result.left == 0 or result.devices == 0:
            break
    summary = {"days": days, "left": result.left}
    print(json.dumps(summary) if args.json else f"{days} day(s) recomputed, {result.left} left")
    return 0


def _rollups_backfill(args: argparse.Namespace, db: Any) -> int:
    marked = mark_stored(db, load_settings(args.settings).rollups.zone, time.time(), args.device)
    print(json.dumps({"marked": marked}) if args.json else f"{marked} device-day(s) marked")
    return 0


def _retention_run(args: argparse.Namespace, db: Any) -> int:
    settings = load_settings(args.settings)
    retention = settings.retention
    if args.keep_days is not None:
        if not 7 <= args.keep_days <= 36500:
            raise FleetConfigError(f"--keep-days {args.keep_days}: must be within 7..36500")
        retention = type(retention)(args.keep_days, retention.chunk_rows, True)
    job = Retention(retention, settings.rollups)
    result = job.run(db, time.time())
    summary = {"days": result.days, "deleted": result.deleted, "chunks": result.chunks,
               "skipped_dirty": result.skipped_dirty, "cutoff": job.cutoff(time.time()).isoformat()}
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"{result.deleted} reading(s) of {result.days} day(s) before {summary['cutoff']} deleted"
              f" in {result.chunks} chunk(s); {result.skipped_dirty} day(s) still to roll up left alone")
    return 0
