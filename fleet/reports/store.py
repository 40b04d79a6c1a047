"""Reports in the store: take one (checked, linked to the nearest fitting box, raised as that box's alarm with
its evidence), read them within a user's scope, and close one (its alarm cleared, the inhabitant told)."""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from fleet.alarms.model import Clear, Raise
from fleet.alarms.table import apply_clear, apply_raise
from fleet.notify.compose import Message
from fleet.notify.outbox import enqueue
from fleet.notify.settings import NotifySettings, SmtpSettings
from fleet.reports.area import commune_area, inside
from fleet.reports.guard import Limits, check_limits
from fleet.reports.link import evidence, find_link
from fleet.reports.model import (
    ALARM_KIND,
    ALARM_SEVERITY,
    CLOSED,
    KIND_LABELS,
    KINDS,
    MAX_DESCRIPTION_CHARS,
    MAX_NOTE_CHARS,
    MAX_PHOTO_BYTES,
    MAX_STREET_CHARS,
    OPEN,
    Report,
    ReportError,
    check_email,
    clean_text,
    photo_type,
    valid_report_id,
)
from fleet.store.db import Database
from fleet.tenants.communes import get_commune
from fleet.tenants.scope import Scope

_COLUMNS = ("id, commune, kind, street, latitude, longitude, description, photo_type, asked_notice, created_at,"
            " device, circuit, distance_m, alarm_id, state, closed_at, closed_by, note, notified_at")
#: The kinds as the dashboard (in English) and the alarm's message say them.
KIND_WORDS = {"light_out": "street light out", "light_in_daylight": "street light on in daylight",
              "water_running": "water running in the street", "cold_building": "cold public building"}


def _num(value: Any) -> float | None:
    return None if value is None else float(value)


def _report(row: tuple[Any, ...]) -> Report:
    return Report(
        id=str(row[0]), commune=str(row[1]), kind=str(row[2]), street=str(row[3]), latitude=_num(row[4]),
        longitude=_num(row[5]), description=str(row[6]), photo_type=row[7], asked_notice=bool(row[8]),
        created_at=float(row[9]), device=row[10], circuit=row[11], distance_m=_num(row[12]), alarm_id=row[13],
        state=str(row[14]), closed_at=_num(row[15]), closed_by=row[16], note=row[17], notified_at=_num(row[18]),
    )


def submit_report(
    db: Database, commune: str, *, kind: str, now: float, street: str = "",
    point: tuple[float, float] | None = None, description: str = "", photo: bytes | None = None,
    email: str = "", client_hash: str = "-", zone: ZoneInfo | None = None, limits: Limits | None = None,
) -> Report:
    """Take an inhabitant's report for `commune` (its public page on); ReportError (French) when refused.

    `point` is (latitude, longitude) inside the commune's area; with `limits`, the address's and commune's
    limits are checked in the same transaction. The report is linked and raised as an alarm when a box fits.
    """
    zone = zone or ZoneInfo("Europe/Paris")
    if kind not in KINDS:
        raise ReportError("malformed", "Choisissez ce que vous avez vu.")
    street = clean_text(street, MAX_STREET_CHARS, "La rue")
    description = clean_text(description, MAX_DESCRIPTION_CHARS, "La description", multiline=True)
    address = check_email(email)
    kind_of_photo = None
    if photo:
        if len(photo) > MAX_PHOTO_BYTES:
            raise ReportError("photo_size", "La photo dépasse 5 Mo : envoyez-en une plus petite.", 413)
        kind_of_photo = photo_type(photo)
    if not street and point is None:
        raise ReportError("no_place", "Indiquez où : le nom de la rue, ou un point sur la carte.")
    report_id = secrets.token_hex(16)
    with db.transaction():
        found = get_commune(db, commune)
        if found is None or not found.public_page:
            raise ReportError("unknown_commune", "Cette commune n'a pas de page publique ici.", 404)
        if point is not None:
            area = commune_area(db, found)
            if not area:
                raise ReportError("outside", "La commune n'a pas de carte : indiquez le nom de la rue.")
            if not inside(area, point[0], point[1]):
                raise ReportError("outside", "Le point indiqué est en dehors de la commune : choisissez un point"
                                  " à l'intérieur du contour, ou indiquez le nom de la rue.")
        if limits is not None:
            check_limits(db, commune, client_hash, now, limits)
        link = find_link(db, commune, kind, point)
        alarm_id = None
        if link is not None:
            where = street if street or point is None else f"{point[0]:.5f}, {point[1]:.5f}"
            away = "" if link.distance_m is None else f", {link.distance_m:.0f} m from the box"
            alarm_id = apply_raise(db, link.device, Raise(
                kind=ALARM_KIND, source=report_id, severity=ALARM_SEVERITY,
                message=f"Inhabitant report: {KIND_WORDS[kind]} ({where}{away}), circuit {link.circuit}",
                evidence={"report": report_id, "kind": kind, **evidence(db, link, kind, now, zone)},
                at=now, order=now))
        db.execute(
            f"INSERT INTO reports ({_COLUMNS}, photo, email, client_hash) VALUES"
            " (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (report_id, commune, kind, street, None if point is None else point[0],
             None if point is None else point[1], description, kind_of_photo, int(address is not None), now,
             None if link is None else link.device, None if link is None else link.circuit,
             None if link is None else link.distance_m, alarm_id, OPEN, None, None, None, None,
             photo if kind_of_photo else None, address, client_hash),
        )
    return _report(db.one(f"SELECT {_COLUMNS} FROM reports WHERE id = ?", (report_id,)))  # type: ignore[arg-type]


