"""Role guards: every route depends on exactly one (VIEWER, TECHNICIAN, ADMIN, METRICS or PUBLIC).

A guard finds the session from its cookie, refuses a missing login (API: 401; page: redirect to /login) or a
role that may not (403), and checks the CSRF token of every unsafe request (form field `csrf` or header
`X-CSRF-Token`) and its Origin, so handlers never do.
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from fastapi import HTTPException, Request
from starlette.concurrency import run_in_threadpool

from fleet.web.accounts import Session, role_allows, same_token, session_for
from fleet.web.deps import WebContext, web_context

SESSION_COOKIE = "hameau_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class NotLoggedIn(Exception):
    """No live session: the API answers 401, a page sends the browser to the login page."""

    def __init__(self, next_path: str) -> None:
        super().__init__("log in first")
        self.next_path = next_path


def login_url(next_path: str) -> str:
    """The login page, coming back to `next_path` after."""
    return f"/login?next={quote(next_path, safe='/')}"


def check_origin(request: Request) -> None:
    """Refuse an unsafe request whose Origin (or Referer) is another site."""
    origin = request.headers.get("origin") or request.headers.get("referer")
    if origin is None:
        return
    if urlsplit(origin).netloc != request.headers.get("host", ""):
        raise HTTPException(status_code=403, detail="cross-site request refused")


async def _csrf_token(request: Request) -> str | None:
    header = request.headers.get("x-csrf-token")
    if header is not None:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        value = (await request.form()).get("csrf")
        return value if isinstance(value, str) else None
    return None


class Guard:
    """A route's access rule: the least role that may call it (None: anyone, for the login page)."""

    def __init__(self, role: str | None, *, bearer: bool = False) -> None:
        self.role = role
        #: Whether the metrics bearer token is accepted instead of a session.
        self.bearer = bearer

    def __repr__(self) -> str:
        return f"Guard({self.role!r})"

    async def __call__(self, request: Request) -> Session | None:
        unsafe = request.method not in SAFE_METHODS
        if unsafe:
            check_origin(request)
        if self.role is None:
            return None
        ctx = web_context(request)
        if self.bearer and ctx.metrics_token is not None:
            auth = request.headers.get("authorization", "")
            if auth.startswith("Bearer ") and same_token(auth[7:], ctx.metrics_token):
                return None
        token = request.cookies.get(SESSION_COOKIE, "")
        session = await run_in_threadpool(_lookup, ctx, token) if token else None
        if session is None:
            path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            raise NotLoggedIn(path)
        if not role_allows(session.role, self.role):
            raise HTTPException(status_code=403, detail=f"a {session.role} may not do this: {self.role} or above")
        if unsafe and not same_token(await _csrf_token(request), session.csrf):
            raise HTTPException(status_code=403, detail="CSRF token missing or wrong: reload the page")
        return session


def _lookup(ctx: WebContext, token: str) -> Session | None:
    with ctx.pool.connection() as db:
        return session_for(db, ctx.settings.web, token, now=ctx.now())


PUBLIC = Guard(None)
VIEWER = Guard("viewer")
TECHNICIAN = Guard("technician")
ADMIN = Guard("admin")
#: /metrics: a viewer's session, or the bearer token of `[web] metrics_token_file`.
METRICS = Guard("viewer", bearer=True)
