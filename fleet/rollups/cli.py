"""`hameau-fleet report ...` (water nights, lighting, energy from the roll-up tables), `hameau-fleet rollups run`
and `hameau-fleet retention run` (the two periodic jobs, by hand)."""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from fleet.cli_common import group_parser, opened, subcommand
from fleet.errors import FleetConfigError
from fleet.rollups import queries
from fleet.rollups.job import RollupJob
from fleet.rollups.marks import mark_stored
from fleet.rollups.retention import Retention
from fleet.settings import load_settings

Body = Callable[[argparse.Namespace, Any], int]


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `report`, `rollups` and `retention` to the command line."""
    kinds = group_parser(commands, "report", "per-night water and per-day lighting and energy figures",
                         dest="report", metavar="REPORT")
    water = _report(kinds, "water-nights", "minimum night flow per meter and night (named by its evening)", _water)
    water.add_argument("--meter", help="one meter (sensor id)")
    lighting = _report(kinds, "lighting", "hours lit per circuit and day, against the astronomical night",
                       _lighting)
    lighting.add_argument("--circuit", help="one lighting circuit (controller id)")
    energy = _report(kinds, "energy", "energy per meter register and day", _energy)
    energy.add_argument("--meter", help="one meter (sensor id)")
    energy.add_argument("--register", help="one register, e.g. import_energy_kwh")
    energy.add_argument("--total", action="store_true", help="one line per day: the sum over the devices")
    actions = group_parser(commands, "rollups", "the per-day roll-ups", dest="action", metavar="ACTION")
    _job(actions, "run", "recompute every day marked dirty now", _rollups_run)
    backfill = _job(actions, "backfill", "mark every day of the stored records (then `rollups run`)",
                    _rollups_backfill)
    backfill.add_argument("--device", help="one device (default: every device)")
    actions = group_parser(commands, "retention", "raw readings kept raw_keep_days, roll-ups kept",
                           dest="action", metavar="ACTION")
    run = _job(actions, "run", "delete raw readings of rolled-up days older than raw_keep_days now", _retention_run)
    run.add_argument("--keep-days", type=int, help="override raw_keep_days of the settings")


def _job(group: Any, name: str, text: str, body: Body) -> argparse.ArgumentParser:
    return subcommand(group, name, text, _with_db(body), settings=True)


def _report(kinds: Any, name: str, text: str, body: Body) -> argparse.ArgumentParser:
    parser = _job(kinds, name, text, body)
    parser.add_argument("--device", action="append", default=[], help="a device (repeat for several)")
    parser.add_argument("--group", help="every device of a registry group (a commune)")
    parser.add_argument("--from", dest="first", help="first day/night, YYYY-MM-DD")
    parser.add_argument("--to", dest="last", help="last day/night, YYYY-MM-DD")
    return parser


def _with_db(body: Body) -> Callable[[argparse.Namespace], int]:
    """`body(args, db)` once the --from/--to days are checked, on the store opened with the settings."""

    def run(args: argparse.Namespace) -> int:
        for flag in ("first", "last"):
            value = getattr(args, flag, None)
            if value is not None:
                try:
                    date.fromisoformat(value)
                except ValueError:
                    raise FleetConfigError(
                        f"--{'from' if flag == 'first' else 'to'} {value!r}: expected YYYY-MM-DD"
                    ) from None
        with opened(args) as db:
            return body(args, db)

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
