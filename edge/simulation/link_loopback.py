"""The box's real link (edge/link/service.py Link, edge/link/outbox.py Outbox) against an in-process loopback of
the broker and the fleet's ingest (fleet/serve/handler.py Handler over a real fleet SQLite store), in simulated time.

The loopback client has the LinkClient interface: a publish goes in flight through the broker; the broker hands
it to the fleet's handler (the PUBACK), whose retained ack comes back to the box in flight too. While the world
cuts the link (`[[link.outages]]`) the client is disconnected and nothing moves; a broker restart
(`[[link.broker_restarts]]`) lets the first half of the messages in flight reach the fleet, loses their acks and
the rest, and drops the connection, which comes back at the next turn. No thread and no real-time wait: the
simulation turns the link after each tick, and again while messages move.
"""

from __future__ import annotations

import logging
import os
import random as random_module
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from drivers.sim.clock import SimClock
from edge.config.link import LinkConfig
from edge.link.client import PublishHandle
from edge.link.outbox import Outbox
from edge.link.service import BATCHES_PER_TURN, Link
from edge.simulation.world_link import LinkWorldSpec
from fleet import protocol
from fleet.serve.handler import Handler, Inbound
from fleet.store.sql import SqliteStore

LOG = logging.getLogger("hameau.simulation.link")
#: Turns (each followed by the broker moving what is in flight) after a tick, at most: a turn sends at most
#: BATCHES_PER_TURN batches (of up to 5000 records), so a tick drains 2.5 million records.
MAX_TURNS_PER_TICK = 64
#: How often (simulated) the link reads its outbox's sizes: each read scans the outbox, which a week offline fills.
STATS_EVERY_S = 300.0
#: How long a restarted broker takes to accept connections again.
BROKER_RESTART_S = 5.0
#: Subscriptions the box makes (edge/link/client.py SUBSCRIBED): retained messages on them arrive at connect.
SUBSCRIBED = ("ack", "config", "cmd")


def loopback_link_config(device: str, config: LinkConfig | None) -> LinkConfig:
    """The box's [link] table (its timers, batching and budget), or the defaults for a box that has none."""
    if config is not None:
        return config
    nowhere = Path(os.devnull)
    return LinkConfig("mqtts://loopback", "loopback", 8883, nowhere, nowhere, device)


@dataclass
class LoopbackCounts:
    """What the loopback broker did."""

    connects: int = 0
    disconnects: int = 0
    broker_restarts: int = 0
    lost_in_flight: int = 0


