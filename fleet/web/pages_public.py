"""The inhabitants' pages, no login: a commune's public page (`/c/{commune}`) and its printable poster with a QR
code of the page's address (`/c/{commune}/poster`). In French; a missing commune gets a French 404 page."""

from __future__ import annotations

from typing import Annotated

import segno
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from fleet.store.db import Database
from fleet.web.auth import PUBLIC
from fleet.web.deps import WebContext, get_db, web_context
from fleet.web.render import page
from fleet.web.views import public_fr
from fleet.web.views.public import cached_public_view, public_commune

router = APIRouter()


def _missing(request: Request) -> HTMLResponse:
    return page(request, "public_missing.html", None, title="Page introuvable", status_code=404)


def page_address(request: Request, ctx: WebContext, commune: str) -> str:
    """The public page's absolute address: `[web] public_url`, else the address this request came to."""
    base = ctx.settings.web.public_url or str(request.base_url).rstrip("/")
    return f"{base}/c/{commune}"


def qr_svg(address: str) -> Markup:
    """The address as a QR code (error correction M: a poster's worn corner still reads), inline SVG, viewBox only."""
    code = segno.make(address, error="m", micro=False, boost_error=False)
    return Markup(code.svg_inline(scale=1, omitsize=True, title=address, svgclass="qr", lineclass=None))


@router.get("/c/{commune}", response_class=HTMLResponse, include_in_schema=False)
def public_page(
    request: Request, commune: str, _public: Annotated[None, Depends(PUBLIC)],
    db: Annotated[Database, Depends(get_db)], ctx: Annotated[WebContext, Depends(web_context)],
) -> HTMLResponse:
    """The commune's page for its inhabitants."""
    found = public_commune(db, commune)
    if found is None:
        return _missing(request)
    view = cached_public_view(ctx.public_views, db, found, ctx.settings.rollups.zone, ctx.now())
    return page(request, "public.html", None, title=found.title, v=view, fr=public_fr)


@router.get("/c/{commune}/poster", response_class=HTMLResponse, include_in_schema=False)
def public_poster(
    request: Request, commune: str, _public: Annotated[None, Depends(PUBLIC)],
    db: Annotated[Database, Depends(get_db)], ctx: Annotated[WebContext, Depends(web_context)],
) -> HTMLResponse:
    """A printable A4 notice for the town hall's board: the commune's title, a short text, the page's QR code."""
    found = public_commune(db, commune)
    if found is None:
        return _missing(request)
    address = page_address(request, ctx, found.name)
    return page(request, "public_poster.html", None, title=f"{found.title}: affiche", commune=found,
                address=address, qr=qr_svg(address))
