"""Pages from the Jinja2 templates in fleet/web/templates (autoescaped), with the layout's values filled in."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from fleet.web.accounts import Session

TEMPLATES = Path(__file__).resolve().parent / "templates"
STATIC = Path(__file__).resolve().parent / "static"

#: The navigation bar: (path, label).
NAV: tuple[tuple[str, str], ...] = (("/", "Boxes"), ("/alarms", "Alarms"), ("/reports", "Reports"), ("/savings", "Savings"))


def environment() -> Environment:
    """The templates' environment (built once per app)."""
    return Environment(
        loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(("html", "svg")),
        trim_blocks=True, lstrip_blocks=True,
    )


def page(request: Request, template: str, session: Session | None, *, title: str, status_code: int = 200,
         headers: Mapping[str, str] | None = None, **values: Any) -> HTMLResponse:
    """The page `template` for `session`'s user (None: not logged in), with `values`."""
    env: Environment = request.app.state.templates
    html = env.get_template(template).render(
        title=title, session=session, csrf=session.csrf if session else "", user=session.user if session else None,
        role=session.role if session else None, nav=NAV, path=request.url.path, **values,
    )
    return HTMLResponse(html, status_code=status_code, headers=dict(headers or {}))
