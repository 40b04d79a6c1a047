"""Whatever a user types into a URL, a query or a JSON body, every route answers without a server error."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from fastapi.routing import APIRoute
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from web_helpers import NOW, login, web_app

from fleet.registry.devices import add_device
from fleet.store import open_store
from fleet.web.app import route_table

#: What people and scripts really send: ids, dates, numbers, empty, very long, control and non-ASCII text.
TEXT = st.one_of(
    st.sampled_from(["box-a", "", "0", "-1", "1e309", "nan", "2026-02-30", "2026-03-29T02:30", "../../etc/passwd",
                     "' OR 1=1 --", "%00", "\u202e", "🙂", "a" * 5000, "null", "true", "[]", "{}"]),
    st.text(max_size=40),
)
JSON = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), TEXT),
                    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(TEXT, inner, max_size=3)),
                    max_leaves=6)


def _body_fields(route: APIRoute) -> list[str]:
    fields: list[str] = []
    for param in route.dependant.body_params:
        annotation = param.field_info.annotation
        model_fields = getattr(annotation, "model_fields", None)
        fields.extend(model_fields or [param.name])
    return fields


def _query_names(route: APIRoute) -> list[str]:
    return [q.alias for q in route.dependant.query_params] + [
        q.alias for d in route.dependant.dependencies for q in d.query_params]


def test_web_every_route_survives_arbitrary_input(store_url: str) -> None:
    store = open_store(store_url)
    try:
        add_device(store.db, "box-a", "Mairie", now=NOW, latitude=45.19, longitude=5.72)
    finally:
        store.close()
    with web_app(store_url) as app:
        browser, csrf = login(app, store_url, "maire", "admin")
        routes = [r for r in route_table(app.routes) if isinstance(r, APIRoute)
                  and r.path not in ("/logout", "/api/v1/session")]

        for route in routes:
            _fuzz_route(browser, csrf, route)


def _fuzz_route(browser: Any, csrf: str, route: APIRoute) -> None:
    @settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
              database=None)
    @given(data=st.data())
    def fuzz(data: Any) -> None:
        method = data.draw(st.sampled_from(sorted(route.methods - {"HEAD"})))
        path = re.sub(r"\{(\w+)(:[^}]*)?\}", lambda _m: quote(data.draw(TEXT), safe="") or "x", route.path)
        params = {name: data.draw(TEXT) for name in _query_names(route) if data.draw(st.booleans())}
        body = {name: data.draw(JSON) for name in _body_fields(route)} if data.draw(st.booleans()) else \
            data.draw(JSON)
        headers = {"X-CSRF-Token": csrf}
        if method in ("POST", "PUT", "PATCH") and data.draw(st.booleans()):
            answer = browser.request(method, path, params=params, headers=headers, json=body)
        else:
            form = {"csrf": csrf, **{k: str(v) for k, v in params.items()}} if method != "GET" else None
            answer = browser.request(method, path, params=params, headers=headers, data=form)
        assert answer.status_code < 500, f"{method} {path} {params} {body!r:.200}: {answer.text[:300]}"
        assert "Traceback" not in answer.text

    fuzz()
