"""Benchmark: the fleet's ingest with 1,000 simulated boxes, into SQLite and PostgreSQL, next to a bare paho subscriber.

One real Mosquitto (TLS, password and ACL files as in production, hil_tests/broker.py). 1,000 simulated boxes
(hil_tests/fleet_boxes.py: each its own MQTT user, the real protocol, at most 8 batches in flight waiting for the
fleet's ack), spread over a few worker processes, each hold a backlog of readings and publish it in batches. Runs,
one after the other, each with its own 1,000 device ids:
  sqlite  one `hameau-fleet serve` storing into a SQLite file (WAL, synchronous FULL),
  pg1     one serve storing into PostgreSQL (a throwaway cluster, fsync and full-page writes on),
  pg2     two serve processes on the shared subscription storing into one PostgreSQL database,
  bare    a bare paho subscriber on the same shared subscription that decodes each batch and counts its readings
          (the boxes then publish every batch at once, QoS 1, with no fleet ack to wait for).
Timed from the boxes' go until every box has its final ack (serve runs: every reading stored and acknowledged)
or the subscriber has counted every reading (bare). Prints readings per second, the ratios to the bare subscriber,
and the CPU seconds each process used.

usage: .venv/bin/python bench/fleet_ingest.py [--boxes 1000] [--readings 300] [--batch 100] [--workers 4]
                                              [--runs sqlite,pg1,pg2,bare] [--json]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import signal
import sqlite3
import ssl
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "hil_tests"), str(ROOT / "tests")]

import paho.mqtt.client as mqtt
import psycopg
from broker import Broker, BrokerPki, unavailable_reason
from fleet_boxes import BoxPlan, run_worker
from fleet_serve_process import ServeProcess
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from pg_cluster import PgCluster, postgres_unavailable

from fleet import protocol

RUNS = ("sqlite", "pg1", "pg2", "bare")
TIMEOUT_S = 900.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _say(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def cpu_s(pid: int | None) -> float:
    """User + system CPU seconds of a process so far (0 when it is gone)."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def children(pid: int) -> list[int]:
    """Direct children of a process (PostgreSQL's backends under the postmaster)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rpartition(")")[2].split()[1]) == pid:
                    found.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    return found


class CpuMeter:
    """CPU seconds used by named groups of processes between start() and the last stop()."""

    def __init__(self, groups: dict[str, Any]) -> None:
        self.groups = groups  # name -> callable giving the pids now
        self._before: dict[int, float] = {}
        self._last: dict[int, float] = {}
        self.used: dict[str, float] = {}

    def start(self) -> None:
        """Note each process's CPU time."""
        self._before = {pid: cpu_s(pid) for pids in self.groups.values() for pid in pids()}
        self._last = dict(self._before)

    def stop(self) -> None:
        """CPU seconds each group used since start(): a process gone since keeps what it was last seen using."""
        for name, pids in self.groups.items():
            total = 0.0
            for pid in pids():
                self._last[pid] = max(self._last.get(pid, 0.0), cpu_s(pid))
                total += self._last[pid] - self._before.get(pid, 0.0)
            self.used[name] = round(total, 1)


def run_boxes(broker: Broker, devices: dict[str, str], plan: BoxPlan, workers: int,
              meter: CpuMeter | None = None, settled: Any = None) -> tuple[float, list[dict[str, Any]]]:
    """Worker processes connect the boxes; once `settled()` (the fleet stored their `online` status), all go at once;
    (the go's perf_counter, each worker's result)."""
    context = multiprocessing.get_context("spawn")
    ready, results, go = context.Queue(), context.Queue(), context.Event()
    items = list(devices.items())
    chunks = [items[n::workers] for n in range(workers)]
    processes = [context.Process(target=run_worker, daemon=True,
                                 args=(chunk, plan, broker.host, broker.port, str(broker.ca_path), ready, go, results,
                                       TIMEOUT_S)) for chunk in chunks if chunk]
    for process in processes:
        process.start()
    try:
        for _ in processes:
            ready.get(timeout=300)
        deadline = time.monotonic() + 600
        while settled is not None and not settled():
            if time.monotonic() > deadline:
                raise RuntimeError("the fleet did not store the boxes' status within 600 s")
            time.sleep(0.5)
        if meter is not None:
            meter.groups["boxes"] = lambda: [p.pid for p in processes if p.pid is not None]
            meter.start()
        started = time.perf_counter()
        go.set()
        outcomes = [results.get(timeout=TIMEOUT_S + 60) for _ in processes]
        if meter is not None:
            meter.stop()
    finally:
        for process in processes:
            process.join(30)
            if process.is_alive():
                process.kill()
    if not all(outcome["done"] for outcome in outcomes):
        raise RuntimeError(f"not every box got its final ack within {TIMEOUT_S:.0f} s: {outcomes}")
    return started, outcomes


