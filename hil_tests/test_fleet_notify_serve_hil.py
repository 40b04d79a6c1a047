"""Alarms and notifications end to end through a real `hameau-fleet serve`, a real Mosquitto, a local SMTP server
and a local HTTP receiver: a power cut of 30 boxes (sockets closed without DISCONNECT: the broker gives their last
wills) is ONE grouped mail and ONE signed webhook POST, their return one more; a box's leak alarm, sent as the box's
own outbox builds it, is one mail with its evidence even though the SMTP server answers 451 to its first attempt;
acknowledged with `hameau-fleet alarms ack`, it reaches the box as an `ack_alarm` command on its cmd topic.

The planner notices a new alarm at its next run and starts the kind's group window then (fleet/notify/planner.py);
with group_window_s = 0 a message leaves at the first run after the alarm, the runs being 10 s apart (README,
"### Notifications"), so every bound below is one planner period plus a slack."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from broker import Broker
from fleet_serve_process import ServeProcess
from http_receiver import HttpReceiver, ReceivedPost
from mqtt_probe import MqttProbe, wait_until
from smtp_receiver import ReceivedMail, SmtpReceiver

from drivers.sim.clock import SimClock
from edge.link.outbox import Outbox
from edge.storage.store import Store
from fleet import protocol
from tests.fleet_alarm_box import Box

ROOT = Path(__file__).resolve().parent.parent
FLEET_CLI = [sys.executable, "-c", "import sys; from fleet.cli import main; sys.exit(main())"]
DEVICES = tuple(f"box-{i:02d}" for i in range(1, 31))
LEAK_BOX = "box-leak"
SECRET = "webhook-shared-secret-7f3a"
#: README "### Notifications": serve's jobs thread plans and sends every 10 s.
PERIOD_S = 10.0
RETRY_FIRST_S = 1.0
SLACK_S = 3.0
LEAK_EVIDENCE = {"flow_lph": 14.5, "nights": 3, "threshold_lph": 6.0}
OPEN_OFFLINE = "SELECT id, device FROM alarms WHERE kind = 'offline' AND state = 'open'"


class LiveBox(Box):
    """tests/fleet_alarm_box.py's box (the agent's store and the link's outbox) with its clock set to now."""

    def __init__(self, directory: Path, device: str) -> None:
        self.device = device
        self.clock = SimClock(epoch=datetime.now(UTC))
        path = directory / f"{device}.db"
        self.store = Store(path, monotonic=self.clock.monotonic)
        self.outbox = Outbox(path, device=device, clock=self.clock, ages_s={"event": 0.0, "total": 0.0, "raw": 0.0})


class FailFirst:
    """Wraps the SMTP receiver's handler: the first DATA of a mail whose subject holds `word` is answered 451."""

    def __init__(self, inner: Any, word: str) -> None:
        self.inner = inner
        self.word = word
        self.refused_at: list[float] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        subject = str(message_from_bytes(envelope.original_content, policy=policy.default)["Subject"])
        if self.word in subject and not self.refused_at:
            self.refused_at.append(time.time())
            return "451 4.3.0 mailbox busy, try again later"
        return await self.inner.handle_DATA(server, session, envelope)


def status(device: str, state: str) -> bytes:
    """A box's status payload, as edge/link/service.py builds it (also its last will, state offline)."""
    return protocol.encode(protocol.Status(device, state, "boot-1", "0.9.0", None, time.time(),
                                           {"batches_sent": 0}).to_message())


def connect(broker: Broker, device: str) -> MqttProbe:
    """What edge/link/client.py does: connect with the will (offline, QoS 1, retained), then say online."""
    topic = protocol.topic(device, "status")
    client = broker.client(device, will=(topic, status(device, "offline"), True))
    assert client.publish(topic, status(device, "online"), retain=True) in (0, 0x10)  # 0x10: no subscriber yet
    return client


def connect_all(broker: Broker, devices: tuple[str, ...]) -> list[MqttProbe]:
    """Every box connected and online (8 at a time)."""
    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(lambda device: connect(broker, device), devices))


def power_cut(clients: list[MqttProbe]) -> None:
    """Every box loses power at once: sockets closed without DISCONNECT, so the broker publishes the wills."""
    for client in clients:
        sock = client.paho.socket()
        assert sock is not None
        sock.close()
    for client in clients:
        client.paho.loop_stop()


