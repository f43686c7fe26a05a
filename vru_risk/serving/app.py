"""The FastAPI application: JSON API ``/api/v1`` and server-rendered pages.

:func:`create_app` takes the one :class:`~vru_risk.settings.Settings` object; its ``lifespan``
opens the application database (running migrations), the audit log (keyed by
``VRU_AUDIT_KEY``) and the champion model through the registry, which refuses a champion
without a matching review record or one that was suspended. Without a usable champion the app
starts in a degraded mode: ``/health`` says why and how to fix it, scoring answers 503 with that
message, and flag lists (already scored by the daily job) still work. Without an audit key, or
with one that is not the audit log's, or when the anchor outside the data folder is missing or
contradicts the database, it refuses every route that shows an individual (503) and
``/health`` says why.

Every request passes, outermost first, :class:`~vru_risk.serving.middleware.SecurityHeaders`
(on every response, the 500 of an unhandled exception included) and
:class:`~vru_risk.serving.middleware.RequestGuard` (a body-size limit, and authentication of a
request that may carry a body before the body is read).

Example
-------
>>> import tempfile
>>> from fastapi.routing import iter_route_contexts
>>> app = create_app(Settings(home=tempfile.mkdtemp(), session_secret="x" * 32))
>>> paths = {str(r.path) for r in iter_route_contexts(app.routes)}
>>> sorted(p for p in paths if p.startswith("/api/v1/"))[:3]
['/api/v1/aggregates', '/api/v1/flags', '/api/v1/flags/{flag_id}']
"""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Final

import anyio
import anyio.to_thread
import jinja2
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp

from vru_risk.flags.flag import ADVISORY_NOTICE
from vru_risk.flags.programmes import load_programmes
from vru_risk.models.review_log import ReviewLog
from vru_risk.private_home import PRIVATE_UMASK, tighten_home
from vru_risk.pydantic_errors import error_line
from vru_risk.serving.access_log.log import AuditLog, AuditLogError, open_audit_log
from vru_risk.serving.auth import SessionCodec, SignedOut
from vru_risk.serving.deps import AppState, LoginRequiredError, mirror_review_log
from vru_risk.serving.login_limits import LoginLimits, LoginRateLimiter
from vru_risk.serving.middleware import RequestGuard, SecurityHeaders, api_path
from vru_risk.serving.model_service import ModelService, ScoringUnavailableError
from vru_risk.serving.moment_store import MomentStore
from vru_risk.serving.rate_limit import IdentifierRateLimiter
from vru_risk.serving.routes import (
    aggregates,
    api_docs,
    document_pages,
    evaluation_pages,
    flag_pages,
    flags,
    health,
    model,
    model_pages,
    monitoring_pages,
    score,
    session,
    users,
)
from vru_risk.serving.routes.common import render_error
from vru_risk.settings import Settings
from vru_risk.store import Checkpointer, make_engine, open_database, session_factory

log = logging.getLogger("vru_risk.serving")

PAGES: Final = Path(__file__).with_name("pages")
API_DESCRIPTION: Final = f"""
Advisory flags for a Violence Reduction Unit: offers of support at teachable moments.

**{ADVISORY_NOTICE}**

Units and scales: `probability` is the calibrated probability (0-1) of the recorded outcome within
a year; `percentile` (0-100) and `band` place it in the model's reference distribution, fixed
when the model was trained (not against whoever else triggered that day). Reasons explain the
booster's *raw* score before calibration, in log-odds: base value + reasons + other factors =
raw score. Scores are advisory and are never to be used for enforcement. There is no bulk
export of individual scores; every view of an individual is written to a keyed, hash-chained
audit log.

Authentication: an API token as `Authorization: Bearer TOKEN` (`vru users token USERNAME`).
Practitioners see only their programmes' flags, redacted to the sources each programme's
data-sharing agreement covers, and can score only the moment of a flag shown to their programme;
ethics-panel members and data scientists see models and aggregates, never an individual.
Requests naming an individual (a flag, its decisions, a person to score) are limited per user
(429 with `Retry-After`).
"""


class ServingConfigError(ValueError):
    """Settings the server cannot start with; the message says what to set."""


class _App(FastAPI):
    """FastAPI whose whole middleware stack, error handling included, is wrapped in
    :class:`SecurityHeaders` (``app.add_middleware`` would put it inside Starlette's
    ServerErrorMiddleware, whose 500s would then go out without the headers)."""

    hsts = False

    def build_middleware_stack(self) -> ASGIApp:
        return SecurityHeaders(super().build_middleware_stack(), hsts=self.hsts)


