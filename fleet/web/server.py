"""Serving the dashboard: `hameau-fleet web --http ADDR` alone, or in a thread of `hameau-fleet serve --http`."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import threading

import uvicorn
from fastapi import FastAPI

from fleet.errors import FleetConfigError
from fleet.web.settings import WebSettings

log = logging.getLogger("hameau.fleet.web")


def parse_http(addr: str) -> tuple[str, int]:
    """`HOST:PORT` (IPv6 as `[::1]:8080`); FleetConfigError saying what is wrong."""
    host, sep, port_text = addr.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise FleetConfigError(f"--http {addr!r}: expected HOST:PORT, e.g. 127.0.0.1:8080")
    return host, int(port_text)


def is_loopback(host: str) -> bool:
    """Whether `host` is only reachable from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_transport(host: str, settings: WebSettings) -> None:
    """Refuse plain HTTP beyond loopback: passwords and session cookies never cross a network in clear."""
    if settings.tls_cert_file is None and not is_loopback(host):
        raise FleetConfigError(
            f"--http {host}: refusing plain HTTP on a network address; set [web] tls_cert_file and tls_key_file,"
            " or listen on 127.0.0.1 behind a reverse proxy that terminates TLS (and set behind_tls_proxy = true)"
        )
    for path in (settings.tls_cert_file, settings.tls_key_file):
        if path is not None and not path.is_file():
            raise FleetConfigError(f"[web] {path}: no such file")


def make_server(app: FastAPI, addr: str, settings: WebSettings) -> uvicorn.Server:
    """A uvicorn server for `app` on `addr` (checked), TLS when the settings give a certificate."""
    host, port = parse_http(addr)
    check_transport(host, settings)
    config = uvicorn.Config(
        app, host=host, port=port, log_level="warning", access_log=False, lifespan="off", proxy_headers=False,
        server_header=False, ssl_certfile=settings.tls_cert_file, ssl_keyfile=settings.tls_key_file,
    )
    return uvicorn.Server(config)


class WebThread:
    """The dashboard served from a thread beside serve's ingest; stopped with it."""

    def __init__(self, server: uvicorn.Server) -> None:
        self.server = server
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="hameau-web", daemon=True)

    def _run(self) -> None:
        try:
            asyncio.run(self.server.serve())
        except BaseException as exc:  # noqa: BLE001 - kept for the caller, which reports it in one line
            self.error = exc
            log.error("dashboard stopped: %s", exc)

    def start(self, timeout_s: float = 10.0) -> None:
        """Start serving; FleetConfigError when the address cannot be bound."""
        self._thread.start()
        deadline = threading.Event()
        for _ in range(int(timeout_s / 0.05)):
            if self.server.started or not self._thread.is_alive():
                break
            deadline.wait(0.05)
        if not self.server.started:
            self.stop()
            raise FleetConfigError(f"--http: the dashboard could not start ({self.error or 'address in use?'})")

    def stop(self) -> None:
        """Stop serving and wait for the thread."""
        self.server.should_exit = True
        self._thread.join(timeout=10)
