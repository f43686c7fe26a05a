"""``vru serve``: the web service (practitioner and ethics-panel pages, JSON API) under uvicorn.

One process by default; ``--workers N`` runs N (uvicorn's supervisor restarts any that dies).
Everything the processes must agree on is in the application database (users, tokens, login
failures, ended sessions, flags, decisions, the audit log's numbering) or in files under
``VRU_HOME`` (the audit head, written under a file lock, only ever forwards). Put a
TLS-terminating proxy in front and set ``VRU_SECURE_COOKIES=true`` anywhere but a laptop: it
warns at start when cookies are not Secure on an address other than loopback.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Annotated

import typer

from vru_risk.cli.common import UserError, console, state

if TYPE_CHECKING:
    from fastapi import FastAPI


def serve(
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on (loopback by default)")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port")] = 8000,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            min=1,
            max=32,
            help="Server processes (each loads the model and the moments; one per core uses "
            "every core: one process runs Python on one core at a time)",
        ),
    ] = 1,
) -> None:
    """Run the web service: pages and JSON API, until Ctrl-C."""
    from sqlalchemy.exc import SQLAlchemyError

    from vru_risk.flags.programmes import ProgrammeConfigError
    from vru_risk.serving.app import ServingConfigError, create_app
    from vru_risk.store import connection_limit, missing_privileges, open_database

    settings = state.get_settings()
    try:
        app = create_app(settings)
    except (ServingConfigError, ProgrammeConfigError) as exc:
        raise UserError(str(exc)) from None
    try:  # open (and migrate) the database now, so a bad URL is a message, not a traceback
        engine = open_database(settings.app_database_url)
        try:
            missing = missing_privileges(engine)
            limit = connection_limit(engine)
        finally:
            engine.dispose()
    except (SQLAlchemyError, ValueError) as exc:
        raise UserError(
            f"the application database cannot be opened ({type(exc).__name__}: "
            f"{str(exc)[:300]}); check VRU_DATABASE_URL"
        ) from None
    if missing:
        raise UserError(
            "the database role of VRU_DATABASE_URL lacks "
            f"{', '.join(missing)}; after `vru db upgrade`, the tables' owner re-runs "
            "`vru db grant-app-role ROLE` (new tables come with new migrations)"
        )
    peak = workers * 3 * settings.request_threads
    if limit is not None and peak > limit:
        console.print(
            f"[yellow]warning:[/] {workers} worker process(es) x {settings.request_threads} "
            f"request threads may open up to {peak} database connections, more than the "
            f"{limit} PostgreSQL allows (max_connections); use fewer workers or "
            "VRU_REQUEST_THREADS, or raise max_connections"
        )
    if not settings.secure_cookies and not is_loopback(host):
        console.print(
            f"[yellow]warning:[/] serving on {host}, beyond this computer, with session "
            "cookies that are not Secure: a browser would send them over plain HTTP. Serve "
            "only behind a reverse proxy that terminates TLS, and set VRU_SECURE_COOKIES=true "
            "(docs/serving-admin.md, 'TLS')"
        )
    console.print(
        f"vru-risk serving on http://{host}:{port}/ with {workers} process(es) (sign in at "
        "/login; API under /api/v1; health at /health). Scores are decision support, never a "
        "decision. Ctrl-C stops it."
    )
    run(
        app,
        "vru_risk.serving.app:app_from_environment",
        host=host,
        port=port,
        workers=workers,
        forwarded_allow_ips=settings.forwarded_allow_ips,
    )


def is_loopback(host: str) -> bool:
    """Whether ``host`` is this computer only (``localhost``, 127.0.0.0/8, ``::1``).

    >>> is_loopback("127.0.0.1"), is_loopback("localhost"), is_loopback("0.0.0.0")
    (True, True, False)
    """
    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a host name: it may resolve to anything
        return False


def run(
    app: FastAPI, factory: str, *, host: str, port: int, workers: int, forwarded_allow_ips: str
) -> None:
    """Serve ``app`` with :func:`vru_risk.serving.server.run` (uvicorn, imported only now)."""
    from vru_risk.serving.server import run as serve_app

    serve_app(
        app,
        factory,
        host=host,
        port=port,
        workers=workers,
        forwarded_allow_ips=forwarded_allow_ips,
    )