def count(db_url: str, path: Path, table: str) -> int:
    """Rows of a fleet store's table (0 before it exists)."""
    sql = f"SELECT count(*) FROM {table}"
    try:
        if db_url.startswith("sqlite"):
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            try:
                return int(conn.execute(sql).fetchone()[0])
            finally:
                conn.close()
        with psycopg.connect(db_url) as pg:
            return int(pg.execute(sql).fetchone()[0])  # type: ignore[index]
    except (sqlite3.Error, psycopg.Error):
        return 0


def serve_run(broker: Broker, directory: Path, db_url: str | None, serves: int, devices: dict[str, str],
              plan: BoxPlan, workers: int, postgres_pids: Any) -> dict[str, Any]:
    """The boxes' backlogs through `serves` serve processes into one store; figures."""
    processes = []
    for n in range(serves):
        (directory / f"serve{n}").mkdir(parents=True)
        processes.append(ServeProcess(broker, directory / f"serve{n}", db_url=db_url, user=n, client_id=None))
        processes[-1].start()
    url = processes[0].db_url
    groups = {"serve": lambda: [p.process.pid for p in processes if p.process is not None],
              "mosquitto": lambda: [broker.pid] if broker.pid else []}
    if postgres_pids is not None:
        groups["postgres"] = postgres_pids
    meter = CpuMeter(groups)
    try:
        started, outcomes = run_boxes(broker, devices, plan, workers, meter,
                                      lambda: count(url, processes[0].db_path, "devices") >= len(devices))
        elapsed_s = max(outcome["finished_at"] for outcome in outcomes) - started
        for process in processes:
            if process.terminate() != 0:
                raise RuntimeError(f"serve did not stop cleanly:\n{process.log()[-2000:]}")
    finally:
        for process in processes:
            process.close()
    readings = sum(outcome["records"] for outcome in outcomes)
    stored = count(url, processes[0].db_path, "records")
    if stored != readings:
        raise RuntimeError(f"the store holds {stored} readings, the boxes sent {readings}")
    return {"readings": readings, "seconds": round(elapsed_s, 2), "readings_per_s": round(readings / elapsed_s),
            "batches_sent": sum(o["batches_sent"] for o in outcomes),
            "ack_timeouts": sum(o["ack_timeouts"] for o in outcomes), "cpu_s": meter.used}


def bare_run(broker: Broker, devices: dict[str, str], plan: BoxPlan, workers: int) -> dict[str, Any]:
    """The same backlogs published at once, drained by one paho subscriber in the share group; figures."""
    expected = len(devices) * sum(plan.backlog.values())
    counted = 0
    done_at = 0.0
    all_in, subscribed = threading.Event(), threading.Event()

    def on_message(_c: object, _u: object, message: mqtt.MQTTMessage) -> None:
        nonlocal counted, done_at
        counted += len(protocol.decode(message.payload)["records"])
        if counted >= expected and not all_in.is_set():
            done_at = time.perf_counter()
            all_in.set()

    user, password = broker.fleet_user_credentials(0)
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=user, protocol=mqtt.MQTTv5)
    client.tls_set_context(ssl.create_default_context(cafile=str(broker.ca_path)))
    client.username_pw_set(user, password)
    client.on_message = on_message
    client.on_subscribe = lambda *_args: subscribed.set()
    props = Properties(PacketTypes.CONNECT)
    props.ReceiveMaximum = 100  # as serve
    client.connect(broker.host, broker.port, properties=props)
    client.loop_start()
    client.subscribe(protocol.FLEET_SUBSCRIPTIONS[0], qos=1)
    meter = CpuMeter({"subscriber": lambda: [os.getpid()], "mosquitto": lambda: [broker.pid] if broker.pid else []})
    try:
        if not subscribed.wait(10):
            raise RuntimeError("the bare subscriber did not subscribe")
        started, outcomes = run_boxes(broker, devices, plan, workers, meter)
        if not all_in.wait(TIMEOUT_S):
            raise RuntimeError(f"the bare subscriber counted {counted} of {expected} readings")
        meter.stop()
    finally:
        client.disconnect()
        client.loop_stop()
    elapsed_s = done_at - started
    return {"readings": counted, "seconds": round(elapsed_s, 2), "readings_per_s": round(counted / elapsed_s),
            "batches_sent": sum(o["batches_sent"] for o in outcomes), "cpu_s": meter.used}


