"""`hameau-edge simulate --html`: the page opened in a real headless Chromium (Debian's), screenshotted, its DOM read.

The screenshot is decoded here with zlib alone (no image library): it must not be blank, and the colours the page's
stylesheet gives the lamps, the heater and the alarms must be on it, which only drawn charts put there.
"""

from __future__ import annotations

import os
import struct
import subprocess
import zlib
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import pytest
from web_browser import chromium_path

from edge.cli import main

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
WIDTH, HEIGHT = 1200, 2400
#: Colours of the page's stylesheet (edge/simulation/html_report.py), opaque so a pixel shows them exactly.
LAMPS_RGB, HEATER_RGB, ALARM_RGB = (0xF2, 0xC2, 0x30), (0xF0, 0x8A, 0x5D), (0xD6, 0x28, 0x28)
PAGE_RGB, WHITE = (0xF6, 0xF4, 0xEF), (0xFF, 0xFF, 0xFF)


def _headless(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [chromium_path(), "--headless", "--disable-gpu", "--no-sandbox", "--hide-scrollbars", "--no-first-run",
               f"--user-data-dir={tmp_path / 'profile'}", *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False,
                          env={**os.environ, "HOME": str(tmp_path)})
    assert done.returncode == 0, done.stderr[-2000:]
    return done


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else b if pb <= pc else c


def png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and the RGB rows of an 8-bit RGB or RGBA, non-interlaced PNG (PNG spec, filters 0-4)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat = 8, b""
    width = height = channels = 0
    while pos < len(data):
        (length,), kind = struct.unpack(">I", data[pos:pos + 4]), data[pos + 4:pos + 8]
        chunk = data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", chunk)
            assert depth == 8 and colour in (2, 6) and interlace == 0, (depth, colour, interlace)
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += chunk
    raw = zlib.decompress(idat)
    stride = width * channels
    prev = bytearray(stride)
    rows = []
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        if kind == 1:
            for i in range(channels, stride):
                line[i] = (line[i] + line[i - channels]) & 0xFF
        elif kind == 2:
            line = bytearray((a + b) & 0xFF for a, b in zip(line, prev, strict=True))
        elif kind == 3:
            for i in range(stride):
                line[i] = (line[i] + ((line[i - channels] if i >= channels else 0) + prev[i]) // 2) & 0xFF
        elif kind == 4:
            for i in range(stride):
                left = line[i - channels] if i >= channels else 0
                corner = prev[i - channels] if i >= channels else 0
                line[i] = (line[i] + _paeth(left, prev[i], corner)) & 0xFF
        rows.append(bytes(line) if channels == 3 else bytes(b for i, b in enumerate(line) if i % 4 != 3))
        prev = line
    return width, height, rows


class _Charts(HTMLParser):
    """Per chart (`data-chart`): the number of points of each polyline class, and the rect classes."""

    def __init__(self) -> None:
        super().__init__()
        self.chart: str | None = None
        self.points: dict[str, dict[str, int]] = {}
        self.rects: dict[str, Counter[str]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "svg":
            self.chart = values.get("data-chart", "")
            self.points[self.chart], self.rects[self.chart] = {}, Counter()
        elif self.chart is not None and tag == "polyline":
            cls = values.get("class", "")
            self.points[self.chart][cls] = self.points[self.chart].get(cls, 0) + len(values["points"].split())
        elif self.chart is not None and tag == "rect":
            self.rects[self.chart][values.get("class", "")] += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "svg":
            self.chart = None


def _charts(html: str) -> _Charts:
    charts = _Charts()
    charts.feed(html)
    return charts


@pytest.fixture(scope="module")
def demo_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2.7 days of the demo world (the storm evening, the cistern's alarm, the lux sensor cut) written as a page."""
    page = tmp_path_factory.mktemp("html") / "report.html"
    code = main(["simulate", "--config", str(EXAMPLES / "village-hall.toml"), "--world",
                 str(EXAMPLES / "demo-world.toml"), "--days", "2.7", "--story", "--html", str(page)])
    assert code == 0 and page.exists()
    return page


def _assert_four_charts_with_data(charts: _Charts) -> None:
    assert list(charts.points) == ["night", "water", "heating", "faults"]
    assert charts.points["night"]["lux"] >= 20 * 60 - 2  # a minute-by-minute night of 20 h
    assert charts.rects["night"]["cutoff"] == 1 and charts.rects["night"]["lamps-on"] >= 2
    assert charts.points["water"]["mnf"] == 3  # the nights ending Mon 5, Tue 6 and Wed 7 January
    assert charts.points["heating"]["temp"] >= 500 and charts.rects["heating"]["heater-on"] >= 5
    assert charts.rects["faults"]["sensor-fault"] == 1  # the lux sensor's cut cable, Wednesday 14:00


def test_simulate_html_page_holds_the_four_charts_with_their_data(demo_page: Path) -> None:
    _assert_four_charts_with_data(_charts(demo_page.read_text(encoding="utf-8")))


def test_simulate_html_page_renders_its_charts_in_headless_chromium(demo_page: Path, tmp_path: Path) -> None:
    shot = tmp_path / "shot.png"
    _headless(tmp_path, f"--screenshot={shot}", f"--window-size={WIDTH},{HEIGHT}", demo_page.as_uri())
    width, height, rows = png_pixels(shot.read_bytes())
    assert (width, height) == (WIDTH, HEIGHT)
    pixels = Counter(row[i:i + 3] for row in rows for i in range(0, len(row), 3))
    colours = {tuple(p): n for p, n in pixels.items()}
    drawn = sum(n for p, n in colours.items() if p not in (PAGE_RGB, WHITE))
    assert len(colours) > 200, f"{len(colours)} colours: a blank or nearly blank page"
    assert drawn > 0.05 * width * height, f"only {drawn} pixels drawn"
    # The lamps' band (hours of it), the heater's bars and the alarm markers, in their own colours.
    assert colours.get(LAMPS_RGB, 0) > 2000 and colours.get(HEATER_RGB, 0) > 500 and colours.get(ALARM_RGB, 0) > 20


def test_simulate_html_page_dom_in_chromium_holds_the_charts(demo_page: Path, tmp_path: Path) -> None:
    dom = _headless(tmp_path, "--dump-dom", demo_page.as_uri()).stdout
    _assert_four_charts_with_data(_charts(dom))


def test_simulate_html_refused_before_the_run_when_it_cannot_be_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["simulate", "--config", str(EXAMPLES / "village-hall.toml"), "--world",
                 str(EXAMPLES / "demo-world.toml"), "--days", "1", "--html", str(tmp_path)])
    assert code == 2 and capsys.readouterr().err.strip() == f"--html {tmp_path}: is a directory; give the file to write"