def templates() -> Jinja2Templates:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(PAGES / "templates"),
        autoescape=True,  # templates are named *.html.j2: select_autoescape would miss them
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["words"] = words
    env.filters["commands"] = commands
    return Jinja2Templates(env=env)


def words(code: str) -> str:
    """An exclusion's kind and reason codes as words on a page: ``suspension:
    physical_assault`` -> ``suspension: physical assault``.

    >>> words("suspension: physical_assault")
    'suspension: physical assault'
    """
    return code.replace("_", " ")


def commands(text: str) -> Markup:
    """Text with its `backticked` commands set as code (everything escaped first).

    >>> str(commands("run `vru monitor --version 1` <now>"))
    'run <code>vru monitor --version 1</code> &lt;now&gt;'
    """
    parts = str(escape(text)).split("`")
    if len(parts) % 2 == 0:  # an unpaired backtick: leave the text as it is
        return Markup("`".join(parts))
    return Markup("".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts)))


def _is_api(request: Request) -> bool:
    return api_path(request.url.path)


def freeze_startup_heap() -> None:
    """Collect once, then freeze what survives: what startup loaded lives until shutdown, and
    the collector need not re-scan it while requests are served (the lifespan unfreezes it at
    shutdown). The collection walks the whole heap: a tenth of a second in a server process, a
    few tenths in one that holds much else (a test process: the tests replace this function)."""
    gc.collect()
    gc.freeze()


