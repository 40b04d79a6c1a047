"""`hameau-edge provision BUNDLE`: a bundle made by the real `hameau-fleet devices add` installed into a box config.

Oracles written here: the [device] and [link] tables the box must end with (values from the `devices add` command
line and the paths chosen in the test), the site config's other tables and comments (read from
examples/village-hall.toml before provisioning), file modes 0600/0644, and the one-line refusals.
"""

from __future__ import annotations

import os
import stat
import subprocess
import tomllib
from pathlib import Path

import pytest

from edge.cli import main as edge_main
from fleet.cli import main as fleet_main

ROOT = Path(__file__).resolve().parent.parent
BROKER = "mqtts://fleet.example.org:8883"
DEVICE = "saint-aubin-ecole"
EXPECTED_DEVICE = {"id": DEVICE, "name": "Ecole de Saint-Aubin", "latitude": 45.19, "longitude": 5.73,
                   "timezone": "Europe/Paris"}


@pytest.fixture(scope="module")
def ca_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("ca")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(directory / "ca.key"), "-out", str(directory / "ca.crt"), "-days", "2",
         "-subj", "/CN=hameau test CA", "-addext", "basicConstraints=critical,CA:TRUE"],
        check=True, capture_output=True)
    return directory / "ca.crt"


class Box:
    """A fleet bundle made by `hameau-fleet devices add`, a box's /etc/hameau in tmp_path, and the CLI."""

    def __init__(self, tmp_path: Path, ca: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.tmp, self.ca, self.capsys = tmp_path, ca, capsys
        self.etc = tmp_path / "etc" / "hameau"
        self.etc.mkdir(parents=True)
        self.config = self.etc / "box.toml"
        text = (ROOT / "examples" / "village-hall.toml").read_text()
        old = 'db_path = "~/.local/state/hameau/village-hall.db"'
        assert old in text
        self.site_text = text.replace(old, f'db_path = "{tmp_path / "state" / "box.db"}"')
        self.config.write_text(self.site_text)
        self.config.chmod(0o640)
        self.bundle = tmp_path / "boot" / "hameau-bundle"

    def add(self, *location: str) -> None:
        (self.tmp / "broker").mkdir(exist_ok=True)
        code = fleet_main(["devices", "add", DEVICE, "--site", "Ecole de Saint-Aubin", "--broker", BROKER,
                           "--ca", str(self.ca), "--bundle-dir", str(self.bundle), *location,
                           "--broker-passwords", str(self.tmp / "broker" / "passwords"),
                           "--broker-acl", str(self.tmp / "broker" / "acl"), "--reload-command", "none",
                           "--db", f"sqlite:///{self.tmp / 'fleet.db'}"])
        assert code == 0
        self.capsys.readouterr()

    def provision(self, *extra: str) -> tuple[int, str, str]:
        self.capsys.readouterr()
        code = edge_main(["provision", str(self.bundle), "--config", str(self.config),
                          "--secrets-dir", str(self.etc), *extra])
        out, err = self.capsys.readouterr()
        return code, out, err

    def snapshot(self) -> dict[str, tuple[bytes, int]]:
        """Every file of the box's /etc/hameau: content and mtime."""
        return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(self.etc.iterdir())}


@pytest.fixture
def box(tmp_path: Path, ca_file: Path, capsys: pytest.CaptureFixture[str]) -> Box:
    return Box(tmp_path, ca_file, capsys)


def _others(parsed: dict) -> dict:
    return {k: v for k, v in parsed.items() if k not in ("device", "link")}


def _comments(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.lstrip().startswith("#")]


def test_provision_installs_a_fleet_bundle_into_the_site_config(box: Box) -> None:
    box.add("--lat", "45.19", "--lon", "5.73", "--timezone", "Europe/Paris")
    password = (box.bundle / "mqtt.password").read_text().strip("\n")
    assert len(password) >= 32

    code, out, err = box.provision()

    assert (code, err) == (0, "")
    new_text = box.config.read_text()
    new = tomllib.loads(new_text)
    assert new["device"] == EXPECTED_DEVICE
    assert new["link"] == {"broker": BROKER, "ca_file": str(box.etc / "fleet-ca.crt"),
                           "password_file": str(box.etc / "mqtt.password"), "username": DEVICE}
    assert _others(new) == _others(tomllib.loads(box.site_text))
    assert _comments(new_text) == _comments(box.site_text)
    assert (box.etc / "box.toml.before-provision").read_text() == box.site_text
    assert stat.S_IMODE(box.config.stat().st_mode) == 0o640  # the site config's mode is kept
    assert stat.S_IMODE((box.etc / "fleet-ca.crt").stat().st_mode) == 0o644
    assert stat.S_IMODE((box.etc / "mqtt.password").stat().st_mode) == 0o600
    assert (box.etc / "mqtt.password").stat().st_uid == box.config.stat().st_uid
    assert (box.etc / "mqtt.password").read_text() == password + "\n"
    assert (box.etc / "fleet-ca.crt").read_bytes() == box.ca.read_bytes()
    assert sorted(p.name for p in box.bundle.iterdir()) == ["fleet-ca.crt", "hameau-device.toml"]
    assert password not in out
    assert "no longer set" in out and "device.elevation_m" in out  # the site's [device] had it, the bundle not
    assert edge_main(["check-config", str(box.config)]) == 0


