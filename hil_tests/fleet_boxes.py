"""Simulated boxes for the fleet's scale tests and bench: many MQTT identities on one thread, the real protocol.

Each SimBox is one device (its own MQTT user = client id, TLS, MQTT 5, QoS 1, a retained `offline` will) speaking
wire protocol v1 as the box's Link and Outbox do (edge/link/service.py, edge/link/outbox.py): records numbered per
lane from 1, batches chained by `after`, at most `window` batches in flight, the fleet's retained `ack` letting
records go, and everything unacknowledged sent again on each new connection or when the ack has not moved for
`ack_timeout_s`. A record is a function of (device, lane, seq): a batch sent again carries the same records, and
a box keeps counters only (records produced, acked, sent). A BoxDriver runs many boxes on one thread: one
selector over their sockets, paho's loop() only for a client with something to read or write (paho's own thread
per client would be hundreds of threads).

`run_worker` runs a driver in a process of its own (the bench spreads 1,000 boxes over a few).
"""

from __future__ import annotations

import selectors
import ssl
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from fleet import protocol

LANES = protocol.LANES
BOOT = "sim-boot-1"
#: paho's keepalive housekeeping (PINGREQ, timeouts) runs for every client at this period.
MISC_EVERY_S = 0.5
RECONNECT_AFTER_S = 1.0


@dataclass(frozen=True)
class BoxPlan:
    """What each box produces and how it sends: records per period per lane, batch ages, window, ack timeout."""

    period_s: float = 1.0
    per_period: Mapping[str, int] = field(default_factory=lambda: {"event": 0, "total": 1, "raw": 10})
    #: One event record every this many periods (0: none).
    event_every: int = 5
    #: A lane's unsent records go once its last batch is this old, or at once when a batch is full.
    ages_s: Mapping[str, float] = field(default_factory=lambda: {"event": 0.0, "total": 3.0, "raw": 3.0})
    max_batch_records: int = 200
    window: int = 8
    ack_timeout_s: float = 5.0
    #: Records each lane holds before the run (a backlog to drain), none produced after: the bench's load.
    backlog: Mapping[str, int] = field(default_factory=dict)
    #: Publish every batch once, QoS 1, without waiting for the fleet's ack (a stream for a bare subscriber).
    fire_and_forget: bool = False


def record(device: str, lane: str, seq: int, wall0_s: float) -> protocol.Record:
    """Record `seq` of a device's lane: always the same for the same (device, lane, seq)."""
    mono_s = 10.0 + seq * 0.01
    wall_s = wall0_s + mono_s
    if lane == "event":
        body: dict[str, Any] = {"kind": "decision", "source": "sim", "reason": f"tick {seq}", "data": {"n": seq}}
        kind = "event"
    elif lane == "total":
        body, kind = {"sensor": "meter", "name": "volume", "value": seq * 0.5}, "reading"
    else:
        body = {"sensor": "sim", "name": "temperature", "value": round(15.0 + (seq * 7 % 97) * 0.1, 1)}
        kind = "reading"
    return protocol.Record(seq=seq, boot=BOOT, mono_s=mono_s, wall_s=wall_s, clock="synced", type=kind, body=body)


