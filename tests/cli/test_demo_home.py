"""``vru demo`` writes only into an empty VRU_HOME or one it made, and every account it adds is
in the audit log (security re-review F9: run with a production environment, it added an
administrator and a practitioner per programme with the README's password, unaudited)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.conftest import RunVru
from vru_risk.cli.common import state
from vru_risk.cli.demo import DEMO_PASSWORD, demo_service_settings, ensure_demo_users
from vru_risk.cli.demo_home import DEMO_HOME_MARKER, claim_demo_home
from vru_risk.store import make_engine, session_factory
from vru_risk.store.models import AuditRow, User
from vru_risk.store.users import authenticate

PROD_KEY = "prod-audit-key-0123456789abcdef"
PROD_PASSWORD = "Prod-Passw0rd-long-enough!"


def database(home: Path) -> tuple[list[str], list[str]]:
    """(usernames, audit rows' routes) of the home's SQLite database."""
    engine = make_engine(f"sqlite:///{home / 'app.db'}")
    try:
        with session_factory(engine)() as s:
            users = sorted(s.scalars(select(User.username)))
            routes = list(s.scalars(select(AuditRow.route).order_by(AuditRow.seq)))
    finally:
        engine.dispose()
    return users, routes


@pytest.fixture
def production(vru: RunVru, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A "production" home: its own keys, one real administrator (audit row 1)."""
    home = tmp_path / "vru-home"
    monkeypatch.setenv("VRU_AUDIT_KEY", PROD_KEY)
    monkeypatch.setenv("VRU_SESSION_SECRET", "prod-session-secret-0123456789abcdef")
    monkeypatch.setattr("sys.stdin", io.StringIO(PROD_PASSWORD + "\n"))
    added = vru("users", "add", "prod-admin", "--role", "admin", "--password-stdin")
    assert added.code == 0, added.output
    return home


def test_the_demo_refuses_a_home_it_did_not_make(
    vru: RunVru, production: Path, tmp_path: Path
) -> None:
    before = database(production)
    refused = vru("demo", "--no-serve", "--people", "2000", "--dir", tmp_path / "demo")
    assert refused.code == 2, refused.output
    message = " ".join(refused.stderr.split())
    assert "writes only into an empty VRU_HOME or one it made" in message
    assert "nothing was written" in message and "VRU_HOME=/tmp/vru-demo vru demo" in message
    assert database(production) == before == (["prod-admin"], [before[1][0]])
    assert not (tmp_path / "demo").exists() and not (production / DEMO_HOME_MARKER).exists()


def test_a_demo_home_put_to_real_use_is_refused(
    vru: RunVru, production: Path, tmp_path: Path
) -> None:
    (production / DEMO_HOME_MARKER).write_text("made by `vru demo`\n")  # a marker copied in
    refused = vru("demo", "--no-serve", "--dir", tmp_path / "demo")
    assert refused.code == 2, refused.output
    assert "has been put to real use since (1 user(s) the demo did not add)" in " ".join(
        refused.stderr.split()
    )
    assert not (tmp_path / "demo").exists()


@pytest.mark.parametrize(
    "variable", ["VRU_DATABASE_URL", "VRU_MLFLOW_TRACKING_URI", "VRU_MLFLOW_ARTIFACT_ROOT"]
)
def test_the_demo_refuses_stores_outside_its_home(
    vru: RunVru, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.setenv(variable, "postgresql+psycopg://vru@db.example/vru")
    refused = vru("demo", "--no-serve", "--dir", tmp_path / "demo")
    assert refused.code == 2, refused.output
    assert f"{variable} is set (a real service's stores?)" in " ".join(refused.stderr.split())
    assert not (tmp_path / "vru-home").exists() and not (tmp_path / "demo").exists()


def test_demo_accounts_are_added_through_the_audited_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "vru-home"
    state.settings = None
    claim_demo_home(state.get_settings())
    demo_service_settings()
    users = ensure_demo_users()
    names, routes = database(home)
    assert sorted(name for name, _, _ in users) == names
    assert all(name.startswith("demo-") for name in names)
    assert len(routes) == len(names)
    for name, route in zip(sorted(names), sorted(routes), strict=True):
        assert route.startswith(f"vru users add: added {name} (")
        assert route.endswith("for `vru demo` (demo password)")
    assert DEMO_PASSWORD not in "".join(routes)
    ensure_demo_users()  # all there: nothing added, nothing recorded
    assert database(home) == (names, routes)
    claim_demo_home(state.get_settings())  # the demo's own home: used again
    engine = make_engine(f"sqlite:///{home / 'app.db'}")
    try:
        with session_factory(engine, write=True)() as s:
            assert authenticate(s, "demo-admin", DEMO_PASSWORD) is not None
    finally:
        engine.dispose()
