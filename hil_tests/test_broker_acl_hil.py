"""The fleet broker's ACLs, logins and TLS hold against a real Mosquitto configured by fleet/broker_files.py.

Every refusal is a real attempt judged by what the broker does (MQTT 5 PUBACK 0x87, CONNACK 0x87, a
closed socket, a failed certificate check), and every "nothing arrives" is bounded by a positive
control: an allowed message sent after the forbidden one, on the same path, that does arrive (the
broker is single-threaded and delivers to one connection in order, so what was let through would
have come first). Devices a, b and c; the fleet user reads through its shared subscription.
"""

from __future__ import annotations

import os
import shutil
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from broker import Broker, BrokerPki, ConnectRefused, MqttProbe, mosquitto_path

from fleet import broker_files

DENIED = 0x87
ACCEPTED = (0x00, 0x10)  # PUBACK "success" or "no matching subscribers": the broker took it
GRACE_S = 0.15  # after the control arrived, a last look for anything that should not have
SHARE = f"$share/{broker_files.SHARE_GROUP}"


def t(device: str, kind: str) -> str:
    """hameau/v1/{device}/{kind}, written out here rather than taken from the code under test."""
    return f"hameau/v1/{device}/{kind}"


@pytest.fixture
def fleet_broker(broker_pki: BrokerPki) -> Iterator[Broker]:
    """A broker with devices a, b, c already in its password file, logging every PUBLISH it denies."""
    broker = Broker(broker_pki, debug_log=True)
    try:
        broker.add_devices("a", "b", "c")  # before start: no reload needed
        yield broker.start()
    finally:
        broker.close()


def fleet(broker: Broker) -> MqttProbe:
    """The fleet user, subscribed as the ingest is (shared subscriptions on every up and status)."""
    probe = broker.client(*broker.fleet_credentials)
    assert probe.subscribe(f"{SHARE}/hameau/v1/+/up", f"{SHARE}/hameau/v1/+/status") == [1, 1]
    return probe


def assert_absent(probe: MqttProbe, topic: str, payload: bytes | None = None) -> None:
    """After the control arrived: nothing on `topic` (with `payload`), even a little later."""
    time.sleep(GRACE_S)
    got = [m for m in probe.received(topic) if payload in (None, m.payload)]
    assert got == [], f"{topic} should have been filtered, got {got}"


# -- publishing where a device must not -------------------------------------------------------------
@pytest.mark.parametrize("kind", ["up", "status"])
def test_acl_device_cannot_publish_on_another_devices_up_or_status(fleet_broker: Broker, kind: str) -> None:
    watcher = fleet(fleet_broker)
    a = fleet_broker.client("a")
    assert a.publish(t("b", kind), b"forged by a") == DENIED
    assert a.publish(t("a", kind), b"a's own") in ACCEPTED  # control
    watcher.wait_for(t("a", kind), b"a's own")
    assert_absent(watcher, t("b", kind))
    assert f"Denied PUBLISH from a (d0, q1, r0, m1, '{t('b', kind)}'" in fleet_broker.log_text()


@pytest.mark.parametrize("kind", ["ack", "config", "cmd"])
def test_acl_device_cannot_publish_on_its_own_ack_config_or_cmd(fleet_broker: Broker, kind: str) -> None:
    a = fleet_broker.client("a")
    assert a.subscribe(t("a", kind)) == [1]
    assert a.publish(t("a", kind), b"self-made") == DENIED
    fleet_user = fleet_broker.client(*fleet_broker.fleet_credentials)
    assert fleet_user.publish(t("a", kind), b"from the fleet") in ACCEPTED  # control: the fleet may
    a.wait_for(t("a", kind), b"from the fleet")
    assert_absent(a, t("a", kind), b"self-made")


@pytest.mark.parametrize("kind", ["ack", "config", "cmd"])
def test_acl_device_cannot_publish_on_another_devices_ack_config_or_cmd(fleet_broker: Broker, kind: str) -> None:
    a, b = fleet_broker.client("a"), fleet_broker.client("b")
    assert b.subscribe(t("b", kind)) == [1]
    assert a.publish(t("b", kind), b"forged command") == DENIED
    fleet_user = fleet_broker.client(*fleet_broker.fleet_credentials)
    assert fleet_user.publish(t("b", kind), b"real") in ACCEPTED
    b.wait_for(t("b", kind), b"real")
    assert_absent(b, t("b", kind), b"forged command")


