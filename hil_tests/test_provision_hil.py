"""A box provisioned from its bundle alone logs in to a real Mosquitto with the box's own link client.

`hameau-fleet devices add` writes the test broker's password and ACL files (reload by SIGHUP) and the bundle;
`hameau-edge provision` installs it into a copy of examples/village-hall.toml; the box's loader reads that file
and its LinkClient connects over TLS with the installed CA and password: the fleet sees its retained `online`.
"""

from __future__ import annotations

import time
from pathlib import Path

from broker import Broker

from edge.cli import main as edge_main
from edge.config.loader import load_config
from edge.link.client import LinkClient
from edge.runtime.clock import SystemClock
from fleet import protocol
from fleet.cli import main as fleet_main

ROOT = Path(__file__).resolve().parent.parent
DEVICE = "saint-aubin-ecole"


def test_provision_hil_provisioned_box_logs_in_with_the_installed_files(broker: Broker, tmp_path: Path) -> None:
    bundle, etc = tmp_path / "boot" / "hameau-bundle", tmp_path / "etc"
    etc.mkdir()
    config = etc / "box.toml"
    site = (ROOT / "examples" / "village-hall.toml").read_text()
    config.write_text(site.replace("~/.local/state/hameau/village-hall.db", str(tmp_path / "box.db")))
    assert fleet_main(["devices", "add", DEVICE, "--site", "Ecole", "--broker", broker.url, "--lat", "45.19",
                       "--lon", "5.73", "--timezone", "Europe/Paris", "--ca", str(broker.ca_path),
                       "--bundle-dir", str(bundle), "--broker-passwords", str(broker.password_path),
                       "--broker-acl", str(broker.acl_path), "--reload-command", f"kill -HUP {broker.pid}",
                       "--db", f"sqlite:///{tmp_path / 'fleet.db'}"]) == 0

    assert edge_main(["provision", str(bundle), "--config", str(config), "--secrets-dir", str(etc)]) == 0

    assert not (bundle / "mqtt.password").exists()
    box = load_config(config)
    assert box.link is not None and box.link.password_file == etc / "mqtt.password"
    def status(state: str) -> bytes:
        return protocol.encode(protocol.Status(DEVICE, state, "boot-1", "0.1.0", None, 1.7e9).to_message())

    client = LinkClient(box.link, device=box.device.id, clock=SystemClock(), on_message=lambda t, p: None,
                        status=status, random=lambda: 0.5)
    client.start()
    try:
        start = time.monotonic()
        while not client.connected:  # the broker re-reads its files at the SIGHUP: allow it a few seconds
            assert time.monotonic() - start < 10, f"not connected: {client.counters()}"
            time.sleep(0.02)
        fleet = broker.client(*broker.fleet_credentials, client_id="fleet-probe")
        status_topic = f"hameau/v1/{DEVICE}/status"
        fleet.subscribe(status_topic)
        message = fleet.wait_for(status_topic)  # retained: the box's own status, as the broker keeps it
        assert message.retain and protocol.parse_status(DEVICE, message.payload).state == "online"
    finally:
        client.stop()
