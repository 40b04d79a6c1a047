"""The box's link service: one thread that owns the outbox and drives the MQTT client (publish, acks, status)."""

from __future__ import annotations

import logging
import os
import queue
import random as random_module
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from edge.config.link import LinkConfig
from edge.link.client import LinkClient, PublishHandle
from edge.link.outbox import Outbox
from edge.runtime.clock import Clock
from fleet import protocol

LOG = logging.getLogger("hameau.link")
#: Batches asked of the outbox per turn (the outbox itself bounds what is in flight).
BATCHES_PER_TURN = 8
INBOX_MAX = 1000
EVENTS_MAX = 1000
PENDING_HANDLES_MAX = 4096
#: How often the outbox's sizes are read for stats() (they cost a scan of the outbox).
STATS_EVERY_S = 5.0
#: How long the service waits before trying again to open an outbox that would not open.
OPEN_RETRY_S = 10.0


class OutgoingBatchLike(Protocol):
    """What the link needs of a batch the outbox hands out."""

    lane: str
    seq_last: int
    topic: str
    payload: bytes


class OutboxLike(Protocol):
    """The outbox API the link drives (edge/link/outbox.py, class Outbox); thread-confined to the link's thread."""

    path: Path

    def due_batches(self, limit: int) -> list[Any]: ...
    def restart(self) -> None: ...
    def apply_ack(self, ack: protocol.Ack) -> int: ...
    def follow(self, acked: dict[str, int]) -> None: ...
    def learn_clock(self) -> None: ...
    def stats(self) -> dict[str, Any]: ...


@dataclass(frozen=True, slots=True)
class RefusedCommand:
    """A `cmd` whose id parsed but whose action or arguments did not: the agent reports it refused."""

    id: str
    reason: str


@dataclass(frozen=True, slots=True)
class LinkEvent:
    """Something about the link the agent should record as an event (loop restarts, rejected messages)."""

    kind: str
    reason: str
    data: dict[str, Any] = field(default_factory=dict)