class SimBox:
    """One simulated box: its lanes' counters, its paho client, what it sent and what the fleet acknowledged."""

    def __init__(self, device: str, password: str, plan: BoxPlan, *, wall0_s: float) -> None:
        self.device, self.password, self.plan, self.wall0_s = device, password, plan, wall0_s
        self.last = {lane: int(plan.backlog.get(lane, 0)) for lane in LANES}
        self.acked = dict.fromkeys(LANES, 0)
        self.cursor = dict.fromkeys(LANES, 0)
        self.sent_at = dict.fromkeys(LANES, 0.0)
        self.in_flight: list[tuple[str, int]] = []
        self.running = False
        self.producing = False
        self.eager = bool(plan.backlog)
        self.periods = 0
        self.next_period_at = 0.0
        self.progress_at = 0.0
        self.connected = False
        self.connection = 0
        self.seen_connection = 0
        self.down_at = 0.0
        self.dialled = False
        self.batches_sent = 0
        self.ack_timeouts = 0
        self.puback_pending = 0
        self.client = self._client()

    def _client(self) -> mqtt.Client:
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=self.device, protocol=mqtt.MQTTv5,
                             reconnect_on_failure=False)
        client.username_pw_set(self.device, self.password)
        client.will_set(protocol.topic(self.device, "status"), self._status("offline"), qos=1, retain=True)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_publish = self._on_publish
        return client

    def _status(self, state: str) -> bytes:
        return protocol.encode(protocol.Status(self.device, state, BOOT, "sim", None, time.time()).to_message())

    # -- paho callbacks (the driver's thread) ------------------------------------------------------
    def _on_connect(self, client: mqtt.Client, _u: object, _f: object, reason: Any, _p: object) -> None:
        if reason.is_failure:
            return
        self.connected = True
        self.connection += 1
        self.puback_pending += 1
        client.publish(protocol.topic(self.device, "status"), self._status("online"), qos=1, retain=True)
        client.subscribe(protocol.topic(self.device, "ack"), qos=1)

    def _on_disconnect(self, _c: mqtt.Client, _u: object, _f: object, _reason: object, _p: object) -> None:
        self.connected = False
        self.down_at = time.monotonic()

    def _on_message(self, _c: mqtt.Client, _u: object, message: mqtt.MQTTMessage) -> None:
        try:
            ack = protocol.parse_ack(self.device, message.payload)
        except protocol.ProtocolError:
            return
        progressed = False
        for lane in LANES:
            if ack.acked[lane] > self.acked[lane]:
                self.acked[lane] = min(ack.acked[lane], self.last[lane])
                progressed = True
        if progressed:
            self.progress_at = time.monotonic()
            self.in_flight = [(lane, last) for lane, last in self.in_flight if last > self.acked[lane]]

    def _on_publish(self, *_args: object) -> None:
        self.puback_pending -= 1

    # -- the box's turn ----------------------------------------------------------------------------
    @property
    def done(self) -> bool:
        """Every record produced is acknowledged by the fleet (or, fire and forget, PUBACKed by the broker)."""
        if self.plan.fire_and_forget:
            return self.cursor == self.last and self.puback_pending == 0
        return self.acked == self.last

    def produced(self) -> int:
        """Records produced so far, every lane."""
        return sum(self.last.values())

    def _produce(self, now: float) -> None:
        while self.producing and now >= self.next_period_at:
            self.periods += 1
            for lane in LANES:
                self.last[lane] += self.plan.per_period.get(lane, 0)
            if self.plan.event_every and self.periods % self.plan.event_every == 0:
                self.last["event"] += 1
            self.next_period_at += self.plan.period_s

    def _restart(self, now: float) -> None:
        """Forget what was sent: each lane goes again from the fleet's ack (the Outbox's restart)."""
        self.cursor = dict(self.acked)
        self.in_flight = []
        self.progress_at = now

    def turn(self, now: float) -> None:
        """Produce, notice a new connection or a stalled ack, publish what is due (once the driver started it)."""
        self._produce(now)
        if not (self.running and self.connected):
            return
        if self.connection != self.seen_connection:
            self.seen_connection = self.connection
            self._restart(now)
        awaiting = any(self.cursor[lane] > self.acked[lane] for lane in LANES)
        if self.plan.fire_and_forget:
            awaiting = False
        if awaiting and now - self.progress_at >= self.plan.ack_timeout_s:
            self.ack_timeouts += 1
            self._restart(now)
            awaiting = False
        for lane in LANES:
            while self.plan.fire_and_forget or len(self.in_flight) < self.plan.window:
                start = max(self.cursor[lane], self.acked[lane])
                unsent = self.last[lane] - start
                if unsent <= 0 or not self._due(lane, unsent, now):
                    break
                if not awaiting:
                    self.progress_at = now  # the ack timeout runs from the first batch in flight
                    awaiting = True
                self._publish(lane, start, min(unsent, self.plan.max_batch_records), now)

    def _due(self, lane: str, unsent: int, now: float) -> bool:
        return (self.eager or not self.producing or unsent >= self.plan.max_batch_records
                or now - self.sent_at[lane] >= self.plan.ages_s.get(lane, 0.0))

    def _publish(self, lane: str, after: int, count: int, now: float) -> None:
        records = tuple(record(self.device, lane, seq, self.wall0_s) for seq in range(after + 1, after + count + 1))
        batch = protocol.Batch(device=self.device, boot=BOOT, lane=lane, after=after, seq_first=after + 1,
                               seq_last=after + count, sent_at=time.time(), clock_synced=True,
                               clock_offsets={BOOT: self.wall0_s}, records=records)
        self.puback_pending += 1
        self.client.publish(protocol.topic(self.device, "up"), protocol.encode_batch(batch), qos=1)
        self.cursor[lane] = after + count
        self.sent_at[lane] = now
        self.batches_sent += 1
        if not self.plan.fire_and_forget:
            self.in_flight.append((lane, after + count))