@pytest.mark.parametrize("topic", ["hameau/v1/a", "hameau/v1/a/other", "other/topic", "hameau/v2/a/up"])
def test_acl_device_cannot_publish_outside_its_topics(fleet_broker: Broker, topic: str) -> None:
    a = fleet_broker.client("a")
    assert a.publish(topic, b"x") == DENIED
    assert a.publish(t("a", "up"), b"x") in ACCEPTED  # control on the same connection


def test_acl_fleet_user_cannot_forge_a_devices_up_or_status(fleet_broker: Broker) -> None:
    watcher = fleet(fleet_broker)
    b = fleet_broker.client("b")
    assert watcher.publish(t("b", "up"), b"forged") == DENIED
    assert watcher.publish(t("b", "status"), b"forged") == DENIED
    assert b.publish(t("b", "up"), b"real") in ACCEPTED
    watcher.wait_for(t("b", "up"), b"real")
    assert_absent(watcher, t("b", "up"), b"forged")
    assert watcher.publish(t("b", "cmd"), b"allowed") in ACCEPTED  # control: commanding is the fleet's job


def test_acl_device_retained_publish_on_another_devices_status_is_refused(fleet_broker: Broker) -> None:
    a = fleet_broker.client("a")
    assert a.publish(t("b", "status"), b'{"state":"offline"}', retain=True) == DENIED
    assert a.publish(t("a", "status"), b'{"state":"online"}', retain=True) in ACCEPTED
    late = fleet_broker.client(*fleet_broker.fleet_credentials)
    assert late.subscribe("hameau/v1/+/status") == [1]  # not shared: retained messages are delivered
    assert late.wait_for(t("a", "status")).retain
    assert_absent(late, t("b", "status"))


# -- reading what a device must not -----------------------------------------------------------------
@pytest.mark.parametrize("kind", ["ack", "config", "cmd"])
def test_acl_device_cannot_read_another_devices_ack_config_or_cmd(fleet_broker: Broker, kind: str) -> None:
    a = fleet_broker.client("a")
    assert a.subscribe(t("b", kind), t("a", kind)) == [1, 1]  # granted: Mosquitto filters at delivery
    fleet_user = fleet_broker.client(*fleet_broker.fleet_credentials)
    assert fleet_user.publish(t("b", kind), b"for b") in ACCEPTED
    assert fleet_user.publish(t("a", kind), b"for a") in ACCEPTED
    a.wait_for(t("a", kind), b"for a")
    assert_absent(a, t("b", kind))


@pytest.mark.parametrize("pattern", ["#", "hameau/#", "hameau/v1/+/up", "hameau/v1/b/#", "+/+/+/+",
                                     "$share/x/hameau/v1/+/cmd", f"{SHARE}/hameau/v1/+/up"])
def test_acl_device_wildcard_subscription_sees_only_its_own_topics(fleet_broker: Broker, pattern: str) -> None:
    a, b = fleet_broker.client("a"), fleet_broker.client("b")
    assert a.subscribe(pattern, t("a", "cmd")) == [1, 1]
    fleet_user = fleet_broker.client(*fleet_broker.fleet_credentials)
    assert b.publish(t("b", "up"), b"b data") in ACCEPTED
    assert b.publish(t("b", "status"), b"b status") in ACCEPTED
    for kind in ("ack", "config", "cmd"):
        assert fleet_user.publish(t("b", kind), b"for b") in ACCEPTED
    assert fleet_user.publish(t("a", "cmd"), b"control") in ACCEPTED
    a.wait_for(t("a", "cmd"), b"control")
    time.sleep(GRACE_S)
    assert {m.topic for m in a.received()} == {t("a", "cmd")}


def test_acl_device_cannot_read_sys_topics(fleet_broker: Broker) -> None:
    a = fleet_broker.client("a")
    # $SYS/broker/version and friends are retained: a permitted subscriber gets them at once.
    assert a.subscribe("$SYS/#", "$SYS/broker/version", t("a", "ack")) == [1, 1, 1]
    fleet_user = fleet_broker.client(*fleet_broker.fleet_credentials)
    assert fleet_user.publish(t("a", "ack"), b"control", retain=True) in ACCEPTED
    a.wait_for(t("a", "ack"), b"control")
    time.sleep(GRACE_S)
    assert [m.topic for m in a.received() if m.topic.startswith("$SYS")] == []


