"""Home Assistant's ON/OFF on a switch's command topic becomes a queued relay override (the box's own action and
args, the command expiry, the configured user); malformed, unknown and unauthorised ones are refused and counted.
Also the `[homeassistant]` settings table and the broker ACL lines it adds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fleet import protocol
from fleet.broker_files import acl_text as broker_acl_text
from fleet.errors import FleetConfigError
from fleet.homeassistant.acl import acl_extras
from fleet.homeassistant.commands import CommandRoute
from fleet.homeassistant.settings import HomeAssistantSettings
from fleet.registry.broker_sync import BrokerFiles, write_files
from fleet.registry.devices import add_device, revoke_device
from fleet.serve.handler import Inbound
from fleet.settings import parse_settings
from fleet.store.sql import SqlStore
from tests.fleet_batches import T0
from tests.fleet_ha_helpers import HA, seed, store

__all__ = ["store"]

AT = T0 + 100.0
SET = b"hameau/ha/box-a/relay/street-lights/set"


def _message(topic: bytes, payload: bytes) -> Inbound:
    return Inbound(topic=topic, payload=payload, mid=1, qos=1, generation=1, received_at=AT)


def _commands(store: SqlStore) -> list[tuple]:
    return store.db.query("SELECT device, action, args, created_by, created_at, expires_at, state FROM commands"
                          " ORDER BY created_at, id")


def test_homeassistant_on_and_off_become_queued_overrides_in_the_users_name(store: SqlStore) -> None:
    seed(store)
    route = CommandRoute(HA)
    assert route.owns(SET) and not route.owns(b"hameau/v1/box-a/up")
    first = route.handle(store, _message(SET, b"ON"))
    second = route.handle(store, _message(SET, b"OFF"))
    assert first and second and first != second
    rows = [store.db.one("SELECT device, action, args, created_by, created_at, expires_at, state FROM commands"
                         " WHERE id = ?", (command_id,)) for command_id in (first, second)]
    assert [(r[0], r[1], json.loads(r[2]), r[3], r[4], r[5], r[6]) for r in rows if r] == [
        ("box-a", "override", {"relay": "street-lights", "state": state, "duration_s": 3600.0,
                               "reason": "Home Assistant"}, "tech", AT, AT + 600.0, "pending")
        for state in ("on", "off")
    ]
    # the box parses exactly this (its edge/link/commands.py reads relay, state, duration_s, reason)
    message = protocol.Command("box-a", first, "override", json.loads(rows[0][2]), AT + 600.0).to_message()
    assert protocol.parse_command("box-a", protocol.encode(message)).args["state"] == "on"
    assert route.queued == 2 and sum(route.refused.values()) == 0


def test_homeassistant_command_expiry_and_duration_come_from_the_settings(store: SqlStore) -> None:
    seed(store)
    route = CommandRoute(HomeAssistantSettings(enabled=True, user="tech", command_ttl_s=120.0, override_s=900.0))
    route.handle(store, _message(SET, b"ON"))
    [(_device, _action, args, _by, _at, expires_at, _state)] = _commands(store)
    assert json.loads(args)["duration_s"] == 900.0 and expires_at == AT + 120.0


@pytest.mark.parametrize(("topic", "payload", "reason"), [
    (SET, b"on", "malformed payload"),
    (SET, b"ON\n", "malformed payload"),
    (SET, b"", "malformed payload"),
    (SET, b'{"state": "ON"}', "malformed payload"),
    (SET, b"\xff\xfe", "malformed payload"),
    (b"hameau/ha/box-a/relay/street-lights/toggle", b"ON", "malformed topic"),
    (b"hameau/ha/box-a/relay/street-lights/x/set", b"ON", "malformed topic"),
    (b"hameau/ha/box-a/sensor/street-lights/set", b"ON", "malformed topic"),
    (b"hameau/ha/Box A/relay/street-lights/set", b"ON", "malformed topic"),
    (b"hameau/ha/\xff/relay/street-lights/set", b"ON", "malformed topic"),
    (b"hameau/ha/box-a/relay/pump/set", b"ON", "unknown relay"),
    (b"hameau/ha/box-z/relay/street-lights/set", b"ON", "unknown device"),
])
def test_homeassistant_malformed_or_unknown_commands_refused_and_counted(
    store: SqlStore, topic: bytes, payload: bytes, reason: str
) -> None:
    seed(store)
    route = CommandRoute(HA)
    assert route.handle(store, _message(topic, payload)) is None
    assert route.handle(store, _message(topic, payload)) is None
    assert _commands(store) == []
    assert route.refused == {reason: 2} and route.queued == 0
    device = "" if reason == "malformed topic" else topic.split(b"/")[2].decode()
    assert store.rejects()[(device, f"homeassistant: {reason}")] == 2


def test_homeassistant_command_for_a_revoked_box_refused(store: SqlStore) -> None:
    seed(store)
    revoke_device(store.db, "box-a", now=T0 + 50)
    route = CommandRoute(HA)
    assert route.handle(store, _message(SET, b"ON")) is None
    assert route.refused == {"unknown device": 1} and _commands(store) == []


@pytest.mark.parametrize(("role", "user"), [("viewer", "tech"), ("technician", "nobody")])
def test_homeassistant_command_refused_when_the_user_may_not(store: SqlStore, role: str, user: str) -> None:
    seed(store, role=role)
    route = CommandRoute(HomeAssistantSettings(enabled=True, user=user))
    assert route.handle(store, _message(SET, b"ON")) is None
    assert route.refused == {"user may not": 1} and _commands(store) == []


def test_homeassistant_settings_defaults_and_errors_name_file_table_key() -> None:
    settings = parse_settings({"homeassistant": {"enabled": True, "user": "tech"}}, "fleet.toml").homeassistant
    assert (settings.discovery_prefix, settings.state_prefix, settings.command_ttl_s, settings.override_s) == (
        "homeassistant", "hameau/ha", 600.0, 3600.0)
    assert parse_settings({}, "fleet.toml").homeassistant.enabled is False
    bad = [
        ({"enabled": True}, "[homeassistant] user: missing"),
        ({"enabled": "yes", "user": "tech"}, "[homeassistant] enabled: must be true or false"),
        ({"discovery_prefix": "home/#"}, "[homeassistant] discovery_prefix: must be a topic prefix"),
        ({"state_prefix": "/hameau"}, "[homeassistant] state_prefix: must be a topic prefix"),
        ({"state_prefix": "hameau/v1/ha"}, "[homeassistant] state_prefix: must not be under the boxes' own topics"),
        ({"state_prefix": "homeassistant/hameau"}, "[homeassistant] state_prefix: must not overlap"),
        ({"command_ttl_s": float("nan")}, "[homeassistant] command_ttl_s: must be within"),
        ({"override_s": 8 * 86400}, "[homeassistant] override_s: must be within"),
        ({"broker_user": "homeassistant"}, "[homeassistant] broker_user: 'homeassistant' has no dot"),
        ({"colour": "blue"}, "[homeassistant] colour: unknown key"),
    ]
    for table, words in bad:
        with pytest.raises(FleetConfigError) as error:
            parse_settings({"homeassistant": table}, "/etc/hameau/fleet.toml")
        assert str(error.value).startswith(f"/etc/hameau/fleet.toml: {words}"), str(error.value)


def test_homeassistant_acl_lets_the_fleet_publish_and_home_assistant_command_only() -> None:
    extras = acl_extras(HA)
    assert extras.fleet_rules == ("topic write homeassistant/#", "topic write hameau/ha/#",
                                  "topic read hameau/ha/+/relay/+/set")
    assert extras.users == (("homeassistant.hameau", (
        "topic read homeassistant/#", "topic write homeassistant/status", "topic read hameau/ha/#",
        "topic write hameau/ha/+/relay/+/set")),)
    assert acl_extras(HomeAssistantSettings()).fleet_rules == ()
    text = broker_acl_text(fleet_extra=extras.fleet_rules, extra_users=extras.users)
    fleet_block = text.split("user fleet.hameau\n")[1].split("\n\n")[0]
    assert "topic read hameau/ha/+/relay/+/set" in fleet_block.splitlines()
    ha_block = text.split("user homeassistant.hameau\n")[1].split("\n\n")[0]
    assert ha_block.splitlines() == list(extras.users[0][1])


def test_homeassistant_registry_acl_rewrite_keeps_the_home_assistant_user_out_of_the_fleets_rights(
    store: SqlStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = tmp_path / "fleet.toml"
    settings.write_text('[homeassistant]\nenabled = true\nuser = "tech"\n', encoding="utf-8")
    monkeypatch.setenv("HAMEAU_FLEET_SETTINGS", str(settings))
    passwords, acl = tmp_path / "passwords", tmp_path / "acl"
    passwords.write_text("fleet.hameau:$7$101$x$y\nhomeassistant.hameau:$7$101$x$y\n", encoding="utf-8")
    add_device(store.db, "box-a", "Mairie", now=T0)
    write_files(store.db, BrokerFiles(passwords, acl, None))
    blocks: dict[str, list[str]] = {}
    for line in acl.read_text().splitlines():
        if line.startswith("user "):
            current = blocks.setdefault(line, [])
        elif line.startswith("topic ") and blocks:
            current.append(line)
    assert blocks["user fleet.hameau"][-3:] == [
        "topic write homeassistant/#", "topic write hameau/ha/#", "topic read hameau/ha/+/relay/+/set"]
    assert blocks["user box-a"] == ["topic write hameau/v1/box-a/up", "topic write hameau/v1/box-a/status",
                                    "topic read hameau/v1/box-a/ack", "topic read hameau/v1/box-a/config",
                                    "topic read hameau/v1/box-a/cmd"]
    assert blocks["user homeassistant.hameau"] == [
        "topic read homeassistant/#", "topic write homeassistant/status", "topic read hameau/ha/#",
        "topic write hameau/ha/+/relay/+/set"]