class BoxDriver:
    """Many SimBoxes on the calling thread: connect them, then turn them and their clients' network loops."""

    def __init__(self, boxes: Iterable[SimBox], *, host: str, port: int, ca_path: str | Path) -> None:
        self.boxes = list(boxes)
        self.host, self.port = host, port
        self._tls = ssl.create_default_context(cafile=str(ca_path))
        self._selector = selectors.DefaultSelector()
        self._registered: dict[SimBox, Any] = {}
        self._misc_at = 0.0
        for box in self.boxes:
            box.client.tls_set_context(self._tls)

    def connect_all(self, timeout_s: float = 60.0) -> None:
        """Connect every box (TLS handshakes one after the other) and wait for every CONNACK."""
        for box in self.boxes:
            box.client.connect(self.host, self.port, keepalive=60, clean_start=True)
            box.dialled = True
            self._register(box)
            self.turn(0.0)
        deadline = time.monotonic() + timeout_s
        while not all(box.connected for box in self.boxes):
            if time.monotonic() > deadline:
                down = [box.device for box in self.boxes if not box.connected]
                raise RuntimeError(f"{len(down)} boxes not connected, e.g. {down[:5]}")
            self.turn(0.01)

    def _register(self, box: SimBox) -> None:
        sock = box.client.socket()
        old = self._registered.pop(box, None)
        if old is not None:
            try:
                self._selector.unregister(old)
            except (KeyError, ValueError):
                pass
        if sock is not None:
            self._selector.register(sock, selectors.EVENT_READ, box)
            self._registered[box] = sock

    def start(self, *, produce: bool = True) -> None:
        """Every box starts producing (its first period now) and sending."""
        now = time.monotonic()
        for box in self.boxes:
            box.running = True
            box.producing = produce
            box.next_period_at = now
            box.progress_at = now
            box.sent_at = dict.fromkeys(LANES, now)  # a lane's age runs from the start

    def turn_every_box(self) -> None:
        """Each box's own work at once (the go: every box publishes its first batches in the same turn)."""
        now = time.monotonic()
        for box in self.boxes:
            box.turn(now)

    def stop_producing(self) -> None:
        """No more records: each box sends what it has left, whatever its batch ages."""
        for box in self.boxes:
            box.producing = False

    def turn(self, timeout_s: float = 0.01) -> None:
        """One turn: the network loop of each client with something to read or write, and the work of its box; every
        box's work (production, batch ages, ack timeouts) and paho's keepalive every MISC_EVERY_S."""
        ready = {key.data for key, _ in self._selector.select(timeout_s)}
        now = time.monotonic()
        all_due = now - self._misc_at >= MISC_EVERY_S
        if all_due:
            self._misc_at = now
        for box in self.boxes:
            client = box.client
            sock = client.socket()
            if sock is None:
                if box.dialled and not box.connected and now - box.down_at >= RECONNECT_AFTER_S:
                    self._reconnect(box, now)
                continue
            busy = box in ready or all_due or client.want_write() or (hasattr(sock, "pending") and sock.pending())
            if not busy:
                continue
            if client.loop(timeout=0.0) != mqtt.MQTT_ERR_SUCCESS and client.socket() is None:
                box.connected = False
                box.down_at = now
            box.turn(now)

    def _reconnect(self, box: SimBox, now: float) -> None:
        try:
            box.client.reconnect()
        except (OSError, ssl.SSLError):
            box.down_at = now
            return
        self._register(box)

    def run_until(self, condition: Any, timeout_s: float, step_s: float = 0.01) -> bool:
        """Turn until `condition()` holds (True) or `timeout_s` passes (False)."""
        deadline = time.monotonic() + timeout_s
        while not condition():
            if time.monotonic() > deadline:
                return False
            self.turn(step_s)
        return True

    def run_for(self, seconds: float, step_s: float = 0.01) -> None:
        """Turn for `seconds`."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.turn(step_s)

    def batches_sent(self) -> int:
        """Batches published so far, every box."""
        return sum(box.batches_sent for box in self.boxes)

    def all_done(self) -> bool:
        """Every box has everything it produced acknowledged."""
        return all(box.done for box in self.boxes)

    def close(self) -> None:
        """Disconnect every client."""
        for box in self.boxes:
            try:
                box.client.disconnect()
                box.client.loop(timeout=0.0)
            except (OSError, ValueError):
                pass
        self._selector.close()


def run_worker(boxes: list[tuple[str, str]], plan: BoxPlan, host: str, port: int, ca_path: str,
               ready: Any, go: Any, results: Any, timeout_s: float) -> None:
    """A bench worker process: connect `boxes` [(device, password)], say ready, wait for `go`, send every backlog
    record, and put (sent all at perf_counter, done, batches sent, ack timeouts) on `results` when all are done."""
    wall0_s = time.time() - 3600.0
    driver = BoxDriver((SimBox(device, password, plan, wall0_s=wall0_s) for device, password in boxes),
                       host=host, port=port, ca_path=ca_path)
    try:
        driver.connect_all()
        driver.run_for(0.5)  # the retained acks (none) and the SUBACKs
        ready.put(len(driver.boxes))
        go.wait()
        driver.start(produce=False)
        driver.turn_every_box()
        done = driver.run_until(driver.all_done, timeout_s, step_s=0.02)
        results.put({"done": done, "finished_at": time.perf_counter(),
                     "batches_sent": sum(box.batches_sent for box in driver.boxes),
                     "ack_timeouts": sum(box.ack_timeouts for box in driver.boxes),
                     "records": sum(box.produced() for box in driver.boxes)})
        driver.run_for(0.2)
    finally:
        driver.close()
