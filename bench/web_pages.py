"""Benchmark: the dashboard's pages and API at a year of data from a village fleet, on SQLite and PostgreSQL.

Seeds a fresh store (bench/web_seed_year.py: N boxes, a reading of each of 4 series every 15 min for `--days`
days, the lamps' decisions, the roll-ups, a few hundred alarms; the first `--dense` boxes also at the real box's
rates over the last 48 h: lux and water flow every 60 s), then runs the app in-process under FastAPI's
TestClient (create_app, logged in as a viewer through POST /api/v1/session) and times, round-robin so that a
change of the machine's load hits every route alike, `--requests` requests of each route after one warm-up:
  GET /api/v1/session   the baseline: the login check (one indexed row),
  GET /                 the boxes and the map,
  GET /boxes/{device}   every chart of a box (15-min boxes, and the 60-s boxes apart: the night's lux chart
                        reads one night through the (device, lane, ts) index, so its cost follows the readings
                        per night, not the year),
  GET /alarms, GET /savings (a year of the commune), GET /api/v1/devices, GET /api/v1/alarms,
  GET /api/v1/devices/{device}/series.csv (30 days of one temperature), GET /metrics,
  GET /c/{commune} and /api/v1/public/{commune} (the inhabitants' page of one of 10 communes sharing the boxes:
  this month and year, and the same spans a year before; computed at a first visit, then from the app's memory
  for 5 minutes: both timed), GET /service/communes and its CSV (the 10 communes
  over the last calendar year, and the one before), GET /reports.
Prints each route's median and p95 (ms) and its ratio to the baseline's median: ratios, not absolute times,
are what carries from one machine (or one load) to another. A route the app does not have (404) prints
"missing".

usage: .venv/bin/python bench/web_pages.py [--boxes 100] [--days 365] [--engine sqlite|postgresql|both]
                                           [--requests 20] [--dense 10] [--dense-hours 48] [--budget-s 60]
                                           [--sqlite-file PATH] [--analyze] [--pg-url URL] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench"), str(ROOT / "tests")]

from pg_cluster import PgCluster, postgres_unavailable
from web_seed_year import PARIS, Plan, device_id, seed

from fleet.store import open_store
from fleet.tenants.communes import create_commune, get_commune, new_commune, set_members
from tests.web_helpers import Clock, login, web_app

BASELINE = "GET /api/v1/session (baseline)"
#: The fleet's boxes are shared out among this many communes (an intercommunal service).
COMMUNES = 10
#: The public page with the app's cache of public views emptied before each request: what a first visit costs.
COMPUTED = "GET /c/{commune} (first visit: computed)"
SERIES = re.compile(r'<g class="series" data-series="([^"]+)"[^>]*>\s*<desc>([^<]*)</desc>')


def _say(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def routes(plan: Plan) -> list[tuple[str, Callable[[int], str]]]:
    """(label, path of the k-th request) of each route timed; box routes go round the boxes."""
    sparse = [device_id(i) for i in range(plan.dense, plan.boxes)] or [device_id(0)]
    dense = [device_id(i) for i in range(plan.dense)] or [device_id(0)]
    today = datetime.fromtimestamp(plan.now, PARIS).date()
    span = f"from={(today - timedelta(days=30)).isoformat()}&to={(today - timedelta(days=1)).isoformat()}"
    return [
        (BASELINE, lambda k: "/api/v1/session"),
        ("GET / (boxes + map)", lambda k: "/"),
        ("GET /boxes/{device} (15-min box)", lambda k: f"/boxes/{sparse[k % len(sparse)]}"),
        ("GET /boxes/{device} (60-s box)", lambda k: f"/boxes/{dense[k % len(dense)]}"),
        ("GET /alarms", lambda k: "/alarms"),
        ("GET /savings", lambda k: "/savings"),
        ("GET /api/v1/devices", lambda k: "/api/v1/devices"),
        ("GET /api/v1/alarms", lambda k: "/api/v1/alarms"),
        ("GET /api/v1/devices/{device}/series.csv (30 d)", lambda k: (
            f"/api/v1/devices/{sparse[k % len(sparse)]}/series.csv?{span}&sensor=hall-temp&reading=temperature_c")),
        ("GET /metrics", lambda k: "/metrics"),
        (COMPUTED, lambda k: f"/c/{commune(k)}"),
        (f"GET /c/{{commune}} (public page, {plan.boxes // COMMUNES} boxes)", lambda k: f"/c/{commune(k)}"),
        ("GET /api/v1/public/{commune}", lambda k: f"/api/v1/public/{commune(k)}"),
        (f"GET /service/communes ({COMMUNES} communes, a year)", lambda k: "/service/communes"),
        ("GET /service/communes.csv", lambda k: "/service/communes.csv"),
        ("GET /reports", lambda k: "/reports"),
    ]


def commune(k: int) -> str:
    """The k-th commune's name."""
    return f"commune-{k % COMMUNES}"


