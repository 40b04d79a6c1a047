"""`hameau-fleet devices add|revoke|sync|list|show`: provision boxes, cut them off, see their health."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from fleet.broker_files import PRODUCTION, new_password, password_line
from fleet.cli_common import emit, group_parser, opened, subcommand, table, when
from fleet.cli_users import acting_user
from fleet.configs.view import config_state
from fleet.registry import bundle
from fleet.registry.broker_sync import (
    DEFAULT_RELOAD_COMMAND,
    NO_RELOAD,
    BrokerFiles,
    ReloadError,
    SyncReport,
    reload_broker,
    write_files,
)
from fleet.registry.devices import (
    add_device,
    check_new,
    get_device,
    list_devices,
    revoke_device,
    rewrite,
)
from fleet.registry.health import DeviceHealth, device_health
from fleet.registry.model import (
    MAX_SITE_CHARS,
    Device,
    RegistryError,
    check_device_id,
    check_group_name,
    check_text,
    check_timezone,
    parse_coordinate,
)
from fleet.store.db import Database
from fleet.store.url import data_dir
from fleet.tenants.communes import require_commune
from fleet.tenants.scope import scope_of


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `devices` and its subcommands to the command line."""
    devices = group_parser(commands, "devices", "register, provision, revoke and watch the boxes")
    add = subcommand(devices, "add", "register a box: credentials, broker files, provisioning bundle", _add)
    add.add_argument("device", metavar="ID", help="device id (1-63 of a-z 0-9 - _)")
    add.add_argument("--site", required=True, help="where the box is (a name, e.g. 'Mairie de Saint-Aubin')")
    add.add_argument("--lat", default=None, help="latitude in degrees (-90..90)")
    add.add_argument("--lon", default=None, help="longitude in degrees (-180..180)")
    add.add_argument("--timezone", default=None, help="IANA time zone of the box, e.g. Europe/Paris")
    add.add_argument("--group", action="append", default=[], metavar="NAME", help="put it in this group (repeatable)")
    add.add_argument("--broker", required=True, metavar="URL", help="the broker the box reaches, mqtts://HOST:PORT")
    add.add_argument("--ca", default=PRODUCTION.cafile, metavar="FILE",
                     help=f"the fleet CA certificate the box trusts (default: {PRODUCTION.cafile})")
    add.add_argument("--commune", default=None, metavar="NAME",
                     help="the commune the box serves (default: --user's commune, else the service's own box)")
    add.add_argument("--user", default=None, metavar="NAME",
                     help="who adds it (a user of the fleet, not disabled; recorded as added_by)")
    add.add_argument("--bundle-dir", default=None, metavar="DIR",
                     help="where to write the bundle (default: bundles/ID in the fleet's data directory)")
    _broker_file_options(add)
    revoke = subcommand(devices, "revoke", "cut a box off: out of the broker's files, broker reloaded", _revoke)
    revoke.add_argument("device", metavar="ID")
    _broker_file_options(revoke)
    sync = subcommand(devices, "sync", "rewrite the broker's password and ACL files from the registry, reload",
                      _sync)
    _broker_file_options(sync)
    listing = subcommand(devices, "list", "every registered box's health", _list)
    listing.add_argument("--group", default=None, metavar="NAME", help="only this group's boxes")
    listing.add_argument("--commune", default=None, metavar="NAME", help="only this commune's boxes")
    show = subcommand(devices, "show", "one box's registration and health", _show)
    show.add_argument("device", metavar="ID")


def _broker_file_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--broker-passwords", default=PRODUCTION.password_file, metavar="FILE",
                        help=f"Mosquitto's password file (default: {PRODUCTION.password_file})")
    parser.add_argument("--broker-acl", default=PRODUCTION.acl_file, metavar="FILE",
                        help=f"Mosquitto's ACL file (default: {PRODUCTION.acl_file})")
    parser.add_argument("--reload-command", default=DEFAULT_RELOAD_COMMAND, metavar="CMD",
                        help=f"makes the broker re-read its files (default: {DEFAULT_RELOAD_COMMAND!r};"
                        f" e.g. 'kill -HUP PID'; '{NO_RELOAD}' to skip)")