class LoopbackBroker:
    """The broker and the fleet's ingest in one process, in the simulation's time."""

    def __init__(self, spec: LinkWorldSpec, fleet_path: Path, clock: SimClock) -> None:
        self.spec = spec
        self.clock = clock
        self.store = SqliteStore(fleet_path)
        self.handler = Handler(self.store)
        self.counts = LoopbackCounts()
        self.retained: dict[str, bytes] = {}
        self.client: LoopbackClient | None = None
        self._up: list[tuple[str, bytes, bool, PublishHandle]] = []  # box -> broker -> fleet
        self._down: list[tuple[str, bytes]] = []  # fleet -> broker -> box
        self._restarts = list(spec.broker_restarts)
        self._back_at: datetime | None = None  # a restarted broker accepts connections again from then

    def reachable(self, now: datetime) -> bool:
        """Whether the box can connect at `now` (no outage, the broker not restarting)."""
        return not self.spec.offline(now) and (self._back_at is None or now >= self._back_at)

    def client_factory(self, config: LinkConfig, *, device: str, clock: Any, on_message: Callable[[bytes, bytes], None],
                       status: Callable[[str], bytes], on_event: Any = None,
                       random: Callable[[], float] = random_module.random) -> LoopbackClient:
        """A LinkClient stand-in for Link(client_factory=...)."""
        self.client = LoopbackClient(self, device, on_message, status)
        return self.client

    def update(self) -> None:
        """Cut the box off while an outage lasts (it reconnects at its first turn after the outage)."""
        client = self.client
        if client is not None and client.connected and self.spec.offline(self.clock.now()):
            client.drop("link outage", will=True)

    def restart_due(self) -> None:
        """Restart the broker when a restart is due (the simulation asks after the box's first turn of a tick, so
        that the restart catches that turn's messages in flight)."""
        now = self.clock.now()
        while self._restarts and self._restarts[0] <= now:
            self._restarts.pop(0)
            self.restart(now)

    def restart(self, now: datetime) -> None:
        """The broker restarts: half of what is in flight got through (without its acks), the rest is lost."""
        self.counts.broker_restarts += 1
        up, self._up = self._up, []
        through = (len(up) + 1) // 2
        for topic, payload, retain, handle in up[:through]:
            self._ingest(topic, payload, retain, handle, acks=False)
        for _, _, _, handle in up[through:]:
            handle._finish(error="broker restarted before PUBACK")
        self.counts.lost_in_flight += len(up) - through + len(self._down)
        self._down = []
        self._back_at = now + timedelta(seconds=BROKER_RESTART_S)
        if self.client is not None and self.client.connected:
            self.client.drop("broker restarted", will=False)  # a broker that goes down sends no wills

    def publish(self, topic: str, payload: bytes, retain: bool, handle: PublishHandle) -> None:
        """A message from the box, in flight until the broker moves it."""
        self._up.append((topic, payload, retain, handle))

    def pump(self) -> int:
        """Move what is in flight: the box's messages to the fleet, the fleet's acks to the box; how many of the
        box's messages moved."""
        up, self._up = self._up, []
        for topic, payload, retain, handle in up:
            self._ingest(topic, payload, retain, handle, acks=True)
        down, self._down = self._down, []
        client = self.client
        for topic, payload in down:
            if client is not None and client.connected:
                client.deliver(topic, payload)
        return len(up)

    def _ingest(self, topic: str, payload: bytes, retain: bool, handle: PublishHandle | None, *, acks: bool) -> None:
        received_at = self.clock.now().timestamp()
        outcome = self.handler.handle(Inbound(topic.encode("utf-8"), payload, 0, 1, 0, received_at))
        if handle is not None:
            handle._finish(reason_code=0)
        if retain:
            self.retained[topic] = payload
        if outcome.ack_topic is not None and outcome.ack_payload is not None:
            self.retained[outcome.ack_topic] = outcome.ack_payload
            if acks and self.client is not None and self.client.connected:
                self._down.append((outcome.ack_topic, outcome.ack_payload))

    def connected(self, client: LoopbackClient) -> None:
        """A (re)connection: the box's status goes to the fleet, the retained messages it subscribes to come back."""
        self.counts.connects += 1
        self._ingest(protocol.topic(client.device, "status"), client.status("online"), True, None, acks=False)
        for kind in SUBSCRIBED:
            topic = protocol.topic(client.device, kind)
            if topic in self.retained:
                self._down.append((topic, self.retained[topic]))

    def will(self, client: LoopbackClient) -> None:
        """The box's last will: status offline, retained, to the fleet."""
        self.counts.disconnects += 1
        self._ingest(protocol.topic(client.device, "status"), client.status("offline"), True, None, acks=False)

    def close(self) -> None:
        """Release the fleet store."""
        self.store.close()


@dataclass
class LoopbackClient:
    """The LinkClient interface over the loopback broker: connects at the first turn the broker is reachable."""

    broker: LoopbackBroker
    device: str
    on_message: Callable[[bytes, bytes], None]
    status: Callable[[str], bytes]
    connected: bool = False
    connection_id: int = 0
    last_error: str = ""
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(
        ("connects", "disconnects", "loop_restarts", "refused_logins", "publish_refused", "published"), 0))

    def start(self) -> None:
        """Nothing to start: the link's turns connect."""

    def supervise(self) -> bool:
        """Connect when the broker is reachable (the link calls this at each turn); never a dead thread here."""
        if not self.connected and self.broker.reachable(self.broker.clock.now()):
            self.connected = True
            self.connection_id += 1
            self.counts["connects"] += 1
            self.last_error = ""
            self.broker.connected(self)
        return False

    def stop(self, timeout_s: float = 5.0) -> None:
        """A clean stop: status offline, then disconnect."""
        if self.connected:
            self.broker.will(self)
        self.connected = False

    def drop(self, reason: str, *, will: bool) -> None:
        """The connection is gone (an outage, a broker restart, a power cut): the will goes out."""
        if self.connected:
            self.counts["disconnects"] += 1
            self.connected = False
            self.last_error = reason
            if will:
                self.broker.will(self)

    def publish(self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False) -> PublishHandle:
        """In flight through the broker if connected; the handle settles when the broker moves it."""
        handle = PublishHandle(topic, len(payload))
        if not self.connected:
            handle._finish(error="not connected")
            return handle
        self.counts["published"] += 1
        self.broker.publish(topic, payload, retain, handle)
        return handle

    def deliver(self, topic: str, payload: bytes) -> None:
        """A message on one of the box's topics, handed to the link as paho's thread would."""
        self.on_message(topic.encode("utf-8"), payload)

    def counters(self) -> dict[str, Any]:
        """The counters Link reads for its status and stats."""
        return {**self.counts, "connected": self.connected, "last_error": self.last_error}


