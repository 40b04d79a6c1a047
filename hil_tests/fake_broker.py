"""Test-only: a tiny MQTT 5 server over TLS that misbehaves on purpose, and a throwaway CA to serve it with.

Each accepted connection plays one `mode`: "normal" (CONNACK, SUBACK, PUBACK, PINGRESP), "bad_topic" (after
SUBACK, a PUBLISH whose topic is not UTF-8), "truncated" (a PUBLISH cut short, then silence), "bad_length" (a
remaining length longer than four bytes), "refuse" (CONNACK 0x87), "deny" (every PUBACK 0x87). It records the
first byte of every TCP connection before TLS (0x16 is a TLS ClientHello, 0x10 would be a plaintext CONNECT).
"""

from __future__ import annotations

import socket
import ssl
import struct
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path

CONNECT, CONNACK, PUBLISH, PUBACK, SUBSCRIBE, SUBACK, PINGREQ, DISCONNECT = 1, 2, 3, 4, 8, 9, 12, 14


def make_ca(folder: Path, host: str = "localhost") -> tuple[Path, Path, Path]:
    """A CA and a server certificate for `host` (and 127.0.0.1) it signed: (ca.pem, server.pem, server.key)."""
    folder.mkdir(parents=True, exist_ok=True)
    ca_key, ca_pem = folder / "ca.key", folder / "ca.pem"
    key, csr, pem, ext = folder / "server.key", folder / "server.csr", folder / "server.pem", folder / "san.ext"
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run = lambda *args: subprocess.run(["openssl", *args], check=True, capture_output=True)
    run("req", "-x509", *ec, "-keyout", str(ca_key), "-out", str(ca_pem), "-days", "2", "-subj", f"/CN=fake-ca-{folder.name}")
    run("req", *ec, "-keyout", str(key), "-out", str(csr), "-subj", f"/CN={host}")
    ext.write_text(f"subjectAltName=DNS:{host},IP:127.0.0.1\n", encoding="ascii")
    run("x509", "-req", "-in", str(csr), "-CA", str(ca_pem), "-CAkey", str(ca_key), "-CAcreateserial",
        "-out", str(pem), "-days", "2", "-extfile", str(ext))
    return ca_pem, pem, key


@dataclass
class Seen:
    """What one connection sent: its first raw byte, its CONNECT and its PUBLISHes."""

    mode: str
    first_byte: int | None = None
    tls_ok: bool = False
    client_id: str = ""
    username: str = ""
    password: bytes = b""
    will_topic: str = ""
    will_retain: bool = False
    publishes: list[tuple[str, bytes, bool]] = field(default_factory=list)
    subscriptions: list[str] = field(default_factory=list)