def test_provision_second_run_says_already_provisioned_and_changes_nothing(box: Box) -> None:
    box.add("--lat", "45.19", "--lon", "5.73", "--timezone", "Europe/Paris")
    assert box.provision()[0] == 0
    before = box.snapshot()
    bundle_before = sorted(p.name for p in box.bundle.iterdir())

    code, out, err = box.provision()

    assert (code, err) == (0, "")
    assert "already provisioned" in out and DEVICE in out
    assert box.snapshot() == before
    assert sorted(p.name for p in box.bundle.iterdir()) == bundle_before


def test_provision_consumed_bundle_on_another_config_is_refused(box: Box) -> None:
    box.add("--lat", "45.19", "--lon", "5.73", "--timezone", "Europe/Paris")
    assert box.provision()[0] == 0
    box.config.write_text(box.site_text)  # the site config put back: the password is gone from the bundle

    code, out, err = box.provision()

    assert code == 2 and out == ""
    assert len(err.splitlines()) == 1 and str(box.bundle / "mqtt.password") in err and "already used" in err
    assert box.config.read_text() == box.site_text


def test_provision_password_still_there_reinstalls_to_the_same_files(box: Box) -> None:
    box.add("--lat", "45.19", "--lon", "5.73", "--timezone", "Europe/Paris")
    kept = (box.bundle / "mqtt.password").read_bytes()
    assert box.provision()[0] == 0
    provisioned = box.config.read_text()
    (box.bundle / "mqtt.password").write_bytes(kept)  # a copy of the bundle made again from the fleet's

    code, out, err = box.provision()

    assert (code, err) == (0, "")
    assert "already holds device 'saint-aubin-ecole'" in out
    assert box.config.read_text() == provisioned
    assert (box.etc / "box.toml.before-provision").read_text() == box.site_text  # not the provisioned one
    assert not (box.bundle / "mqtt.password").exists()


def _missing_password(bundle: Path) -> None:
    (bundle / "mqtt.password").unlink()


def _edit_stub(old: str, new: str):
    def edit(bundle: Path) -> None:
        stub = bundle / "hameau-device.toml"
        text = stub.read_text()
        assert old in text
        stub.write_text(text.replace(old, new))
    return edit


BAD_BUNDLES = {
    "missing stub": (lambda b: (b / "hameau-device.toml").unlink(), "hameau-device.toml", "no such file"),
    "missing CA": (lambda b: (b / "fleet-ca.crt").unlink(), "fleet-ca.crt", "no such file"),
    "missing password": (_missing_password, "mqtt.password", "no such file"),
    "bad device id": (_edit_stub(f'id = "{DEVICE}"', 'id = "Ecole Saint-Aubin"'), "hameau-device.toml", "device.id"),
    "username not the id": (_edit_stub(f'username = "{DEVICE}"', 'username = "other-box"'), "hameau-device.toml",
                            "link.username"),
    "plaintext broker": (_edit_stub(BROKER, "mqtt://fleet.example.org:1883"), "hameau-device.toml", "link.broker"),
    "CA not PEM": (lambda b: (b / "fleet-ca.crt").write_text("not a certificate\n"), "fleet-ca.crt", "not a PEM"),
    "password empty": (lambda b: (b / "mqtt.password").write_text("\n"), "mqtt.password", "empty"),
    "third table": (lambda b: (b / "hameau-device.toml").write_text(
        (b / "hameau-device.toml").read_text() + '\n[agent]\ndb_path = "/tmp/x.db"\n'), "hameau-device.toml",
        "exactly the tables [device] and [link]"),
    "stub not TOML": (lambda b: (b / "hameau-device.toml").write_text("[device\n"), "hameau-device.toml",
                      "not a valid TOML"),
}


@pytest.mark.parametrize("case", sorted(BAD_BUNDLES))
def test_provision_bad_bundle_is_refused_in_one_line_config_untouched(box: Box, case: str) -> None:
    box.add("--lat", "45.19", "--lon", "5.73", "--timezone", "Europe/Paris")
    spoil, file_name, reason = BAD_BUNDLES[case]
    spoil(box.bundle)
    before = box.snapshot()

    code, out, err = box.provision()

    assert code == 2 and out == ""
    assert len(err.splitlines()) == 1, err
    assert str(box.bundle / file_name) in err and reason in err
    assert box.snapshot() == before  # no config change, no backup, no secrets installed


