"""Benchmark: drain a week's backlog of the example town hall box to the fleet, next to a raw MQTT stream.

The example box (examples/village-hall.toml in its example world, the real agent in simulated time) runs
`--days` days offline; then its real Link connects to a real Mosquitto (TLS, password and ACL files as in
production, hil_tests/broker.py) and a real `hameau-fleet serve` process stores into a fleet SQLite file.
Timed from the link's start until the box's outbox is empty and every lane acknowledged (each record stored
by the fleet, acknowledged, deleted from the box). In the same run, over the same broker: a raw paho QoS 1
stream of one reading per message (paho -> Mosquitto -> paho, the same readings as JSON, paho's default
in-flight window), timed from the first publish until the subscriber has every message. Prints readings per
second for both and their ratio.

usage: .venv/bin/python bench/sync_drain.py [--days 7] [--raw-messages 20000] [--json]
"""

from __future__ import annotations

import argparse
import json
import ssl
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "hil_tests")]

import paho.mqtt.client as mqtt
from broker import Broker, BrokerPki, unavailable_reason
from fleet_serve_process import ServeProcess
from paho.mqtt.enums import CallbackAPIVersion
from sync_world import (
    DEVICE,
    LANES,
    box_lanes,
    hall_box,
    hall_world,
    link_config,
    read,
    running_link,
    wait_drained,
)

from fleet import protocol

START = "2026-01-12T00:00"
CONNECT_TIMEOUT_S = 10.0


def _say(text: str) -> None:
    """One progress line on stderr."""
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def drain(broker: Broker, directory: Path, days: float) -> tuple[dict, list[bytes]]:
    """The box's backlog of `days` drained to the fleet: figures, and its readings as raw-stream payloads."""
    serve = ServeProcess(broker, directory).start()
    try:
        _say(f"simulating {days:g} days of the example town hall box offline")
        with hall_box(directory, hall_world(START, f"{days + 1:g}d")) as sim:
            sim.run_until(sim.now + timedelta(days=days))
            sim.stop_agent()
            sim.clock.advance(120.0)  # every lane's batch age has passed
            db = sim.config.agent.db_path
            before = box_lanes(db)
            records = sum(lane["rows"] for lane in before.values())
            readings = read(db, "SELECT count(*) FROM outbox WHERE type = 'reading'")[0][0]
            payloads = [json.dumps({"sensor": s, "name": n, "ts": ts, "value": v}, separators=(",", ":")).encode()
                        for ts, s, n, v in read(db, "SELECT ts, sensor, name, value FROM readings ORDER BY ts")]
            _say(f"draining {records} records ({readings} readings) through the link")
            started = time.perf_counter()
            with running_link(link_config(broker, directory), sim.clock, db) as link:
                wait_drained(db, link, timeout_s=600.0)
                elapsed_s = time.perf_counter() - started
                stats = link.stats()
        if serve.terminate() != 0:
            raise RuntimeError(f"serve did not stop cleanly:\n{serve.log()[-2000:]}")
    finally:
        serve.close()
    stored = dict(serve.rows("SELECT lane, count(DISTINCT seq) FROM records WHERE device = ? GROUP BY lane", DEVICE))
    if any(stored.get(lane, 0) != before[lane]["last"] for lane in LANES):
        raise RuntimeError(f"the fleet holds {stored}, the box gave {before}")
    wire = serve.rows("SELECT batches FROM devices WHERE id = ?", DEVICE)[0][0]
    figures = {"records": records, "readings": readings, "seconds": round(elapsed_s, 2),
               "readings_per_s": round(readings / elapsed_s), "records_per_s": round(records / elapsed_s),
               "batches_sent": stats["batches_sent"], "batches_stored": wire, "ack_timeouts": stats["ack_timeouts"],
               "fleet_db_bytes": serve.db_path.stat().st_size}
    return figures, payloads


