"""The dashboard and REST API as one FastAPI app: routers, guards' answers, security headers, static files."""

from __future__ import annotations

import importlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.routing import BaseRoute

from fleet.errors import FleetConfigError, FleetError
from fleet.settings import FleetSettings
from fleet.web.auth import NotLoggedIn, login_url
from fleet.web.deps import WebContext
from fleet.web.pool import StorePool
from fleet.web.render import STATIC, environment, page

#: Modules under fleet/web that each hold `router = APIRouter()`; add yours here.
ROUTER_MODULES: tuple[str, ...] = (
    "pages_login",
    "api_docs",
    "api_users",
    "metrics",
    "api_fleet",
    "api_commands",
    "api_export",
    "pages_boxes",
    "pages_alarms",
    "pages_savings",
    "pages_export",
    "pages_service",
    "pages_public",
    "api_public",
    "pages_report_public", "pages_reports", "api_reports",
)

CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none';"
       " form-action 'self'; base-uri 'none'; object-src 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}

log = logging.getLogger("hameau.fleet.web")


def read_token(path: Path | None) -> str | None:
    """The metrics bearer token from its file (None when no file is configured)."""
    if path is None:
        return None
    try:
        token = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise FleetConfigError(f"[web] metrics_token_file {path}: cannot read: {exc}") from None
    if len(token) < 16:
        raise FleetConfigError(f"[web] metrics_token_file {path}: the token must have at least 16 characters")
    return token


def route_table(routes: Sequence[BaseRoute]) -> list[BaseRoute]:
    """Every route the app answers, included routers flattened (FastAPI keeps them nested since 0.13x)."""
    flat: list[BaseRoute] = []
    for route in routes:
        nested = getattr(route, "original_router", None)
        flat.extend(route_table(nested.routes) if nested is not None else [route])
    return flat


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path == "/metrics"


def create_app(url: str | None, settings: FleetSettings | None = None, *,
               clock: Callable[[], float] = time.time, pool_size: int = 4) -> FastAPI:
    """The app on the store at `url`; the store is migrated now, so a bad URL fails here with one line."""
    settings = FleetSettings() if settings is None else settings
    pool = StorePool(url, size=pool_size)
    with pool.connection():
        pass
    app = FastAPI(title="Hameau fleet", version="1", openapi_url=None, docs_url=None, redoc_url=None,
                  description="The fleet controller's REST API: boxes, alarms, commands, series.")
    app.state.web = WebContext(settings=settings, now=clock, pool=pool,
                               metrics_token=read_token(settings.web.metrics_token_file))
    app.state.templates = environment()
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for name in ROUTER_MODULES:
        app.include_router(importlib.import_module(f"fleet.web.{name}").router)
    _answers(app)
    return app


def _answers(app: FastAPI) -> None:
    @app.middleware("http")
    async def security_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if not request.url.path.startswith("/static/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.exception_handler(NotLoggedIn)
    async def not_logged_in(request: Request, exc: NotLoggedIn) -> Response:
        if _is_api(request):
            return JSONResponse({"detail": "log in first"}, status_code=401)
        return RedirectResponse(login_url(exc.next_path), status_code=303)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        if _is_api(request) or request.method not in ("GET", "HEAD", "POST"):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
        return page(request, "error.html", None, title=f"Error {exc.status_code}", detail=str(exc.detail),
                    status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> Response:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', 'invalid')}" for e in exc.errors()[:5]
        )
        return JSONResponse({"detail": problems or "invalid request"}, status_code=422)

    @app.exception_handler(FleetError)
    async def fleet_error(request: Request, exc: FleetError) -> Response:
        log.warning("%s %s: %s", request.method, request.url.path, exc)
        return JSONResponse({"detail": str(exc)}, status_code=503 if "store" in type(exc).__name__.lower() else 400)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("%s %s failed", request.method, request.url.path)
        return JSONResponse({"detail": "internal error (logged)"}, status_code=500)