# -- identities -------------------------------------------------------------------------------------
@pytest.mark.parametrize("client_id", ["#", "+", "b", "fleet.hameau"])
def test_acl_client_id_is_the_user_name_so_nobody_is_kicked_off(fleet_broker: Broker, client_id: str) -> None:
    watcher = fleet(fleet_broker)
    first_a, b = fleet_broker.client("a"), fleet_broker.client("b")
    intruder = fleet_broker.client("a", client_id=client_id)
    sessions_of_a = [line for line in fleet_broker.log_text().splitlines() if line.endswith("u'a').")]
    assert len(sessions_of_a) == 2 and all(" as a (p5" in line for line in sessions_of_a), sessions_of_a
    assert intruder.is_connected
    assert first_a.disconnected.wait(2.0)  # the id really is "a": the earlier a session was replaced
    assert b.is_connected and watcher.is_connected  # b and the fleet were not kicked off
    assert intruder.publish(t("b", "up"), b"as b?") == DENIED
    assert b.publish(t("b", "up"), b"b still here") in ACCEPTED
    watcher.wait_for(t("b", "up"), b"b still here")
    assert_absent(watcher, t("b", "up"), b"as b?")
    assert b.is_connected


@pytest.mark.parametrize(("user", "password_of"), [
    ("a", "wrong"), ("a", "b"), ("nobody", "a"), ("fleet.hameau", "a"), ("+", "a"), ("#", "a"),
])
def test_acl_login_with_a_wrong_password_or_unknown_user_is_refused(fleet_broker: Broker, user: str,
                                                                     password_of: str) -> None:
    password = "not-the-password" if password_of == "wrong" else fleet_broker.password(password_of)
    with pytest.raises(ConnectRefused, match="CONNACK 0x87"):
        fleet_broker.client(user, password)
    assert fleet_broker.client("a").is_connected  # control: the right password is accepted


def test_acl_anonymous_login_is_refused(fleet_broker: Broker) -> None:
    # refused twice over: allow_anonymous false, and use_username_as_clientid has no user name to use
    with pytest.raises(ConnectRefused, match="CONNACK 0x87"):
        fleet_broker.client(None, client_id="anonymous-box")
    assert fleet_broker.client("a").is_connected


def test_acl_plain_tcp_to_the_tls_port_gets_no_connack(fleet_broker: Broker) -> None:
    with pytest.raises(ConnectRefused, match="closed before any CONNACK"):
        fleet_broker.client("a", cafile=None)
    assert "wrong version number" in fleet_broker.log_text()
    assert fleet_broker.client("a").is_connected


def test_acl_broker_opens_one_listener_only(fleet_broker: Broker) -> None:
    opened = [line for line in fleet_broker.log_text().splitlines() if "listen socket on port" in line]
    assert opened == [opened[0]] and opened[0].endswith(f"Opening ipv4 listen socket on port {fleet_broker.port}.")


def test_acl_client_trusting_another_ca_refuses_the_broker(fleet_broker: Broker) -> None:
    with pytest.raises(ssl.SSLCertVerificationError, match="certificate verify failed"):
        fleet_broker.client("a", cafile=fleet_broker.pki.other_ca)
    assert fleet_broker.client("a", cafile=fleet_broker.pki.ca).is_connected


@pytest.mark.parametrize(("server", "why"), [
    ("other-ca-server", "unable to get local issuer certificate|self-signed|certificate verify failed"),
    ("elsewhere-server", "Hostname mismatch|IP address mismatch"),
])
def test_acl_box_refuses_an_impostor_broker(broker_pki: BrokerPki, server: str, why: str) -> None:
    impostor = Broker(broker_pki, server=server)
    try:
        impostor.add_devices("a")
        impostor.start()
        for host in ("127.0.0.1", "localhost"):
            with pytest.raises(ssl.SSLCertVerificationError, match=why):
                impostor.client("a", host=host)
    finally:
        impostor.close()
    real = Broker(broker_pki)
    try:
        real.add_devices("a")
        real.start()
        assert real.client("a", host="localhost").is_connected  # control: same client, the real broker
    finally:
        real.close()


