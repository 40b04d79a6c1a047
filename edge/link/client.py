"""The box's MQTT 5 client: TLS only, per-device login, last will, backoff with jitter and a supervised loop."""

from __future__ import annotations

import logging
import random as random_module
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion

from edge.config.link import LinkConfig, check_password_file
from edge.config.reader import Invalid
from edge.link.backoff import Backoff
from edge.link.supervisor import SupervisedThread
from edge.runtime.clock import Clock
from fleet import protocol

LOG = logging.getLogger("hameau.link")
LOOP_TIMEOUT_S = 0.1
#: MQTT 5 reason code paho gives a connection it closed because the broker stopped answering.
KEEPALIVE_TIMEOUT = 0x8D
#: Why paho drops a connection the broker broke without saying so: malformed packet, protocol error, keepalive.
BROKEN_CONNECTION = frozenset({0x81, 0x82, KEEPALIVE_TIMEOUT})
#: Fixed header, topic length, packet id and properties of a PUBLISH, at most, beside its topic and payload.
PACKET_OVERHEAD_BYTES = 16
#: Topics the box reads: its own ack, config and commands.
SUBSCRIBED = ("ack", "config", "cmd")

Handler = Callable[[bytes, bytes], None]  # (raw topic, payload)
StatusBuilder = Callable[[str], bytes]  # state ("online" / "offline") -> status payload
EventSink = Callable[[str, str], None]  # (kind, reason)


@dataclass
class PublishHandle:
    """One publish: `reason_code` once the broker's PUBACK came, or `error` when it never will."""

    topic: str
    size_bytes: int
    mid: int = 0
    reason_code: int | None = None
    error: str | None = None
    done: threading.Event = field(default_factory=threading.Event)

    @property
    def accepted(self) -> bool:
        """The broker took it (PUBACK below 0x80); the fleet's ack, not this, lets the outbox forget it."""
        return self.reason_code is not None and self.reason_code < 0x80

    def wait(self, timeout_s: float) -> bool:
        """Wait for the outcome; True when there is one."""
        return self.done.wait(timeout_s)

    def _finish(self, reason_code: int | None = None, error: str | None = None) -> None:
        self.reason_code, self.error = reason_code, error
        self.done.set()


def _written_by_the_loop(_mqtt: paho.Client, _userdata: Any, _sock: Any) -> None:
    """paho's write callback: nothing to do, the network thread's loop writes what publish() queued."""


