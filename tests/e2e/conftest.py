"""Browser tests: the real server (``vru serve`` in a subprocess on a free loopback port) and
Debian's Chromium driven by Playwright for Python (never ``playwright install``).

The server's VRU_HOME holds (``live``) a registered candidate model whose gates pass (not yet
approved), flags made by the daily job's own generator from materialised moments, and one user
per role; or (``panel_live``) a champion with three monthly monitoring runs, a candidate and
both model cards (``tests/serving/app/model_home.py``).
Screenshots go to ``VRU_HOME/screenshots/``; with ``VRU_E2E_SCREENSHOTS_OUT`` set (``make
screenshots``) they are copied there too.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx2
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.factories import risk_model, spec
from tests.flags.builders import moments_for
from tests.monitoring.reports import MonthReports
from tests.serving.app.conftest import (
    AUDIT_KEY,
    PASSWORD,
    SESSION_SECRET,
    USERS,
    make_settings,
    register_candidate,
)
from tests.serving.app.model_home import ModelHome, seed_model_home
from vru_risk.features.moments import save_moments
from vru_risk.flags.flag import Flag, ModelRef
from vru_risk.flags.generate import generate_flags
from vru_risk.flags.programmes import load_programmes
from vru_risk.models.risk_model import MODEL_NAME, RiskModel
from vru_risk.serving.access_log.log import open_audit_log
from vru_risk.settings import Settings
from vru_risk.store import open_database, session_factory
from vru_risk.store.flag_store import load_flags
from vru_risk.store.users import add_user

__all__ = ["risk_model", "spec"]  # fixtures of tests/models, used here too

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DAY = dt.date(2026, 3, 10)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def shot(page: Page, home: Path, name: str) -> Path:
    """A full-page screenshot under VRU_HOME/screenshots (and the docs, when asked)."""
    folder = home / "screenshots"
    folder.mkdir(exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    out = os.environ.get("VRU_E2E_SCREENSHOTS_OUT")
    if out:
        Path(out).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(out) / path.name)
    return path


@dataclass(frozen=True)
class Live:
    url: str
    home: Path
    candidate: int
    flags: list[Flag]

    def shot(self, page: Page, name: str) -> Path:
        return shot(page, self.home, name)


def daily_flags(model: RiskModel, home: Path, version: int) -> list[Flag]:
    """The daily job's flags for DAY: moments of several kinds, scored, matched, explained."""
    n = 60
    kinds = ["police_contact", "exclusion", "ae_visit"] * (n // 3)
    hospitals = ["Musgrove Park" if k == "ae_visit" else None for k in kinds]
    moments = moments_for(model, n=n, day=DAY, kinds=kinds, hospitals=hospitals)
    # the A&E feed was last refreshed 26 days before the service date: its pages warn
    refreshed = {**moments.refreshed, "ae_visits": DAY - dt.timedelta(days=26)}
    moments = dataclasses.replace(moments, refreshed=refreshed)
    save_moments(moments, home / "flags" / f"moments-{DAY.isoformat()}")
    ref = ModelRef(name=MODEL_NAME, version=version, content_hash=model.content_hash)
    return generate_flags(model, moments, load_programmes(), model_ref=ref).flags


def add_users(settings: Settings, flags: list[Flag]) -> None:
    """One user per role (and the flags) in the home's database, the audit log ready."""
    engine = open_database(settings.app_database_url)
    audit = open_audit_log(settings, engine)
    audit.check_ready()  # the log's key segment and anchor first, as `vru users add` records them
    audit.close()
    with session_factory(engine, write=True).begin() as s:
        for name, (role, programmes) in USERS.items():
            add_user(s, username=name, role=role, password=PASSWORD, programmes=programmes)
        load_flags(s, flags)
    engine.dispose()


@contextmanager
def running(home: Path) -> Iterator[str]:
    """``vru serve`` on ``home`` in a subprocess on a free loopback port: its URL."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: `make pytest` installs it (`apt-get install -y chromium`)"
        )
    port = free_port()
    env = {
        **os.environ,
        "VRU_HOME": str(home),
        "VRU_SESSION_SECRET": SESSION_SECRET,
        "VRU_AUDIT_KEY": AUDIT_KEY,
        "MLFLOW_DISABLE_TELEMETRY": "true",
    }
    log = (home / "server.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "vru_risk.cli", "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if server.poll() is not None:
                pytest.fail(f"the server stopped: {(home / 'server.log').read_text()[-2000:]}")
            try:
                if httpx2.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx2.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("the server did not answer /health within 60 s")
            time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


@pytest.fixture
def live(vru_home: Path, risk_model: RiskModel) -> Iterator[Live]:
    settings = make_settings(vru_home)
    registered = register_candidate(settings, risk_model)
    flags = daily_flags(risk_model, vru_home, registered.version)
    add_users(settings, flags)
    with running(vru_home) as url:
        yield Live(url=url, home=vru_home, candidate=registered.version, flags=flags)


@dataclass(frozen=True)
class PanelLive:
    """The server on a home with a champion monitored for three months (its latest run
    recommends suspension, and the panel has not decided since), a candidate, and both model
    cards (:func:`tests.serving.app.model_home.seed_model_home`)."""

    url: str
    home: Path
    models: ModelHome

    def shot(self, page: Page, name: str) -> Path:
        return shot(page, self.home, name)


@pytest.fixture
def panel_live(
    vru_home: Path, risk_model: RiskModel, month_reports: MonthReports
) -> Iterator[PanelLive]:
    settings = make_settings(vru_home)
    models = seed_model_home(settings, risk_model, month_reports.reference, month_reports.reports)
    add_users(settings, [])
    with running(vru_home) as url:
        yield PanelLive(url=url, home=vru_home, models=models)


@pytest.fixture
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
