"""``vru serve``: the web service (practitioner and ethics-panel pages, JSON API) under uvicorn.

One process, one worker: the login rate limits and the list of ended sessions live in the
process (see docs/serving.md). Put a TLS-terminating proxy in front and set
``VRU_SECURE_COOKIES=true`` anywhere but a laptop.
"""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn
from sqlalchemy.exc import SQLAlchemyError

from vru_risk.cli.common import UserError, console, state
from vru_risk.models.programmes import ProgrammeConfigError
from vru_risk.serving.app import ServingConfigError, create_app
from vru_risk.serving.db import open_database


def serve(
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on (loopback by default)")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port")] = 8000,
) -> None:
    """Run the web service: pages and JSON API, until Ctrl-C."""
    settings = state.get_settings()
    try:
        app = create_app(settings)
    except (ServingConfigError, ProgrammeConfigError) as exc:
        raise UserError(str(exc)) from None
    try:  # open (and migrate) the database now, so a bad URL is a message, not a traceback
        open_database(settings.app_database_url).dispose()
    except (SQLAlchemyError, ValueError) as exc:
        raise UserError(
            f"the application database cannot be opened ({type(exc).__name__}: "
            f"{str(exc)[:300]}); check VRU_DATABASE_URL"
        ) from None
    console.print(
        f"vru-risk serving on http://{host}:{port}/ (sign in at /login; API under /api/v1; "
        "health at /health). Scores are decision support, never a decision. Ctrl-C stops it."
    )
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="info",
        proxy_headers=True,
        forwarded_allow_ips="127.0.0.1",
        server_header=False,
    )