def raw_stream(broker: Broker, payloads: list[bytes]) -> dict:
    """Each payload in its own QoS 1 PUBLISH from the device to a fleet subscriber; the rate end to end."""
    context = ssl.create_default_context(cafile=str(broker.ca_path))
    topic = protocol.topic(DEVICE, "up")
    got = 0
    all_in = threading.Event()
    subscribed = threading.Event()

    def on_message(_c: object, _u: object, _m: mqtt.MQTTMessage) -> None:
        nonlocal got
        got += 1
        if got == len(payloads):
            all_in.set()

    user, password = broker.fleet_user_credentials(1)
    subscriber = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=user, protocol=mqtt.MQTTv5)
    subscriber.tls_set_context(context)
    subscriber.username_pw_set(user, password)
    subscriber.on_message = on_message
    subscriber.on_subscribe = lambda *_args: subscribed.set()
    subscriber.connect(broker.host, broker.port)
    subscriber.loop_start()
    subscriber.subscribe(topic, qos=1)
    publisher = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=DEVICE, protocol=mqtt.MQTTv5)
    publisher.tls_set_context(context)
    publisher.username_pw_set(DEVICE, broker.password(DEVICE))
    connected = threading.Event()
    publisher.on_connect = lambda *_args: connected.set()
    publisher.connect(broker.host, broker.port)
    publisher.loop_start()
    try:
        if not (subscribed.wait(CONNECT_TIMEOUT_S) and connected.wait(CONNECT_TIMEOUT_S)):
            raise RuntimeError("the raw stream's clients did not connect")
        _say(f"raw stream: {len(payloads)} messages, QoS 1, one reading each")
        started = time.perf_counter()
        infos = [publisher.publish(topic, payload, qos=1) for payload in payloads]
        for info in infos:
            info.wait_for_publish(60.0)
        if not all_in.wait(600.0):
            raise RuntimeError(f"the subscriber got {got} of {len(payloads)} messages")
        elapsed_s = time.perf_counter() - started
    finally:
        for client in (publisher, subscriber):
            client.disconnect()
            client.loop_stop()
    return {"messages": len(payloads), "seconds": round(elapsed_s, 2),
            "readings_per_s": round(len(payloads) / elapsed_s)}


def main() -> int:
    """Run both measurements on one broker and print them side by side."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=float, default=7.0, help="days of backlog (default 7)")
    parser.add_argument("--raw-messages", type=int, default=20_000, help="messages of the raw stream (default 20000)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    if (reason := unavailable_reason()) is not None:
        print(f"sync_drain: {reason}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="hameau-sync-drain-") as tmp, BrokerPki.create() as pki, \
            Broker(pki).start() as broker:
        sync, payloads = drain(broker, Path(tmp), args.days)
        raw = raw_stream(broker, payloads[: args.raw_messages])
    figures = {"days": args.days, "sync": sync, "raw": raw,
               "ratio_sync_to_raw": round(sync["readings_per_s"] / raw["readings_per_s"], 2)}
    if args.json:
        print(json.dumps(figures, indent=1))
        return 0
    print(f"{args.days:g}-day backlog of the example town hall box: {sync['records']} records, "
          f"{sync['readings']} of them readings; Mosquitto over TLS on loopback, 2 CPU cores")
    print(f"  sync drain (outbox -> Mosquitto -> serve -> fleet SQLite, acked and deleted): {sync['seconds']:.1f} s, "
          f"{sync['readings_per_s']} readings/s, {sync['batches_sent']} batches sent, {sync['batches_stored']} stored, "
          f"{sync['ack_timeouts']} ack timeouts")
    print(f"  raw paho QoS 1, one reading per message (paho -> Mosquitto -> paho): {raw['messages']} messages in "
          f"{raw['seconds']:.1f} s, {raw['readings_per_s']} readings/s")
    print(f"  ratio sync / raw: {figures['ratio_sync_to_raw']:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
