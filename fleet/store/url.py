"""`--db URL`: which store and where; the default file in the fleet's data directory."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from fleet.errors import FleetConfigError
from fleet.store.db import redact

DB_FILE = "fleet.db"
#: URL schemes of a PostgreSQL `--db` (libpq's own).
POSTGRES_SCHEMES = ("postgresql", "postgres")


def data_dir(env: Mapping[str, str] | None = None) -> Path:
    """The fleet's data directory: $HAMEAU_FLEET_DATA, else $XDG_DATA_HOME/hameau-fleet (~/.local/share)."""
    env = os.environ if env is None else env
    if env.get("HAMEAU_FLEET_DATA"):
        return Path(env["HAMEAU_FLEET_DATA"]).expanduser()
    base = Path(env["XDG_DATA_HOME"]) if env.get("XDG_DATA_HOME") else Path.home() / ".local" / "share"
    return base / "hameau-fleet"


def is_postgresql(url: str) -> bool:
    """Whether a `--db` URL names a PostgreSQL database (postgresql:// or postgres://)."""
    return url.partition("://")[0].lower() in POSTGRES_SCHEMES


def default_db_url(env: Mapping[str, str] | None = None) -> str:
    """The embedded SQLite file in the fleet's data directory, as a URL."""
    return f"sqlite:///{data_dir(env) / DB_FILE}"


def sqlite_path(url: str) -> Path:
    """The file of a `sqlite:///relative` or `sqlite:////absolute` URL; FleetConfigError otherwise."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.lower() != "sqlite":
        raise FleetConfigError(
            f"--db {redact(url)!r}: expected sqlite:///PATH (e.g. sqlite:////var/lib/hameau/fleet.db)"
            " or postgresql://USER@HOST/DB"
        )
    if not rest.startswith("/") or rest in ("/", "//") or "\x00" in rest:
        raise FleetConfigError(f"--db {url!r}: no file path after sqlite:///")
    path = Path(rest[1:]).expanduser()
    if path.is_dir():
        raise FleetConfigError(f"--db {url!r}: {path} is a directory, not a database file")
    return path


def prepare_sqlite(url: str, *, create_parent: bool) -> Path:
    """The SQLite file of `url`, its directory created when asked (the default data dir) or required."""
    path = sqlite_path(url)
    parent = path.parent
    if create_parent:
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise FleetConfigError(f"--db: cannot create {parent}: {exc.strerror}") from None
    elif not parent.is_dir():
        raise FleetConfigError(f"--db {url!r}: directory {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise FleetConfigError(f"--db {url!r}: this user cannot write in {parent}")
    return path
