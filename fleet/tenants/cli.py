"""`hameau-fleet communes add|set|list|show|assign`: the communes one fleet serves, and what belongs to each."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from fleet.cli_common import emit, group_parser, opened, subcommand, table, when
from fleet.registry.model import RegistryError
from fleet.tenants.communes import (
    MEMBER_TABLES,
    create_commune,
    get_commune,
    list_communes,
    new_commune,
    set_members,
    update_commune,
)
from fleet.tenants.model import (
    MAX_CO2_KG_PER_KWH,
    MAX_TARIFF_EUR_PER_KWH,
    Commune,
    check_commune_name,
    check_public_text,
    check_question,
    check_recipients,
    check_title,
    parse_factor,
    parse_outline,
)
from fleet.tenants.report_cli import register as register_report

#: Longest file read for the page text or the outline.
MAX_FILE_BYTES = 4 * 1024 * 1024


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `communes` to the command line."""
    communes = group_parser(commands, "communes", "the communes the fleet serves (tenants)")
    add = subcommand(communes, "add", "add a commune", _add)
    add.add_argument("name", metavar="NAME", help="short name, used in its public page's address /c/NAME")
    add.add_argument("--title", required=True, help="the commune's name as its inhabitants write it")
    _options(add)
    change = subcommand(communes, "set", "change a commune's page, factors, question, outline or recipients", _set)
    change.add_argument("name", metavar="NAME")
    change.add_argument("--title", default=None)
    _options(change)
    subcommand(communes, "list", "every commune", _list)
    show = subcommand(communes, "show", "one commune's settings and members", _show)
    show.add_argument("name", metavar="NAME")
    assign = subcommand(communes, "assign", "put boxes, users or groups in a commune ('-' for the service)", _assign)
    assign.add_argument("name", metavar="NAME", help="the commune, or '-' to give them back to the service")
    assign.add_argument("kind", choices=sorted(MEMBER_TABLES), help="what to put in it")
    assign.add_argument("keys", metavar="ID", nargs="+")
    register_report(communes)


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--text-file", default=None, metavar="FILE",
                        help="the commune's own words for its public page (plain text, UTF-8)")
    parser.add_argument("--public-page", choices=("on", "off"), default=None,
                        help="whether /c/NAME is served (default for a new commune: on)")
    parser.add_argument("--tariff-eur-per-kwh", default=None, metavar="EUR",
                        help="the price of a kWh for the public page's euros (default 0.25)")
    parser.add_argument("--co2-kg-per-kwh", default=None, metavar="KG",
                        help="kg of CO2 per kWh for the public page (default 0.052, France's mix)")
    parser.add_argument("--question", default=None,
                        help="a question the report form asks to keep robots out (with --answer)")
    parser.add_argument("--answer", default=None, help="its answer (compared without case or extra spaces)")
    parser.add_argument("--no-question", action="store_true", help="remove the question")
    parser.add_argument("--outline", default=None, metavar="GEOJSON",
                        help="the commune's outline: a GeoJSON Polygon, MultiPolygon or Feature(Collection) file")
    parser.add_argument("--recipient", action="append", default=None, metavar="EMAIL",
                        help="who receives this commune's alarm e-mails (repeat; replaces the list)")


def _read(path: str, option: str) -> str:
    try:
        with Path(path).expanduser().open("rb") as file:
            data = file.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        raise RegistryError(f"{option} {path}: cannot read ({error.strerror or error})") from None
    if len(data) > MAX_FILE_BYTES:
        raise RegistryError(f"{option} {path}: larger than {MAX_FILE_BYTES // 1024} KiB")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise RegistryError(f"{option} {path}: not UTF-8 text") from None


