"""The app's routes and their parameters, derived from its route table (never listed by hand),
each parameter classified: an *identifier* of an individual (a flag, a person, a day of a
moment, a decision) or an ordinary input with a value a probe can send. A parameter of a new
route that is neither fails the tests that use this module, so that whoever adds it decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Literal
from urllib.parse import quote, urlencode

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import iter_route_contexts
from pydantic import BaseModel
from starlette.routing import Mount

from tests.serving.app.conftest import Browser, Served

Where = Literal["path", "query", "header", "cookie", "json", "form"]
Identifier = Literal["flag", "person", "day", "decision"]

#: Parameters that name an individual, by what they name.
IDENTIFIERS: Final[dict[str, Identifier]] = {
    "flag_id": "flag",
    "person_id": "person",
    "as_of": "day",
    "corrects": "decision",
    "recorded": "decision",
}
#: Every other parameter: the value a probe sends (None: leave it out). ``programme`` is set
#: by the probes themselves (the programme the practitioner acts for).
ORDINARY: Final[dict[str, Any]] = {
    "programme": None,
    "decision": "no_action",
    "reason_code": "other",
    "text": "probe",
    "referred_to": None,
    "Idempotency-Key": None,
    "idempotency_key": None,
    "csrf_token": None,  # pages: the session's own
    "next": None,
    "entry": None,  # a review-log entry number (the panel's pages)
    "version": 999,  # a model version (none such: a probe changes no review), not a person
    "run": "2026-06-30",  # a monitoring run, named by its as-of date (not a moment's day)
    "candidate": None,  # the version compared with the champion (default: the candidate alias)
    "action": "approve",
    "reason": "probe",
    "username": "pat",
    "password": "a long enough password",
}


@dataclass(frozen=True)
class Param:
    name: str
    where: Where
    required: bool


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    params: tuple[Param, ...]

    @property
    def kind(self) -> Literal["api", "page"]:
        api = self.path.startswith("/api/") or self.path == "/openapi.json"
        return "api" if api else "page"

    def identifiers(self) -> dict[str, Identifier]:
        return {p.name: IDENTIFIERS[p.name] for p in self.params if p.name in IDENTIFIERS}

    def names(self) -> set[str]:
        return {p.name for p in self.params}


def _walk(dependant: Dependant, out: list[Param]) -> None:
    kinds: tuple[tuple[str, Where], ...] = (
        ("path_params", "path"),
        ("query_params", "query"),
        ("header_params", "header"),
        ("cookie_params", "cookie"),
    )
    for attribute, where in kinds:
        for field in getattr(dependant, attribute):
            out.append(Param(str(field.alias), where, bool(field.field_info.is_required())))
    for field in dependant.body_params:
        annotation = field.field_info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            for name, inner in annotation.model_fields.items():
                out.append(Param(inner.alias or name, "json", inner.is_required()))
        else:
            out.append(Param(str(field.alias), "form", bool(field.field_info.is_required())))
    for sub in dependant.dependencies:
        _walk(sub, out)


def app_routes(app: FastAPI) -> list[Route]:
    """Every route of the app but the static files, with the parameters of the route and of
    its dependencies."""
    found = []
    for ctx in iter_route_contexts(app.routes):
        if isinstance(ctx.original_route, Mount):
            continue
        params: list[Param] = []
        _walk(ctx.dependant, params)
        for method in sorted(ctx.methods or ()):
            if method != "HEAD":
                found.append(Route(method, str(ctx.path), tuple(dict.fromkeys(params))))
    return found


def unclassified(routes: list[Route]) -> list[str]:
    return [
        f"{r.method} {r.path}: {p.name} ({p.where})"
        for r in routes
        for p in r.params
        if p.name not in IDENTIFIERS and p.name not in ORDINARY
    ]


@dataclass(frozen=True)
class Request:
    """What to send for a route: its URL (path filled in, query appended), JSON or form."""

    method: str
    url: str
    json: dict[str, Any] | None
    form: dict[str, str] | None


def build(route: Route, values: dict[str, Any]) -> Request:
    """A request for ``route`` with ``values`` for its identifiers and ``programme`` (a value
    of None leaves a parameter out) and :data:`ORDINARY` values for the rest."""
    path = route.path
    query: dict[str, str] = {}
    json: dict[str, Any] = {}
    form: dict[str, str] = {}
    for p in route.params:
        if p.name == "csrf_token" or p.where in ("header", "cookie"):
            continue  # the session's token and the bearer token are the caller's own
        value = values[p.name] if p.name in values else ORDINARY.get(p.name)
        if value is None:
            assert not p.required, f"{route.method} {route.path}: no value for {p.name}"
            continue
        text = value.isoformat() if hasattr(value, "isoformat") else str(value)
        if p.where == "path":
            path = path.replace("{" + p.name + "}", quote(text, safe=""))
        elif p.where == "query":
            query[p.name] = text
        elif p.where == "json":
            json[p.name] = value if isinstance(value, int | str) else text
        else:
            form[p.name] = text
    url = path + ("?" + urlencode(query) if query else "")
    has_json = any(p.where == "json" for p in route.params)
    has_form = any(p.where == "form" for p in route.params)
    return Request(route.method, url, json if has_json else None, form if has_form else None)


def send(served: Served, who: str | None, request: Request, browser: Browser | None) -> Any:
    """Send ``request`` as ``who``: API routes with their token, pages through ``browser``
    (signed in as ``who``; a POST carries the session's CSRF token)."""
    if request.url.startswith("/api/") or request.url == "/openapi.json":
        client = served.api(who)
        if request.method == "GET":
            return client.get(request.url)
        return client.request(request.method, request.url, json=request.json)
    page = browser if browser is not None else Browser(served.api(None))
    if request.method == "GET":
        return page.get(request.url)
    if not page.csrf:
        page.get("/docs")  # any page carries the session's token
    return page.post(request.url, request.form)
