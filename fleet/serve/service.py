"""`hameau-fleet serve`: paho's network thread hands messages to one writer thread that stores then acks."""

from __future__ import annotations

import logging
import queue
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from typing import Protocol

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from fleet import protocol
from fleet.errors import FleetConfigError, StoreError
from fleet.serve.config import ServeConfig, tls_context
from fleet.serve.handler import Handler, Inbound
from fleet.serve.jobs import Job, JobRunner
from fleet.store.api import FleetStore
from fleet.store.db import Database

LOG = logging.getLogger("hameau.fleet.serve")

#: CONNACK reasons that no retry can fix: the credentials or this client are refused.
FATAL_CONNACK = frozenset({0x84, 0x85, 0x86, 0x87, 0x8C})
_STOP = object()
#: Longest wait of an ack queued by the writer before the network thread sends it.
NETWORK_TURN_S = 0.02


class Route(Protocol):
    """Messages served beside the ingest (Home Assistant's commands): a subscription and the topics it owns."""

    subscription: str

    def owns(self, topic: bytes) -> bool:
        """Whether this route handles a message on `topic` (the ingest does not see it)."""
        ...

    def handle(self, store: FleetStore, message: Inbound) -> object:
        """Handle one message on the writer thread (refusals are the route's to log and count)."""
        ...


def _written_by_the_loop(_client: mqtt.Client, _userdata: object, _sock: object) -> None:
    """paho's write callback: nothing to do, the network thread's loop writes what was queued."""


