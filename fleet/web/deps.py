"""What a request handler is given: a pooled store connection and the web context (settings, clock)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from fastapi import Request

from fleet.settings import FleetSettings
from fleet.store.db import Database
from fleet.web.cache import TimedCache
from fleet.web.pool import StorePool

#: How long a commune's public view is reused (its figures stop at yesterday; tonight's schedule is the config's).
PUBLIC_VIEW_TTL_S = 300.0


@dataclass(frozen=True, slots=True)
class WebContext:
    """The dashboard's settings, clock and store connections, built once by create_app."""

    settings: FleetSettings
    now: Callable[[], float]
    pool: StorePool
    #: The bearer token Prometheus may send to /metrics (None: none configured).
    metrics_token: str | None = None
    #: The inhabitants' pages' views, each commune's computed once per 5 minutes of the clock.
    public_views: TimedCache = field(default_factory=lambda: TimedCache(PUBLIC_VIEW_TTL_S))


def web_context(request: Request) -> WebContext:
    """The app's WebContext."""
    ctx: WebContext = request.app.state.web
    return ctx


def get_db(request: Request) -> Iterator[Database]:
    """A store connection for this request, given back after it."""
    with web_context(request).pool.connection() as db:
        yield db