def ensure_communes(url: str, plan: Plan) -> None:
    """The boxes shared out among COMMUNES communes (in id order), unless an earlier run did it."""
    store = open_store(url)
    try:
        db = store.db
        if get_commune(db, commune(0)) is not None:
            return
        per = max(1, plan.boxes // COMMUNES)
        for c in range(COMMUNES):
            create_commune(db, new_commune(commune(c), f"Commune {c}", now=plan.now))
            devices = [device_id(i) for i in range(c * per, min(plan.boxes, (c + 1) * per))]
            if devices:
                set_members(db, commune(c), "device", devices)
    finally:
        store.close()


def chart_points(html: str) -> dict[str, int]:
    """Points with a value in each chart series of a page, by series name (summed over charts)."""
    found: dict[str, int] = {}
    for name, data in SERIES.findall(html):
        points = json.loads(data.replace("&quot;", '"').replace("&#x27;", "'").replace("&amp;", "&"))
        found[name] = found.get(name, 0) + sum(1 for _, y in points if y is not None)
    return found


def p95(values: list[float]) -> float:
    """The 95th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(0.95 * len(ordered) + 0.5) - 1))]


def measure(url: str, plan: Plan, requests: int, budget_s: float) -> dict[str, Any]:
    """Time every route on the seeded store at `url` (a route stops once its requests took `budget_s`)."""
    ensure_communes(url, plan)
    table = routes(plan)
    times: dict[str, list[float]] = {label: [] for label, _ in table}
    status: dict[str, int] = {}
    with web_app(url, clock=Clock(plan.now)) as app:
        browser, _ = login(app, url, "bench", "viewer")
        checks = {kind: chart_points(browser.get(f"/boxes/{device_id(i)}").text)
                  for kind, i in (("15-min box", plan.dense if plan.boxes > plan.dense else 0), ("60-s box", 0))}
        for label, path in table:  # warm-up: templates compiled, connections opened, caches filled
            status[label] = browser.get(path(0)).status_code
        load = [os.getloadavg()[0]]
        for k in range(requests):
            for label, path in table:
                if status[label] != 200 or (len(times[label]) >= 3 and sum(times[label]) > budget_s * 1000.0):
                    continue
                if label == COMPUTED:
                    app.state.web.public_views.clear()
                t0 = time.perf_counter()
                answer = browser.get(path(k + 1))
                times[label].append((time.perf_counter() - t0) * 1000.0)
                if answer.status_code != 200:
                    status[label] = answer.status_code
        load.append(os.getloadavg()[0])
    base = statistics.median(times[BASELINE])
    rows = []
    for label, _ in table:
        ms = times[label]
        if status[label] != 200 or not ms:
            rows.append({"route": label, "status": status[label]})
            continue
        rows.append({"route": label, "status": 200, "requests": len(ms), "median_ms": round(statistics.median(ms), 2),
                     "p95_ms": round(p95(ms), 2), "ratio": round(statistics.median(ms) / base, 1)})
    return {"routes": rows, "charts": checks, "load": [round(x, 2) for x in load]}


def seeded(url: str) -> dict[str, int] | None:
    """What a store seeded by an earlier run holds (None when it is not one)."""
    store = open_store(url)
    try:
        boxes = int(store.db.scalar("SELECT count(*) FROM registry"))
        if not boxes:
            return None
        return {"records": int(store.db.scalar("SELECT coalesce(sum(hwm), 0) FROM lanes")),
                "alarms": int(store.db.scalar("SELECT count(*) FROM alarms")), "boxes": boxes}
    finally:
        store.close()


def run_engine(name: str, url: str, plan: Plan, args: argparse.Namespace) -> dict[str, Any]:
    """Seed (unless an earlier run's SQLite file is given), then measure, on one engine."""
    t0 = time.perf_counter()
    counts = seeded(url)
    if counts is None:
        counts = seed(url, plan)
        _say(f"{name}: seeded {counts} in {time.perf_counter() - t0:.1f} s")
        seed_s: float | None = round(time.perf_counter() - t0, 1)
    else:
        _say(f"{name}: the store already holds {counts}: not seeded again")
        seed_s = None
    if args.analyze and url.startswith("sqlite"):
        store = open_store(url)
        try:  # what a periodic ANALYZE would leave (10 ms on a year of 100 boxes); PostgreSQL's autovacuum does it
            store.db.execute("PRAGMA analysis_limit = 400")
            store.db.execute("ANALYZE")
        finally:
            store.close()
    result = measure(url, plan, args.requests, args.budget_s)
    engine = f"{name} (ANALYZE)" if args.analyze and url.startswith("sqlite") else name
    return {"engine": engine, "seed_s": seed_s, **counts, **result}


def report(plan: Plan, requests: int, results: list[dict[str, Any]]) -> None:
    """The table."""
    print(f"N = {plan.boxes} boxes, {plan.days} days up to {datetime.fromtimestamp(plan.now, PARIS):%Y-%m-%d %H:%M}"
          f" Paris; raw readings (lux, 2 temperatures, water flow) every {plan.interval_s / 60:g} min; the first"
          f" {plan.dense} boxes at the real box's rates over the last {plan.dense_h:g} h (lux and water every"
          f" 60 s); {requests} timed requests per route after one warm-up, round-robin")
    for r in results:
        charts = "; ".join(f"{kind}: " + ", ".join(f"{k} {v}" for k, v in sorted(points.items()))
                           for kind, points in r["charts"].items())
        seeded_in = "store reused" if r["seed_s"] is None else f"seeded in {r['seed_s']} s"
        print(f"{r['engine']}: {r['records']} records, {r['alarms']} alarms, {seeded_in};"
              f" load average {r['load'][0]} -> {r['load'][1]} (2 cores)")
        print(f"  chart points: {charts}")
        print(f"  {'route':<50} {'n':>3} {'median ms':>10} {'p95 ms':>9} {'ratio':>8}")
        for row in r["routes"]:
            if row["status"] == 404:
                print(f"  {row['route']:<50} {'':>3} {'missing':>10}")
            elif row["status"] != 200:
                print(f"  {row['route']:<50} {'':>3} {'HTTP ' + str(row['status']):>10}")
            else:
                print(f"  {row['route']:<50} {row['requests']:>3} {row['median_ms']:>10.1f} {row['p95_ms']:>9.1f} "
                      f"{'x' + format(row['ratio'], 'g'):>8}")


def main(argv: list[str] | None = None) -> int:
    """Run the bench; 0."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--boxes", type=int, default=100)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--engine", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--requests", type=int, default=20, help="timed requests per route (default 20)")
    parser.add_argument("--dense", type=int, default=10, help="boxes sending at the real box's rates (default 10)")
    parser.add_argument("--dense-hours", type=float, default=48.0,
                        help="how many of the last hours those boxes send at the real rates (default 48)")
    parser.add_argument("--budget-s", type=float, default=60.0,
                        help="stop timing a route once its requests took this long, after 3 (default 60)")
    parser.add_argument("--sqlite-file", type=Path, help="keep the SQLite store in this file (reused when seeded)")
    parser.add_argument("--analyze", action="store_true",
                        help="give the SQLite store planner statistics first (ANALYZE, analysis_limit 400)")
    parser.add_argument("--pg-url", help="use this PostgreSQL database instead of a throwaway cluster (reused when seeded)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.boxes < 1 or args.days < 3 or args.requests < 1:
        parser.error("--boxes >= 1, --days >= 3 and --requests >= 1")
    plan = Plan(args.boxes, args.days, dense=min(args.dense, max(1, args.boxes // 2)), dense_h=args.dense_hours)
    results = []
    with tempfile.TemporaryDirectory(prefix="hameau-bench-web-") as tmp:
        if args.engine in ("sqlite", "both"):
            path = args.sqlite_file or Path(tmp) / "fleet.db"
            results.append(run_engine("sqlite", f"sqlite:///{path.resolve()}", plan, args))
        if args.engine in ("postgresql", "both"):
            reason = postgres_unavailable()
            if args.pg_url:
                results.append(run_engine("postgresql", args.pg_url, plan, args))
            elif reason is not None:
                _say(f"postgresql skipped: {reason}")
            else:
                cluster = PgCluster()
                try:
                    cluster.start()
                    results.append(run_engine("postgresql", cluster.create_database(), plan, args))
                finally:
                    cluster.stop()
    if args.json:
        print(json.dumps(results, indent=1))
    else:
        report(plan, args.requests, results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