class SimulatedLink:
    """The box's link process in the simulation: started with each boot, dead in a power cut, turned each tick."""

    def __init__(self, config: LinkConfig, *, device: str, clock: SimClock, db_path: Path,
                 broker: LoopbackBroker) -> None:
        self.config, self.device, self.clock, self.db_path, self.broker = config, device, clock, db_path, broker
        self.link: Link | None = None
        self.peak_bytes = 0
        self.turns = 0
        self.service_errors = 0
        self._inode: int | None = None

    def start(self) -> None:
        """The box boots: a fresh link (its outbox opens at the first turn)."""
        self.link = Link(self.config, device=self.device, clock=self.clock, version="simulated",
                         outbox_factory=self._open_outbox, client_factory=self.broker.client_factory,
                         stats_every_s=STATS_EVERY_S)
        self._inode = self._db_inode()

    def _open_outbox(self) -> Outbox:
        # No busy wait: in simulated time a lock is a fault the turn reports, not something to wait out.
        return Outbox(self.db_path, device=self.device, clock=self.clock, max_batch_bytes=self.config.batch_max_bytes,
                      ages_s=self.config.batch_ages_s, busy_timeout_ms=0)

    def _db_inode(self) -> int | None:
        try:
            return os.stat(self.db_path).st_ino
        except OSError:
            return None

    def stop(self, *, clean: bool) -> None:
        """The link ends: cleanly (status offline, disconnect) or with the power (the will goes out)."""
        link, self.link = self.link, None
        if link is None:
            return
        if clean:
            link.client.stop()
        elif isinstance(link.client, LoopbackClient):
            link.client.drop("power cut", will=True)
        link.close()
        self._note(link)

    def _note(self, link: Link) -> None:
        stats = link.stats()
        self.peak_bytes = max(self.peak_bytes, int(stats["outbox"].get("peak_bytes", 0)))
        self.service_errors += int(stats.get("service_errors", 0))

    def edges(self) -> tuple[datetime, ...]:
        """When the world changes the link: each outage's start and end, each broker restart."""
        spec = self.broker.spec
        return tuple(t for o in spec.outages for t in (o.start, o.end)) + spec.broker_restarts

    def step(self) -> None:
        """After a tick: turn the link, let the broker move what is in flight, and again until all is quiet."""
        if self.link is None:
            return
        inode = self._db_inode()
        if inode != self._inode:  # the database was replaced under the outbox (a lost or garbled file)
            self.stop(clean=True)
            self.start()
        link = self.link
        assert link is not None
        self.broker.update()
        for turn in range(MAX_TURNS_PER_TICK):
            link.turn()
            self.turns += 1
            if turn == 0:
                self.broker.restart_due()
            # Fewer batches than a turn sends: nothing else was due (the acks are applied at the next turn).
            if self.broker.pump() < BATCHES_PER_TURN:
                break
        while not link.events.empty():  # the agent's Remote records these on a real box
            link.events.get_nowait()
        self.peak_bytes = max(self.peak_bytes, int(link.stats()["outbox"].get("peak_bytes", 0)))

    def flush(self, seconds: float, step_s: float) -> None:
        """After the run: let the link send what waits for its batch age (the agent stopped, time goes on)."""
        if self.link is None:  # the world ends in a power cut: the box cannot send
            return
        waited = 0.0
        while waited < seconds:
            self.clock.advance(step_s)
            waited += step_s
            self.step()
