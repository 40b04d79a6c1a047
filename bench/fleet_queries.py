"""Benchmark: a commune's questions from the roll-up tables against the same questions from raw records.

Seeds a year of readings for N boxes straight into a fresh store (SQLite file, then a throwaway PostgreSQL
cluster): per box a water meter's running total and flow, a lighting energy register, every `--interval-min`
minutes, and the street lights' four decisions a day. Marks every day dirty and lets the roll-up job compute
them all (timed), then times, on each engine, in the same run:
  water   minimum night flow per meter over 60 nights for one box,
  energy  energy per day over a year for a commune (the first `--commune` boxes, a registry group),
each answered from the roll-up tables (fleet/rollups/queries.py) and from the raw records (the same
arithmetic, fleet/rollups/compute.py, over the readings read back). Prints N, the timings and the ratios.

N defaults to 10: on the 2-core build machine 100 boxes (10.6 M records) take about 10 minutes per engine to
seed and roll up, not the couple of minutes a bench may take; the ratios only grow with N and with denser
readings (the raw side reads more rows, the roll-up side the same few).

usage: .venv/bin/python bench/fleet_queries.py [--boxes 10] [--days 365] [--interval-min 15] [--commune 10]
                                               [--engines sqlite,postgresql] [--repeat 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from pg_cluster import PgCluster, postgres_unavailable

from fleet.rollups import RollupJob, queries
from fleet.rollups.compute import decode
from fleet.rollups.marks import mark_days
from fleet.rollups.maths import day_bounds, night_figures, night_windows, register_days
from fleet.rollups.settings import RollupSettings
from fleet.store import open_store
from fleet.store.db import Database

ZONE = ZoneInfo("Europe/Paris")
FIRST_DAY = date(2025, 1, 1)
COLUMNS = "device, lane, seq, boot, mono_s, wall_s, ts, clock, type, body, received_at"


def _say(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def device_id(i: int) -> str:
    return f"box-{i:03d}"


def box_rows(i: int, days: int, interval_s: float) -> Iterator[tuple[Any, ...]]:
    """One box's records over `days`: totals and flows every interval, four lighting decisions a day."""
    device, received = device_id(i), day_bounds(FIRST_DAY + timedelta(days=days), ZONE)[1]
    leak_lph = 3.0 * (i % 5)
    seqs, kwh, litres = {"total": 0, "raw": 0, "event": 0}, 1000.0 + i, 0.0
    t, end = day_bounds(FIRST_DAY, ZONE)[0], day_bounds(FIRST_DAY + timedelta(days=days - 1), ZONE)[1]
    start = t
    while t < end:
        hour = datetime.fromtimestamp(t, ZONE).hour
        flow = leak_lph + (0.0 if 1 <= hour < 5 else 120.0)
        lit = hour >= 18 and hour < 23 or 5 <= hour < 7
        for lane, body in (
            ("total", f'{{"sensor":"water-main","name":"volume_total_l","value":{litres:.3f}}}'),
            ("raw", f'{{"sensor":"water-main","name":"flow_lph","value":{flow:.1f}}}'),
            ("total", f'{{"sensor":"energy-lighting","name":"import_energy_kwh","value":{kwh:.4f}}}'),
        ):
            seqs[lane] += 1
            yield (device, lane, seqs[lane], "b1", t - start, t, t, "synced", "reading", body, received)
        if datetime.fromtimestamp(t, ZONE).minute < interval_s / 60 and hour in (5, 7, 18, 23):
            seqs["event"] += 1
            on = hour in (5, 18)
            body = json.dumps({"kind": "decision", "source": "street-main", "reason": "bench", "data": {
                "relay": "street-lights", "on": on, "mode": "lux", "lux": 10.0}})
            yield (device, "event", seqs["event"], "b1", t - start, t, t, "synced", "event", body, received)
        litres += flow * interval_s / 3600.0
        kwh += (0.74 if lit else 0.0) * interval_s / 3600.0
        t += interval_s