def create_app(settings: Settings) -> FastAPI:
    """The application for ``settings`` (checked now; database and model opened at startup)."""
    if settings.session_secret is None:
        raise ServingConfigError(
            "VRU_SESSION_SECRET is not set: the server signs session cookies with it. Set it to "
            "a long random value (`python -c 'import secrets; print(secrets.token_urlsafe(32))'`)"
            " and keep it secret; changing it signs everyone out"
        )
    programmes = load_programmes(settings.programmes_path)
    secret = settings.session_secret.get_secret_value()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # the plain-def routes and dependencies run in anyio's worker threads: this many at once
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.request_threads
        engine = open_database(settings.app_database_url, background_checkpoint=True)
        checkpointer = Checkpointer(engine)
        review_log = ReviewLog(settings.review_log_path)
        models = ModelService(settings.tracking_uri, review_log)
        models.load()
        mirror_review_log(session_factory(engine, write=True), review_log)
        audit, problem = open_checked_audit_log(settings)
        limiter = LoginRateLimiter(
            session_factory(engine),
            session_factory(engine, write=True),
            LoginLimits(
                free_failures=settings.login_free_failures,
                max_delay_seconds=settings.login_max_delay_seconds,
                client_failures_per_hour=settings.login_client_failures_per_hour,
            ),
            key=secret.encode(),
        )
        identifiers = IdentifierRateLimiter(
            session_factory(engine, write=True),
            per_minute=settings.identifier_requests_per_minute,
            per_hour=settings.identifier_requests_per_hour,
            key=secret.encode(),
        )
        signed_out = SignedOut(session_factory(engine, write=True))
        with session_factory(engine, write=True).begin() as db:  # what has aged out meanwhile
            limiter.prune(db)
            identifiers.prune(db)
            signed_out.prune(db)
        app.state.vru = AppState(
            settings=settings,
            engine=engine,
            sessions=session_factory(engine),
            write_sessions=session_factory(engine, write=True),
            programmes=programmes,
            models=models,
            registry_uri=settings.tracking_uri,
            review_log=review_log,
            audit=audit,
            audit_problem=problem,
            codec=SessionCodec(secret, max_age_seconds=settings.session_hours * 3600),
            limiter=limiter,
            identifiers=identifiers,
            signed_out=signed_out,
            templates=templates(),
            moments=MomentStore(settings.flags_dir),
            model_loads=anyio.CapacityLimiter(1),
        )
        in_service = models.status()
        if not isinstance(in_service, ScoringUnavailableError):
            app.state.vru.moments.preload(in_service.model)
        freeze_startup_heap()
        try:
            yield
        finally:
            gc.unfreeze()
            try:
                if audit is not None:
                    try:
                        audit.close()  # the newest head written before the process ends
                    except AuditLogError as exc:
                        log.error("at shutdown: %s", exc)
                    finally:
                        audit.engine.dispose()
            finally:
                try:
                    checkpointer.stop()
                finally:
                    engine.dispose()

    app = _App(
        title="vru-risk",
        summary="Advisory, explained offers of support for a Violence Reduction Unit",
        description=API_DESCRIPTION,
        version="1",
        lifespan=lifespan,
        openapi_url=None,  # served behind authentication by routes.api_docs
        docs_url=None,
        redoc_url=None,
    )
    app.hsts = settings.secure_cookies
    app.add_middleware(RequestGuard, max_body_bytes=settings.max_body_bytes)
    app.mount("/static", StaticFiles(directory=PAGES / "static"), name="static")
    for module in (health, session, flags, score, model, aggregates, users):
        app.include_router(module.router)
    app.include_router(flag_pages.router)
    app.include_router(model_pages.router)
    app.include_router(monitoring_pages.router)
    app.include_router(evaluation_pages.router)
    app.include_router(document_pages.router)
    app.include_router(api_docs.router)
    if settings.docs_enabled:
        app.include_router(api_docs.pages)

    @app.exception_handler(LoginRequiredError)
    async def _login(request: Request, _exc: LoginRequiredError) -> Response:
        target = request.url.path
        if request.url.query:
            target += "?" + request.url.query
        if request.method != "GET":
            target = "/"
        return RedirectResponse(f"/login?next={_quote(target)}", status_code=303)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        detail = str(exc.detail)
        if exc.status_code == 400 and detail == "There was an error parsing the body":
            detail = (
                "the request body cannot be read: send a JSON object with the header "
                "Content-Type: application/json (see /docs)"
            )
        if _is_api(request):
            extra = getattr(exc, "extra_body", None) or {}  # e.g. a withdrawn flag's when, why
            return JSONResponse(
                {"detail": detail, **extra}, status_code=exc.status_code, headers=exc.headers
            )
        return render_error(request, exc.status_code, detail, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        problems = [
            {
                "loc": [p if isinstance(p, int) else str(p) for p in e.get("loc", ())],
                "msg": str(e.get("msg", "")),
                "type": str(e.get("type", "")),
            }
            for e in exc.errors()
        ]
        listed = "; ".join(error_line(p) for p in problems)
        detail = f"the request is not valid: {listed}. Correct these and send it again"
        if _is_api(request):
            return JSONResponse({"detail": detail, "problems": problems}, status_code=422)
        return render_error(request, 422, detail)

    return app


def open_checked_audit_log(settings: Settings) -> tuple[AuditLog | None, str]:
    """The server's audit log, or None and why it is unavailable: no key, a key that is not
    the log's (e.g. with a trailing newline), an anchor that is missing or contradicts the
    database (:meth:`AuditLog.check_ready`). Without it, no individual is shown (503)."""
    if settings.audit_key is None:
        problem = (
            "VRU_AUDIT_KEY is not set: without the audit log's key the server refuses to show "
            "any individual's data. Set VRU_AUDIT_KEY (kept outside the database) and restart"
        )
        log.warning("audit log unavailable: %s", problem)
        return None, problem
    # the audit log gets its own engine (and pool): a request holds a connection of the
    # request pool until it answers, and must never wait on that same pool for its audit rows
    # (16 concurrent requests deadlocked until the pool timeout)
    audit_engine = make_engine(settings.app_database_url, background_checkpoint=True)
    audit = open_audit_log(settings, audit_engine, background_head=True)
    try:
        audit.check_ready()
    except AuditLogError as exc:
        audit.close()
        audit_engine.dispose()
        log.error("audit log unavailable: %s", exc)
        return None, str(exc)
    if settings.audit_anchor_path is None:
        log.warning(
            "VRU_AUDIT_ANCHOR_PATH is not set: the audit anchor is %s, beside VRU_HOME. It "
            "survives deleting VRU_HOME, not someone who controls this host: point it at a "
            "location the database host and VRU_HOME's owner cannot rewrite",
            settings.audit_anchor,
        )
    return audit, ""


def _quote(path: str) -> str:
    from urllib.parse import quote

    return quote(path, safe="/")


def app_from_environment() -> FastAPI:
    """The application for the settings in the environment: what each process of
    ``vru serve --workers N`` builds (uvicorn starts the workers by this name).

    Like the ``vru`` command, it makes what the process writes private to its account (umask
    077) and tightens a ``VRU_HOME`` readable by others (logged)."""
    import os

    from vru_risk.settings import load_settings

    os.umask(PRIVATE_UMASK)
    settings = load_settings()
    for change in tighten_home(settings.home):
        log.warning("VRU_HOME permissions tightened: %s", change)
    return create_app(settings)