class IngestService:
    """One serve process: an MQTT 5 client on the fleet's shared subscriptions and a single store writer."""

    def __init__(
        self,
        config: ServeConfig,
        store: FleetStore,
        *,
        now: Callable[[], float] = time.time,
        jobs: Sequence[Job] = (),
        job_db: Database | None = None,
        routes: Sequence[Route] = (),
    ) -> None:
        self.config = config
        self.routes = tuple(routes)
        self.handler = Handler(store)
        self._now = now
        self._inbox: queue.Queue[object] = queue.Queue()
        self._generation = 0
        self._connected_once = False
        self.fatal: str | None = None
        self.loop_restarts = 0
        self.stored_batches = 0
        self._stop = threading.Event()
        self._client = self._make_client()
        self._network: threading.Thread | None = None
        self._writer = threading.Thread(target=self._write_loop, name="fleet-writer", daemon=True)
        self.jobs = JobRunner(jobs, job_db, self._publish, now=now) if jobs and job_db is not None else None

    def _publish(self, topic: str, payload: bytes, qos: int, retain: bool) -> None:
        """Queue a message for the network thread (jobs: desired configs, commands)."""
        self._client.publish(topic, payload, qos=qos, retain=retain)

    def _make_client(self) -> mqtt.Client:
        cfg = self.config
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=cfg.client_id, protocol=mqtt.MQTTv5, manual_ack=True
        )
        client.tls_set_context(tls_context(cfg.ca_path))
        client.username_pw_set(cfg.username, cfg.password)
        client.reconnect_delay_set(1, 30)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        # The writer thread's publish() and ack() only queue (a write callback is set): the network thread alone
        # writes the socket, so that two threads never interleave their TLS records on it.
        client.on_socket_register_write = _written_by_the_loop
        return client

    def _connect_properties(self) -> Properties:
        props = Properties(PacketTypes.CONNECT)
        props.ReceiveMaximum = self.config.receive_maximum  # the broker never has more in flight to us
        if self.config.keep_session:
            props.SessionExpiryInterval = self.config.session_expiry_s
        return props

    # paho's network thread -------------------------------------------------------------------------

    def _on_connect(self, client: mqtt.Client, _userdata: object, _flags: object, reason: object, _p: object) -> None:
        code = getattr(reason, "value", 0)
        if code >= 0x80:
            LOG.error("broker %s:%d refused the connection: %s", self.config.host, self.config.port, reason)
            if code in FATAL_CONNACK and not self._connected_once:
                self.fatal = f"broker {self.config.host}:{self.config.port} refused the login: {reason}"
                self._stop.set()
            return
        self._connected_once = True
        self._generation += 1
        LOG.info("connected to %s:%d as %s", self.config.host, self.config.port, self.config.username)
        client.subscribe([(sub, 1) for sub in self._subscriptions])

    def _on_subscribe(self, _c: mqtt.Client, _u: object, _mid: int, reasons: list, _p: object) -> None:
        granted = [getattr(r, "value", r) for r in reasons]
        if any(code >= 0x80 for code in granted):
            LOG.error("the broker refused a subscription: %s", reasons)
        else:
            LOG.info("subscribed to %s", ", ".join(self._subscriptions))

    @property
    def _subscriptions(self) -> tuple[str, ...]:
        return (*protocol.FLEET_SUBSCRIPTIONS, *(route.subscription for route in self.routes))

    def _on_disconnect(self, _c: mqtt.Client, _u: object, _f: object, reason: object, _p: object) -> None:
        if not self._stop.is_set():
            LOG.warning("disconnected from the broker (%s); reconnecting", reason)

    def _on_message(self, _client: mqtt.Client, _userdata: object, message: mqtt.MQTTMessage) -> None:
        # Never read message.topic: an invalid UTF-8 topic raises there and kills paho's thread.
        raw_topic = message._topic  # the undecoded bytes: paho has no public accessor
        self._inbox.put(
            Inbound(
                topic=bytes(raw_topic),
                payload=bytes(message.payload),
                mid=message.mid,
                qos=message.qos,
                generation=self._generation,
                received_at=self._now(),
            )
        )

    def _network_main(self, first: bool) -> None:
        try:
            if not first:
                try:
                    self._client.reconnect()  # the old socket's stream state is unknown after a crash
                except OSError as error:
                    LOG.warning("reconnect failed (%s); retrying", error)
            # loop_forever makes no wake-up socket pair: what the writer thread queues (acks, PUBACKs) waits for
            # the next turn of the loop, so the turns are short.
            self._client.loop_forever(timeout=NETWORK_TURN_S, retry_first_connection=True)
        except Exception:
            LOG.exception("MQTT network thread died")

    def _start_network(self, first: bool) -> None:
        self._network = threading.Thread(
            target=self._network_main, args=(first,), name="fleet-mqtt", daemon=True
        )
        self._network.start()

    # the writer thread ---------------------------------------------------------------------------

    def _write_loop(self) -> None:
        while True:
            item = self._inbox.get()
            if item is _STOP:
                return
            assert isinstance(item, Inbound)
            self._write_one(item)

    def _write_one(self, item: Inbound) -> None:
        route = next((r for r in self.routes if r.owns(item.topic)), None)
        try:
            if route is not None:
                route.handle(self.handler.store, item)
                outcome = None
            else:
                outcome = self.handler.handle(item)
        except StoreError as error:
            # Rolled back, so nothing is acked to the box, which resends it after its ack timeout. The
            # PUBACK still goes: unacknowledged messages would fill the broker's in-flight window and stall.
            LOG.error("could not store a message from %r (the box will resend it): %s", item.topic[:200], error)
            outcome = None
        except Exception:
            LOG.exception("unexpected error handling a message (the box will resend it)")
            outcome = None
        try:
            if outcome is not None and outcome.ack_topic is not None and outcome.ack_payload is not None:
                self._client.publish(outcome.ack_topic, outcome.ack_payload, qos=1, retain=True)
                self.stored_batches += 1
            if item.qos > 0 and item.generation == self._generation:
                self._client.ack(item.mid, item.qos)
        except (OSError, ValueError, RuntimeError) as error:
            LOG.error("could not publish the ack or PUBACK (the box will resend): %s", error)

    # lifecycle -----------------------------------------------------------------------------------

    def first_connect(self) -> None:
        """Connect once from the calling thread: a certificate the CA does not vouch for stops serve."""
        delay_s = 1.0
        while not self._stop.is_set():
            try:
                self._client.connect(
                    self.config.host,
                    self.config.port,
                    keepalive=self.config.keepalive_s,
                    clean_start=not self.config.keep_session,
                    properties=self._connect_properties(),
                )
                return
            except ssl.SSLCertVerificationError as error:
                raise FleetConfigError(
                    f"--ca {self.config.ca_path}: the broker's certificate is not trusted ({error.verify_message})"
                ) from None
            except (OSError, ssl.SSLError) as error:
                LOG.warning("broker %s:%d unreachable (%s); retrying in %.0f s",
                            self.config.host, self.config.port, error, delay_s)
                self._stop.wait(delay_s)
                delay_s = min(delay_s * 2, 30.0)

    def run(self, *, supervise_s: float = 1.0) -> int:
        """Serve until stop() (SIGTERM/SIGINT): 0 on a clean stop, 2 when the broker refused the login."""
        self._writer.start()
        self.first_connect()
        if not self._stop.is_set():
            self._start_network(first=True)
            if self.jobs is not None:
                self.jobs.start()
        while not self._stop.wait(supervise_s):
            network = self._network
            if network is not None and not network.is_alive():
                self.loop_restarts += 1
                LOG.error("MQTT network thread is gone; restarting it (restart %d)", self.loop_restarts)
                self._start_network(first=False)
        self._shutdown()
        if self.fatal is not None:
            LOG.error("%s", self.fatal)
            return 2
        return 0

    def stop(self) -> None:
        """Ask run() to finish the current transaction, disconnect and return (signal-handler safe)."""
        self._stop.set()

    def _shutdown(self) -> None:
        if self.jobs is not None:
            self.jobs.stop()
        self._drop_queued()
        self._writer.join()
        self._client.disconnect()
        network = self._network
        if network is not None:
            network.join(timeout=5.0)
        self._client.loop_stop()

    def _drop_queued(self) -> None:
        """Leave the writer only the current message: the rest is not PUBACKed and will be sent again."""
        kept = []
        while True:
            try:
                item = self._inbox.get_nowait()
            except queue.Empty:
                break
            if item is _STOP:
                break
            kept.append(item)
        if kept:
            LOG.info("stopping: %d received messages left unacknowledged", len(kept))
        self._inbox.put(_STOP)