def seed(url: str, boxes: int, days: int, interval_s: float, commune: int) -> int:
    """Fill a fresh store; the number of records."""
    store = open_store(url)
    store.close()
    count = 0
    if url.startswith("sqlite"):
        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
        conn.execute("BEGIN")
        for i in range(boxes):
            rows = list(box_rows(i, days, interval_s))
            conn.executemany(f"INSERT INTO records ({COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)", rows)
            count += len(rows)
        conn.execute("COMMIT")
        conn.close()
    else:
        import psycopg

        with psycopg.connect(url) as conn, conn.cursor() as cur:
            with cur.copy(f"COPY records ({COLUMNS}) FROM STDIN") as copy:
                for i in range(boxes):
                    for row in box_rows(i, days, interval_s):
                        copy.write_row(row)
                        count += 1
            cur.execute("ANALYZE records")
    store = open_store(url)
    try:
        with store.db.transaction() as db:
            db.execute("INSERT INTO groups (name, created_at) VALUES ('commune', 0)")
            for i in range(boxes):
                db.execute("INSERT INTO registry (device, site, latitude, longitude, added_at) VALUES (?,?,?,?,0)",
                           (device_id(i), "Saint-Aubin", 45.187, 5.726))
                if i < commune:
                    db.execute("INSERT INTO group_members VALUES ('commune', ?, 0)", (device_id(i),))
                mark_days(db, device_id(i), {FIRST_DAY + timedelta(days=d) for d in range(days)}, 0.0)
    finally:
        store.close()
    return count


def water_from_raw(db: Database, device: str, evenings: list[date], settings: RollupSettings) -> list[Any]:
    """Minimum night flow per meter and night, computed from the raw readings."""
    windows = night_windows(settings.night_start, settings.night_end, settings.bucket_min, ZONE)
    start = day_bounds(evenings[0], ZONE)[0] - 25 * 3600
    end = day_bounds(evenings[-1] + timedelta(days=1), ZONE)[1] + 25 * 3600
    rows = db.query(
        "SELECT lane, ts, wall_s, type, body FROM records WHERE device = ? AND lane IN ('raw', 'total')"
        " AND ts >= ? AND ts < ? AND type IN ('reading', 'aggregate')", (device, start, end),
    )
    series = decode(rows, [], settings.max_gap_min * 60)
    out = []
    for meter in sorted(set(series.totals_l) | set(series.flows)):
        for evening in evenings:
            figures = night_figures(windows, evening, series.totals_l.get(meter, ()), series.flows.get(meter, ()),
                                    settings.max_gap_min * 60)
            out.append((meter, evening, None if figures is None else figures.min_flow_lph))
    return out


def energy_from_raw(db: Database, devices: list[str], first: date, last: date) -> dict[date, float]:
    """Energy per day summed over devices, computed from the raw register readings."""
    start, end = day_bounds(first, ZONE)[0], day_bounds(last, ZONE)[1]
    totals: dict[date, float] = {}
    for device in devices:
        rows = db.query(
            "SELECT lane, ts, wall_s, type, body FROM records WHERE device = ? AND lane = 'total'"
            " AND ts >= ? AND ts < ? AND type = 'reading'", (device, start - 12 * 3600, end + 12 * 3600),
        )
        for samples in decode(rows, [], 900).energy.values():
            for day, figures in register_days(samples, ZONE).items():
                if first <= day <= last:
                    totals[day] = totals.get(day, 0.0) + figures.amount
    return totals


def best_of(repeat: int, work: Callable[[], Any]) -> tuple[float, Any]:
    """The fastest of `repeat` runs (seconds) and its result."""
    best, result = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = work()
        best = min(best, time.perf_counter() - t0)
    return best, result


