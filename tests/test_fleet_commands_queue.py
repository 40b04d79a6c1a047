"""fleet.commands.queue.enqueue on both engines: checked with the protocol's rules, stored pending."""

from __future__ import annotations

import json

import pytest

from fleet.commands.queue import CommandError, enqueue
from fleet.store import open_store

NOW = 1_800_000_000.0


def test_enqueue_stores_a_pending_command_with_its_expiry(store_url: str) -> None:
    store = open_store(store_url)
    try:
        command_id = enqueue(
            store.db, "box-1", "override", {"relay": "pump", "state": "on", "duration_s": 7200.0},
            created_by="alice", now=NOW, ttl_s=600.0,
        )
        row = store.db.one(
            "SELECT device, action, args, created_by, created_at, expires_at, state, sent_at FROM commands WHERE id = ?",
            (command_id,),
        )
    finally:
        store.close()
    assert row is not None
    device, action, args, by, created_at, expires_at, state, sent_at = row
    assert (device, action, by, state, sent_at) == ("box-1", "override", "alice", "pending", None)
    assert json.loads(args) == {"relay": "pump", "state": "on", "duration_s": 7200.0}
    assert (created_at, expires_at) == (NOW, NOW + 600.0)


def test_enqueue_inside_a_callers_transaction_rolls_back_with_it(store_url: str) -> None:
    store = open_store(store_url)
    try:
        with pytest.raises(RuntimeError), store.db.transaction():
            enqueue(store.db, "box-1", "status", {}, created_by="alarms", now=NOW, ttl_s=60.0)
            raise RuntimeError("the caller fails after queueing")
        with store.db.transaction():
            kept = enqueue(store.db, "box-1", "ack_alarm", {"alarm_id": 7, "by": "bob"},
                           created_by="bob", now=NOW, ttl_s=60.0)
        ids = [row[0] for row in store.db.query("SELECT id FROM commands")]
    finally:
        store.close()
    assert ids == [kept]


@pytest.mark.parametrize(
    ("device", "action", "args", "ttl_s", "says"),
    [
        ("box-1", "reboot", {}, 60.0, "action"),
        ("box-1", "override", {"relay": "pump", "state": "half", "duration_s": 60.0}, 60.0, "args.state"),
        ("box-1", "override", {"relay": "pump", "state": "on", "duration_s": 8 * 86400.0}, 60.0, "args.duration_s"),
        ("box-1", "clear_override", {"relay": "pump", "extra": 1}, 60.0, "extra"),
        ("Box 1", "status", {}, 60.0, "device id"),
        ("box-1", "status", {}, 0.0, "ttl"),
        ("box-1", "status", {}, float("nan"), "ttl"),
    ],
)
def test_enqueue_refuses_what_the_box_would_refuse(
    tmp_path, device: str, action: str, args: dict, ttl_s: float, says: str
) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'fleet.db'}")
    try:
        with pytest.raises(CommandError, match=says):
            enqueue(store.db, device, action, args, created_by="alice", now=NOW, ttl_s=ttl_s)
        assert store.db.scalar("SELECT count(*) FROM commands") == 0
    finally:
        store.close()