def test_provision_config_the_box_would_refuse_is_left_as_it_was(box: Box) -> None:
    box.add()  # no location: the box's loader refuses a [device] without latitude, longitude, timezone
    before = box.snapshot()

    code, out, err = box.provision()

    assert code == 2 and out == ""
    assert len(err.splitlines()) == 1 and str(box.config) in err
    assert "device.latitude" in err and "device.timezone" in err
    assert box.snapshot() == before
    assert (box.bundle / "mqtt.password").exists()  # kept: nothing was installed


def test_provision_without_a_site_config_names_it(box: Box) -> None:
    box.add("--lat", "45.19", "--lon", "5.73", "--timezone", "Europe/Paris")
    box.config.unlink()

    code, _out, err = box.provision()

    assert code == 2 and len(err.splitlines()) == 1
    assert err == f"{box.config}: (file): no such file\n"  # the box's words for a missing config
    assert sorted(p.name for p in box.etc.iterdir()) == []


def test_provision_replaces_an_old_link_block_and_keeps_the_comments_around_it(box: Box) -> None:
    box.add("--lat", "45.19", "--lon", "5.73", "--timezone", "Europe/Paris")
    old_link = ('[link]\nbroker = "mqtts://old.example.org:8883"\nca_file = "old-ca.crt"\n'
                'password_file = "old.password"\nusername = "saint-aubin-mairie"\n\n'
                "# The buses of the town hall's cabinet.\n")
    site = box.site_text.replace("[simulation]\n", old_link + "[simulation]\n", 1)
    assert site != box.site_text
    box.config.write_text(site)

    code, _out, err = box.provision()

    assert (code, err) == (0, "")
    text = box.config.read_text()
    assert "old.example.org" not in text and text.count("[link]") == 1
    assert "# The buses of the town hall's cabinet.\n[simulation]" in text
    assert tomllib.loads(text)["link"]["broker"] == BROKER
    assert _others(tomllib.loads(text)) == _others(tomllib.loads(site))


def test_provision_service_runs_before_the_agent_when_a_bundle_is_on_the_boot_partition() -> None:
    unit = (ROOT / "images" / "systemd" / "hameau-provision.service").read_text().splitlines()
    assert "ConditionPathExists=/boot/firmware/hameau-bundle" in unit
    assert "Before=hameau-edge.service" in unit
    assert "Type=oneshot" in unit
    exec_start = next(line for line in unit if line.startswith("ExecStart="))
    assert exec_start.split() == ["ExecStart=/opt/hameau/.venv/bin/hameau-edge", "provision",
                                  "/boot/firmware/hameau-bundle", "--config", "/etc/hameau/box.toml",
                                  "--secrets-dir", "/etc/hameau"]
    agent = (ROOT / "images" / "systemd" / "hameau-edge.service").read_text()
    assert "--config /etc/hameau/box.toml" in agent  # the config the agent runs is the one provisioned


def test_provision_adds_device_and_link_to_a_site_config_without_them(box: Box) -> None:
    box.add("--lat", "45.19", "--lon", "5.73", "--timezone", "Europe/Paris")
    device_block = ('[device]\nid = "saint-aubin-mairie"\nname = "Mairie de Saint-Aubin"\nlatitude = 45.187\n'
                    'longitude = 5.726\ntimezone = "Europe/Paris"\nelevation_m = 420\n\n[simulation]\n')
    site = box.site_text.replace(device_block, "# Simulated buses.\n[simulation]\n", 1)
    assert "[device]" not in site
    box.config.write_text(site)

    code, _out, err = box.provision()

    assert (code, err) == (0, "")
    text = box.config.read_text()
    assert tomllib.loads(text)["device"] == EXPECTED_DEVICE
    assert tomllib.loads(text)["link"]["username"] == DEVICE
    assert "# Simulated buses.\n[simulation]" in text  # a comment above a table stays with it
    assert _comments(text) == _comments(site)
    assert _others(tomllib.loads(text)) == _others(tomllib.loads(site))
    assert edge_main(["check-config", str(box.config)]) == 0


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root, as the boot service has")
def test_provision_gives_the_secrets_and_config_to_the_config_files_owner(box: Box) -> None:
    box.add("--lat", "45.19", "--lon", "5.73", "--timezone", "Europe/Paris")
    agent_user = (4321, 4322)  # the agent's user and group, owner of the site config
    os.chown(box.config, *agent_user)

    code, _out, err = box.provision()

    assert (code, err) == (0, "")
    for name in ("box.toml", "box.toml.before-provision", "mqtt.password", "fleet-ca.crt"):
        info = (box.etc / name).stat()
        assert (info.st_uid, info.st_gid) == agent_user, name
