"""Logging in and out: the login page and form, and the same for scripts under /api/v1/session."""

from __future__ import annotations

import math
import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from fleet.web import accounts
from fleet.web.accounts import LoginRefused, Session
from fleet.web.auth import PUBLIC, SESSION_COOKIE, VIEWER, same_token
from fleet.web.deps import WebContext, web_context
from fleet.web.render import page

router = APIRouter()

LOGIN_COOKIE = "hameau_login"


def _safe_next(next_path: str | None) -> str:
    """Only a path on this site (never `//host` or a scheme) is followed after login."""
    if not next_path or not next_path.startswith("/") or next_path.startswith("//") or "\\" in next_path:
        return "/"
    return next_path[:500]


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _set_session_cookie(response: Response, ctx: WebContext, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE, token, httponly=True, samesite="strict", secure=ctx.settings.web.secure_cookies, path="/",
        max_age=int(ctx.settings.web.session_max_h * 3600),
    )


def _login_page(request: Request, ctx: WebContext, *, next_path: str, error: str = "", username: str = "",
                status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    login_csrf = secrets.token_urlsafe(32)
    response = page(request, "login.html", None, title="Log in", login_csrf=login_csrf, next_path=next_path,
                    error=error, username=username, status_code=status_code, headers=headers)
    response.set_cookie(LOGIN_COOKIE, login_csrf, httponly=True, samesite="strict",
                        secure=ctx.settings.web.secure_cookies, path="/login", max_age=3600)
    return response


@router.get("/login", include_in_schema=False)
def login_form(request: Request, _: Annotated[None, Depends(PUBLIC)],
               ctx: Annotated[WebContext, Depends(web_context)], next: str = "/") -> Response:
    """The login page."""
    return _login_page(request, ctx, next_path=_safe_next(next))


def _try_login(ctx: WebContext, username: str, password: str, client: str) -> tuple[str, Session]:
    with ctx.pool.connection() as db:
        return accounts.login(db, ctx.settings.web, username, password, client=client, now=ctx.now())


@router.post("/login", include_in_schema=False)
async def login_submit(
    request: Request, _: Annotated[None, Depends(PUBLIC)], ctx: Annotated[WebContext, Depends(web_context)],
    username: Annotated[str, Form(max_length=200)], password: Annotated[str, Form(max_length=1024)],
    csrf: Annotated[str, Form(max_length=200)], next: Annotated[str, Form(max_length=500)] = "/",
) -> Response:
    """Check the login form; to `next` with a session cookie, or back to the form saying why not."""
    next_path = _safe_next(next)
    if not same_token(request.cookies.get(LOGIN_COOKIE), csrf):
        return _login_page(request, ctx, next_path=next_path, username=username, status_code=403,
                           error="The login form expired: please try again.")
    try:
        token, _session = await run_in_threadpool(_try_login, ctx, username, password, _client(request))
    except LoginRefused as exc:
        retry = {"Retry-After": str(math.ceil(exc.retry_after_s))} if exc.retry_after_s else None
        return _login_page(request, ctx, next_path=next_path, username=username, error=str(exc).capitalize() + ".",
                           status_code=429 if retry else 401, headers=retry)
    response = RedirectResponse(next_path, status_code=303)
    _set_session_cookie(response, ctx, token)
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return response


@router.post("/logout", include_in_schema=False)
def logout_submit(session: Annotated[Session, Depends(VIEWER)],
                  ctx: Annotated[WebContext, Depends(web_context)]) -> Response:
    """End the session; back to the login page."""
    with ctx.pool.connection() as db:
        accounts.logout(db, session)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


class Credentials(BaseModel):
    """A script's login."""

    username: str = Field(max_length=200)
    password: str = Field(max_length=1024)


class SessionInfo(BaseModel):
    """Who is logged in, and the token every unsafe call sends in X-CSRF-Token."""

    user: str
    role: str
    csrf: str


@router.post("/api/v1/session", response_model=SessionInfo, status_code=201,
             responses={401: {"description": "wrong user name or password"}, 429: {"description": "too many"}})
async def api_login(request: Request, credentials: Credentials, _: Annotated[None, Depends(PUBLIC)],
                    ctx: Annotated[WebContext, Depends(web_context)]) -> Response:
    """Log in (JSON only: a cross-site form cannot send it); the session cookie and the CSRF token."""
    if not request.headers.get("content-type", "").startswith("application/json"):
        raise HTTPException(status_code=415, detail="send the credentials as application/json")
    try:
        token, session = await run_in_threadpool(
            _try_login, ctx, credentials.username, credentials.password, _client(request)
        )
    except LoginRefused as exc:
        headers = {"Retry-After": str(math.ceil(exc.retry_after_s))} if exc.retry_after_s else None
        raise HTTPException(status_code=429 if headers else 401, detail=str(exc), headers=headers) from None
    response = JSONResponse(SessionInfo(user=session.user, role=session.role, csrf=session.csrf).model_dump(),
                            status_code=201)
    _set_session_cookie(response, ctx, token)
    return response


@router.get("/api/v1/session", response_model=SessionInfo)
def api_whoami(session: Annotated[Session, Depends(VIEWER)]) -> SessionInfo:
    """The logged-in user, role and CSRF token."""
    return SessionInfo(user=session.user, role=session.role, csrf=session.csrf)


@router.delete("/api/v1/session", status_code=204)
def api_logout(session: Annotated[Session, Depends(VIEWER)], ctx: Annotated[WebContext, Depends(web_context)]) -> Response:
    """Log out."""
    with ctx.pool.connection() as db:
        accounts.logout(db, session)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