def main() -> int:
    """Every run on one broker; the figures side by side."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--boxes", type=int, default=1000, help="simulated boxes per run (default 1000)")
    parser.add_argument("--readings", type=int, default=300, help="readings in each box's backlog (default 300)")
    parser.add_argument("--batch", type=int, default=100, help="readings per batch (default 100)")
    parser.add_argument("--ack-timeout", type=float, default=900.0,
                        help="the boxes' ack timeout, s (default 900; a box's default is 60)")
    parser.add_argument("--workers", type=int, default=4, help="processes driving the boxes (default 4)")
    parser.add_argument("--runs", default=",".join(RUNS), help=f"which runs, of {','.join(RUNS)}")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    runs = [run for run in args.runs.split(",") if run]
    if unknown := [run for run in runs if run not in RUNS]:
        parser.error(f"--runs: unknown {unknown}")
    if (reason := unavailable_reason()) is not None:
        print(f"fleet_ingest: {reason}", file=sys.stderr)
        return 2
    if any(run.startswith("pg") for run in runs) and (reason := postgres_unavailable()) is not None:
        print(f"fleet_ingest: {reason}", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # clean up the broker, cluster and processes
    # The boxes' ack timeout outlasts the run: resends of batches still queued would only measure the overload.
    plan = BoxPlan(backlog={"raw": args.readings}, max_batch_records=args.batch, ack_timeout_s=args.ack_timeout)
    figures: dict[str, Any] = {"boxes": args.boxes, "readings_per_box": args.readings, "batch": args.batch,
                               "workers": args.workers, "cpus": os.cpu_count()}
    cluster = None
    with tempfile.TemporaryDirectory(prefix="hameau-fleet-ingest-") as tmp, BrokerPki.create() as pki, \
            Broker(pki, devices_expected=args.boxes).start() as broker:
        _say(f"adding {args.boxes * len(runs)} device users to the broker")
        users = broker.add_devices(*(f"{run}-{n:04d}" for run in runs for n in range(args.boxes)))
        devices = {run: {d: p for d, p in users.items() if d.startswith(f"{run}-")} for run in runs}
        try:
            if any(run.startswith("pg") for run in runs):
                cluster = PgCluster(durable=True).start()
                postmaster = cluster._process.pid if cluster._process is not None else 0
                postgres_pids = lambda: [postmaster, *children(postmaster)]
            for run in runs:
                _say(f"run {run}: {args.boxes} boxes x {args.readings} readings, batches of {args.batch}")
                if run == "bare":
                    result = bare_run(broker, devices[run], BoxPlan(backlog=plan.backlog, max_batch_records=args.batch,
                                                                    fire_and_forget=True), args.workers)
                elif run == "sqlite":
                    result = serve_run(broker, Path(tmp) / run, None, 1, devices[run], plan, args.workers, None)
                else:
                    assert cluster is not None
                    result = serve_run(broker, Path(tmp) / run, cluster.create_database(), int(run[2]), devices[run],
                                       plan, args.workers, postgres_pids)
                _say(f"run {run}: {result}")
                figures[run] = result
        finally:
            if cluster is not None:
                cluster.stop()
    if "bare" in figures:
        for run in runs:
            if run != "bare":
                figures[f"ratio_{run}_to_bare"] = round(figures[run]["readings_per_s"] / figures["bare"]["readings_per_s"], 3)
    if args.json:
        print(json.dumps(figures, indent=1))
        return 0
    print(f"{args.boxes} simulated boxes x {args.readings} readings in batches of {args.batch}, {args.workers} box "
          f"processes; Mosquitto over TLS on loopback; {os.cpu_count()} CPU cores shared by everything")
    names = {"sqlite": "1 serve -> SQLite (WAL, synchronous FULL)", "pg1": "1 serve -> PostgreSQL (fsync on)",
             "pg2": "2 serves (share group) -> PostgreSQL", "bare": "bare paho subscriber, counting readings"}
    for run in runs:
        result = figures[run]
        ratio = f", {figures[f'ratio_{run}_to_bare']:.2f} of bare" if f"ratio_{run}_to_bare" in figures else ""
        print(f"  {names[run]:<44} {result['readings_per_s']:>7} readings/s ({result['seconds']:.1f} s{ratio}); "
              f"CPU s: {result['cpu_s']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
