"""Commands on both engines: sent once by serve's job before they expire, expired unsent, results read back from
command_result records, and the `hameau-fleet commands` command line."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import pytest

from fleet import protocol
from fleet.app import open_fleet
from fleet.cli import main
from fleet.commands.queue import enqueue
from fleet.configs.publish import publish_commands
from fleet.serve.jobs import JobContext
from fleet.store.sql import SqlStore
from tests.fleet_batches import T0, Published, up_payload

OVERRIDE = {"relay": "pump", "state": "on", "duration_s": 7200.0}


@pytest.fixture
def store(store_url: str) -> Iterator[SqlStore]:
    """A fresh fleet store with its observers."""
    fleet = open_fleet(store_url)
    yield fleet
    fleet.close()


def _state(store: SqlStore, command_id: str) -> tuple[str, object, object]:
    row = store.db.one("SELECT state, result, done_at FROM commands WHERE id = ?", (command_id,))
    assert row is not None
    return row[0], None if row[1] is None else json.loads(row[1]), row[2]


def test_commands_job_sends_a_pending_command_once_in_the_box_format(store: SqlStore) -> None:
    command_id = enqueue(store.db, "box-1", "override", OVERRIDE, created_by="alice", now=T0, ttl_s=600.0)
    published = Published()
    assert publish_commands(JobContext(store.db, T0 + 1, published)) == 1
    assert publish_commands(JobContext(store.db, T0 + 2, published)) == 0
    [(topic, payload, qos, retain)] = published.messages
    assert (topic, qos, retain) == ("hameau/v1/box-1/cmd", 1, False)
    command = protocol.parse_command("box-1", payload)
    assert (command.id, command.action, dict(command.args), command.expires_at) == (
        command_id, "override", OVERRIDE, T0 + 600.0)
    assert store.db.one("SELECT state, sent_at FROM commands WHERE id = ?", (command_id,)) == ("sent", T0 + 1)


def test_commands_without_a_result_are_sent_again_each_minute_until_answered_or_expired(store: SqlStore) -> None:
    # The box was offline when the command went (commands are not retained): it goes again, same id.
    command_id = enqueue(store.db, "box-1", "override", OVERRIDE, created_by="alice", now=T0, ttl_s=200.0)
    published = Published()
    assert publish_commands(JobContext(store.db, T0 + 1, published)) == 1
    assert publish_commands(JobContext(store.db, T0 + 60, published)) == 0  # 59 s without a result: not yet
    assert publish_commands(JobContext(store.db, T0 + 61, published)) == 1  # 60 s: again
    assert publish_commands(JobContext(store.db, T0 + 62, published)) == 0
    assert [protocol.parse_command("box-1", p).id for _, p, _, _ in published.messages] == [command_id] * 2
    assert published.messages[0] == published.messages[1]
    assert publish_commands(JobContext(store.db, T0 + 200, published)) == 0  # expired: never again
    answered = enqueue(store.db, "box-1", "status", {}, created_by="alice", now=T0, ttl_s=600.0)
    assert publish_commands(JobContext(store.db, T0 + 300, published)) == 1
    _result(store, 1, answered, "done", "ok")
    assert publish_commands(JobContext(store.db, T0 + 400, published)) == 0  # answered: never again


def test_commands_expired_unsent_are_never_sent(store: SqlStore) -> None:
    late = enqueue(store.db, "box-1", "status", {}, created_by="alice", now=T0, ttl_s=60.0)
    on_time = enqueue(store.db, "box-1", "status", {}, created_by="alice", now=T0 + 30, ttl_s=60.0)
    published = Published()
    assert publish_commands(JobContext(store.db, T0 + 60, published)) == 1  # expired from expires_at on
    assert [protocol.parse_command("box-1", p).id for _, p, _, _ in published.messages] == [on_time]
    assert _state(store, late) == ("expired", None, T0 + 60)


def test_commands_two_serve_processes_send_each_command_once(store_url: str, store: SqlStore) -> None:
    ids = {enqueue(store.db, f"box-{i % 5}", "status", {}, created_by="a", now=T0, ttl_s=600.0) for i in range(60)}
    published = Published()
    others = [open_fleet(store_url) for _ in range(2)]
    threads = [threading.Thread(target=publish_commands, args=(JobContext(o.db, T0 + 1, published),)) for o in others]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for other in others:
        other.close()
    sent = [protocol.parse_command(topic.split("/")[2], payload).id for topic, payload, _, _ in published.messages]
    assert sorted(sent) == sorted(ids)


def _result(store: SqlStore, seq: int, command_id: str, status: str, detail: str, *, device: str = "box-1") -> None:
    record = {"seq": seq, "boot": "b1", "mono_s": float(seq), "wall_s": T0 + seq, "clock": "synced",
              "type": "command_result", "id": command_id, "action": "override", "status": status, "detail": detail}
    store.store_batch(protocol.parse_batch(device, up_payload("event", seq - 1, [record], device=device)), T0 + 99)


def test_commands_results_from_the_box_are_stored_first_result_standing(store: SqlStore) -> None:
    command_id = enqueue(store.db, "box-1", "override", OVERRIDE, created_by="alice", now=T0, ttl_s=600.0)
    publish_commands(JobContext(store.db, T0 + 1, Published()))
    _result(store, 1, command_id, "done", "pump on until 15:00")
    _result(store, 1, command_id, "done", "pump on until 15:00")  # the batch again
    _result(store, 2, command_id, "refused", f"command {command_id} was already received (it was done)")
    _result(store, 3, command_id, "done", "a result for box-1's id", device="box-2")  # not box-2's command
    assert _state(store, command_id) == (
        "done", {"action": "override", "status": "done", "detail": "pump on until 15:00"}, T0 + 1)


def test_commands_cli_send_list_show(store_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    for user in ("alice", "bob"):  # who sends must be a technician or an admin of the fleet
        assert main(["users", "add", user, "--role", "technician", "--db", store_url]) == 0
    capsys.readouterr()
    code = main(["commands", "send", "box-1", "override", "pump", "--state", "off", "--for", "2h", "--ttl", "10m",
                 "--user", "alice", "--db", store_url, "--json"])
    sent = json.loads(capsys.readouterr().out)
    assert code == 0
    assert (sent["args"], sent["created_by"], sent["state"]) == (
        {"relay": "pump", "state": "off", "duration_s": 7200.0}, "alice", "pending")
    assert sent["expires_at"] - sent["created_at"] == pytest.approx(600.0)
    assert main(["commands", "send", "box-1", "ack-alarm", "12", "--user", "bob", "--db", store_url]) == 0
    assert "ack_alarm for box-1 queued" in capsys.readouterr().out
    assert main(["commands", "send", "box-1", "ack-alarm", "leak:meter", "--user", "bob", "--db", store_url]) == 0
    capsys.readouterr()
    assert main(["commands", "list", "--device", "box-1", "--json", "--db", store_url]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(c["action"], c["args"]) for c in listed] == [
        ("ack_alarm", {"key": "leak:meter", "by": "bob"}), ("ack_alarm", {"alarm_id": 12, "by": "bob"}),
        ("override", sent["args"])]
    assert main(["commands", "show", sent["id"], "--db", store_url]) == 0
    assert "state    pending" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["send", "box-1", "override", "Pump!", "--state", "on", "--for", "1h"], "args.relay"),
        (["send", "box-1", "override", "pump", "--state", "on", "--for", "8d"], "args.duration_s"),
        (["send", "box-1", "status", "--ttl", "8d"], "must be > 0 and at most 604800 s"),
        (["show", "nope"], "no command 'nope'"),
    ],
)
def test_commands_cli_refuses_in_one_line(
    tmp_path, capsys: pytest.CaptureFixture[str], argv: list[str], says: str
) -> None:
    assert main(["commands", *argv, "--db", f"sqlite:///{tmp_path / 'fleet.db'}"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"hameau-fleet commands {argv[0]}: ") and says in err
    assert len(err.strip().splitlines()) == 1
