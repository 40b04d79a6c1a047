"""The inhabitants' report form (`/c/{commune}/report`, no login) and the status of a report by its ticket.

Every refusal is the form again with a sentence in French saying what to do, never a traceback; refused
submissions are counted against a keyed hash of the sender's address (fleet/reports/guard.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.formparsers import MultiPartException

from fleet.reports.area import area_map, commune_area
from fleet.reports.guard import (
    Limits,
    check_token,
    client_hash,
    count_refusal,
    form_secret,
    issue_token,
)
from fleet.reports.model import (
    KIND_LABELS,
    MAX_PHOTO_BYTES,
    Report,
    ReportError,
    check_point,
)
from fleet.reports.store import public_status, submit_report
from fleet.tenants.model import Commune, normalise_answer
from fleet.web.auth import PUBLIC
from fleet.web.deps import WebContext, web_context
from fleet.web.render import page
from fleet.web.views.public import public_commune

router = APIRouter()

#: A request body larger than this is refused before it is read (the photo, plus room for the other fields).
MAX_BODY_BYTES = MAX_PHOTO_BYTES + 256 * 1024
FIELDS = ("kind", "street", "latitude", "longitude", "description", "email", "answer", "token", "website")
HONEYPOT = "website"


def client_address(request: Request, behind_proxy: bool) -> str:
    """The sender's address: the peer, or, from our own reverse proxy on loopback (`behind_tls_proxy`), the
    address it appended last to X-Forwarded-For (the one it saw; earlier entries are the sender's word)."""
    peer = request.client.host if request.client else "unknown"
    forwarded = request.headers.get("x-forwarded-for", "")
    if behind_proxy and peer in ("127.0.0.1", "::1") and forwarded.strip():
        return forwarded.split(",")[-1].strip()[:64] or peer
    return peer


def _public_commune(ctx: WebContext, name: str) -> Commune | None:
    with ctx.pool.connection() as db:
        return public_commune(db, name)


def _not_found(request: Request) -> HTMLResponse:
    return page(request, "report_public_error.html", None, title="Page introuvable", status_code=404,
                detail="Cette page n'existe pas (ou la commune n'a pas de page publique ici).")


def _form(request: Request, ctx: WebContext, commune: Commune, *, values: dict[str, str] | None = None,
          error: str = "", status_code: int = 200, headers: dict[str, str] | None = None) -> HTMLResponse:
    now = ctx.now()
    with ctx.pool.connection() as db:
        token = issue_token(form_secret(db, now), commune.name, now)
        drawing = area_map(commune_area(db, commune))
    return page(request, "report_form.html", None, title=f"Signaler un problème · {commune.title}",
                commune=commune, kinds=KIND_LABELS, token=token, drawing=drawing, values=values or {},
                error=error, max_photo_mb=MAX_PHOTO_BYTES // (1024 * 1024), status_code=status_code,
                headers=headers)


@router.get("/c/{commune}/report", response_class=HTMLResponse, include_in_schema=False)
def report_form(request: Request, commune: str, _: Annotated[None, Depends(PUBLIC)],
                ctx: Annotated[WebContext, Depends(web_context)]) -> HTMLResponse:
    """The report form: what, where (street or a point on the map), a photo, an address to be told at."""
    found = _public_commune(ctx, commune)
    if found is None:
        return _not_found(request)
    return _form(request, ctx, found)


def _take(ctx: WebContext, commune: Commune, values: dict[str, str], photo: bytes | None, address: str) -> Report:
    """Check and store a submission; ReportError (counted against the address) when refused."""
    now = ctx.now()
    with ctx.pool.connection() as db:
        secret = form_secret(db, now)
        client = client_hash(secret, address)
        try:
            if values.get(HONEYPOT):
                raise ReportError("honeypot", "Ce formulaire a été rempli par un robot : il n'est pas pris"
                                  " en compte.")
            check_token(secret, commune.name, values.get("token", ""), now)
            answer = normalise_answer(values.get("answer", ""))
            if commune.report_answer is not None and answer != commune.report_answer:
                raise ReportError("wrong_answer", "La réponse à la question n'est pas la bonne : réessayez.")
            point = check_point(values.get("latitude", ""), values.get("longitude", ""))
            return submit_report(
                db, commune.name, kind=values.get("kind", ""), now=now, street=values.get("street", ""),
                point=point, description=values.get("description", ""), photo=photo, email=values.get("email", ""),
                client_hash=client, zone=ctx.settings.rollups.zone, limits=Limits())
        except ReportError as refused:
            with db.transaction():
                count_refusal(db, commune.name, client, refused.reason, now)
            raise


@router.post("/c/{commune}/report", response_class=HTMLResponse, include_in_schema=False)
async def report_submit(request: Request, commune: str, _: Annotated[None, Depends(PUBLIC)],
                        ctx: Annotated[WebContext, Depends(web_context)]) -> Response:
    """Take a report: 303 to its status page, or the form again saying why not (400, 404, 413, 429)."""
    found = await run_in_threadpool(_public_commune, ctx, commune)
    if found is None:
        return _not_found(request)
    values: dict[str, str] = {}
    photo: bytes | None = None
    counted = False
    address = client_address(request, ctx.settings.web.behind_tls_proxy)
    try:
        length = int(request.headers.get("content-length") or 0)
    except ValueError:
        length = 0
    try:
        if length > MAX_BODY_BYTES:
            raise ReportError("photo_size", "La photo dépasse 5 Mo : envoyez-en une plus petite.", 413)
        try:
            form = await request.form(max_files=1, max_fields=len(FIELDS) + 4)
        except (StarletteHTTPException, MultiPartException):  # a body the parser refuses: malformed, said so
            raise ReportError("malformed", "Le formulaire reçu est illisible : rechargez la page et"
                              " recommencez.") from None
        for name in FIELDS:
            value = form.get(name)
            values[name] = value if isinstance(value, str) else ""
        upload = form.get("photo")
        if isinstance(upload, UploadFile):
            photo = await upload.read(MAX_PHOTO_BYTES + 1) or None
            if photo is not None and len(photo) > MAX_PHOTO_BYTES:
                raise ReportError("photo_size", "La photo dépasse 5 Mo : envoyez-en une plus petite.", 413)
        counted = True  # _take counts its own refusals
        report = await run_in_threadpool(_take, ctx, found, values, photo, address)
    except ReportError as refused:
        if not counted:
            await run_in_threadpool(_count_early, ctx, found.name, address, refused.reason)
        headers = {"Retry-After": str(refused.retry_after_s)} if refused.retry_after_s else None
        kept = {k: v for k, v in values.items() if k not in ("token", HONEYPOT, "answer")}
        said, status = str(refused), refused.status
        return await run_in_threadpool(lambda: _form(request, ctx, found, values=kept, error=said,
                                                     status_code=status, headers=headers))
    return RedirectResponse(f"/c/{found.name}/report/{report.id}?merci=1", status_code=303)


def _count_early(ctx: WebContext, commune: str, address: str, reason: str) -> None:
    now = ctx.now()
    with ctx.pool.connection() as db, db.transaction():
        count_refusal(db, commune, client_hash(form_secret(db, now), address), reason, now)


@router.get("/c/{commune}/report/{ticket}", response_class=HTMLResponse, include_in_schema=False)
def report_status(request: Request, commune: str, ticket: str, _: Annotated[None, Depends(PUBLIC)],
                  ctx: Annotated[WebContext, Depends(web_context)], merci: str = "") -> HTMLResponse:
    """A report's status by its ticket: what, the day, open or fixed (nothing else about it or others)."""
    found = _public_commune(ctx, commune)
    if found is None:
        return _not_found(request)
    with ctx.pool.connection() as db:
        report = public_status(db, found.name, ticket)
    if report is None:
        return _not_found(request)
    shown: dict[str, Any] = {
        "label": report.label, "fixed": report.state == "closed",
        "day": datetime.fromtimestamp(report.created_at, ctx.settings.rollups.zone).strftime("%d/%m/%Y"),
    }
    return page(request, "report_status.html", None, title=f"Votre signalement · {found.title}", commune=found,
                report=shown, ticket=report.id, thanks=bool(merci),
                status_url=str(request.url_for("report_status", commune=found.name, ticket=report.id)))
