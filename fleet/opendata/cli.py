"""`hameau-fleet ngsi export` (the entities, printed with --dry-run, else pushed once to the `[ngsi]` broker)
and `hameau-fleet ngsi status` (what the export has done)."""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, datetime
from typing import Any

from fleet.cli_common import emit, group_parser, opened, subcommand, table, when
from fleet.errors import FleetConfigError
from fleet.opendata.export import STATE, NgsiExport, all_devices, build
from fleet.settings import load_settings


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `ngsi export` and `ngsi status` to the command line."""
    group = group_parser(commands, "ngsi", "NGSI-LD export of the fleet's data to a context broker",
                         dest="action", metavar="ACTION")
    export = subcommand(group, "export", "build every box's NGSI-LD entities and push them once (or print them)",
                        _export, settings=True)
    export.add_argument("--dry-run", action="store_true", help="print the entities, send nothing")
    export.add_argument("--device", action="append", default=[], help="one box (repeat for several)")
    export.add_argument("--at", metavar="TIME", help="build the entities as of this time (ISO 8601, UTC unless"
                        " it says; default now): the latest values then")
    subcommand(group, "status", "what the export has sent, refused, and when it last ran", _status, settings=True)


def _export(args: argparse.Namespace) -> int:
    settings = load_settings(args.settings).ngsi
    if not args.dry_run and not settings.url:
        raise FleetConfigError("[ngsi] url is not set in the settings: nothing to push to (try --dry-run)")
    now = _time(args.at)
    with opened(args) as db:
        known = all_devices(db)
        unknown = [d for d in args.device if d not in known]
        if unknown:
            raise FleetConfigError(f"--device {unknown[0]}: no such box (or revoked)")
        if args.dry_run:
            built = build(db, settings, args.device or known, now)
            if args.json:
                print(json.dumps(built.entities, indent=2, ensure_ascii=False))
                return 0
            rows = [(e["id"], e["type"], str(len([k for k in e if k not in ("id", "type", "@context")])))
                    for e in built.entities]
            lines = table(("ENTITY", "TYPE", "ATTRIBUTES"), rows) if rows else ["no entity to export"]
            lines += [f"skipped {s.id}: {s.reason}" for s in built.skipped]
            print("\n".join(lines))
            return 0
        report = NgsiExport(settings).run(db, now, full=True)
    if report is None:
        print("hameau-fleet ngsi export: another process is exporting now; nothing done")
        return 1
    data: dict[str, Any] = {
        "devices": report.devices, "upserted": report.upserted, "patched": report.patched,
        "unchanged": report.unchanged, "refused": [{"id": i, "reason": r} for i, r in report.refused],
        "skipped": [{"id": s.id, "reason": s.reason} for s in report.skipped],
    }
    lines = [(f"{report.devices} boxes: {len(report.upserted)} entities upserted, {len(report.patched)} patched,"
             f" {report.unchanged} unchanged, {len(report.refused)} refused, {len(report.skipped)} skipped")]
    lines += [f"refused {i}: {r}" for i, r in report.refused]
    lines += [f"skipped {s.id}: {s.reason}" for s in report.skipped]
    emit(args, data, lines)
    return 2 if report.refused else 0


def _time(text: str | None) -> float:
    if text is None:
        return time.time()
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise FleetConfigError(f"--at {text!r}: expected an ISO 8601 time, e.g. 2026-01-15T12:00:00Z") from None
    return (at if at.tzinfo is not None else at.replace(tzinfo=UTC)).timestamp()


def _status(args: argparse.Namespace) -> int:
    with opened(args) as db:
        row = db.one("SELECT runs, upserted, patched, refused, failed_runs, last_run_at, last_error, watermark"
                     " FROM ngsi_state WHERE name = ?", (STATE,))
        refused = db.query("SELECT id, refused_at, refused_reason FROM ngsi_entities WHERE refused_at IS NOT NULL"
                           " ORDER BY refused_at DESC, id LIMIT 50")
        entities = db.scalar("SELECT count(*) FROM ngsi_entities WHERE shape_hash IS NOT NULL")
    keys = ("runs", "upserted", "patched", "refused", "failed_runs", "last_run_at", "last_error", "watermark")
    state = dict(zip(keys, row, strict=True)) if row is not None else dict.fromkeys(keys)
    data = {**state, "entities": entities,
            "refusals": [{"id": i, "at": at, "reason": reason} for i, at, reason in refused]}
    lines = [(f"runs {state['runs'] or 0} (failed {state['failed_runs'] or 0}), last {when(state['last_run_at'])};"
             f" {entities} entities at the broker; upserts {state['upserted'] or 0}, patches {state['patched'] or 0},"
             f" refusals {state['refused'] or 0}")]
    if state["last_error"]:
        lines.append(f"last error: {state['last_error']}")
    lines += [f"refused {i} at {when(at)}: {reason}" for i, at, reason in refused]
    emit(args, data, lines)
    return 0