def _commune_for(db: Database, commune: str | None, user: str | None) -> str | None:
    """The new box's commune: --commune, checked against --user's (a commune's user adds only to it)."""
    own = scope_of(db, user).commune if user is not None else None
    if commune is not None:
        require_commune(db, commune)
        if own is not None and commune != own:
            raise RegistryError(f"--commune {commune!r}: user {user!r} works for commune {own!r} only")
        return commune
    return own


def _files(args: argparse.Namespace) -> BrokerFiles:
    return BrokerFiles.from_options(args.broker_passwords, args.broker_acl, args.reload_command)


def _add(args: argparse.Namespace) -> int:
    now = time.time()
    device = Device(
        device=check_device_id(args.device),
        site=check_text(args.site, "--site", MAX_SITE_CHARS),
        latitude=parse_coordinate(args.lat, "--lat", 90.0),
        longitude=parse_coordinate(args.lon, "--lon", 180.0),
        timezone=check_timezone(args.timezone),
        added_at=now,
        revoked_at=None,
        groups=tuple(sorted({check_group_name(g, "--group") for g in args.group})),
    )
    files = _files(args)
    source = bundle.BundleSource.from_options(args.broker, args.ca)
    directory = Path(args.bundle_dir).expanduser() if args.bundle_dir else data_dir() / "bundles" / device.device
    bundle.check_target(directory)
    password = new_password()
    line = password_line(device.device, password)
    reports: list[SyncReport] = []
    with opened(args) as db:
        check_new(db, device.device)  # said before any file is touched; checked again in the transaction
        _check_user(db, args.user)
        commune = _commune_for(db, args.commune, args.user)
        staging = bundle.prepare(directory, device, source, password, now=now)

        def then(conn: Database) -> None:
            _check_user(conn, args.user)
            reports.append(write_files(conn, files, {device.device: line}))

        try:
            add_device(db, device.device, device.site, now=now, latitude=device.latitude,
                       longitude=device.longitude, timezone=device.timezone, groups=device.groups,
                       added_by=args.user, commune=commune, then=then)
        except BaseException:
            bundle.discard(staging)
            raise
    bundle.publish(staging, directory)
    done = _reload(files, f"device {device.device!r} is registered and its bundle is in {directory}")
    report = reports[-1]
    emit(args, {
        "device": device.device, "site": device.site, "groups": list(device.groups), "commune": commune,
        "bundle": str(directory),
        "devices_let_in": len(report.devices), "dropped": list(report.dropped),
        "without_password": list(report.without_password), "reload": done,
    }, [
        f"device {device.device} added (site {device.site!r}" + (f", commune {commune}" if commune else "")
        + (f", groups {', '.join(device.groups)}" if device.groups else "") + ")",
        (f"bundle: {directory} ({bundle.STUB_FILE}, {bundle.CA_FILE}, {bundle.PASSWORD_FILE}):"
        " copy it to the box's SD card (boot partition)"),
        *_file_lines(files, report), done,
    ])
    return 0


def _check_user(db: Database, user: str | None) -> None:
    if user is not None:
        acting_user(db, user, doing="add devices")


def _revoke(args: argparse.Namespace) -> int:
    check_device_id(args.device)
    files = _files(args)
    reports: list[SyncReport] = []
    with opened(args) as db:
        device = revoke_device(db, args.device, now=time.time(),
                               then=lambda conn: reports.append(write_files(conn, files)))
    done = _reload(files, f"device {device.device!r} is revoked and out of the broker's files")
    emit(args, {"device": device.device, "revoked_at": device.revoked_at,
                "devices_let_in": len(reports[-1].devices), "reload": done},
         [f"device {device.device} revoked", *_file_lines(files, reports[-1], revoked=device.device), done])
    return 0


def _sync(args: argparse.Namespace) -> int:
    files = _files(args)
    reports: list[SyncReport] = []
    with opened(args) as db:
        rewrite(db, lambda conn: reports.append(write_files(conn, files)))
    done = _reload(files, "the broker's files are rewritten")
    report = reports[-1]
    emit(args, {"devices_let_in": len(report.devices), "dropped": list(report.dropped),
                "without_password": list(report.without_password), "reload": done},
         [*_file_lines(files, report), done])
    return 0


