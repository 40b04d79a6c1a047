"""Fixtures every test directory shares: a throwaway PostgreSQL cluster, and fleet store URLs on both engines.

The cluster is Debian's PostgreSQL server run by hand: initdb into a temporary directory, a free loopback
port, its socket in that directory; one per test session, a fresh database per test, stopped and removed
after. Missing PostgreSQL skips the PostgreSQL cases, or fails them when HAMEAU_REQUIRE_POSTGRES=1 (CI).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pg_cluster import PgCluster, require_postgres


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    """One throwaway PostgreSQL cluster for the session (skips, or fails in CI, when PostgreSQL is missing)."""
    require_postgres()
    cluster = PgCluster()
    try:
        yield cluster.start()
    finally:
        cluster.stop()


@pytest.fixture
def new_pg_cluster() -> type[PgCluster]:
    """The cluster class itself, for a test that starts and stops its own (skips like `pg_cluster`)."""
    require_postgres()
    return PgCluster


@pytest.fixture
def pg_url(pg_cluster: PgCluster) -> str:
    """A fresh empty PostgreSQL database of the session's cluster."""
    return pg_cluster.create_database()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh fleet store URL, once on each engine: the fleet's suites run against both."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'fleet.db'}"
    cluster: PgCluster = request.getfixturevalue("pg_cluster")
    return cluster.create_database()
