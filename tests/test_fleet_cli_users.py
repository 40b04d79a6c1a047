"""Who acts on the command line is a user of the fleet: `commands send --user` (a technician or an admin, not
disabled, as for `alarms ack`) and `devices add --user` (any role, not disabled; kept as added_by)."""

from __future__ import annotations

import pytest

from fleet.store import open_store
from tests.test_fleet_registry_cli import Fleet, ca_file  # noqa: F401  (ca_file: the module's CA fixture)


@pytest.fixture
def fleet(tmp_path, store_url: str, ca_file, capsys: pytest.CaptureFixture[str]) -> Fleet:  # noqa: F811
    """The registry CLI's fleet files, with marie (technician), ana (admin), paul (viewer), jean (disabled
    technician)."""
    fleet = Fleet(tmp_path, store_url, ca_file, capsys)
    for name, role in (("marie", "technician"), ("ana", "admin"), ("paul", "viewer"), ("jean", "technician")):
        assert fleet.run("users", "add", name, "--role", role, "--db", store_url)[0] == 0
    assert fleet.run("users", "disable", "jean", "--db", store_url)[0] == 0
    return fleet


def _scalar(url: str, sql: str) -> object:
    store = open_store(url)
    try:
        return store.db.scalar(sql)
    finally:
        store.close()


def test_fleet_cli_users_commands_send_needs_an_enabled_technician_or_admin(fleet: Fleet) -> None:
    db = ["--db", fleet.db_url]
    for user, says in (
        ("ghost", "hameau-fleet commands send: no user 'ghost' (add one with hameau-fleet users add)\n"),
        ("jean", "hameau-fleet commands send: user 'jean' is disabled\n"),
        ("paul", ("hameau-fleet commands send: user 'paul' is a viewer: only a technician or admin may send"
                 " commands\n")),
    ):
        assert fleet.run("commands", "send", "box-1", "status", "--user", user, *db) == (2, "", says)
    assert _scalar(fleet.db_url, "SELECT count(*) FROM commands") == 0  # nothing queued by a refused user
    for user in ("marie", "ana"):
        code, _out, err = fleet.run("commands", "send", "box-1", "status", "--user", user, *db)
        assert (code, err) == (0, ""), err
    assert _scalar(fleet.db_url, "SELECT count(*) FROM commands WHERE created_by IN ('marie', 'ana')") == 2


def test_fleet_cli_users_devices_add_records_who_added_it(fleet: Fleet) -> None:
    assert fleet.add("box-a", "--user", "paul")[0] == 0  # any role may register a box
    assert _scalar(fleet.db_url, "SELECT added_by FROM registry WHERE device = 'box-a'") == "paul"
    assert fleet.add("box-b")[0] == 0  # without --user: nobody named
    assert _scalar(fleet.db_url, "SELECT added_by FROM registry WHERE device = 'box-b'") is None
    for user, says in (("ghost", "no user 'ghost'"), ("jean", "user 'jean' is disabled")):
        code, out, err = fleet.add("box-c", "--user", user)
        assert (code, out) == (2, "") and err.startswith(f"hameau-fleet devices add: {says}"), err
        assert err.count("\n") == 1
    assert _scalar(fleet.db_url, "SELECT count(*) FROM registry WHERE device = 'box-c'") == 0
    assert not fleet.bundle("box-c").exists()  # refused before any file is written