# -- wills, revocation ------------------------------------------------------------------------------
def test_acl_will_on_another_devices_status_is_dropped(fleet_broker: Broker) -> None:
    watcher = fleet(fleet_broker)
    liar = fleet_broker.client("a", will=(t("b", "status"), b'{"state":"offline"}', True))
    honest = fleet_broker.client("c", will=(t("c", "status"), b'{"state":"offline"}', True))
    liar.drop_with_will()
    honest.drop_with_will()
    watcher.wait_for(t("c", "status"), b'{"state":"offline"}')
    assert_absent(watcher, t("b", "status"))
    retained = fleet_broker.client(*fleet_broker.fleet_credentials)
    assert retained.subscribe("hameau/v1/+/status") == [1]
    retained.wait_for(t("c", "status"))
    assert_absent(retained, t("b", "status"))


def test_acl_removed_device_is_cut_off_and_cannot_log_in(fleet_broker: Broker) -> None:
    watcher = fleet(fleet_broker)
    a, b = fleet_broker.client("a"), fleet_broker.client("b")
    password = fleet_broker.password("b")
    fleet_broker.remove_device("b")
    assert b.disconnected.wait(2.0)
    with pytest.raises(ConnectRefused, match="CONNACK 0x87"):
        fleet_broker.client("b", password)
    assert a.is_connected and a.publish(t("a", "up"), b"still here") in ACCEPTED
    watcher.wait_for(t("a", "up"), b"still here")


def test_acl_device_in_the_fleets_share_group_takes_turns_unless_the_group_is_secret(fleet_broker: Broker) -> None:
    # Mosquitto 2.0 grants any SUBSCRIBE and filters at delivery: a device that joins the well-known
    # group gets nothing, but the messages whose turn it was never reach the fleet (the box resends
    # them after its ack timeout). A group name that only the fleet knows keeps every message.
    known = fleet(fleet_broker)
    secret = fleet_broker.client(*fleet_broker.fleet_user_credentials(1))
    assert secret.subscribe("$share/hameau-fleet-Zq8x/hameau/v1/+/up") == [1]
    lurker = fleet_broker.client("a")
    assert lurker.subscribe(f"{SHARE}/hameau/v1/+/up") == [1]
    b = fleet_broker.client("b")
    for n in range(10):
        assert b.publish(t("b", "up"), f"batch {n}".encode()) in ACCEPTED
    secret.wait_for(t("b", "up"), b"batch 9")
    time.sleep(GRACE_S)
    assert [m.payload for m in secret.received()] == [f"batch {n}".encode() for n in range(10)]
    assert lurker.received() == []
    assert len(known.received(t("b", "up"))) < 10  # the lurker's turns are lost to the known group


# -- what must work ---------------------------------------------------------------------------------
def test_acl_device_can_do_everything_it_must(fleet_broker: Broker) -> None:
    watcher = fleet(fleet_broker)
    a = fleet_broker.client("a", will=(t("a", "status"), b"offline", True))
    assert a.subscribe(t("a", "ack"), t("a", "config"), t("a", "cmd")) == [1, 1, 1]
    assert a.publish(t("a", "up"), b"batch") in ACCEPTED
    assert a.publish(t("a", "status"), b"online", retain=True) in ACCEPTED
    watcher.wait_for(t("a", "up"), b"batch")
    watcher.wait_for(t("a", "status"), b"online")
    for kind in ("ack", "config", "cmd"):
        assert watcher.publish(t("a", kind), kind.encode(), retain=kind != "cmd") in ACCEPTED
        a.wait_for(t("a", kind), kind.encode())
    a.drop_with_will()
    watcher.wait_for(t("a", "status"), b"offline")
    again = fleet_broker.client("a")  # retained ack and config wait for the box after a reconnect
    assert again.subscribe(t("a", "ack"), t("a", "config")) == [1, 1]
    assert again.wait_for(t("a", "ack"), b"ack").retain and again.wait_for(t("a", "config"), b"config").retain


def test_acl_fleet_reads_every_devices_up_through_the_shared_subscription(fleet_broker: Broker) -> None:
    first = fleet(fleet_broker)
    second = fleet_broker.client(*fleet_broker.fleet_user_credentials(1))
    assert second.subscribe(f"{SHARE}/hameau/v1/+/up") == [1]
    devices = [fleet_broker.client(name) for name in ("a", "b", "c")]
    for n in range(4):
        for device, name in zip(devices, "abc", strict=True):
            assert device.publish(t(name, "up"), f"{name}{n}".encode()) in ACCEPTED
    sent = {f"{name}{n}".encode() for name in "abc" for n in range(4)}
    deadline = time.monotonic() + 5
    while len(first.received()) + len(second.received()) < len(sent) and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(GRACE_S)
    got = [m.payload for m in first.received() + second.received()]
    assert sorted(got) == sorted(sent)  # each batch once, shared between the two fleet processes
    assert first.received() and second.received() and first.is_connected and second.is_connected


