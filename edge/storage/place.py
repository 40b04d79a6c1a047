"""Whether the agent can keep its database where its config says, checked before it starts."""

from __future__ import annotations

import getpass
import os
import tempfile
from pathlib import Path


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())


def _can_write_in(directory: Path) -> str | None:
    """Try what SQLite will do there: create a file (then remove it). None when it works."""
    try:
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".hameau-probe-"):
            pass
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


def db_place_problem(path: Path) -> str | None:
    """Why the database cannot be kept at `path` by this user (None: it can).

    SQLite in WAL mode writes two files beside the database, so its directory must be writable too;
    a directory not there yet must be creatable.
    """
    if path.is_dir():
        return f"{path} is a directory, not a database file"
    directory = path.parent
    existing = directory
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return f"cannot create {directory}: {existing} is not a directory"
    why = _can_write_in(existing)
    if why is not None:
        what = f"{directory}" if existing == directory else f"cannot create {directory}: {existing}"
        return f"{what} is not writable by user {_user()} ({why})"
    if path.exists() and not os.access(path, os.R_OK | os.W_OK):
        return f"{path} cannot be read and written by user {_user()}"
    return None
