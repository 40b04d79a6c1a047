"""`hameau-fleet groups add|remove|assign|unassign|list` and `hameau-fleet users add|list|disable`."""

from __future__ import annotations

import argparse
import time

from fleet.cli_common import emit, group_parser, opened, subcommand, table, when
from fleet.registry.groups import (
    add_members,
    add_user,
    create_group,
    delete_group,
    disable_user,
    list_groups,
    list_users,
    remove_members,
)
from fleet.registry.model import (
    ROLES,
    check_email,
    check_group_name,
    check_role,
    check_user_name,
    parse_priority,
)
from fleet.tenants.communes import require_commune
from fleet.web.accounts import read_new_password, set_password


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `groups` and `users` to the command line."""
    groups = group_parser(commands, "groups", "groups of boxes (a commune, a kind of building)")
    add = subcommand(groups, "add", "create a group", _group_add)
    add.add_argument("name", metavar="NAME")
    add.add_argument("--description", default="", help="what the group is")
    add.add_argument("--priority", default="0",
                     help="config merge order: groups apply in ascending priority, then name (default: 0)")
    add.add_argument("--commune", default=None, metavar="NAME",
                     help="the commune the group belongs to (it holds only that commune's boxes; default: the service's)")
    remove = subcommand(groups, "remove", "delete a group (its boxes stay registered)", _group_remove)
    remove.add_argument("name", metavar="NAME")
    assign = subcommand(groups, "assign", "put boxes in a group", _assign)
    assign.add_argument("name", metavar="NAME")
    assign.add_argument("devices", metavar="DEVICE", nargs="+")
    unassign = subcommand(groups, "unassign", "take boxes out of a group", _unassign)
    unassign.add_argument("name", metavar="NAME")
    unassign.add_argument("devices", metavar="DEVICE", nargs="+")
    subcommand(groups, "list", "every group, in merge order, with its boxes", _group_list)

    users = group_parser(commands, "users", "the people who act on the fleet")
    user_add = subcommand(users, "add", "add a user", _user_add)
    user_add.add_argument("name", metavar="NAME")
    user_add.add_argument("--role", required=True, help=f"one of {', '.join(ROLES)}")
    user_add.add_argument("--email", default=None)
    user_add.add_argument("--commune", default=None, metavar="NAME",
                          help="the commune the user works for, and sees only (default: the service, who sees all)")
    subcommand(users, "list", "every user", _user_list)
    disable = subcommand(users, "disable", "disable a user (kept, for the record)", _user_disable)
    disable.add_argument("name", metavar="NAME")
    passwd = subcommand(users, "passwd", "set a user's dashboard password (ends their sessions)", _user_passwd)
    passwd.add_argument("name", metavar="NAME")
    passwd.add_argument("--password-file", default=None, metavar="FILE",
                        help="read the password from FILE's first line (default: asked twice, or stdin's first line)")


def _group_add(args: argparse.Namespace) -> int:
    check_group_name(args.name)
    priority = parse_priority(args.priority)
    with opened(args) as db:
        if args.commune is not None:
            require_commune(db, args.commune)
        group = create_group(db, args.name, now=time.time(), description=args.description, priority=priority,
                             commune=args.commune)
    emit(args, {"name": group.name, "description": group.description, "priority": group.priority,
                "commune": group.commune},
         [f"group {group.name} created (priority {group.priority})"])
    return 0


def _group_remove(args: argparse.Namespace) -> int:
    check_group_name(args.name)
    with opened(args) as db:
        delete_group(db, args.name)
    emit(args, {"name": args.name, "removed": True}, [f"group {args.name} removed"])
    return 0


def _assign(args: argparse.Namespace) -> int:
    check_group_name(args.name)
    with opened(args) as db:
        added = add_members(db, args.name, args.devices, now=time.time())
    emit(args, {"group": args.name, "added": added},
         [f"group {args.name}: added {', '.join(added) if added else 'nothing (already members)'}"])
    return 0


def _unassign(args: argparse.Namespace) -> int:
    check_group_name(args.name)
    with opened(args) as db:
        removed = remove_members(db, args.name, args.devices)
    emit(args, {"group": args.name, "removed": removed},
         [f"group {args.name}: removed {', '.join(removed) if removed else 'nothing (not members)'}"])
    return 0


def _group_list(args: argparse.Namespace) -> int:
    with opened(args) as db:
        groups = list_groups(db)
    data = [{"name": g.name, "description": g.description, "priority": g.priority, "created_at": g.created_at,
             "devices": list(g.members), "commune": g.commune} for g in groups]
    rows = [[g.name, str(g.priority), str(len(g.members)), g.commune or "-", g.description or "-"] for g in groups]
    emit(args, data, table(["GROUP", "PRIORITY", "DEVICES", "COMMUNE", "DESCRIPTION"], rows) if rows
         else ["no group"])
    return 0


def _user_add(args: argparse.Namespace) -> int:
    check_user_name(args.name)
    check_role(args.role)
    check_email(args.email)
    with opened(args) as db:
        if args.commune is not None:
            require_commune(db, args.commune)
        user = add_user(db, args.name, args.role, now=time.time(), email=args.email, commune=args.commune)
    emit(args, {"name": user.name, "role": user.role, "email": user.email, "commune": user.commune},
         [f"user {user.name} added ({user.role}, {'commune ' + user.commune if user.commune else 'the service'})"])
    return 0


def _user_list(args: argparse.Namespace) -> int:
    with opened(args) as db:
        users = list_users(db)
    data = [{"name": u.name, "role": u.role, "email": u.email, "created_at": u.created_at,
             "disabled_at": u.disabled_at, "commune": u.commune} for u in users]
    rows = [[u.name, u.role, u.commune or "(service)", u.email or "-", when(u.created_at), when(u.disabled_at)]
            for u in users]
    emit(args, data, table(["USER", "ROLE", "COMMUNE", "EMAIL", "CREATED", "DISABLED"], rows) if rows
         else ["no user"])
    return 0


def _user_disable(args: argparse.Namespace) -> int:
    check_user_name(args.name)
    with opened(args) as db:
        user = disable_user(db, args.name, now=time.time())
    emit(args, {"name": user.name, "disabled_at": user.disabled_at}, [f"user {user.name} disabled"])
    return 0


def _user_passwd(args: argparse.Namespace) -> int:
    check_user_name(args.name)
    password = read_new_password(args.password_file)
    with opened(args) as db:
        set_password(db, args.name, password, now=time.time())
    emit(args, {"name": args.name, "password_set": True}, [f"user {args.name}: password set"])
    return 0
