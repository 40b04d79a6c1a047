"""Install pip into a venv made with --without-pip, from PyPI's pip wheel (no ensurepip on the system)."""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request
from pathlib import Path

PYPI_JSON = "https://pypi.org/pypi/pip/json"


def main() -> int:
    """Fetch the newest pip wheel from PyPI and install it into the running interpreter."""
    # Honour the CA bundle pip itself would be told to use (site TLS proxies).
    context = ssl.create_default_context(cafile=os.environ.get("PIP_CERT") or None)
    with urllib.request.urlopen(PYPI_JSON, timeout=60, context=context) as response:
        release = json.load(response)
    wheel = next(u for u in release["urls"] if u["filename"].endswith("-py3-none-any.whl"))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / wheel["filename"]
        url = urllib.parse.urljoin(PYPI_JSON, wheel["url"])
        with urllib.request.urlopen(url, timeout=120, context=context) as response:
            path.write_bytes(response.read())
        return subprocess.call([sys.executable, f"{path}/pip", "install", "-q", str(path)])


if __name__ == "__main__":
    sys.exit(main())
