"""Benchmark: a simulated year of the example town hall box, against baselines measured in the same run.

Prints lighting on-hours against a plain astronomical clock (lit sunset to sunrise), minutes of
civil night left dark outside the cut-off, leak detection delays for 1, 2, 5 and 20 L/h leaks on
the 1 L/pulse building meter, false alarms per year, heating figures, the run time against
the world alone (the same year simulated without the box and its agent), and the database's size
at the end (file and write-ahead log, with its raw readings and hourly and daily aggregates).
The box's real link runs against the loopback broker and fleet (edge/simulation/link_loopback.py) through a
week-long outage and three broker restarts: the sync figures (produced, delivered, duplicated, lost,
thinned, outbox peak, longest alarm delay), and the run time against the same run without the link.

usage: .venv/bin/python bench/simulated_year.py [--days 365] [--json] [--no-compare]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sqlite3
import sys
import time
from datetime import timedelta
from pathlib import Path

from drivers.sim import ram_tempdir
from drivers.sim.clock import SimClock
from drivers.sim.world import World
from drivers.sim.world_spec import LeakSpec, WorldSpec
from edge.config.loader import load_config
from edge.simulation.hardware import open_simulated_hardware
from edge.simulation.simulate import STEP_S, open_simulation
from edge.simulation.sync_report import sync_sentence
from edge.simulation.world_file import load_world
from edge.simulation.world_link import (
    LinkedWorldSpec,
    LinkOutageSpec,
    LinkWorldSpec,
    with_link,
)
from edge.storage.store import Store

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "examples" / "village-hall.toml"
WORLD = ROOT / "examples" / "village-hall-world.toml"
#: (rate, day of year it starts, days it lasts): one leak of each size, far enough apart.
LEAKS = ((1.0, 40, 12), (2.0, 100, 12), (5.0, 190, 12), (20.0, 260, 12))
#: The week the box cannot reach the broker (day of year it starts; in a shorter run, 30 % of the way in),
#: during the 5 L/h leak, so that its alarm waits for the link.
OUTAGE_DAY, OUTAGE_DAYS = 195, 7


def bench_world(spec: WorldSpec, days: float) -> LinkedWorldSpec:
    """The example world with its leaks replaced by one leak of each benchmarked size, and a week offline."""
    meter = spec.water.meters[0].sensor
    start = spec.site.start
    leaks = tuple(
        LeakSpec(meter=meter, start=start + timedelta(days=day, hours=14), end=start + timedelta(days=day + span),
                 rate_lph=rate)
        for rate, day, span in LEAKS
        if day + span <= days
    )
    spec = dataclasses.replace(spec, water=dataclasses.replace(spec.water, leaks=leaks))
    day = OUTAGE_DAY if OUTAGE_DAY + OUTAGE_DAYS + 2 <= days else days * 0.3
    outage = LinkOutageSpec(start + timedelta(days=day), start + timedelta(days=day + OUTAGE_DAYS))
    restarts = (outage.start - timedelta(days=1), outage.end + timedelta(hours=1), outage.end + timedelta(days=1))
    return with_link(spec, LinkWorldSpec(outages=(outage,), broker_restarts=restarts))


def world_only_s(config, spec: WorldSpec, days: float) -> float:
    """Seconds to simulate the same world for the same days with no agent: the baseline."""
    clock = SimClock(epoch=spec.site.start)
    with open_simulated_hardware(config, clock, modbus_line="loopback") as hardware:
        assert hardware.parts is not None
        world = World(spec, hardware.parts)
        started = time.perf_counter()
        end = spec.site.start + timedelta(days=days)
        while clock.now() < end:
            world.update(clock.now(), STEP_S)
            hardware.parts.advance(STEP_S)
        return time.perf_counter() - started


def run_year(config, spec: WorldSpec, days: float, db_path: Path, *, link: bool = True) -> dict:
    """The agent through the year; a technician acknowledges latched alarms a day after each leak is fixed."""
    started = time.perf_counter()
    sim = open_simulation(config, spec, db_path=db_path, link=link)
    end = spec.site.start + timedelta(days=days)
    repairs = sorted(leak.end + timedelta(days=1) for leak in spec.water.leaks if leak.end is not None)
    try:
        sim.world.update(sim.now, 0.0)
        sim.start_agent()
        for repair in [r for r in repairs if r < end] + [end]:
            sim.run_until(repair)
            technician = Store(db_path, monotonic=sim.clock.monotonic)
            for alarm in technician.latched_alarms():
                technician.ack_alarm(alarm.id, "technician:bench", sim.now)
            technician.close()
    finally:
        sim.close()
    assert sim.recorder is not None
    report = sim.recorder.report(db_path, spec.site.start, end)
    report["run_s"] = round(time.perf_counter() - started, 2)
    report["database"] = database_size(db_path)
    report["sync"] = sim.sync()
    if sim.link is not None:
        sim.link.broker.close()
    return report


def database_size(db_path: Path) -> dict:
    """The database on disk at the end: bytes of the file and its log, and the rows each table holds."""
    files = {suffix or "db": db_path.with_name(db_path.name + suffix) for suffix in ("", "-wal")}
    size = {f"{name.lstrip('-')}_bytes": path.stat().st_size if path.exists() else 0 for name, path in files.items()}
    with sqlite3.connect(db_path) as conn:
        rows = {table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                for table in ("readings", "readings_hourly", "readings_daily", "events", "alarms")}
    return {**size, "total_bytes": sum(size.values()), "rows": rows}


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=float, default=365.0)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--no-compare", action="store_true", help="skip the run without the link")
    args = parser.parse_args(argv)
    config = load_config(CONFIG)
    spec = bench_world(load_world(WORLD, config.device, config), args.days)
    baseline_s = world_only_s(config, spec, args.days)
    with ram_tempdir("hameau-bench-") as tmp:
        report = run_year(config, spec, args.days, Path(tmp) / "year.db")
    unlinked_s = None
    if not args.no_compare:
        with ram_tempdir("hameau-bench-") as tmp:
            unlinked_s = run_year(config, spec, args.days, Path(tmp) / "year.db", link=False)["run_s"]
    figures = {
        "days": args.days,
        "run_s": report["run_s"],
        "world_only_s": round(baseline_s, 2),
        "run_vs_world_only": round(report["run_s"] / baseline_s, 2),
        "lighting": report["lighting"],
        "leak": {
            lid: {
                "delays_h": {f"{i['rate_lph']:g} L/h": i["detected_after_h"] for i in leak["incidents"]},
                "alarms": [f"{a['kind']} {a['raised_at'][:16]}" for a in leak["alarms"]],
                "false_alarms_per_year": round(leak["false_alarms"] * 365 / args.days, 2),
            }
            for lid, leak in report["leak"].items()
        },
        "heating": report["heating"],
        "faults": len(report["faults"]),
        "database": report["database"],
        "sync": report["sync"],
        "run_without_link_s": unlinked_s,
        "run_vs_without_link": None if not unlinked_s else round(report["run_s"] / unlinked_s, 2),
    }
    if args.json:
        print(json.dumps(figures, indent=1))
        return 0
    print(f"simulated {args.days:g} days in {figures['run_s']:.1f} s "
          f"({figures['run_vs_world_only']:.1f} x the world alone, {baseline_s:.1f} s)")
    for cid, c in figures["lighting"].items():
        ratio = c["on_hours"] / c["baseline_on_hours"] if c["baseline_on_hours"] else float("nan")
        print(f"lighting {cid}: {c['on_hours']:.0f} h lit vs {c['baseline_on_hours']:.0f} h astronomical clock "
              f"(ratio {ratio:.2f}), {c['dark_unlit_minutes']:.0f} min dark and unlit outside the cut-off "
              f"(by cause: {', '.join(f'{k} {v:g}' for k, v in c['dark_unlit_minutes_by_cause'].items())}), "
              f"{c['switches']} switchings")
    for lid, leak in figures["leak"].items():
        delays = ", ".join(f"{k}: {'missed' if v is None else f'{v:.0f} h'}" for k, v in leak["delays_h"].items())
        print(f"leak {lid}: detection after {delays}; false alarms per year {leak['false_alarms_per_year']:g}")
    for zid, z in figures["heating"].items():
        print(f"heating {zid}: coldest {z['min_temperature_c']:.1f} °C, comfort missed "
              f"{z['comfort_minutes_missed']:.0f} of {z['comfort_minutes_scheduled']:.0f} min in comfort periods, "
              f"heater on {z['heater_on_hours']:.0f} h")
    print(f"fault episodes: {figures['faults']}")
    db = figures["database"]
    rows = ", ".join(f"{n} {table}" for table, n in db["rows"].items())
    print(f"database at the end: {db['total_bytes'] / 1e6:.1f} MB ({db['db_bytes'] / 1e6:.1f} MB file, "
          f"{db['wal_bytes'] / 1e6:.1f} MB write-ahead log): {rows}")
    outage = spec.link.outages[0]
    print(f"link: {OUTAGE_DAYS} days offline from {outage.start:%Y-%m-%d %H:%M} UTC, "
          f"{len(spec.link.broker_restarts)} broker restarts; {sync_sentence(figures['sync'])}")
    if unlinked_s:
        print(f"with the link {figures['run_s']:.1f} s, without {unlinked_s:.1f} s "
              f"({figures['run_vs_without_link']:.2f} x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
