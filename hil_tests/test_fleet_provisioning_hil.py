"""Provisioning against a real Mosquitto: `hameau-fleet devices add` lets a box in, `devices revoke` cuts it off.

The CLI rewrites the test broker's own password and ACL files and reloads it with SIGHUP (`--reload-command
'kill -HUP PID'`). The box logs in with nothing but its bundle: the stub's broker URL, the bundle's CA (the
broker's certificate and host name verified) and its password. Every refusal is the broker's own answer;
every "nothing arrives" is bounded by a control message sent after it, on the same path, that does arrive.
"""

from __future__ import annotations

import time
import tomllib
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from broker import Broker, ConnectRefused, MqttProbe

from fleet.cli import main

DENIED = 0x87
ACCEPTED = (0x00, 0x10)
GRACE_S = 0.15
READY_WITHIN_S = 5.0


def t(device: str, kind: str) -> str:
    """hameau/v1/{device}/{kind}, written out here."""
    return f"hameau/v1/{device}/{kind}"


class Provisioned:
    """What a technician holds after `devices add`: the bundle directory, read the way the box reads it."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.stub = tomllib.loads((directory / "hameau-device.toml").read_text())
        self.password = (directory / "mqtt.password").read_text().strip("\n")

    @property
    def device(self) -> str:
        return self.stub["device"]["id"]

    def probe(self, broker: Broker, password: str | None = None) -> MqttProbe:
        """An unconnected client from the bundle alone (host, port, CA, user, password)."""
        link = self.stub["link"]
        url = urlsplit(link["broker"])
        return broker.probe(link["username"], password or self.password, host=url.hostname,
                            cafile=self.directory / link["ca_file"]) if url.port == broker.port else pytest.fail(url)


def fleet_cli(broker: Broker, db: str, *argv: str) -> int:
    return main([*argv, "--broker-passwords", str(broker.password_path), "--broker-acl", str(broker.acl_path),
                 "--reload-command", f"kill -HUP {broker.pid}", "--db", db])


def add(broker: Broker, tmp_path: Path, db: str, device: str) -> Provisioned:
    assert fleet_cli(broker, db, "devices", "add", device, "--site", f"Site {device}", "--broker", broker.url,
                     "--ca", str(broker.ca_path), "--bundle-dir", str(tmp_path / device)) == 0
    return Provisioned(tmp_path / device)


def connect_when_ready(box: Provisioned, broker: Broker) -> tuple[MqttProbe, float]:
    """Log in as soon as the broker has re-read its files; (client, seconds it took)."""
    start = time.monotonic()
    while True:
        try:
            return box.probe(broker).connect(), time.monotonic() - start
        except ConnectRefused:
            if time.monotonic() - start > READY_WITHIN_S:
                raise
            time.sleep(0.02)


def test_fleet_provisioning_add_lets_the_box_in_on_its_own_topics_only(broker: Broker, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'fleet.db'}"
    fleet = broker.client(*broker.fleet_credentials)
    assert fleet.subscribe("hameau/v1/+/up") == [1]
    box_a = add(broker, tmp_path, db, "box-a")
    box_b = add(broker, tmp_path, db, "box-b")
    client_a, waited_s = connect_when_ready(box_a, broker)
    assert waited_s < READY_WITHIN_S
    # The fleet's own user kept its line: still connected, and a new login works.
    assert fleet.is_connected
    broker.client(*broker.fleet_user_credentials(1)).close()
    # Mosquitto checks the generated $7$ hash itself: a wrong password is refused.
    with pytest.raises(ConnectRefused, match="0x86|0x87"):
        box_b.probe(broker, password=box_a.password).connect()
    client_b = box_b.probe(broker).connect()
    assert client_a.publish(t("box-a", "up"), b"a-1") in ACCEPTED
    fleet.wait_for(t("box-a", "up"), b"a-1")
    assert client_a.publish(t("box-b", "up"), b"forged") == DENIED
    assert client_a.publish(t("box-a", "status"), b"{}") in ACCEPTED
    assert client_b.publish(t("box-b", "up"), b"b-1") in ACCEPTED
    fleet.wait_for(t("box-b", "up"), b"b-1")
    time.sleep(GRACE_S)
    assert [m.payload for m in fleet.received(t("box-b", "up"))] == [b"b-1"]


def test_fleet_provisioning_revoke_cuts_the_box_off_within_seconds(broker: Broker, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'fleet.db'}"
    fleet = broker.client(*broker.fleet_credentials)
    assert fleet.subscribe("hameau/v1/+/up") == [1]
    box_a = add(broker, tmp_path, db, "box-a")
    box_b = add(broker, tmp_path, db, "box-b")
    client_a, _ = connect_when_ready(box_a, broker)
    client_b = box_b.probe(broker).connect()
    assert client_a.publish(t("box-a", "up"), b"before") in ACCEPTED
    fleet.wait_for(t("box-a", "up"), b"before")

    start = time.monotonic()
    assert fleet_cli(broker, db, "devices", "revoke", "box-a") == 0
    refused: bytes | None = None
    how, n = "", 0
    while refused is None and time.monotonic() - start < READY_WITHIN_S:
        n += 1
        payload = f"after-{n}".encode()
        try:
            code = client_a.publish(t("box-a", "up"), payload, timeout_s=2.0)
        except ConnectionError:  # the broker closed its connection at the reload: nothing more goes through
            refused, how = payload, f"connection closed ({client_a.disconnect_reason})"
            break
        if code not in ACCEPTED:
            assert code == DENIED
            refused, how = payload, "PUBACK 0x87"
        else:
            time.sleep(0.02)  # taken before the broker re-read its files
    cut_off_s = time.monotonic() - start
    assert refused is not None, "box-a could still publish 5 s after its revocation"
    print(f"revoked box-a refused after {cut_off_s:.3f} s by {how} ({n - 1} publishes taken before the reload)")
    # Control: box-b still publishes, and the fleet got nothing of box-a's refused publish before it.
    assert client_b.publish(t("box-b", "up"), b"control") in ACCEPTED
    fleet.wait_for(t("box-b", "up"), b"control")
    time.sleep(GRACE_S)
    assert refused not in [m.payload for m in fleet.received(t("box-a", "up"))]
    # The next attempt is refused too, and so is a new login with the bundle's credentials.
    try:
        again: int | None = client_a.publish(t("box-a", "up"), b"again", timeout_s=2.0)
    except ConnectionError:
        again = None
    assert again not in ACCEPTED
    with pytest.raises(ConnectRefused, match="0x86|0x87"):
        box_a.probe(broker).connect()
    assert "box-a" not in broker.password_path.read_text()
    assert "box-b" in broker.acl_path.read_text() and "box-a" not in broker.acl_path.read_text()