# -- the broker's files and the fixture ---------------------------------------------------------------
def test_broker_accepts_a_password_written_by_broker_files(fleet_broker: Broker) -> None:
    line = next(x for x in fleet_broker.password_path.read_text(encoding="utf-8").splitlines() if x.startswith("a:"))
    assert line.startswith("a:$7$101$")
    assert fleet_broker.client("a", fleet_broker.password("a")).is_connected
    with pytest.raises(ConnectRefused, match="CONNACK 0x87"):
        fleet_broker.client("a", fleet_broker.password("a") + "x")


def test_mosquitto_passwd_line_verifies_here_and_logs_in(fleet_broker: Broker) -> None:
    tool = Path(mosquitto_path() or "mosquitto").with_name("mosquitto_passwd")
    tool = tool if tool.exists() else Path(shutil.which("mosquitto_passwd") or "mosquitto_passwd")
    scratch = fleet_broker.directory / "scratch.passwd"
    subprocess.run([str(tool), "-c", "-b", str(scratch), "d", "tool-made pw"], check=True, capture_output=True)
    line = scratch.read_text(encoding="utf-8").strip()
    assert broker_files.password_matches(line, "d", "tool-made pw")
    assert not broker_files.password_matches(line, "d", "tool-made pW")
    text = broker_files.set_user(fleet_broker.password_path.read_text(encoding="utf-8"), line)
    fleet_broker.password_path.write_text(text, encoding="utf-8")
    with pytest.raises(ConnectRefused, match="CONNACK 0x87"):
        fleet_broker.client("d", "tool-made pw")  # not reloaded yet: d is unknown
    fleet_broker.reload()
    assert fleet_broker.client("d", "tool-made pw").is_connected


def test_broker_fixture_starts_fast_and_leaves_no_process_or_file(broker_pki: BrokerPki) -> None:
    broker = Broker(broker_pki)
    began = time.perf_counter()
    broker.start()
    start_s = time.perf_counter() - began
    pid, directory = broker.pid, broker.directory
    assert pid is not None and directory.is_dir()
    broker.client(*broker.fleet_credentials)
    broker.close()
    assert start_s < 0.5, f"start took {start_s:.3f} s"
    assert not directory.exists()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_broker_restart_keeps_port_users_and_retained_messages(broker_pki: BrokerPki) -> None:
    broker = Broker(broker_pki, persistence=True)
    try:
        broker.add_devices("a")
        broker.start()
        port = broker.port
        assert broker.client(*broker.fleet_credentials).publish(t("a", "config"), b"v1", retain=True) in ACCEPTED
        broker.restart()
        a = broker.client("a")
        assert broker.port == port
        assert a.subscribe(t("a", "config")) == [1]
        assert a.wait_for(t("a", "config"), b"v1").retain
        broker.kill()
        assert not broker.running and a.disconnected.wait(2.0)
        broker.start()
        assert broker.client("a").is_connected
    finally:
        broker.close()


def test_broker_takes_a_payload_at_the_protocol_limit_and_refuses_more(fleet_broker: Broker) -> None:
    watcher = fleet(fleet_broker)
    a = fleet_broker.client("a")
    at_limit = b"{" + b" " * (256 * 1024 - 2) + b"}"
    assert a.publish(t("a", "up"), at_limit) in ACCEPTED
    assert len(watcher.wait_for(t("a", "up")).payload) == 256 * 1024
    over_limit = fleet_broker.client("b")
    with pytest.raises(ConnectionError):  # PUBACK 0x95, which paho takes for a malformed packet: it hangs up
        over_limit.publish(t("b", "up"), b"x" * (262 * 1024))
    over_packet = fleet_broker.client("b")
    with pytest.raises(ConnectionError):  # over max_packet_size: the broker hangs up
        over_packet.publish(t("b", "up"), b"x" * (300 * 1024))
    assert a.publish(t("a", "up"), b"control") in ACCEPTED
    watcher.wait_for(t("a", "up"), b"control")
    assert_absent(watcher, t("b", "up"))
