"""Install pip into a venv made with --without-pip, from PyPI's pip wheel (no ensurepip on the system)."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

PYPI_JSON = "https://pypi.org/pypi/pip/json"


def main() -> int:
    """Fetch the newest pip wheel from PyPI and install it into the running interpreter."""
    with urllib.request.urlopen(PYPI_JSON, timeout=60) as response:
        release = json.load(response)
    wheel = next(u for u in release["urls"] if u["filename"].endswith("-py3-none-any.whl"))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / wheel["filename"]
        with urllib.request.urlopen(wheel["url"], timeout=120) as response:
            path.write_bytes(response.read())
        return subprocess.call([sys.executable, f"{path}/pip", "install", "-q", str(path)])


if __name__ == "__main__":
    sys.exit(main())
