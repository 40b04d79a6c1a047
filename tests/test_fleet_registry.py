"""The device registry, groups and users on a real SQLite file and a real PostgreSQL (every case runs on both)."""

from __future__ import annotations

import pytest

from fleet.errors import StoreError
from fleet.registry.devices import (
    active_devices,
    add_device,
    get_device,
    list_devices,
    revoke_device,
)
from fleet.registry.groups import (
    add_members,
    add_user,
    create_group,
    delete_group,
    disable_user,
    groups_of,
    list_groups,
    list_users,
    remove_members,
)
from fleet.registry.model import RegistryError
from fleet.store import open_store

NOW = 1_790_000_000.0


@pytest.fixture
def db(store_url: str):
    store = open_store(store_url)
    yield store.db
    store.close()


@pytest.fixture
def sqlite_db(tmp_path):
    """For checks made before any SQL runs: one engine is enough."""
    store = open_store(f"sqlite:///{tmp_path / 'fleet.db'}")
    yield store.db
    store.close()


def test_fleet_registry_add_keeps_site_location_and_groups(db) -> None:
    create_group(db, "commune-a", now=NOW)
    create_group(db, "schools", now=NOW)
    added = add_device(db, "box-a", "  Mairie de Saint-Aubin ", now=NOW, latitude=45.187, longitude=-5.726,
                       timezone="Europe/Paris", groups=["schools", "commune-a", "schools"])
    got = get_device(db, "box-a")
    assert got == added
    assert (got.site, got.latitude, got.longitude, got.timezone) == ("Mairie de Saint-Aubin", 45.187, -5.726,
                                                                     "Europe/Paris")
    assert got.groups == ("commune-a", "schools")
    assert got.added_at == NOW and got.revoked_at is None
    assert get_device(db, "box-z") is None
    add_device(db, "pole-n", "North", now=NOW, latitude=90.0, longitude=180.0)  # the ranges' very ends
    add_device(db, "pole-s", "South", now=NOW, latitude=-90.0, longitude=-180.0)
    assert [(d.latitude, d.longitude) for d in list_devices(db)][1:] == [(90.0, 180.0), (-90.0, -180.0)]


def test_fleet_registry_add_refuses_taken_and_revoked_ids(db) -> None:
    add_device(db, "box-a", "Mairie", now=NOW)
    with pytest.raises(RegistryError, match="'box-a' is already registered"):
        add_device(db, "box-a", "Ecole", now=NOW + 1)
    revoke_device(db, "box-a", now=NOW + 2)
    with pytest.raises(RegistryError, match="'box-a' was revoked: a revoked id is never reused"):
        add_device(db, "box-a", "Ecole", now=NOW + 3)
    assert get_device(db, "box-a").site == "Mairie"


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"device": "Box-A"}, "ID 'Box-A': a device id is 1-63 lower-case"),
    ({"device": "a" * 64}, "a device id is 1-63"),
    ({"device": "fleet.hameau"}, "a device id is 1-63"),
    ({"site": "  "}, "--site: must not be empty"),
    ({"site": "a\nb"}, "--site 'a\\\\nb': has a control character"),
    ({"latitude": 90.5}, "--lat 90.5: must be between -90 and 90 degrees"),
    ({"latitude": float("nan")}, "--lat nan: must be between"),
    ({"longitude": -180.01}, "--lon -180.01: must be between -180 and 180 degrees"),
    ({"timezone": "Europe/Nowhere"}, "--timezone 'Europe/Nowhere': unknown time zone"),
    ({"groups": ["nope"]}, "--group 'nope': no such group"),
])
def test_fleet_registry_add_refuses_bad_values_and_stores_nothing(sqlite_db, kwargs, message) -> None:
    args = {"device": "box-a", "site": "Mairie", **kwargs}
    device, site = args.pop("device"), args.pop("site")
    with pytest.raises(RegistryError, match=message):
        add_device(sqlite_db, device, site, now=NOW, **args)
    assert list_devices(sqlite_db) == []


def test_fleet_registry_revoke_marks_and_drops_from_active(db) -> None:
    for device in ("box-c", "box-a", "box-b"):
        add_device(db, device, "Site", now=NOW)
    assert active_devices(db) == ["box-a", "box-b", "box-c"]
    revoked = revoke_device(db, "box-b", now=NOW + 60)
    assert revoked.revoked and revoked.revoked_at == NOW + 60
    assert active_devices(db) == ["box-a", "box-c"]
    assert [d.device for d in list_devices(db)] == ["box-a", "box-b", "box-c"]
    assert [d.device for d in list_devices(db, include_revoked=False)] == ["box-a", "box-c"]
    with pytest.raises(RegistryError, match="'box-b' is already revoked"):
        revoke_device(db, "box-b", now=NOW + 61)
    with pytest.raises(RegistryError, match="'box-z' is not registered"):
        revoke_device(db, "box-z", now=NOW + 61)