class FakeBroker:
    """A TLS MQTT 5 server on 127.0.0.1; `modes` is played one per connection, the last one repeated."""

    def __init__(self, cert: Path, key: Path, modes: list[str]) -> None:
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(str(cert), str(key))
        self.modes = modes
        self.seen: list[Seen] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._sockets: list[socket.socket] = []

    def start(self) -> FakeBroker:
        """Accept connections in a background thread."""
        self._listener.settimeout(0.2)
        thread = threading.Thread(target=self._accept, daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def stop(self) -> None:
        """Close everything."""
        self._stop.set()
        for sock in [self._listener, *self._sockets]:
            try:
                sock.close()
            except OSError:
                pass
        for thread in self._threads:
            thread.join(2)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                raw, _ = self._listener.accept()
            except (TimeoutError, OSError):
                continue
            seen = Seen(self.modes[min(len(self.seen), len(self.modes) - 1)])
            self.seen.append(seen)
            self._sockets.append(raw)
            thread = threading.Thread(target=self._serve, args=(raw, seen), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _serve(self, raw: socket.socket, seen: Seen) -> None:
        try:
            raw.settimeout(10)
            first = raw.recv(1, socket.MSG_PEEK)
            seen.first_byte = first[0] if first else None
            sock = self.context.wrap_socket(raw, server_side=True)
            self._sockets.append(sock)
            seen.tls_ok = True
            self._session(sock, seen)
        except (OSError, ssl.SSLError, ValueError):
            return

    def _session(self, sock: socket.socket, seen: Seen) -> None:
        silent = False
        while not self._stop.is_set():
            kind, flags, body = _read_packet(sock)
            if silent:
                continue  # the client's PINGREQs go unanswered: it must notice by itself
            if kind == CONNECT:
                _parse_connect(body, seen)
                sock.sendall(bytes([0x20, 3, 0, 0x87 if seen.mode == "refuse" else 0, 0]))
            elif kind == SUBSCRIBE:
                packet_id, topics = _parse_subscribe(body)
                seen.subscriptions.extend(topics)
                sock.sendall(bytes([0x90, 3 + len(topics)]) + packet_id + b"\x00" + b"\x01" * len(topics))
                silent = self._misbehave(sock, seen.mode)
            elif kind == PUBLISH:
                qos = (flags >> 1) & 3
                topic, packet_id, payload = _parse_publish(body, qos)
                seen.publishes.append((topic, payload, bool(flags & 1)))
                if qos:
                    sock.sendall(b"\x40\x04" + packet_id + bytes([0x87 if seen.mode == "deny" else 0, 0]))
            elif kind == PINGREQ:
                sock.sendall(b"\xd0\x00")
            elif kind == DISCONNECT:
                return

    @staticmethod
    def _misbehave(sock: socket.socket, mode: str) -> bool:
        """Send the mode's malformed packet; True when the connection then goes silent."""
        if mode == "bad_topic":
            topic = b"hameau/v1/\xff\xfe/cmd"
            body = struct.pack("!H", len(topic)) + topic + b"\x00" + b"{}"
            sock.sendall(bytes([0x30, len(body)]) + body)
        elif mode == "truncated":
            sock.sendall(bytes([0x30, 100]) + b"\x00\x05hame")  # declares 100 bytes, sends 7
            return True
        elif mode == "bad_length":
            sock.sendall(b"\x30\xff\xff\xff\xff\x7f")  # a remaining length of five bytes: a protocol error
        return False


def _recv_exact(sock: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise OSError("closed")
        data += chunk
    return data


def _read_packet(sock: socket.socket) -> tuple[int, int, bytes]:
    head = _recv_exact(sock, 1)[0]
    length, shift = 0, 0
    while True:
        byte = _recv_exact(sock, 1)[0]
        length |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            break
    return head >> 4, head & 0x0F, _recv_exact(sock, length) if length else b""


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos


def _string(data: bytes, pos: int) -> tuple[bytes, int]:
    (size,) = struct.unpack_from("!H", data, pos)
    return data[pos + 2:pos + 2 + size], pos + 2 + size


def _parse_connect(body: bytes, seen: Seen) -> None:
    _name, pos = _string(body, 0)
    flags = body[pos + 1]
    pos += 4  # version, flags, keepalive
    props, pos = _varint(body, pos)
    pos += props
    client_id, pos = _string(body, pos)
    seen.client_id = client_id.decode()
    if flags & 0x04:  # will
        will_props, pos = _varint(body, pos)
        pos += will_props
        will_topic, pos = _string(body, pos)
        _will_payload, pos = _string(body, pos)
        seen.will_topic, seen.will_retain = will_topic.decode(), bool(flags & 0x20)
    if flags & 0x80:
        username, pos = _string(body, pos)
        seen.username = username.decode()
    if flags & 0x40:
        seen.password, pos = _string(body, pos)


def _parse_subscribe(body: bytes) -> tuple[bytes, list[str]]:
    packet_id = body[:2]
    props, pos = _varint(body, 2)
    pos += props
    topics = []
    while pos < len(body):
        name, pos = _string(body, pos)
        topics.append(name.decode())
        pos += 1  # options
    return packet_id, topics


def _parse_publish(body: bytes, qos: int) -> tuple[str, bytes, bytes]:
    topic, pos = _string(body, 0)
    packet_id = b""
    if qos:
        packet_id, pos = body[pos:pos + 2], pos + 2
    props, pos = _varint(body, pos)
    return topic.decode(), packet_id, body[pos + props:]