def tls_context(config: LinkConfig) -> ssl.SSLContext:
    """A client TLS context that verifies the broker against the configured CA and its host name; nothing else."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(config.ca_file))
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    return context


class LinkClient:
    """paho MQTT 5 over TLS to the fleet's broker, one fresh paho client per connection, in a supervised thread.

    `on_message(topic_bytes, payload)` runs in the network thread for every message on the box's own topics;
    it must only hand the message over (a queue). Counters are in `counters()`.
    """

    def __init__(
        self,
        config: LinkConfig,
        *,
        device: str,
        clock: Clock,
        on_message: Handler,
        status: StatusBuilder,
        on_event: EventSink | None = None,
        random: Callable[[], float] = random_module.random,
    ) -> None:
        self.config = config
        self.device = device
        self.clock = clock
        self._on_message = on_message
        self._status = status
        self._on_event = on_event or (lambda kind, reason: None)
        self._backoff = Backoff(config.reconnect_min_s, config.reconnect_max_s, random)
        self._lock = threading.Lock()
        self._mqtt: paho.Client | None = None
        self._connected = False
        self._connected_at = 0.0
        self._next_attempt_at = 0.0
        self._refused: str | None = None
        self._gone: tuple[str, bool] | None = None
        self._pending: dict[int, PublishHandle] = {}
        self._early: dict[int, int] = {}
        self._max_packet_bytes: int | None = None
        self.connection_id = 0
        self.last_error = ""
        self._counts = dict.fromkeys(
            ("connect_attempts", "connects", "connect_failures", "refused_logins", "disconnects", "loop_restarts",
             "messages_in", "malformed_in", "published", "publish_refused", "oversize_refused"), 0)
        self._thread = SupervisedThread(f"hameau-link-{device}", self._step, self._loop_failed)

    # -- public API -----------------------------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """Whether the broker accepted the current connection (CONNACK success) and it has not been lost."""
        return self._connected

    def start(self) -> None:
        """Start the supervised network thread; it connects at once, then with backoff."""
        self._thread.start()

    def supervise(self) -> bool:
        """Restart the network thread if it died; True when it did (the service calls this each turn)."""
        return self._thread.check()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Publish status "offline" (a clean DISCONNECT suppresses the will), disconnect and join the thread."""
        self._thread.stopping.set()
        self._thread.stop(timeout_s)
        mqtt, connected = self._mqtt, self._connected
        if mqtt is not None and connected:
            try:
                info = mqtt.publish(self._topic("status"), self._status("offline"), qos=1, retain=True)
                # Bounded in loops, not on the box's clock: a simulated one stands still once the agent stopped.
                for _ in range(round(min(timeout_s, 2.0) / LOOP_TIMEOUT_S)):
                    if info.is_published() or not mqtt.is_connected():
                        break
                    mqtt.loop(LOOP_TIMEOUT_S)
                mqtt.disconnect()
                mqtt.loop(LOOP_TIMEOUT_S)
            except (OSError, ValueError, RuntimeError) as exc:
                LOG.info("link: clean disconnect failed: %s", exc)
        self._drop("stopped")

    def publish(self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False) -> PublishHandle:
        """Publish now if connected; the handle says what the broker answered. Never queued: the outbox is."""
        handle = PublishHandle(topic, len(payload))
        limit = protocol.MAX_PAYLOAD_BYTES
        if self._max_packet_bytes:  # the broker's CONNACK limit counts the whole packet: leave room for headers
            limit = min(limit, self._max_packet_bytes - len(topic.encode("utf-8")) - PACKET_OVERHEAD_BYTES)
        if len(payload) > limit:
            self._count("oversize_refused")
            handle._finish(error=f"payload of {len(payload)} bytes is over the {limit}-byte limit: not sent")
            return handle
        mqtt = self._mqtt
        if mqtt is None or not self._connected:
            handle._finish(error="not connected")
            return handle
        try:
            info = mqtt.publish(topic, payload, qos=qos, retain=retain)
        except (ValueError, OSError, RuntimeError) as exc:
            handle._finish(error=f"publish failed: {exc}")
            return handle
        if info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
            handle._finish(error=f"publish failed: {paho.error_string(info.rc)}")
            return handle
        handle.mid = info.mid
        self._count("published")
        if qos == 0:
            handle._finish(reason_code=0)
            return handle
        with self._lock:
            early = self._early.pop(info.mid, None)
            if early is None:
                self._pending[info.mid] = handle
        if early is not None:
            self._settle(handle, early)
        return handle

    def counters(self) -> dict[str, Any]:
        """The link's counters, with the connection state and the last error, for status and stats."""
        with self._lock:
            counts: dict[str, Any] = dict(self._counts)
        counts.update(connected=self._connected, last_error=self.last_error,
                      backoff_failures=self._backoff.failures, thread_restarts=self._thread.restarts)
        return counts

    # -- the network thread -----------------------------------------------------------------------------------------

    def _topic(self, kind: str) -> str:
        return protocol.topic(self.device, kind)

    def _count(self, name: str, by: int = 1) -> None:
        with self._lock:
            self._counts[name] += by

    def _step(self) -> None:
        stopping = self._thread.stopping
        mqtt = self._mqtt
        if mqtt is None:
            wait_s = self._next_attempt_at - self.clock.monotonic()
            if wait_s > 0:
                stopping.wait(min(wait_s, 0.2))
                return
            self._attempt()
            return
        rc = mqtt.loop(LOOP_TIMEOUT_S)
        if self._refused is not None:
            self._fail_attempt(self._refused, refused=True)
        elif rc != MQTTErrorCode.MQTT_ERR_SUCCESS or self._gone is not None:
            reason, broken = self._gone or (paho.error_string(rc), False)
            if self._connected:
                # Broken: a malformed packet or a broker gone quiet without closing: the loop is restarted.
                self._lost(reason, restart=broken)
            else:
                self._fail_attempt(f"connection closed before CONNACK: {reason}")

    def _attempt(self) -> None:
        """One connection attempt: a fresh paho client, TLS, login, will; the CONNACK comes in the loop."""
        self._count("connect_attempts")
        self._refused = self._gone = None
        try:
            password = check_password_file(self.config.password_file)
            context = tls_context(self.config)
        except Invalid as exc:
            self._fail_attempt(f"password_file: {exc}")
            return
        except (OSError, ssl.SSLError) as exc:
            self._fail_attempt(f"cannot read the link's files: {exc}")
            return
        mqtt = paho.Client(CallbackAPIVersion.VERSION2, client_id=self.device, protocol=MQTTProtocolVersion.MQTTv5,
                           reconnect_on_failure=False)
        mqtt.tls_set_context(context)
        mqtt.username_pw_set(self.config.username, password)
        mqtt.will_set(self._topic("status"), self._status("offline"), qos=1, retain=True)
        mqtt.on_connect = self._handle_connect
        mqtt.on_disconnect = self._handle_disconnect
        mqtt.on_message = self._handle_message
        mqtt.on_publish = self._handle_publish
        # publish() from the service thread must only queue: paho would otherwise write the socket from that thread
        # while this one writes it too, interleaving TLS records (the broker cuts the connection: protocol error).
        # With a write callback set, paho queues and wakes this thread's loop, which alone writes.
        mqtt.on_socket_register_write = _written_by_the_loop
        self._mqtt = mqtt
        try:
            mqtt.connect(self.config.host, self.config.port, keepalive=self.config.keepalive_s, clean_start=True)
        except (OSError, ssl.SSLError, ValueError) as exc:  # refused, unreachable, TLS verification failed
            self._fail_attempt(f"connect to {self.config.host}:{self.config.port} failed: {exc}")

    def _fail_attempt(self, reason: str, *, refused: bool = False) -> None:
        self._count("refused_logins" if refused else "connect_failures")
        self._drop(reason)
        self._schedule(reason)

    def _schedule(self, reason: str) -> None:
        delay_s = self._backoff.next_delay_s()
        self._next_attempt_at = self.clock.monotonic() + delay_s
        LOG.info("link: %s; next attempt in %.1f s", reason, delay_s)

    def _lost(self, reason: str, *, restart: bool) -> None:
        """The connection is gone: drop it, say why, and reconnect after a backoff."""
        if self.clock.monotonic() - self._connected_at >= self.config.keepalive_s:
            self._backoff.reset()  # it held a while: start again from min_s
        self._count("disconnects")
        if restart:
            self._count("loop_restarts")
            self._on_event("link_loop_restart", reason)
        self._drop(reason)
        self._schedule(reason)

    def _loop_failed(self, reason: str) -> None:
        """The network loop raised (a malformed packet, a dead thread): the connection cannot be trusted."""
        self._lost(reason, restart=True)

    def _drop(self, reason: str) -> None:
        """Close the socket without DISCONNECT (the will stays armed) and fail every publish still waiting."""
        self.last_error = reason
        self._connected = False
        mqtt, self._mqtt = self._mqtt, None
        if mqtt is not None:
            sock = mqtt.socket()
            if sock is not None:
                try:
                    sock.close()
                except OSError:
                    pass
        with self._lock:
            pending, self._pending, self._early = self._pending, {}, {}
        for handle in pending.values():
            handle._finish(error=f"connection lost before PUBACK ({reason})")

    # -- paho callbacks (network thread) ----------------------------------------------------------------------------

    def _handle_connect(self, mqtt: paho.Client, _userdata: Any, _flags: Any, reason: Any, properties: Any) -> None:
        if reason.is_failure:
            self._refused = f"broker refused the connection: {reason} (0x{reason.value:02X})"
            return
        self._max_packet_bytes = getattr(properties, "MaximumPacketSize", None)
        self._connected_at = self.clock.monotonic()
        self.connection_id += 1  # before `connected`: the service must not publish under the previous id
        self._connected = True
        self._count("connects")
        self.last_error = ""
        # Subscribed before saying online: the broker handles both in order, so a fleet that sends a command on
        # seeing "online" finds the box listening.
        mqtt.subscribe([(self._topic(kind), 1) for kind in SUBSCRIBED])
        mqtt.publish(self._topic("status"), self._status("online"), qos=1, retain=True)
        LOG.info("link: connected to %s:%s", self.config.host, self.config.port)

    def _handle_disconnect(self, _mqtt: paho.Client, _userdata: Any, flags: Any, reason: Any, _props: Any) -> None:
        code = getattr(reason, "value", None)
        from_broker = bool(getattr(flags, "is_disconnect_packet_from_server", False))
        broken = not from_broker and code in BROKEN_CONNECTION
        if code == KEEPALIVE_TIMEOUT and not from_broker:
            text = f"keepalive timeout: the broker went quiet for {self.config.keepalive_s} s without closing"
        else:
            text = f"{'broker sent DISCONNECT' if from_broker else 'disconnected'}: {reason}"
        self._gone = (text, broken)

    def _handle_message(self, _mqtt: paho.Client, _userdata: Any, message: paho.MQTTMessage) -> None:
        try:
            message.topic  # noqa: B018 - a topic that is not UTF-8 is a malformed packet from the broker
        except UnicodeDecodeError:
            self._count("malformed_in")
            raise
        self._count("messages_in")
        try:
            self._on_message(message.topic.encode("utf-8"), bytes(message.payload))
        except Exception as exc:  # noqa: BLE001 - a consumer's mistake must not cost the connection
            LOG.warning("link: message handler failed: %s", exc)

    def _handle_publish(self, _mqtt: paho.Client, _userdata: Any, mid: int, reason: Any, _props: Any) -> None:
        code = int(getattr(reason, "value", reason) or 0)
        with self._lock:
            handle = self._pending.pop(mid, None)
            if handle is None:
                self._early[mid] = code
                return
        self._settle(handle, code)

    def _settle(self, handle: PublishHandle, code: int) -> None:
        if code >= 0x80:
            self._count("publish_refused")
            LOG.warning("link: broker refused a publish on %s: reason 0x%02X", handle.topic, code)
        handle._finish(reason_code=code)
