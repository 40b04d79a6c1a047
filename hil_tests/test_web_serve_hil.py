"""The dashboard served for real: `hameau-fleet web` alone and `hameau-fleet serve --http` beside the ingest."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

from broker import Broker
from fleet_serve_process import ServeProcess
from pg_cluster import free_port
from web_browser import web_process

from fleet.registry.groups import add_user
from fleet.store import open_store
from fleet.web.accounts import set_password

FLEET = [sys.executable, "-c", "import sys; from fleet.cli import main; sys.exit(main())"]


def _get(url: str, cookie: str | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def _login(base: str, user: str, password: str) -> str:
    request = urllib.request.Request(
        base + "/api/v1/session", data=json.dumps({"username": user, "password": password}).encode(),
        headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 201
        cookie = answer.headers["Set-Cookie"].split(";")[0]
    return cookie


def test_web_command_serves_login_and_api_then_stops_on_sigterm(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fleet.db'}"
    store = open_store(url)
    add_user(store.db, "marie", "viewer", now=1.0)
    set_password(store.db, "marie", "a password for marie", now=1.0)
    store.close()
    with web_process(url, tmp_path) as base:
        status, page = _get(base + "/login")
        assert status == 200 and 'name="password"' in page
        assert _get(base + "/api/v1/session")[0] == 401
        cookie = _login(base, "marie", "a password for marie")
        status, body = _get(base + "/api/v1/session", cookie)
        assert status == 200 and json.loads(body)["user"] == "marie"


def test_web_command_refuses_plain_http_on_a_network_address_in_one_line(tmp_path: Path) -> None:
    done = subprocess.run([*FLEET, "web", "--http", f"0.0.0.0:{free_port()}", "--db",
                           f"sqlite:///{tmp_path / 'fleet.db'}"], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "refusing plain HTTP" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_serve_with_http_serves_the_dashboard_beside_the_ingest(broker: Broker, tmp_path: Path) -> None:
    port = free_port()
    serve = ServeProcess(broker, tmp_path).start("--http", f"127.0.0.1:{port}")
    try:
        status, page = _get(f"http://127.0.0.1:{port}/login")
        assert status == 200 and 'name="password"' in page
        assert _get(f"http://127.0.0.1:{port}/api/v1/devices")[0] == 401
        assert serve.process is not None
        serve.process.send_signal(signal.SIGTERM)
        assert serve.process.wait(timeout=20) == 0, serve.log()[-2000:]
    finally:
        serve.close()
