"""The test set-up's real servers (PostgreSQL cluster, Mosquitto) leave no process and no file behind."""

from __future__ import annotations

import os

from broker import Broker, BrokerPki


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0): it is gone if /proc says so.
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_fixtures_pg_cluster_stopped_leaves_no_process_or_directory(new_pg_cluster: type) -> None:
    cluster = new_pg_cluster().start()
    process = cluster._process
    assert process is not None and _alive(process.pid)
    url = cluster.create_database()
    assert url.startswith(f"postgresql://hameau_test@127.0.0.1:{cluster.port}/")
    children = {int(pid) for pid in os.listdir("/proc") if pid.isdigit() and _parent(int(pid)) == process.pid}
    assert children, "a running cluster has its background workers"
    cluster.stop()
    assert not cluster.dir.exists()
    assert not _alive(process.pid)
    assert not [pid for pid in children if _alive(pid)]


def _parent(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return int(stat.read().split(")")[-1].split()[1])
    except (FileNotFoundError, ValueError, IndexError):
        return None


def test_fixtures_broker_closed_leaves_no_process_or_directory(broker_pki: BrokerPki) -> None:
    running = Broker(broker_pki).start()
    pid = running.pid
    assert pid is not None and _alive(pid)
    directory = running.directory
    assert directory.exists()
    running.close()
    assert not directory.exists()
    assert not _alive(pid)