def test_fleet_registry_then_runs_inside_the_transaction(db) -> None:
    add_device(db, "box-a", "Site", now=NOW)

    def broken(_conn) -> None:
        raise RegistryError("--broker-passwords /x: cannot be written")

    with pytest.raises(RegistryError, match="cannot be written"):
        add_device(db, "box-b", "Site", now=NOW, then=broken)
    with pytest.raises(RegistryError, match="cannot be written"):
        revoke_device(db, "box-a", now=NOW, then=broken)
    assert [(d.device, d.revoked) for d in list_devices(db)] == [("box-a", False)]
    seen: list[list[str]] = []
    add_device(db, "box-b", "Site", now=NOW, then=lambda conn: seen.append(active_devices(conn)))
    revoke_device(db, "box-a", now=NOW, then=lambda conn: seen.append(active_devices(conn)))
    assert seen == [["box-a", "box-b"], ["box-b"]]  # the callback sees the change, in its transaction


def test_fleet_registry_groups_merge_order_is_priority_then_name(db) -> None:
    create_group(db, "zeta", now=NOW, priority=-5)
    create_group(db, "lighting", now=NOW, priority=10, description="cut-off policy")
    create_group(db, "alpha", now=NOW, priority=10)
    create_group(db, "empty", now=NOW)
    add_device(db, "box-a", "Site", now=NOW, groups=["lighting", "alpha", "zeta"])
    assert groups_of(db, "box-a") == ["zeta", "alpha", "lighting"]
    assert [(g.name, g.priority, g.members) for g in list_groups(db)] == [
        ("zeta", -5, ("box-a",)), ("empty", 0, ()), ("alpha", 10, ("box-a",)), ("lighting", 10, ("box-a",))]
    assert list_groups(db)[3].description == "cut-off policy"


def test_fleet_registry_group_membership_add_remove(db) -> None:
    create_group(db, "commune-a", now=NOW)
    for device in ("box-a", "box-b", "box-c"):
        add_device(db, device, "Site", now=NOW)
    assert add_members(db, "commune-a", ["box-a", "box-b", "box-a"], now=NOW) == ["box-a", "box-b"]
    assert add_members(db, "commune-a", ["box-b", "box-c"], now=NOW) == ["box-c"]
    assert [d.device for d in list_devices(db, group="commune-a")] == ["box-a", "box-b", "box-c"]
    assert remove_members(db, "commune-a", ["box-b", "box-b"]) == ["box-b"]
    assert remove_members(db, "commune-a", ["box-b"]) == []
    assert [d.device for d in list_devices(db, group="commune-a")] == ["box-a", "box-c"]
    revoke_device(db, "box-a", now=NOW)
    with pytest.raises(RegistryError, match="'box-a' is revoked"):
        add_members(db, "commune-a", ["box-a"], now=NOW)
    with pytest.raises(RegistryError, match="'box-z' is not registered"):
        add_members(db, "commune-a", ["box-c", "box-z"], now=NOW)
    with pytest.raises(RegistryError, match="group 'nope' does not exist"):
        add_members(db, "nope", ["box-c"], now=NOW)
    assert get_device(db, "box-c").groups == ("commune-a",)


def test_fleet_registry_group_delete_keeps_devices(db) -> None:
    create_group(db, "commune-a", now=NOW)
    add_device(db, "box-a", "Site", now=NOW, groups=["commune-a"])
    with pytest.raises(RegistryError, match="group 'commune-a' already exists"):
        create_group(db, "commune-a", now=NOW)
    delete_group(db, "commune-a")
    assert list_groups(db) == []
    assert get_device(db, "box-a").groups == ()
    with pytest.raises(RegistryError, match="group 'commune-a' does not exist"):
        delete_group(db, "commune-a")


def test_fleet_registry_users_add_list_disable(db) -> None:
    add_user(db, "marie.dupont", "admin", now=NOW, email="marie@example.org")
    add_user(db, "jean", "technician", now=NOW + 1)
    with pytest.raises(RegistryError, match="user 'jean' already exists"):
        add_user(db, "jean", "viewer", now=NOW)
    with pytest.raises(RegistryError, match="--role 'root': must be one of viewer, technician, admin"):
        add_user(db, "paul", "root", now=NOW)
    with pytest.raises(RegistryError, match="--email 'paul@': not an e-mail address"):
        add_user(db, "paul", "viewer", now=NOW, email="paul@")
    with pytest.raises(RegistryError, match="NAME 'Paul': a user name is"):
        add_user(db, "Paul", "viewer", now=NOW)
    disabled = disable_user(db, "jean", now=NOW + 5)
    assert disabled.disabled_at == NOW + 5
    with pytest.raises(RegistryError, match="'jean' is already disabled"):
        disable_user(db, "jean", now=NOW + 6)
    assert [(u.name, u.role, u.email, u.disabled_at) for u in list_users(db)] == [
        ("jean", "technician", None, NOW + 5), ("marie.dupont", "admin", "marie@example.org", None)]
    assert [u.name for u in list_users(db, include_disabled=False)] == ["marie.dupont"]
    with pytest.raises(StoreError), db.transaction() as conn:  # the schema refuses a bad role too
        conn.execute("INSERT INTO users (name, role, created_at) VALUES ('x', 'root', 0)")
