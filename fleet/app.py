"""The fleet's composition root: the store with every ingest observer, and serve's periodic jobs."""

from __future__ import annotations

from collections.abc import Sequence

from fleet.serve.jobs import Job
from fleet.store import IngestObserver, SqlStore, open_store


def observers() -> Sequence[IngestObserver]:
    """What runs inside each ingest transaction, in order."""
    return ()


def jobs() -> Sequence[Job]:
    """What serve runs periodically beside the ingest."""
    return ()


def open_fleet(url: str | None = None) -> SqlStore:
    """The fleet store a `--db` URL names, with every ingest observer."""
    return open_store(url, observers())
