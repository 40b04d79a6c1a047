"""A real `hameau-fleet web` process and Debian's Chromium driven by Playwright, for the dashboard's tests.

Every page opened through `Browser.open` is watched: a console error, an uncaught script error, a failed
request or an answer of 400 or more to any of its requests fails the test. Screenshots go to the artifacts
directory ($HAMEAU_ARTIFACTS, default `artifacts/` at the top of the checkout), kept after the run.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from pg_cluster import free_port

ROOT = Path(__file__).resolve().parent.parent
REQUIRE_ENV = "HAMEAU_REQUIRE_CHROMIUM"
#: Chromium's own start-up connections are refused by a closed network; these flags stop it making them.
CHROMIUM_ARGS = ("--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-default-apps", "--disable-quic")


def artifacts_dir() -> Path:
    """Where screenshots are kept."""
    path = Path(os.environ.get("HAMEAU_ARTIFACTS", ROOT / "artifacts")) / "web"
    path.mkdir(parents=True, exist_ok=True)
    return path


def chromium_path() -> str:
    """Debian's Chromium; skipped (or failed under CI) when missing."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is not None:
        return found
    reason = "Debian's chromium is not installed (bash scripts/setup --test installs it; without root it cannot)"
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{REQUIRE_ENV}=1 but {reason}", pytrace=False)
    pytest.skip(reason)


@contextmanager
def web_process(db_url: str, tmp_path: Path, *, settings: Path | None = None) -> Iterator[str]:
    """`hameau-fleet web` on a free loopback port over `db_url`; its base URL; stopped (and reaped) after."""
    port = free_port()
    command = [sys.executable, "-c", "import sys; from fleet.cli import main; sys.exit(main())", "web", "--http", f"127.0.0.1:{port}", "--db", db_url,
               "--log-level", "warning"]
    if settings is not None:
        command += ["--settings", str(settings)]
    log = (tmp_path / "web.log").open("w")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
                               env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    log.close()
                    raise AssertionError(f"hameau-fleet web did not start: {(tmp_path / 'web.log').read_text()}")
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            code = process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            code = process.wait()
        log.close()
    # reached only when the test passed: then the server must also have stopped cleanly on SIGTERM
    assert code == 0, f"hameau-fleet web exited {code} on SIGTERM: {(tmp_path / 'web.log').read_text()[-2000:]}"


class Browser:
    """One Chromium page that records every problem it meets."""

    def __init__(self, page: Any, base: str) -> None:
        self.page, self.base = page, base
        self._seen: list[tuple[str, str]] = []
        self._downloads: set[str] = set()
        self._navigations = 0
        self._started: dict[int, int] = {}
        self._aborted: list[tuple[str, int, str | None]] = []
        page.on("console", lambda m: m.type == "error" and self._seen.append(("", f"console: {m.text}")))
        page.on("pageerror", lambda e: self._seen.append(("", f"script error: {e}")))
        page.on("request", lambda r: self._started.__setitem__(id(r), self._navigations))
        page.on("framenavigated", self._navigated)
        page.on("requestfailed", self._failed)
        page.on("response", lambda r: r.status >= 400 and self._seen.append(("", f"HTTP {r.status}: {r.url}")))
        page.on("download", lambda d: self._downloads.add(d.url))

    def _navigated(self, frame: Any) -> None:
        if frame == self.page.main_frame:
            self._navigations += 1

    def _failed(self, request: Any) -> None:
        self._aborted.append((request.url, self._started.get(id(request), self._navigations), request.failure))

    @property
    def problems(self) -> list[str]:
        """Everything that went wrong on the pages opened.

        Chromium aborts what a page was still fetching (its favicon, say) once the next page is opened, and a
        navigation it turned into a download: neither is the dashboard's fault."""
        failed = [f"request failed: {url} {failure}" for url, started, failure in self._aborted
                  if not (failure == "net::ERR_ABORTED" and (started < self._navigations or url in self._downloads))]
        return [text for _url, text in self._seen] + failed

    def open(self, path: str) -> Any:
        """Go to `path` on the dashboard; the page."""
        self.page.goto(self.base + path, wait_until="load")
        return self.page

    def shot(self, name: str) -> Path:
        """A full-page screenshot kept as an artifact; its path."""
        path = artifacts_dir() / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


@contextmanager
def chromium(base: str, *, phone: bool = True) -> Iterator[Browser]:
    """Headless Chromium on the dashboard at `base`, phone-sized unless asked otherwise."""
    executable = chromium_path()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=list(CHROMIUM_ARGS), headless=True)
        try:
            size = {"width": 390, "height": 844} if phone else {"width": 1280, "height": 900}
            context = browser.new_context(viewport=size, device_scale_factor=1, locale="fr-FR",
                                          timezone_id="Europe/Paris")
            yield Browser(context.new_page(), base)
            context.close()
        finally:
            browser.close()