def _changes(args: argparse.Namespace) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if getattr(args, "title", None) is not None:
        changes["title"] = check_title(args.title)
    if args.text_file is not None:
        changes["public_text"] = check_public_text(_read(args.text_file, "--text-file"), f"--text-file {args.text_file}")
    if args.public_page is not None:
        changes["public_page"] = args.public_page == "on"
    if args.tariff_eur_per_kwh is not None:
        changes["tariff_eur_per_kwh"] = parse_factor(args.tariff_eur_per_kwh, "--tariff-eur-per-kwh",
                                                     MAX_TARIFF_EUR_PER_KWH)
    if args.co2_kg_per_kwh is not None:
        changes["co2_kg_per_kwh"] = parse_factor(args.co2_kg_per_kwh, "--co2-kg-per-kwh", MAX_CO2_KG_PER_KWH)
    if args.no_question:
        if args.question is not None or args.answer is not None:
            raise RegistryError("--no-question: give it without --question/--answer")
        changes["report_question"], changes["report_answer"] = None, None
    elif args.question is not None or args.answer is not None:
        changes["report_question"], changes["report_answer"] = check_question(args.question, args.answer)
    if args.outline is not None:
        changes["outline"] = parse_outline(_read(args.outline, "--outline"), f"--outline {args.outline}")
    if args.recipient is not None:
        changes["recipients"] = check_recipients(args.recipient)
    return changes


def _describe(c: Commune) -> dict[str, Any]:
    return {
        "name": c.name, "title": c.title, "public_page": c.public_page, "public_text": c.public_text,
        "tariff_eur_per_kwh": c.tariff_eur_per_kwh, "co2_kg_per_kwh": c.co2_kg_per_kwh,
        "report_question": c.report_question, "outline_points": sum(len(r) for r in c.outline),
        "recipients": list(c.recipients), "created_at": c.created_at,
    }


def _add(args: argparse.Namespace) -> int:
    name = check_commune_name(args.name)
    commune = new_commune(name, check_title(args.title), now=time.time())
    changes = _changes(args)
    with opened(args) as db:
        created = create_commune(db, commune)
        if changes:
            created = update_commune(db, name, **changes)
    emit(args, _describe(created), [f"commune {name} added ({created.title}): public page /c/{name}"])
    return 0


def _set(args: argparse.Namespace) -> int:
    name = check_commune_name(args.name)
    changes = _changes(args)
    if not changes:
        raise RegistryError("nothing to change: give at least one option (see --help)")
    with opened(args) as db:
        changed = update_commune(db, name, **changes)
    emit(args, _describe(changed), [f"commune {name}: {', '.join(sorted(changes))} changed"])
    return 0


def _members(db: Any, name: str) -> dict[str, list[str]]:
    found = {}
    for kind, (table_name, column) in sorted(MEMBER_TABLES.items()):
        rows = db.query(f"SELECT {column} FROM {table_name} WHERE commune = ? ORDER BY {column}", (name,))
        found[kind + "s"] = [str(r[0]) for r in rows]
    return found


def _list(args: argparse.Namespace) -> int:
    with opened(args) as db:
        communes = [(c, _members(db, c.name)) for c in list_communes(db)]
    data = [{**_describe(c), **members} for c, members in communes]
    rows = [[c.name, c.title, str(len(m["devices"])), str(len(m["users"])), "on" if c.public_page else "off",
             when(c.created_at)] for c, m in communes]
    emit(args, data, table(["COMMUNE", "TITLE", "BOXES", "USERS", "PAGE", "ADDED"], rows) if rows
         else ["no commune (add one: hameau-fleet communes add NAME --title TITLE)"])
    return 0


def _show(args: argparse.Namespace) -> int:
    name = check_commune_name(args.name)
    with opened(args) as db:
        found = get_commune(db, name)
        if found is None:
            raise RegistryError(f"no commune {name!r}")
        members = _members(db, name)
    data = {**_describe(found), **members}
    lines = [f"{k}: {v if not isinstance(v, list) else ', '.join(v) or '-'}" for k, v in data.items()
             if k != "public_text"]
    emit(args, data, [*lines, "public text:", *(f"  {line}" for line in found.public_text.splitlines())])
    return 0


def _assign(args: argparse.Namespace) -> int:
    commune = None if args.name == "-" else check_commune_name(args.name)
    with opened(args) as db:
        done = set_members(db, commune, args.kind, args.keys)
    emit(args, {"commune": commune, "kind": args.kind, "assigned": done},
         [f"{args.kind}s {', '.join(done)}: now {'of commune ' + commune if commune else 'the service'}'s"])
    return 0
