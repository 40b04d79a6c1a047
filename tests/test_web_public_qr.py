"""The commune's poster `/c/{commune}/poster`: its QR code, read back from the SVG's drawn modules by a small
decoder written here from ISO/IEC 18004 (no decoder package is available offline), holds the page's address:
`[web] public_url` + /c/NAME, else the address the request came to."""

from __future__ import annotations

import re

import segno
from web_helpers import QUICK, Clock, client, web_app

from fleet.errors import FleetConfigError
from fleet.settings import parse_settings
from fleet.store import open_store
from fleet.tenants.communes import create_commune, new_commune

#: ISO/IEC 18004 table 9, error correction level M: version -> (blocks, data codewords per block).
M_BLOCKS = {1: (1, 16), 2: (1, 28), 3: (1, 44), 4: (2, 32), 5: (2, 43), 6: (4, 27)}
#: Table 10: the data masks, (row i, column j) -> whether the module is inverted.
MASKS = (
    lambda i, j: (i + j) % 2 == 0, lambda i, j: i % 2 == 0, lambda i, j: j % 3 == 0,
    lambda i, j: (i + j) % 3 == 0, lambda i, j: (i // 2 + j // 3) % 2 == 0,
    lambda i, j: (i * j) % 2 + (i * j) % 3 == 0, lambda i, j: ((i * j) % 2 + (i * j) % 3) % 2 == 0,
    lambda i, j: ((i + j) % 2 + (i * j) % 3) % 2 == 0,
)


def svg_modules(svg: str) -> list[list[int]]:
    """The dark modules a segno SVG path draws ("M4 4.5h7m2 0h3m-29 1h1..."), quiet zone included, as 0/1 rows."""
    size = int(re.search(r'viewBox="0 0 (\d+) \1"', svg).group(1))  # type: ignore[union-attr]
    rows = [[0] * size for _ in range(size)]
    x = y = 0.0
    for op, a, b in re.findall(r"([Mmh])(-?[\d.]+)(?: (-?[\d.]+))?", re.search(r' d="([^"]+)"', svg).group(1)):  # type: ignore[union-attr]
        if op == "M":
            x, y = float(a), float(b)
        elif op == "m":
            x, y = x + float(a), y + float(b)
        else:
            for column in range(int(x), int(x + float(a))):
                rows[int(y)][column] = 1
            x += float(a)
    return rows


def _function(n: int, version: int, i: int, j: int) -> bool:
    """Finder patterns with their separators and format areas, timing lines, the alignment pattern (v2-6)."""
    if (i < 9 and j < 9) or (i < 9 and j >= n - 8) or (i >= n - 8 and j < 9) or i == 6 or j == 6:
        return True
    return version >= 2 and abs(i - (n - 7)) <= 2 and abs(j - (n - 7)) <= 2


def _text(data: list[int]) -> str | None:
    """A byte-mode segment (mode 0100, 8-bit count) followed by terminator and pad codewords; None otherwise."""
    bits = "".join(f"{b:08b}" for b in data)
    if bits[:4] != "0100":
        return None
    count = int(bits[4:12], 2)
    end = 12 + 8 * count
    if end > len(bits) or "1" in bits[end:end + 4]:
        return None
    body = bytes(int(bits[k:k + 8], 2) for k in range(12, end, 8))
    pads = data[(end + 4 + 7) // 8:]
    if pads[:1] == [0]:  # segno pads a byte-aligned terminator with one more zero byte: harmless to readers
        pads = pads[1:]
    if any(p != (0xEC, 0x11)[k % 2] for k, p in enumerate(pads)):
        return None
    return body.decode("utf-8")


def read_qr(modules: list[list[int]]) -> tuple[str, int]:
    """The text of a clean version 1-6, level M QR code (quiet zone of 4), and the mask it was found with."""
    grid = [row[4:-4] for row in modules[4:-4]]
    n = len(grid)
    version = (n - 17) // 4
    blocks, per_block = M_BLOCKS[version]
    order = []
    upward = True
    column = n - 1
    while column > 0:
        if column == 6:
            column -= 1
        rows = range(n - 1, -1, -1) if upward else range(n)
        order += [(i, j) for i in rows for j in (column, column - 1) if not _function(n, version, i, j)]
        upward = not upward
        column -= 2
    for mask, inverted in enumerate(MASKS):
        bits = [grid[i][j] ^ inverted(i, j) for i, j in order]
        codewords = [int("".join(map(str, bits[k:k + 8])), 2) for k in range(0, len(bits) - 7, 8)]
        data = [codewords[k * blocks + b] for b in range(blocks) for k in range(per_block)]
        text = _text(data)
        if text is not None:
            return text, mask
    raise AssertionError("no mask gives a byte-mode message")


def test_public_qr_reader_reads_a_known_code() -> None:
    # The reader's own check: a code made with a chosen mask reads back with that mask, for versions 1 to 4.
    for text, mask in (("HAMEAU", 3), ("http://testserver/c/paris", 5), ("https://hameau.example.org/c/paris", 0),
                       ("https://hameau.example.org/c/saint-aubin-sur-mer-le-haut", 6)):
        code = segno.make(text, error="m", mask=mask, mode="byte", micro=False, boost_error=False)
        drawn = svg_modules(code.svg_inline(scale=1, omitsize=True))
        assert read_qr(drawn) == (text, mask), (text, code.version)


def test_public_poster_qr_code_reads_as_the_page_address(store_url: str) -> None:
    store = open_store(store_url)
    try:
        create_commune(store.db, new_commune("paris", "Ville de Paris", now=0.0))
    finally:
        store.close()
    public = parse_settings({"web": {"password_hash_memory_mib": 19, "password_hash_iterations": 2,
                                     "public_url": "https://hameau.example.org/"}}, "tests")
    with web_app(store_url, public, clock=Clock()) as app:
        configured = client(app).get("/c/paris/poster")
    with web_app(store_url, QUICK, clock=Clock()) as app:
        from_request = client(app).get("/c/paris/poster")
    for answer, address in ((configured, "https://hameau.example.org/c/paris"),
                            (from_request, "http://testserver/c/paris")):
        assert answer.status_code == 200 and "<h1>Ville de Paris</h1>" in answer.text
        svg = re.search(r"<svg .*?</svg>", answer.text, re.DOTALL).group(0)  # type: ignore[union-attr]
        assert f"<title>{address}</title>" in svg and f">{address}</figcaption>" in answer.text
        assert read_qr(svg_modules(svg))[0] == address
        assert not re.search(r"\sstyle=|<style|<script|\son\w+=", answer.text)


def test_public_url_setting_is_checked() -> None:
    for good in ("https://hameau.example.org", "http://localhost:8000"):
        assert parse_settings({"web": {"public_url": good}}, "f.toml").web.public_url == good
    for bad in ("http://hameau.example.org", "ftp://x.org", "https://", "https://x.org/?a=1", 3, "https://[x"):
        try:
            parse_settings({"web": {"public_url": bad}}, "f.toml")
        except FleetConfigError as error:
            assert "[web] public_url" in str(error) and "f.toml" in str(error)
        else:
            raise AssertionError(f"{bad!r} accepted")