def run_engine(name: str, url: str, args: argparse.Namespace) -> dict[str, Any]:
    """Seed, roll up and time both questions on one engine."""
    interval_s = args.interval_min * 60.0
    t0 = time.perf_counter()
    records = seed(url, args.boxes, args.days, interval_s, args.commune)
    seed_s = time.perf_counter() - t0
    _say(f"{name}: {records} records seeded in {seed_s:.1f} s")
    store = open_store(url)
    try:
        db = store.db
        job = RollupJob(RollupSettings(days_per_run=100_000), settle_s=0.0)
        t0 = time.perf_counter()
        while job.run(db, time.time()).left:
            pass
        rollup_s = time.perf_counter() - t0
        _say(f"{name}: {args.boxes * args.days} device-days rolled up in {rollup_s:.1f} s")
        box = device_id(1)
        evenings = [FIRST_DAY + timedelta(days=100 + k) for k in range(60)]
        settings = RollupSettings()
        first, last = evenings[0].isoformat(), evenings[-1].isoformat()
        water_roll_s, rolled = best_of(args.repeat, lambda: queries.water_nights(db, [box], first=first, last=last))
        water_raw_s, raw = best_of(args.repeat, lambda: water_from_raw(db, box, evenings, settings))
        assert [r[3] for r in rolled] == [r[2] for r in raw if r[0] == "water-main"], "rollups disagree with raw"
        commune = queries.group_devices(db, "commune")
        year = (FIRST_DAY.isoformat(), (FIRST_DAY + timedelta(days=args.days - 1)).isoformat())
        energy_roll_s, per_day = best_of(
            args.repeat, lambda: queries.energy_totals(db, commune, first=year[0], last=year[1])
        )
        energy_raw_s, raw_days = best_of(
            1,
            lambda: energy_from_raw(db, commune, FIRST_DAY, FIRST_DAY + timedelta(days=args.days - 1)),
        )
        mismatch = max(abs(kwh - raw_days.get(date.fromisoformat(day), 0.0)) for day, kwh in per_day)
        assert mismatch < 1e-6, f"energy rollups disagree with raw by {mismatch} kWh"
    finally:
        store.close()
    return {
        "engine": name, "boxes": args.boxes, "days": args.days, "records": records, "seed_s": round(seed_s, 1),
        "rollup_s": round(rollup_s, 1), "water_rollup_ms": round(water_roll_s * 1000, 2),
        "water_raw_ms": round(water_raw_s * 1000, 2), "water_ratio": round(water_raw_s / water_roll_s, 1),
        "energy_rollup_ms": round(energy_roll_s * 1000, 2), "energy_raw_ms": round(energy_raw_s * 1000, 2),
        "energy_ratio": round(energy_raw_s / energy_roll_s, 1), "commune_boxes": len(commune),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--boxes", type=int, default=10)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--interval-min", type=float, default=15.0)
    parser.add_argument("--commune", type=int, default=10)
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="hameau-bench-") as tmp:
        for engine in args.engines.split(","):
            if engine == "sqlite":
                results.append(run_engine("sqlite", f"sqlite:///{Path(tmp) / 'fleet.db'}", args))
            elif engine == "postgresql":
                reason = postgres_unavailable()
                if reason is not None:
                    _say(f"postgresql skipped: {reason}")
                    continue
                cluster = PgCluster()
                try:
                    cluster.start()
                    results.append(run_engine("postgresql", cluster.create_database(), args))
                finally:
                    cluster.stop()
    if args.json:
        print(json.dumps(results, indent=1))
        return 0
    print(f"N = {args.boxes} boxes, {args.days} days, a reading of each series every {args.interval_min:g} min")
    for r in results:
        print(f"{r['engine']:>10}: {r['records']} records (seeded {r['seed_s']} s, rolled up {r['rollup_s']} s)")
        print(f"{'':>10}  water nights, 1 box x 60 nights: rollups {r['water_rollup_ms']} ms, raw "
              f"{r['water_raw_ms']} ms, ratio {r['water_ratio']}x")
        print(f"{'':>10}  energy per day, {r['commune_boxes']} boxes x {r['days']} days: rollups "
              f"{r['energy_rollup_ms']} ms, raw {r['energy_raw_ms']} ms, ratio {r['energy_ratio']}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
