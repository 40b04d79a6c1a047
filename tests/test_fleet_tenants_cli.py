"""Communes on the command line: a commune's user acting with `--user` (alarms ack, commands send, config
set/unset) never reaches another commune's box, alarm or group, and is told so exactly as for one that does not
exist; `devices list` and `alarms list` filter by `--commune`, `devices show` says the commune; and the lead's
`communes add|set|list|show|assign` with its one-line refusals (exit 2)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from fleet.alarms.model import Raise
from fleet.alarms.table import apply_raise, get_alarm
from fleet.cli import main
from fleet.registry.devices import add_device
from fleet.registry.groups import add_user, create_group
from fleet.store import open_store
from fleet.store.db import Database
from fleet.tenants.communes import create_commune, new_commune

NOW = 1781524800.0  # 2026-06-15 12:00 UTC
FRAGMENT = '[agent]\ntick_s = 2.0\n\n[buses.w1]\ntype = "onewire"\npath = "/sys/bus/w1/devices"\n'
SQUARE = {"type": "Polygon", "coordinates": [[[5.70, 45.18], [5.74, 45.18], [5.74, 45.21], [5.70, 45.21],
                                              [5.70, 45.18]]]}


@dataclass
class Cli:
    """`hameau-fleet` on one store, its output captured."""

    url: str
    capsys: pytest.CaptureFixture[str]

    def run(self, *argv: str) -> tuple[int, str, str]:
        self.capsys.readouterr()
        try:
            code = main([*argv, "--db", self.url])
        except SystemExit as exit_:  # argparse's own refusals
            code = int(exit_.code or 0)
        out, err = self.capsys.readouterr()
        return code, out, err

    def refused(self, *argv: str) -> str:
        """The one line a refused command says (exit 2, nothing on stdout), without its program name."""
        code, out, err = self.run(*argv)
        assert (code, out) == (2, ""), (argv, code, out, err)
        assert err.count("\n") == 1, err
        return err.partition(": ")[2].rstrip("\n")


@dataclass
class Seeded:
    """The alarm ids per commune (None: the service's box)."""

    alarms: dict[str | None, str]


@pytest.fixture
def db(store_url: str) -> Iterator[Database]:
    store = open_store(store_url)
    try:
        yield store.db
    finally:
        store.close()


@pytest.fixture
def cli(store_url: str, capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(store_url, capsys)


def _seed(db: Database) -> Seeded:
    alarms: dict[str | None, str] = {}
    for commune in ("alpha", "bravo"):
        create_commune(db, new_commune(commune, commune.title(), now=NOW))
        create_group(db, f"{commune}-lights", now=NOW, commune=commune)
        add_user(db, f"{commune}-tech", "technician", now=NOW, commune=commune)
    add_user(db, "svc-tech", "technician", now=NOW)
    create_group(db, "svc-all", now=NOW)
    for commune, box in (("alpha", "alpha-box"), ("bravo", "bravo-box"), (None, "svc-box")):
        add_device(db, box, f"Site {box}", now=NOW, commune=commune,
                   groups=[f"{commune}-lights"] if commune else ["svc-all"])
        with db.transaction() as tx:
            alarms[commune] = apply_raise(tx, box, Raise(kind="leak", source="fleet", severity="critical",
                                                          message="night flow", evidence={}, at=NOW, order=NOW))
    return Seeded(alarms)


def test_fleet_tenants_cli_alarms_ack_refuses_another_communes_alarm_as_unknown(db: Database, cli: Cli) -> None:
    seeded = _seed(db)
    other, service = seeded.alarms["bravo"], seeded.alarms[None]
    missing = "0123456789abcdef0123456789abcdef"
    for alarm in (other, other[:8], service):
        said = cli.refused("alarms", "ack", alarm, "--user", "alpha-tech")
        assert said == f"no alarm {alarm!r}", said
    assert cli.refused("alarms", "ack", missing, "--user", "alpha-tech") == f"no alarm {missing!r}"
    assert get_alarm(db, other).acked_by is None and get_alarm(db, service).acked_by is None
    assert cli.run("alarms", "ack", seeded.alarms["alpha"][:8], "--user", "alpha-tech")[0] == 0
    assert cli.run("alarms", "ack", other, "--user", "svc-tech")[0] == 0  # the service reaches every commune
    assert get_alarm(db, seeded.alarms["alpha"]).acked_by == "alpha-tech"
    assert get_alarm(db, other).acked_by == "svc-tech"


def test_fleet_tenants_cli_commands_send_refuses_another_communes_box_as_unregistered(db: Database, cli: Cli) -> None:
    _seed(db)
    for box in ("bravo-box", "svc-box", "zz-nobox"):
        said = cli.refused("commands", "send", box, "status", "--user", "alpha-tech")
        assert said == f"device {box!r} is not registered", said
    assert db.scalar("SELECT count(*) FROM commands") == 0  # nothing queued by a refusal
    assert cli.run("commands", "send", "alpha-box", "status", "--user", "alpha-tech")[0] == 0
    assert cli.run("commands", "send", "bravo-box", "status", "--user", "svc-tech")[0] == 0
    assert sorted(db.query("SELECT device, created_by FROM commands ORDER BY device")) == [
        ("alpha-box", "alpha-tech"), ("bravo-box", "svc-tech")]


def test_fleet_tenants_cli_export_as_a_user_reaches_only_their_communes_boxes(db: Database, cli: Cli) -> None:
    _seed(db)
    span = ("--from", "2026-06-01", "--to", "2026-06-02")
    for box in ("bravo-box", "svc-box", "zz-nobox"):
        for argv in (("export", "series", "--device", box), ("export", "csv", "--device", box, "--sensor", "t",
                                                               "--reading", "temperature_c")):
            said = cli.refused(*argv, *span, "--user", "alpha-tech")
            assert said == f"device {box!r} is not registered", said
    code, out, _ = cli.run("export", "csv", "--device", "alpha-box", "--sensor", "t", "--reading", "temperature_c",
                           *span, "--user", "alpha-tech")
    assert code == 0 and out.startswith("time_utc,time_local,device,site,sensor,reading,value_c")
    assert cli.run("export", "series", "--device", "bravo-box", *span, "--user", "svc-tech")[0] == 0
    assert cli.refused("export", "series", "--device", "alpha-box", *span, "--user", "nobody") == (
        "no user 'nobody' (add one with hameau-fleet users add)")


def test_fleet_tenants_cli_config_set_and_unset_stay_in_the_users_commune(
    db: Database, cli: Cli, tmp_path: Path
) -> None:
    _seed(db)
    fragment = tmp_path / "fragment.toml"
    fragment.write_text(FRAGMENT, encoding="utf-8")
    assert cli.run("config", "set", "--device", "bravo-box", str(fragment), "--user", "svc-tech")[0] == 0
    for box in ("bravo-box", "svc-box", "zz-nobox"):
        said = cli.refused("config", "set", "--device", box, str(fragment), "--user", "alpha-tech")
        assert said == f"device {box!r} is not registered", said
        said = cli.refused("config", "unset", "--device", box, "--user", "alpha-tech")
        assert said == f"no config fragment for device {box!r}", said
    for group in ("bravo-lights", "svc-all", "zz-nogroup"):
        said = cli.refused("config", "set", "--group", group, str(fragment), "--user", "alpha-tech")
        assert said == f"no group {group!r} in the registry: create it first", said
    assert db.scalar("SELECT count(*) FROM config_fragments") == 1  # B's fragment is still there
    assert cli.run("config", "set", "--group", "alpha-lights", str(fragment), "--user", "alpha-tech")[:2] == (
        0, "alpha-box: desired config v1\n")
    assert cli.run("config", "unset", "--group", "alpha-lights", "--user", "alpha-tech")[0] == 0


def test_fleet_tenants_cli_lists_filter_by_commune_and_show_says_it(db: Database, cli: Cli) -> None:
    seeded = _seed(db)
    code, out, _ = cli.run("devices", "list", "--commune", "alpha", "--json")
    assert code == 0 and [d["device"] for d in json.loads(out)] == ["alpha-box"]
    code, out, _ = cli.run("devices", "list", "--json")
    assert [d["device"] for d in json.loads(out)] == ["alpha-box", "bravo-box", "svc-box"]
    code, out, _ = cli.run("alarms", "list", "--commune", "bravo", "--json")
    assert code == 0 and [a["id"] for a in json.loads(out)] == [seeded.alarms["bravo"]]
    for command in (("devices", "list"), ("alarms", "list")):
        said = cli.refused(*command, "--commune", "zz-nowhere")
        assert said.startswith("--commune 'zz-nowhere': no such commune"), said
    code, out, _ = cli.run("devices", "show", "bravo-box")
    assert code == 0 and "commune: bravo\n" in out
    assert "commune: - (the service)\n" in cli.run("devices", "show", "svc-box")[1]
    assert json.loads(cli.run("devices", "show", "alpha-box", "--json")[1])["commune"] == "alpha"


def test_fleet_tenants_cli_communes_add_set_list_show(cli: Cli, tmp_path: Path) -> None:
    outline = tmp_path / "outline.geojson"
    outline.write_text(json.dumps({"type": "Feature", "geometry": SQUARE}), encoding="utf-8")
    text = tmp_path / "words.txt"
    text.write_text("Nos rues s'éteignent à 23 h.\n", encoding="utf-8")
    code, out, err = cli.run("communes", "add", "alpha", "--title", "Alpha-sur-Isère", "--outline", str(outline),
                             "--text-file", str(text), "--question", "Couleur du cheval blanc ?",
                             "--answer", "  BLANC ", "--recipient", "mairie@alpha.test")
    assert (code, err) == (0, ""), err
    assert out == "commune alpha added (Alpha-sur-Isère): public page /c/alpha\n"
    assert cli.refused("communes", "add", "alpha", "--title", "Again") == "commune 'alpha' already exists"
    assert cli.run("communes", "set", "alpha", "--tariff-eur-per-kwh", "0.31", "--public-page", "off")[0] == 0
    shown = json.loads(cli.run("communes", "show", "alpha", "--json")[1])
    assert (shown["title"], shown["tariff_eur_per_kwh"], shown["public_page"]) == ("Alpha-sur-Isère", 0.31, False)
    assert (shown["outline_points"], shown["recipients"]) == (5, ["mairie@alpha.test"])
    assert shown["public_text"] == "Nos rues s'éteignent à 23 h."
    listed = json.loads(cli.run("communes", "list", "--json")[1])
    assert [c["name"] for c in listed] == ["alpha"]
    assert cli.refused("communes", "show", "zz-nowhere") == "no commune 'zz-nowhere'"
    assert cli.refused("communes", "set", "alpha") == "nothing to change: give at least one option (see --help)"


@pytest.mark.parametrize(("content", "reason"), [
    ("{not json", "not JSON"),
    (json.dumps({"type": "Point", "coordinates": [5.7, 45.2]}), "give a Polygon or MultiPolygon"),
    (json.dumps({"type": "Polygon", "coordinates": [[[5.7, 45.2], [5.8, 45.2], [5.8, 45.3]]]}),
     "a ring has at least 4 points and ends where it starts"),
    (json.dumps({"type": "Polygon", "coordinates": [[[5.7, 95.0], [5.8, 45.2], [5.8, 45.3], [5.7, 95.0]]]}),
     "is not a longitude and latitude in degrees"),
    (json.dumps({"type": "FeatureCollection", "features": []}), "no polygon in it"),
])
def test_fleet_tenants_cli_communes_outline_errors_name_the_file_and_reason(
    cli: Cli, tmp_path: Path, content: str, reason: str
) -> None:
    path = tmp_path / "bad.geojson"
    path.write_text(content, encoding="utf-8")
    said = cli.refused("communes", "add", "alpha", "--title", "Alpha", "--outline", str(path))
    assert said.startswith(f"--outline {path}: ") and reason in said, said
    assert cli.run("communes", "list", "--json")[1].strip() == "[]"  # nothing added by a refusal


def test_fleet_tenants_cli_communes_question_needs_its_answer_and_files_must_be_readable(
    cli: Cli, tmp_path: Path
) -> None:
    said = cli.refused("communes", "add", "alpha", "--title", "Alpha", "--question", "Couleur ?")
    assert said == "--question and --answer go together: give both (or neither)"
    said = cli.refused("communes", "add", "alpha", "--title", "Alpha", "--answer", "blanc")
    assert said == "--question and --answer go together: give both (or neither)"
    missing = tmp_path / "none.geojson"
    said = cli.refused("communes", "add", "alpha", "--title", "Alpha", "--outline", str(missing))
    assert said.startswith(f"--outline {missing}: cannot read"), said


def test_fleet_tenants_cli_communes_assign_moves_a_box_out_of_another_communes_groups(
    db: Database, cli: Cli
) -> None:
    _seed(db)
    code, _out, err = cli.run("communes", "assign", "bravo", "device", "alpha-box")
    assert (code, err) == (0, ""), err
    assert db.scalar("SELECT commune FROM registry WHERE device = 'alpha-box'") == "bravo"
    groups = [r[0] for r in db.query("SELECT group_name FROM group_members WHERE device = 'alpha-box'")]
    assert groups == []  # out of alpha-lights: a commune's group holds only its boxes
    assert cli.run("communes", "assign", "-", "device", "svc-box")[0] == 0  # back to the service: keeps svc-all
    assert [r[0] for r in db.query("SELECT group_name FROM group_members WHERE device = 'svc-box'")] == ["svc-all"]
    assert cli.refused("communes", "assign", "bravo", "device", "zz-nobox") == "device 'zz-nobox' does not exist"
    said = cli.refused("communes", "assign", "zz-nowhere", "user", "alpha-tech")
    assert said.startswith("--commune 'zz-nowhere': no such commune"), said
    shown = json.loads(cli.run("communes", "show", "bravo", "--json")[1])
    assert shown["devices"] == ["alpha-box", "bravo-box"] and shown["users"] == ["bravo-tech"]
