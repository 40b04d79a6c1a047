"""Serve against a fake MQTT 5 broker that sends what Mosquitto never would: a PUBLISH whose topic is not UTF-8."""

from __future__ import annotations

import json
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from broker import BrokerPki
from fleet_serve_process import ServeProcess, wait_s

from fleet import protocol

T0 = 1_767_225_600.0


def _packet(conn: ssl.SSLSocket) -> tuple[int, bytes]:
    """One MQTT packet: (first byte, body)."""
    def exact(n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = conn.recv(n - len(data))
            if not chunk:
                raise ConnectionError("closed")
            data += chunk
        return data

    first = exact(1)[0]
    length, shift = 0, 0
    while True:
        byte = exact(1)[0]
        length |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            break
    return first, exact(length)


def _publish(topic: bytes, payload: bytes, mid: int) -> bytes:
    body = len(topic).to_bytes(2, "big") + topic + mid.to_bytes(2, "big") + b"\x00" + payload
    length, encoded = len(body), b""
    while True:
        byte, length = length % 128, length // 128
        encoded += bytes([byte | (0x80 if length else 0)])
        if not length:
            break
    return b"\x32" + encoded + body


@dataclass
class FakeBroker:
    """A TLS socket that speaks just enough MQTT 5: CONNACK, SUBACK, two PUBLISHes, and records replies."""

    pki: BrokerPki
    url: str = ""
    pubacks: list[int] | None = None
    published: list[tuple[str, bytes]] | None = None

    @property
    def ca_path(self) -> Path:
        return self.pki.ca

    @property
    def fleet_credentials(self) -> tuple[str, str]:
        return "fleet.hameau", "any-password"

    def start(self, to_send: list[tuple[bytes, bytes]]) -> FakeBroker:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*self.pki.server("server"))
        self._server = socket.create_server(("127.0.0.1", 0))
        self.url = f"mqtts://127.0.0.1:{self._server.getsockname()[1]}"
        self.pubacks, self.published = [], []
        self._thread = threading.Thread(target=self._serve, args=(context, to_send), daemon=True)
        self._thread.start()
        return self

    def _serve(self, context: ssl.SSLContext, to_send: list[tuple[bytes, bytes]]) -> None:
        raw, _ = self._server.accept()
        with context.wrap_socket(raw, server_side=True) as conn:
            try:
                while True:
                    first, body = _packet(conn)
                    kind = first >> 4
                    if kind == 1:  # CONNECT
                        conn.sendall(b"\x20\x03\x00\x00\x00")
                    elif kind == 8:  # SUBSCRIBE: grant QoS 1 to each filter, then send our messages
                        conn.sendall(b"\x90\x05" + body[:2] + b"\x00\x01\x01")
                        for mid, (topic, payload) in enumerate(to_send, start=1):
                            conn.sendall(_publish(topic, payload, mid))
                    elif kind == 4:  # PUBACK from serve
                        self.pubacks.append(int.from_bytes(body[:2], "big"))  # type: ignore[union-attr]
                    elif kind == 3:  # serve publishes an ack
                        size = int.from_bytes(body[:2], "big")
                        topic, mid = body[2:2 + size].decode(), body[2 + size:4 + size]
                        self.published.append((topic, body[4 + size + 1 + body[4 + size]:]))  # type: ignore[union-attr]
                        conn.sendall(b"\x40\x02" + mid)
                    elif kind == 12:  # PINGREQ
                        conn.sendall(b"\xd0\x00")
                    elif kind == 14:  # DISCONNECT
                        return
            except (ConnectionError, OSError):
                return

    def close(self) -> None:
        self._server.close()


@pytest.fixture
def fake(broker_pki: BrokerPki) -> Iterator[FakeBroker]:
    broker = FakeBroker(broker_pki)
    yield broker
    broker.close()


def test_fleet_serve_counts_a_publish_with_an_invalid_utf8_topic_and_stores_the_next(
    fake: FakeBroker, tmp_path: Path
) -> None:
    record = {"seq": 1, "boot": "b1", "mono_s": 1.0, "wall_s": T0, "clock": "synced", "type": "reading",
              "sensor": "lux", "name": "illuminance", "value": 3.0}
    batch = protocol.encode({"v": 1, "device": "box-a", "boot": "b1", "lane": "raw", "after": 0, "seq_first": 1,
                             "seq_last": 1, "sent_at": T0, "clock": {"synced": True, "offsets": {}},
                             "records": [record]})
    fake.start([(b"hameau/v1/\xff\xfe/up", batch), (b"hameau/v1/box-a/up", batch)])
    serve = ServeProcess(fake, tmp_path)  # type: ignore[arg-type]
    try:
        serve.start()
        assert wait_s(lambda: fake.pubacks == [1, 2])
        assert [(t, json.loads(p)["acked"]["raw"]) for t, p in fake.published or []] == [("hameau/v1/box-a/ack", 1)]
        assert serve.rejects() == {("", "topic: not valid UTF-8"): 1}
        assert serve.seqs("box-a", "raw") == [1] and serve.alive
        assert "MQTT network thread" not in serve.log() and "Traceback" not in serve.log()
    finally:
        serve.close()