def fleet_cli(db_url: str, *argv: str) -> str:
    """Run `hameau-fleet ARGV --db URL` as its own process; its output (it must succeed)."""
    done = subprocess.run([*FLEET_CLI, *argv, "--db", db_url], capture_output=True, text=True, timeout=30,
                          cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def write_settings(directory: Path, smtp: SmtpReceiver, http: HttpReceiver) -> Path:
    """The fleet's settings file: both channels, no digest, no group window, a 1 s first retry."""
    secret = directory / "webhook.secret"
    secret.write_text(SECRET + "\n", encoding="utf-8")
    secret.chmod(0o600)
    path = directory / "fleet.toml"
    path.write_text(f"""
[notify]
group_window_s = 0
group_threshold = 3
digest_time = ""
retry_first_s = {RETRY_FIRST_S}
timeout_s = 2

[notify.smtp]
host = "127.0.0.1"
port = {smtp.port}
security = "none"
from = "Hameau <fleet@hameau.test>"
recipients = ["astreinte@village.test"]

[notify.webhook]
urls = ["{http.url()}"]
secret_file = "{secret}"
""", encoding="utf-8")
    return path


def signed_document(post: ReceivedPost) -> dict[str, Any]:
    """The webhook's JSON, after checking its HMAC-SHA256 signature with the shared secret."""
    expected = "sha256=" + hmac.new(SECRET.encode(), post.body, hashlib.sha256).hexdigest()
    assert post.headers["X-Hameau-Signature"] == expected
    document = json.loads(post.body)
    assert post.headers["X-Hameau-Message-Id"] == document["id"]
    return document


def mails(smtp: SmtpReceiver, words: str) -> list[ReceivedMail]:
    """The mails received whose subject holds `words`."""
    with smtp.lock:
        return [m for m in smtp.messages if words in str(m.message["Subject"])]


def posts(http: HttpReceiver, kind: str, group_kind: str | None = None) -> list[ReceivedPost]:
    """The webhook POSTs of one message kind (and group kind)."""
    with http.lock:
        found = list(http.posts)
    return [p for p in found if json.loads(p.body)["kind"] == kind
            and (group_kind is None or json.loads(p.body).get("group_kind") == group_kind)]


@pytest.fixture
def smtp() -> Iterator[tuple[SmtpReceiver, FailFirst]]:
    receiver = SmtpReceiver()
    failing = FailFirst(receiver.controller.handler, "leak")
    receiver.controller.handler = failing
    with receiver:
        yield receiver, failing


@pytest.fixture
def http() -> Iterator[HttpReceiver]:
    with HttpReceiver() as receiver:
        yield receiver


def test_fleet_notify_serve_power_cut_leak_retry_and_ack_end_to_end(
    broker: Broker, smtp: tuple[SmtpReceiver, FailFirst], http: HttpReceiver, tmp_path: Path
) -> None:
    mail, failing = smtp
    broker.add_devices(*DEVICES, LEAK_BOX)
    boxes = connect_all(broker, DEVICES)
    leak_client = connect(broker, LEAK_BOX)
    assert leak_client.subscribe(protocol.topic(LEAK_BOX, "cmd")) == [1]  # a box reads its own cmd topic
    serve = ServeProcess(broker, tmp_path)
    db_url = f"sqlite:///{serve.db_path}"
    fleet_cli(db_url, "users", "add", "ana", "--role", "technician")
    leak_box = LiveBox(tmp_path, LEAK_BOX)
    try:
        serve.start("--settings", str(write_settings(tmp_path, mail, http)))
        started = time.time()  # the jobs thread starts just before serve subscribes: its first planner run now
        online = "SELECT count(*) FROM devices WHERE online = 1"
        assert wait_until(lambda: serve.rows(online) == [(31,)], 10.0, 0.05), serve.log()[-3000:]

        # The box latches a leak alarm; its outbox's batch goes up as the link publishes it.
        leak_box.leak_alarm("leak-main", "night_flow", "night flow 14.5 L/h for 3 nights", LEAK_EVIDENCE)
        for batch in leak_box.outbox.due_batches(100):
            assert leak_client.publish(protocol.topic(LEAK_BOX, "up"), batch.payload) in (0, 0x10)
        leak_sql = "SELECT id FROM alarms WHERE device = ? AND kind = 'leak' AND state = 'open'"
        assert wait_until(lambda: serve.rows(leak_sql, LEAK_BOX), 10.0, 0.05), serve.log()[-3000:]
        ((leak_id,),) = serve.rows(leak_sql, LEAK_BOX)

        # 1. The power cut: 30 offline alarms, one grouped mail and one POST naming all 30. It falls between the
        # planner's first run and its second (10 s later), so that no run sees only part of the 30.
        time.sleep(max(0.0, started + 1.0 - time.time()))
        power_cut(boxes)
        assert wait_until(lambda: len(serve.rows(OPEN_OFFLINE)) == 30, 10.0, 0.05), serve.log()[-3000:]
        stored = time.time()
        assert stored - started < PERIOD_S - 2.0, f"too slow: the power cut ended {stored - started:.1f} s in"
        offline_ids = {alarm_id for alarm_id, _ in serve.rows(OPEN_OFFLINE)}
        assert {device for _, device in serve.rows(OPEN_OFFLINE)} == set(DEVICES)
        assert wait_until(lambda: mails(mail, "offline on 30 boxes") and posts(http, "group"),
                          PERIOD_S + SLACK_S, 0.05), serve.log()[-3000:]
        (group_mail,) = mails(mail, "offline on 30 boxes")
        (group_post,) = posts(http, "group")
        told_s = max(group_mail.at, group_post.at) - stored
        assert told_s <= PERIOD_S + SLACK_S
        assert str(group_mail.message["Subject"]) == "[Hameau] WARNING offline on 30 boxes"
        assert group_mail.rcpt_tos == ("astreinte@village.test",)
        assert all(f"  {device} " in group_mail.message.get_content() for device in DEVICES)
        document = signed_document(group_post)
        assert document["group_kind"] == "offline"
        assert {a["id"] for a in document["alarms"]} == offline_ids
        assert {a["device"] for a in document["alarms"]} == set(DEVICES)

        # 3. The leak's mail met a 451 in that same run; its webhook POST went through.
        assert wait_until(lambda: posts(http, "alarm") and failing.refused_at, SLACK_S, 0.05)
        (leak_post,) = posts(http, "alarm")
        assert [(a["id"], a["device"], a["kind"], a["evidence"]["evidence"]) for a in
                signed_document(leak_post)["alarms"]] == [(leak_id, LEAK_BOX, "leak", LEAK_EVIDENCE)]
        assert len(failing.refused_at) == 1 and mails(mail, "leak") == []

        # 1. They come back: the clearing is one grouped message too.
        back = connect_all(broker, DEVICES)
        assert wait_until(lambda: serve.rows(OPEN_OFFLINE) == [], 10.0, 0.05), serve.log()[-3000:]
        cleared = time.time()
        assert wait_until(lambda: mails(mail, "cleared: offline on 30 boxes") and posts(http, "cleared"),
                          PERIOD_S + SLACK_S, 0.05), serve.log()[-3000:]
        (clear_mail,) = mails(mail, "cleared: offline on 30 boxes")
        (clear_post,) = posts(http, "cleared")
        clear_told_s = max(clear_mail.at, clear_post.at) - cleared
        assert clear_told_s <= PERIOD_S + SLACK_S
        assert all(f"  {device} " in clear_mail.message.get_content() for device in DEVICES)
        clear_doc = signed_document(clear_post)
        assert clear_doc["group_kind"] == "offline"
        assert {(a["id"], a["state"]) for a in clear_doc["alarms"]} == {(i, "cleared") for i in offline_ids}

        # 3. The leak's mail was delivered once, at the sender's first run after retry_first_s.
        assert wait_until(lambda: mails(mail, "leak"), PERIOD_S + SLACK_S, 0.05), serve.log()[-3000:]
        (leak_mail,) = mails(mail, "leak")
        retried_s = leak_mail.at - failing.refused_at[0]
        assert RETRY_FIRST_S <= retried_s <= RETRY_FIRST_S + PERIOD_S + SLACK_S
        # 2. ... naming the device, the kind and the box's evidence.
        assert str(leak_mail.message["Subject"]) == f"[Hameau] CRITICAL leak on {LEAK_BOX}"
        text = leak_mail.message.get_content()
        assert f"Device:     {LEAK_BOX}" in text and "Kind:       leak" in text and leak_id in text
        assert '"flow_lph": 14.5' in text and '"nights": 3' in text and '"threshold_lph": 6.0' in text

        # 2. Acknowledged by a technician: the serve sends ack_alarm on the box's cmd topic.
        acked = time.monotonic()
        fleet_cli(db_url, "alarms", "ack", leak_id[:8], "--user", "ana")
        cmd = leak_client.wait_for(protocol.topic(LEAK_BOX, "cmd"), timeout_s=5.0)
        command_s = time.monotonic() - acked
        command = protocol.parse_command(LEAK_BOX, cmd.payload)
        assert (command.action, dict(command.args)) == ("ack_alarm", {"key": "leak-main/night_flow",
                                                                      "by": "fleet:ana"})
        assert serve.rows("SELECT acked_by FROM alarms WHERE id = ?", leak_id) == [("ana",)]

        # Nothing told twice; every outbox row sent, the leak's mail at its second attempt.
        assert len(mail.messages) == 3 and len(http.posts) == 3
        rows = serve.rows("SELECT channel, kind, state, attempts FROM notify_outbox ORDER BY channel, kind")
        assert rows == [("email", "alarm", "sent", 2), ("email", "cleared", "sent", 1), ("email", "group", "sent", 1),
                        ("webhook", "alarm", "sent", 1), ("webhook", "cleared", "sent", 1),
                        ("webhook", "group", "sent", 1)]
        assert "Traceback" not in serve.log()
        print(f"power cut told {told_s:.1f} s after the 30 alarms were stored, the return {clear_told_s:.1f} s after;"
              f" leak mail retried {retried_s:.1f} s after its 451; ack_alarm on the box {command_s:.1f} s after ack")
        for client in back:
            client.close()
    finally:
        serve.close()
        leak_box.close()
