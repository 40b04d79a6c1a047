"""A box whose database file is replaced (a lost or garbled one moved aside, a fresh one made) keeps sending:
the link follows the new file, and the fresh file's records go after what the fleet already holds, none
taken for one it has. Real Mosquitto, real `hameau-fleet serve`, the real store, outbox and link."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from broker import Broker
from fleet_serve_process import ServeProcess, wait_s

from edge.config.link import LinkConfig
from edge.controllers.events import Event
from edge.link.service import Link, default_outbox_factory
from edge.runtime.clock import SystemClock
from edge.storage.store import Store

DEVICE = "ecole-02"


def _event(store: Store, reason: str) -> None:
    store.add_event_now(Event("decision", "test", reason, datetime.now(UTC), {}))


def test_link_reopen_hil_follows_a_replaced_database_and_loses_nothing(broker: Broker, tmp_path: Path) -> None:
    (tmp_path / "fleet").mkdir()
    serve = ServeProcess(broker, tmp_path / "fleet").start()
    password = tmp_path / "password"
    password.write_text(broker.add_device(DEVICE) + "\n", encoding="utf-8")
    password.chmod(0o600)
    config = LinkConfig(broker_url=broker.url, host=broker.host, port=broker.port, ca_file=broker.ca_path,
                        password_file=password, username=DEVICE, reconnect_min_s=0.1, reconnect_max_s=0.5,
                        batch_age_event_s=0.0)  # type: ignore[call-arg]
    clock = SystemClock()
    db = tmp_path / "box.db"
    store = Store(db, monotonic=clock.monotonic)
    link = Link(config, device=DEVICE, clock=clock, version="0.1.0",
                outbox_factory=default_outbox_factory(config, db_path=db, device=DEVICE, clock=clock), tick_s=0.05)
    link.start()
    try:
        for n in range(3):
            _event(store, f"old {n}")
        assert wait_s(lambda: link.stats()["acked"]["event"] == 3, 20.0), link.stats()
        # The store finds its file garbled: moved aside, a fresh one made, its sequences starting again at 1.
        store.close()
        for suffix in ("", "-wal", "-shm"):
            side = Path(f"{db}{suffix}")
            if side.exists():
                side.rename(tmp_path / f"box.db.garbled{suffix}")
        store = Store(db, monotonic=clock.monotonic)
        for n in range(5):  # at once: all of them before the link may have noticed the new file
            _event(store, f"new {n}")
        assert wait_s(lambda: serve.seqs(DEVICE, "event") == list(range(1, 9)), 20.0), serve.seqs(DEVICE, "event")
        reasons = [json.loads(body).get("reason") for (body,) in
                   serve.rows("SELECT body FROM records WHERE device = ? AND lane = 'event' ORDER BY seq", DEVICE)]
        assert reasons == [f"old {n}" for n in range(3)] + [f"new {n}" for n in range(5)]
        assert wait_s(lambda: link.stats()["acked"]["event"] == 8, 20.0)
        assert wait_s(lambda: store.conn.execute("SELECT count(*) FROM outbox").fetchone()[0] == 0, 20.0)
    finally:
        link.stop()
        store.close()
        serve.close()
