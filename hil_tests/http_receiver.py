"""A real HTTP server on loopback for the notifier's webhook tests (http.server in a thread): every POST kept
(path, headers, body, time), and failures on demand: a scripted status per request (500, 302, ...) or a hang
longer than the client's timeout. Optionally HTTPS with a test certificate."""

from __future__ import annotations

import ssl
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Self

HOST = "127.0.0.1"
#: A scripted action: an HTTP status to answer with, or "hang" (no answer until hang_s passed or stop()).
Action = int | str


@dataclass(frozen=True)
class ReceivedPost:
    """One request the server read in full."""

    path: str
    headers: dict[str, str]
    body: bytes
    at: float
    status: int | None


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        r = self.server.receiver
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        with r.lock:
            action = r.script.popleft() if r.script else 200
        status = None if action == "hang" else int(action)
        with r.lock:
            r.posts.append(ReceivedPost(self.path, dict(self.headers.items()), body, time.time(), status))
        if status is None:
            r.released.wait(r.hang_s)
            return
        try:
            self.send_response(status)
            if 300 <= status < 400:
                self.send_header("Location", f"http://{HOST}:{self.server.server_address[1]}/elsewhere")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")
        except OSError:
            pass  # the client gave up

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    receiver: HttpReceiver


class HttpReceiver:
    """The server; `script` holds actions for the next requests, then every request gets 200."""

    def __init__(self, *, cert: tuple[Path, Path] | None = None, hang_s: float = 5.0) -> None:
        self.lock = threading.Lock()
        self.script: deque[Action] = deque()
        self.posts: list[ReceivedPost] = []
        self.hang_s = hang_s
        self.released = threading.Event()
        self.server = _Server((HOST, 0), _Handler)
        self.server.receiver = self
        self.scheme = "http"
        if cert is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(str(cert[0]), str(cert[1]))
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
            self.scheme = "https"
        self.port = int(self.server.server_address[1])
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="http-receiver", daemon=True)

    def url(self, path: str = "/hook", host: str = HOST) -> str:
        """The URL of `path` on this server."""
        return f"{self.scheme}://{host}:{self.port}{path}"

    def fail_next(self, *actions: Action) -> None:
        """Answer the next requests with these actions, in order."""
        with self.lock:
            self.script.extend(actions)

    def start(self) -> HttpReceiver:
        """Serve in a thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Release hanging requests, stop serving, close the socket."""
        self.released.set()
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=10)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
