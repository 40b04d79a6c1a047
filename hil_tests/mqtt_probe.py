"""A paho MQTT 5 TLS test client that records what the broker answers: CONNACK, PUBACK, SUBACK, messages."""

from __future__ import annotations

import ssl
import threading
import time
from dataclasses import dataclass

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.reasoncodes import ReasonCode

WAIT_S = 5.0
NOT_AUTHORIZED = 0x87  # MQTT 5 reason code in PUBACK / CONNACK


class ConnectRefused(Exception):
    """The broker did not accept the connection; `reason` says what happened instead."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Received:
    """One PUBLISH delivered to the probe."""

    topic: str
    payload: bytes
    qos: int
    retain: bool


class MqttProbe:
    """One paho client (MQTT 5, TLS unless `cafile` is None, no auto-reconnect) and what it saw."""

    def __init__(self, host: str, port: int, *, username: str | None, password: str | None,
                 client_id: str, cafile: str | None, will: tuple[str, bytes, bool] | None = None,
                 keepalive_s: int = 30) -> None:
        self._lock = threading.Condition()
        self.messages: list[Received] = []
        self.connect_reason: ReasonCode | None = None
        self.disconnect_reason: ReasonCode | None = None
        self.connected_event = threading.Event()
        self.disconnected = threading.Event()
        self._published: dict[int, int] = {}
        self._subscribed: dict[int, list[int]] = {}
        self.paho = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5,
                                reconnect_on_failure=False)
        if username is not None:
            self.paho.username_pw_set(username, password)
        if cafile is not None:
            self.paho.tls_set_context(ssl.create_default_context(cafile=cafile))
        if will is not None:
            self.paho.will_set(will[0], will[1], qos=1, retain=will[2])
        self.paho.on_connect = self._on_connect
        self.paho.on_disconnect = self._on_disconnect
        self.paho.on_message = self._on_message
        self.paho.on_publish = self._on_publish
        self.paho.on_subscribe = self._on_subscribe
        self.host, self.port, self.keepalive_s = host, port, keepalive_s

    # -- paho callbacks (network thread) ----------------------------------------------------------
    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        self.connect_reason = reason_code
        if not reason_code.is_failure:
            self.connected_event.set()
        with self._lock:
            self._lock.notify_all()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        self.disconnect_reason = reason_code
        self.disconnected.set()
        with self._lock:
            self._lock.notify_all()

    def _on_message(self, client, userdata, message) -> None:
        with self._lock:
            self.messages.append(Received(message.topic, bytes(message.payload), message.qos, bool(message.retain)))
            self._lock.notify_all()

    def _on_publish(self, client, userdata, mid, reason_code, properties) -> None:
        with self._lock:
            self._published[mid] = reason_code.value
            self._lock.notify_all()

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        with self._lock:
            self._subscribed[mid] = [code.value for code in reason_codes]
            self._lock.notify_all()

    # -- test side ------------------------------------------------------------------------------
    def connect(self, timeout_s: float = WAIT_S) -> MqttProbe:
        """Connect and wait for CONNACK; ConnectRefused says why not (TLS errors propagate as ssl errors)."""
        self.paho.connect(self.host, self.port, keepalive=self.keepalive_s, clean_start=True)
        self.paho.loop_start()
        with self._lock:
            self._lock.wait_for(lambda: self.connect_reason is not None or self.disconnected.is_set(), timeout_s)
        if self.connected_event.is_set():
            return self
        self.close()
        if self.connect_reason is not None:
            raise ConnectRefused(f"CONNACK {self.connect_reason.value:#04x} {self.connect_reason}")
        if self.disconnected.is_set():
            raise ConnectRefused(f"connection closed before any CONNACK ({self.disconnect_reason})")
        raise ConnectRefused(f"no CONNACK within {timeout_s} s")

    @property
    def is_connected(self) -> bool:
        """Connected and not disconnected since."""
        return self.connected_event.is_set() and not self.disconnected.is_set()

    def publish(self, topic: str, payload: bytes | str, *, qos: int = 1, retain: bool = False,
                timeout_s: float = WAIT_S) -> int | None:
        """Publish and return the PUBACK reason code (0 = accepted, 0x87 = not authorized); None for QoS 0."""
        info = self.paho.publish(topic, payload, qos=qos, retain=retain)
        if qos == 0:
            return None
        with self._lock:
            if not self._lock.wait_for(lambda: info.mid in self._published or self.disconnected.is_set(), timeout_s):
                raise TimeoutError(f"no PUBACK for {topic} within {timeout_s} s")
            if info.mid not in self._published:
                raise ConnectionError(f"disconnected ({self.disconnect_reason}) before the PUBACK for {topic}")
            return self._published.pop(info.mid)

    def subscribe(self, *filters: str, qos: int = 1, timeout_s: float = WAIT_S) -> list[int]:
        """Subscribe and return the SUBACK reason codes (granted QoS, or >= 0x80 when refused)."""
        _, mid = self.paho.subscribe([(f, qos) for f in filters])
        with self._lock:
            if not self._lock.wait_for(lambda: mid in self._subscribed or self.disconnected.is_set(), timeout_s):
                raise TimeoutError(f"no SUBACK for {filters} within {timeout_s} s")
            if mid not in self._subscribed:
                raise ConnectionError(f"disconnected ({self.disconnect_reason}) before the SUBACK")
            return self._subscribed.pop(mid)

    def received(self, topic: str | None = None) -> list[Received]:
        """Messages delivered so far (on one topic)."""
        with self._lock:
            return [m for m in self.messages if topic is None or m.topic == topic]

    def wait_for(self, topic: str, payload: bytes | None = None, timeout_s: float = WAIT_S) -> Received:
        """The first message on `topic` (with `payload`); TimeoutError if none arrives in time."""
        def found() -> Received | None:
            return next((m for m in self.messages if m.topic == topic and payload in (None, m.payload)), None)

        with self._lock:
            if not self._lock.wait_for(lambda: found() is not None, timeout_s):
                raise TimeoutError(f"nothing on {topic} within {timeout_s} s; got {[m.topic for m in self.messages]}")
            message = found()
            assert message is not None
            return message

    def drop_with_will(self) -> None:
        """Disconnect with reason 0x04, which makes the broker publish the will as if the link died."""
        self.paho.disconnect(ReasonCode(PacketTypes.DISCONNECT, "Disconnect with will message"))
        self.disconnected.wait(WAIT_S)
        self.paho.loop_stop()

    def close(self) -> None:
        """Disconnect (if connected) and stop the network thread; safe to call twice."""
        if self.is_connected:
            self.paho.disconnect()
            self.disconnected.wait(1.0)
        self.paho.loop_stop()
        try:
            self.paho.socket() and self.paho.socket().close()  # type: ignore[union-attr]
        except OSError:
            pass


def wait_until(predicate, timeout_s: float = WAIT_S, step_s: float = 0.01) -> bool:
    """Poll `predicate` until true or `timeout_s` passes; its last value."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            return bool(predicate())
        time.sleep(step_s)
    return True