def _reload(files: BrokerFiles, done_so_far: str) -> str:
    try:
        return reload_broker(files)
    except ReloadError as error:
        raise ReloadError(f"{done_so_far}, but the broker was not reloaded: {error}; reload it by hand") from None


def _file_lines(files: BrokerFiles, report: SyncReport, *, revoked: str | None = None) -> list[str]:
    devices, others = len(report.devices), len(report.kept_users)
    lines = [(f"broker files: {files.password_file}, {files.acl_file} ({devices} device{'s' * (devices != 1)}"
             f" let in, {others} other user{'s' * (others != 1)} kept)")]
    if not any("." in user for user in report.kept_users):
        lines.append("warning: no fleet user (a name with a dot, e.g. fleet.hameau) in the password file:"
                     " hameau-fleet serve cannot log in")
    dropped = [device for device in report.dropped if device != revoked]
    if dropped:
        lines.append(f"warning: dropped the password lines of devices not registered or revoked: {', '.join(dropped)}")
    if report.without_password:
        lines.append(f"warning: registered devices with no password line (they cannot log in): "
                     f"{', '.join(report.without_password)}")
    return lines


def _list(args: argparse.Namespace) -> int:
    with opened(args) as db:
        if args.group is not None:
            check_group_name(args.group, "--group")
            if db.one("SELECT 1 FROM groups WHERE name = ?", (args.group,)) is None:
                raise RegistryError(f"--group {args.group!r}: no such group")
        commune = None if args.commune is None else require_commune(db, args.commune).name
        health = device_health(db, list_devices(db, group=args.group, commune=commune))
    rows = [[h.device, h.site, h.state, when(h.since), when(h.last_record_at), _config(h), str(h.open_alarms),
             str(h.faults), str(h.thinned)] for h in health]
    header = ["DEVICE", "SITE", "STATE", "SINCE", "LAST RECORD", "CONFIG WANT/HAS", "ALARMS", "FAULTS", "THINNED"]
    emit(args, [h.to_json() for h in health], table(header, rows) if rows else ["no device registered"])
    return 0


def _show(args: argparse.Namespace) -> int:
    check_device_id(args.device)
    with opened(args) as db:
        device = get_device(db, args.device)
        if device is None:
            raise RegistryError(f"device {args.device!r} is not registered")
        health = device_health(db, [device])[0]
        config = config_state(db, device.device)
    report = None if config is None or config["reported"]["version"] is None else config["reported"]
    data = {**health.to_json(), "commune": device.commune, "latitude": device.latitude, "longitude": device.longitude,
            "timezone": device.timezone, "added_at": device.added_at, "config_report": report}
    state = health.state + (f" since {when(health.since)}" if health.since is not None else "")
    lines = [
        f"device: {device.device}", f"site: {device.site}", f"commune: {device.commune or '- (the service)'}",
        f"location: {_location(device)}", f"groups: {', '.join(device.groups) or '-'}",
        f"added: {when(device.added_at)}", f"state: {state}", f"last seen: {when(health.last_seen)}",
        f"last record: {when(health.last_record_at)} (box time {when(health.last_record_ts)})",
        f"config (wanted/running): {_config(health)}", *_report_lines(report),
        f"open alarms: {health.open_alarms}",
        f"faults: {health.faults}", f"records thinned: {health.thinned}",
    ]
    emit(args, data, lines)
    return 0


def _config(h: DeviceHealth) -> str:
    if h.config_desired is None and h.config_reported is None:
        return "-"
    text = f"{_dash(h.config_desired)}/{_dash(h.config_reported)}"
    return f"{text} {h.config_state}" if h.config_state else text


def _report_lines(report: dict[str, Any] | None) -> list[str]:
    """What the box last said of a config it was sent, and why when it refused or rolled back."""
    if report is None:
        return []
    reason = f": {report['reason']}" if report["reason"] else ""
    return [f"config report: v{report['version']} {report['state']} at {when(report['at'])}{reason}"]


def _dash(value: int | None) -> str:
    return "-" if value is None else str(value)


def _location(device: Device) -> str:
    where = "-" if device.latitude is None or device.longitude is None else f"{device.latitude}, {device.longitude}"
    return where + (f" ({device.timezone})" if device.timezone else "")