class Link:
    """Publishes the outbox's due batches, applies the fleet's acks, keeps the retained status up to date and
    hands validated `config` and `cmd` messages to the agent through `inbox` (a thread-safe queue).

    One thread owns the outbox (its SQLite connection is made there); the client's network thread only hands
    messages over. `events` carries LinkEvents for the agent to record.
    """

    def __init__(
        self,
        config: LinkConfig,
        *,
        device: str,
        clock: Clock,
        outbox_factory: Callable[[], OutboxLike],
        version: str,
        config_version: Callable[[], int | None] = lambda: None,
        random: Callable[[], float] = random_module.random,
        tick_s: float = 0.2,
        client_factory: Callable[..., LinkClient] = LinkClient,
        stats_every_s: float = STATS_EVERY_S,
    ) -> None:
        self.config = config
        self.device = device
        self.clock = clock
        self.version = version
        self._config_version = config_version
        self._outbox_factory = outbox_factory
        self._tick_s = tick_s
        self._stats_every_s = stats_every_s
        self.inbox: queue.Queue[protocol.Config | protocol.Command | RefusedCommand] = queue.Queue(INBOX_MAX)
        self.events: queue.Queue[LinkEvent] = queue.Queue(EVENTS_MAX)
        self._incoming: queue.SimpleQueue[tuple[bytes, bytes]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._counts = dict.fromkeys(
            ("batches_sent", "batches_refused", "acks", "rows_acked", "ack_timeouts", "outbox_restarts",
             "rejected_in", "configs_in", "commands_in", "inbox_dropped", "events_dropped", "status_sent",
             "service_errors"), 0)
        self._outbox_stats: dict[str, Any] = {}
        self.last_rejection = ""
        self._stop = threading.Event()
        self._flush = threading.Event()  # stopping: send every record now, whatever its lane's batch age
        self._flushed = threading.Event()  # the outbox was seen empty while flushing
        self._thread: threading.Thread | None = None
        self._handles: list[PublishHandle] = []
        self._acked: dict[str, int] = dict.fromkeys(protocol.LANES, 0)
        self._sent: dict[str, int] = dict.fromkeys(protocol.LANES, 0)
        self._progress_at = 0.0
        self._inode: int | None = None  # of the database file the outbox has open
        self._connection_seen = 0
        self._status_key: tuple[Any, ...] | None = None
        self._status_at = 0.0
        self._stats_at = 0.0
        self._outbox: OutboxLike | None = None  # the outbox of turn(), when the caller drives the turns
        # client_factory: LinkClient, or a stand-in with its interface (the simulator's loopback broker).
        self.client = client_factory(config, device=device, clock=clock, on_message=self._hand_over,
                                     status=self._status_payload, on_event=self._event, random=random)

    # -- public API -----------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the service thread (it opens the outbox) and the client."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"hameau-link-service-{self.device}", daemon=True)
        self._thread.start()
        self.client.start()

    def stop(self, timeout_s: float = 10.0, *, flush_s: float = 0.0) -> None:
        """Stop the service thread, publish status offline and disconnect cleanly, join every thread.

        With `flush_s`, while connected, first wait up to that long for the fleet to acknowledge every record
        still in the outbox (sent at once, whatever their lane's batch age).
        """
        if flush_s > 0 and self.client.connected and self._thread is not None and self._thread.is_alive():
            self._flush.set()
            if not self._flushed.wait(flush_s):
                LOG.info("link: stopping with records not yet acknowledged (waited %.0f s)", flush_s)
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
        self.client.stop(timeout_s)

    def turn(self) -> None:
        """One turn of the service in the caller's thread, for a caller that drives time itself (a simulation):
        never together with start(). Opens the outbox at the first turn; a fault is counted as in the thread."""
        try:
            if self._outbox is None:
                self._outbox = self._outbox_factory()
            self._outbox = self._same_file(self._outbox)
            self._turn(self._outbox)
        except Exception as exc:  # noqa: BLE001 - as in _run: counted, reported in one line, the link goes on
            self._count("service_errors")
            LOG.error("link: service turn failed: %s: %s", type(exc).__name__, exc)
            self._event("link_fault", f"{type(exc).__name__}: {exc}")

    def close(self) -> None:
        """End the turns driven by turn(): read the outbox's last stats and close it."""
        if self._outbox is not None:
            outbox, self._outbox = self._outbox, None
            self._close(outbox)

    def stats(self) -> dict[str, Any]:
        """Counters of the service and the client, and the outbox's last stats (thread-safe)."""
        with self._lock:
            stats: dict[str, Any] = dict(self._counts)
            stats["outbox"] = dict(self._outbox_stats)
        stats["last_rejection"] = self.last_rejection
        stats["acked"] = dict(self._acked)
        stats.update(self.client.counters())
        return stats

    # -- the service thread -----------------------------------------------------------------------------------------

    def _run(self) -> None:
        outbox: OutboxLike | None = None
        try:
            while not self._stop.is_set():
                wait_s = self._tick_s
                try:
                    if outbox is None:
                        wait_s = OPEN_RETRY_S  # if opening fails: try again later, not every tick
                        outbox = self._outbox_factory()
                        wait_s = self._tick_s
                    outbox = self._same_file(outbox)
                    self._turn(outbox)
                except Exception as exc:  # a store or outbox fault is counted and reported; the link keeps going
                    self._count("service_errors")
                    LOG.exception("link: service turn failed")
                    self._event("link_fault", f"{type(exc).__name__}: {exc}")
                self._stop.wait(wait_s)
        finally:
            if outbox is not None:
                self._close(outbox)

    def _same_file(self, outbox: OutboxLike) -> OutboxLike:
        """The outbox, opened again if the agent's store replaced its database file (a lost or garbled one is
        moved aside): the fresh file's rows are moved past what the fleet already acknowledged."""
        try:
            inode = os.stat(outbox.path).st_ino
        except (OSError, AttributeError, TypeError):
            return outbox  # not there yet: the agent's store is making it
        if self._inode is None or inode == self._inode:
            self._inode = inode
            return outbox
        self._close(outbox)
        fresh = self._outbox_factory()
        self._inode = inode
        fresh.restart()
        fresh.follow(dict(self._acked))
        self._event("link_outbox_reopened", "the database file was replaced: the outbox follows the new one")
        return fresh

    def _close(self, outbox: OutboxLike) -> None:
        try:
            self._read_stats(outbox, self.clock.monotonic())
        except Exception:
            LOG.exception("link: outbox stats at stop failed")
        close = getattr(outbox, "close", None)
        if callable(close):
            close()

    def _turn(self, outbox: OutboxLike) -> None:
        now_s = self.clock.monotonic()
        self.client.supervise()
        if self.client.connection_id != self._connection_seen:  # a new connection: resend what is unacked
            self._connection_seen = self.client.connection_id
            self._restart(outbox, now_s)
        self._drain(outbox, now_s)
        outbox.learn_clock()
        # A connection made since the check above waits for the next turn, which starts it with a restart.
        if self.client.connected and self.client.connection_id == self._connection_seen:
            if self._awaiting() and now_s - self._progress_at >= self.config.ack_timeout_s:
                self._count("ack_timeouts")
                LOG.info("link: no ack progress for %.0f s: sending the unacked records again", now_s - self._progress_at)
                self._restart(outbox, now_s)
            self._publish_due(outbox, now_s)
            self._publish_status(now_s)
        self._settle_handles()
        if self._flush.is_set():
            self._flush_turn(outbox, now_s)
        if now_s - self._stats_at >= self._stats_every_s or not self._outbox_stats:
            self._read_stats(outbox, now_s)

    def _flush_turn(self, outbox: OutboxLike, now_s: float) -> None:
        """Stopping: batch ages no longer hold records back; say when the outbox is empty."""
        if hasattr(outbox, "eager") and not outbox.eager:
            outbox.eager = True
            if self.client.connected and self.client.connection_id == self._connection_seen:
                self._publish_due(outbox, now_s)
        self._read_stats(outbox, now_s)
        if not self._outbox_stats.get("rows", 1):
            self._flushed.set()

    def _read_stats(self, outbox: OutboxLike, now_s: float) -> None:
        stats = outbox.stats()
        with self._lock:
            self._outbox_stats = stats
        self._stats_at = now_s

    def _restart(self, outbox: OutboxLike, now_s: float) -> None:
        outbox.restart()
        self._count("outbox_restarts")
        self._sent = dict(self._acked)
        self._progress_at = now_s

    def _awaiting(self) -> bool:
        return any(self._sent[lane] > self._acked[lane] for lane in protocol.LANES)

    def _publish_due(self, outbox: OutboxLike, now_s: float) -> None:
        for batch in outbox.due_batches(BATCHES_PER_TURN):
            if not self._awaiting():
                self._progress_at = now_s  # the ack timeout runs from the first batch in flight
            handle = self.client.publish(batch.topic, batch.payload, qos=1)
            self._sent[batch.lane] = max(self._sent[batch.lane], batch.seq_last)
            self._count("batches_sent")
            if len(self._handles) < PENDING_HANDLES_MAX:
                self._handles.append(handle)

    def _settle_handles(self) -> None:
        waiting = []
        for handle in self._handles:
            if not handle.done.is_set():
                waiting.append(handle)
            elif handle.reason_code is not None and not handle.accepted:
                # Refused by the broker (0x87 denied, 0x97 quota, 0x95 too large): not delivered. The rows stay
                # in the outbox (only the fleet's ack deletes) and go again after the ack timeout.
                self._count("batches_refused")
        self._handles = waiting

    def _drain(self, outbox: OutboxLike, now_s: float) -> None:
        while True:
            try:
                topic, payload = self._incoming.get_nowait()
            except queue.Empty:
                return
            self._receive(outbox, topic, payload, now_s)

    def _receive(self, outbox: OutboxLike, topic: bytes, payload: bytes, now_s: float) -> None:
        try:
            device, kind = protocol.parse_topic(topic)
            if device != self.device:
                raise protocol.ProtocolError(f"topic: for device {device!r}, not this box")
            if kind == "ack":
                self._apply_ack(outbox, protocol.parse_ack(device, payload), now_s)
            elif kind == "config":
                self._to_agent(protocol.parse_config(device, payload), "configs_in")
            elif kind == "cmd":
                self._to_agent(protocol.parse_command(device, payload), "commands_in")
            else:
                raise protocol.ProtocolError(f"topic: the box does not read {kind!r} messages")
        except protocol.ProtocolError as exc:
            self._reject(topic, exc)

    def _reject(self, topic: bytes, exc: protocol.ProtocolError) -> None:
        name = topic.decode("utf-8", "replace")[:200]
        self.last_rejection = f"{name}: {exc}"[:1000]
        self._count("rejected_in")
        LOG.warning("link: rejected a message on %s: %s", name, exc)
        self._event("link_message_rejected", self.last_rejection, {"topic": name})
        command_id = getattr(exc, "command_id", None)
        if command_id:
            self._to_agent(RefusedCommand(command_id, str(exc)[:4096]), "commands_in")

    def _apply_ack(self, outbox: OutboxLike, ack: protocol.Ack, now_s: float) -> None:
        self._count("acks")
        progressed = False
        for lane in protocol.LANES:
            if ack.acked[lane] > self._acked[lane]:
                self._acked[lane] = ack.acked[lane]
                progressed = True
            self._sent[lane] = max(self._sent[lane], self._acked[lane])
        if progressed:
            self._progress_at = now_s
        self._count("rows_acked", outbox.apply_ack(ack))

    def _to_agent(self, item: Any, counter: str) -> None:
        try:
            self.inbox.put_nowait(item)
            self._count(counter)
        except queue.Full:
            self._count("inbox_dropped")

    # -- status and events (any thread) -----------------------------------------------------------------------------

    def _publish_status(self, now_s: float) -> None:
        counters = self.client.counters()
        key = (self._config_version(), counters["loop_restarts"], counters["refused_logins"])
        if key == self._status_key and now_s - self._status_at < self.config.status_interval_s:
            return
        handle = self.client.publish(protocol.topic(self.device, "status"), self._status_payload("online"),
                                     qos=1, retain=True)
        if handle.error is None:
            self._status_key, self._status_at = key, now_s
            self._count("status_sent")

    def _status_payload(self, state: str) -> bytes:
        counters = self.client.counters()
        with self._lock:
            link = {name: self._counts[name] for name in ("batches_sent", "batches_refused", "ack_timeouts",
                                                          "rejected_in")}
        link.update({name: counters[name] for name in ("connects", "loop_restarts", "publish_refused",
                                                       "refused_logins") if name in counters})
        status = protocol.Status(self.device, state, self.clock.boot_id(), self.version, self._config_version(),
                                 self.clock.now().timestamp(), link)
        return protocol.encode(status.to_message())

    def _hand_over(self, topic: bytes, payload: bytes) -> None:
        self._incoming.put((topic, payload))

    def _event(self, kind: str, reason: str, data: dict[str, Any] | None = None) -> None:
        try:
            self.events.put_nowait(LinkEvent(kind, reason, data or {}))
        except queue.Full:
            self._count("events_dropped")

    def _count(self, name: str, by: int = 1) -> None:
        with self._lock:
            self._counts[name] += by


def default_outbox_factory(config: LinkConfig, *, db_path: Path, device: str, clock: Clock) -> Callable[[], Outbox]:
    """Opens the store's outbox in the link's thread with the [link] table's batching settings."""

    def open_outbox() -> Outbox:
        return Outbox(db_path, device=device, clock=clock, max_batch_bytes=config.batch_max_bytes,
                      ages_s=config.batch_ages_s)

    return open_outbox