def get_report(db: Database, scope: Scope, report_id: str) -> Report | None:
    """A report the scope sees, or None (another commune's is answered as a missing one)."""
    if not valid_report_id(report_id):
        return None
    row = db.one(f"SELECT {_COLUMNS} FROM reports WHERE id = ?", (report_id,))
    if row is None or not scope.sees_commune(str(row[1])):
        return None
    return _report(row)


def list_reports(db: Database, scope: Scope, *, open_only: bool = False, limit: int = 500) -> list[Report]:
    """Reports the scope sees, open ones first, then the latest first."""
    where, params = [], []
    if scope.commune is not None:
        where.append("commune = ?")
        params.append(scope.commune)
    if open_only:
        where.append("state = 'open'")
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    rows = db.query(f"SELECT {_COLUMNS} FROM reports{clause} ORDER BY CASE WHEN state = 'open' THEN 0 ELSE 1 END,"
                    f" created_at DESC, id LIMIT {int(limit)}", params)
    return [_report(r) for r in rows]


def report_photo(db: Database, scope: Scope, report_id: str) -> tuple[bytes, str] | None:
    """A report's photo and its content type, when the scope sees the report and it has one."""
    if get_report(db, scope, report_id) is None:
        return None
    row = db.one("SELECT photo, photo_type FROM reports WHERE id = ?", (report_id,))
    if row is None or row[0] is None or row[1] is None:
        return None
    return bytes(row[0]), str(row[1])


def public_status(db: Database, commune: str, ticket: str) -> Report | None:
    """The report behind an inhabitant's ticket, if it is one of `commune`'s."""
    return get_report(db, Scope(commune), ticket)


def _fixed_message(report: Report, title: str, zone: ZoneInfo, status_url: str) -> Message:
    day = datetime.fromtimestamp(report.created_at, zone).strftime("%d/%m/%Y")
    subject = f"{title} : votre signalement est traité"
    text = (f"Bonjour,\n\nVotre signalement du {day} ({KIND_LABELS[report.kind].lower()}) a été traité par les"
            f" services de {title}. Merci de votre aide.\n" + (f"\nSuivi : {status_url}\n" if status_url else "")
            + "\nCe message est envoyé une seule fois ; votre adresse a été effacée.\n")
    return Message(kind="report_fixed", alarm_ids=tuple(a for a in (report.alarm_id,) if a), subject=subject,
                   text=text, document={"kind": "report_fixed", "report": report.id})


def close_report(db: Database, scope: Scope, report_id: str, *, by: str, note: str, now: float,
                 notify: NotifySettings | None = None, zone: ZoneInfo | None = None, status_url: str = "") -> Report:
    """Close a report with a note: its alarm cleared by `by`, the inhabitant's "fixed" e-mail queued (when they
    asked) and their address erased; ReportError 404 (unknown or out of scope), 400 (no note), 409 (closed)."""
    zone = zone or ZoneInfo("Europe/Paris")
    text = clean_text(note, MAX_NOTE_CHARS, "note", multiline=True)
    if not text:
        raise ReportError("no_note", "a note is required to close a report (what was done)")
    with db.transaction():
        report = get_report(db, scope, report_id)
        if report is None:
            raise ReportError("unknown", f"no report {report_id[:40]!r}", 404)
        if report.state == CLOSED:
            raise ReportError("closed", f"report {report_id[:12]} is already closed", 409)
        if report.alarm_id is not None and report.device is not None:
            apply_clear(db, report.device, Clear(kind=ALARM_KIND, source=report.id, at=now,
                                                 order=max(now, report.created_at + 0.001), by=by))
        email = db.scalar("SELECT email FROM reports WHERE id = ?", (report.id,))
        notified = None
        if email is not None:
            base = notify or NotifySettings()
            smtp = base.smtp or SmtpSettings(host="", port=25, security="starttls", sender="", recipients=())
            only_them = replace(base, smtp=replace(smtp, recipients=(str(email),)), webhook=None)
            title = get_commune(db, report.commune)
            enqueue(db, only_them, _fixed_message(report, title.title if title else report.commune, zone,
                                                  status_url), now)
            notified = now
        db.execute("UPDATE reports SET state = ?, closed_at = ?, closed_by = ?, note = ?, email = NULL,"
                   " notified_at = ? WHERE id = ?", (CLOSED, now, by, text, notified, report.id))
    return get_report(db, scope, report_id)  # type: ignore[return-value]
