"""The serving app on a real application database with real users, tokens and flags.

Users are made with ``users.add_user`` and tokens with ``tokens.issue_token``; flags are valid
:class:`Flag` objects built here (with reasons, triggers and notes from every source, so that
redaction can be checked) and stored with ``flag_store.load_flags``. The app runs its real
lifespan (migrations, audit log, registry) inside ``with TestClient(app)``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.factories import risk_model, spec
from tests.flags.builders import moments_for
from tests.models.test_registry import register
from tests.store.conftest import empty_postgres, postgres_database
from vru_risk.features.moments import Moments, save_moments
from vru_risk.flags.flag import (
    CannotSee,
    Flag,
    ModelRef,
    NotKnown,
    ProgrammeOffer,
    Reason,
    SourceNote,
    Trigger,
    WhatIf,
    band_for,
)
from vru_risk.flags.flag import flag_id as make_flag_id
from vru_risk.flags.programmes import load_programmes
from vru_risk.models.promotion import review
from vru_risk.models.registry import Registry
from vru_risk.models.review_log import ReviewLog
from vru_risk.models.risk_model import RiskModel
from vru_risk.models.tags import CANDIDATE, FAIRNESS_TAG, TRAINED_BY_TAG
from vru_risk.serving.app import create_app
from vru_risk.serving.deps import AppState
from vru_risk.serving.tokens import issue_token
from vru_risk.settings import Settings
from vru_risk.store import users as users_module
from vru_risk.store.flag_store import load_flags
from vru_risk.store.models import AuditRow
from vru_risk.store.users import add_user

# fixtures of tests/models and tests/store, used here too
__all__ = ["postgres_database", "risk_model", "spec"]

SESSION_SECRET = "session-secret-for-the-tests-0123456789"
AUDIT_KEY = "audit-key-for-the-tests-0123456789"
PASSWORD = "a long enough password"
TODAY = dt.date(2026, 3, 2)
CONTENT_HASH = "c0ffee" * 8

#: username -> (role, programmes)
USERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "pat": ("practitioner", ("jump_start",)),
    "ed": ("practitioner", ("early_intervention",)),
    "amy": ("practitioner", ("admit_ae",)),
    "dana": ("data_scientist", ()),
    "eve": ("ethics_panel", ()),
    "ada": ("admin", ()),
}
ROLE_USER = {"practitioner": "pat", "data_scientist": "dana", "ethics_panel": "eve", "admin": "ada"}

#: Text that only a programme sharing the source may ever receive.
SOURCE_MARKERS = {
    "ae_visits": ("A&E visits for an assault", "Musgrove Park", "A&amp;E visits for an assault"),
    "police_contacts": ("police contacts as a suspect", "Robbery reported", "as a victim: none"),
}
SHARED = {p.id: set(p.shared_sources) for p in load_programmes().programmes}

_NAMES = {p.id: p.name for p in load_programmes().programmes}


def make_flag(
    person_id: str,
    as_of: dt.date,
    offers: tuple[tuple[str, int | None, str], ...],
    *,
    version: int = 3,
) -> Flag:
    """A valid flag with a reason, trigger, note and what-if from each source."""
    return Flag(
        flag_id=make_flag_id(person_id, as_of, CONTENT_HASH),
        person_id=person_id,
        as_of=as_of,
        age_years=14,
        triggers=(
            Trigger(kind="ae_visit", source="ae_visits", date=as_of, detail="Musgrove Park"),
            Trigger(
                kind="police_contact",
                source="police_contacts",
                date=as_of - dt.timedelta(days=1),
                detail="Robbery reported",
            ),
        ),
        probability=0.18,
        percentile=97.5,
        band=band_for(97.5),
        raw_score=-0.7,
        base_value=-2.5,
        reasons_for=(
            Reason(
                family="ae_assault",
                source="ae_visits",
                direction="raises",
                strength="strongly",
                text="2 A&E visits for an assault in the last year",
                contribution=0.9,
                features=("ae_assault_365d",),
            ),
            Reason(
                family="police_suspect",
                source="police_contacts",
                direction="raises",
                strength="moderately",
                text="3 police contacts as a suspect in the last year",
                contribution=0.4,
                features=("pol_suspect_365d",),
            ),
            Reason(
                family="suspensions",
                source="exclusions",
                direction="raises",
                strength="moderately",
                text="2 suspensions in the last year",
                contribution=0.3,
                features=("exc_susp_365d",),
            ),
        ),
        reasons_against=(
            Reason(
                family="attendance",
                source="attendance",
                direction="lowers",
                strength="slightly",
                text="attendance of 96% in the last term",
                contribution=-0.1,
                features=("att_rate_90d",),
            ),
        ),
        other_factors=0.3,
        cannot_see=CannotSee(
            sources_unavailable=(
                SourceNote(source="interventions", why="not shared with this VRU"),
            ),
            sources_refreshed={"attendance": as_of, "ae_visits": as_of},
            not_known=(
                NotKnown(
                    source="police_contacts",
                    family="police_victim",
                    text="police contacts as a victim: none on record",
                ),
            ),
        ),
        what_could_change=(
            WhatIf(
                family="police_suspect",
                source="police_contacts",
                inputs="pol_suspect_365d",
                probability=0.09,
                text="with police contacts as a suspect at the cohort median",
            ),
            WhatIf(
                family="attendance",
                source="attendance",
                inputs="att_rate_90d",
                probability=0.12,
                text="with attendance at the cohort median",
            ),
        ),
        programmes=tuple(
            ProgrammeOffer(
                programme=pid,
                name=_NAMES[pid],
                status=status,  # type: ignore[arg-type]
                rank=rank,
                capacity=20,
            )
            for pid, rank, status in offers
        ),
        scoring_model=ModelRef(name="vru-risk", version=version, content_hash=CONTENT_HASH),
        expires=as_of + dt.timedelta(days=200),
    )


#: A: offered to three programmes; B: the Early Intervention Team only; C: already supported
#: by Jump Start, offered to Admit A&E; D: older than the 90-day display period.
FLAGS = {
    "A": make_flag(
        "PA-0001",
        TODAY,
        (
            ("jump_start", 1, "offered"),
            ("admit_ae", 1, "offered"),
            ("early_intervention", 2, "offered"),
        ),
    ),
    "B": make_flag(
        "PB-0002", TODAY - dt.timedelta(days=3), (("early_intervention", 1, "offered"),)
    ),
    "C": make_flag(
        "PC-0003",
        TODAY - dt.timedelta(days=10),
        (("jump_start", None, "already_supported"), ("admit_ae", 2, "offered")),
    ),
    "D": make_flag("PD-0004", TODAY - dt.timedelta(days=120), (("jump_start", 1, "offered"),)),
}
#: What each practitioner's programme lists (flag keys).
LISTED = {"pat": ["A"], "ed": ["A", "B"], "amy": ["A", "C"]}

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "the page has no CSRF token"
    return found.group(1)


@dataclass
class Served:
    """The running app, its state, tokens and flags, and ways to act as each user."""

    app: FastAPI
    client: TestClient
    state: AppState
    tokens: dict[str, str]
    flags: dict[str, Flag] = field(default_factory=lambda: dict(FLAGS))

    def api(self, username: str | None) -> TestClient:
        """A client sending ``username``'s API token (None: anonymous)."""
        headers = {} if username is None else {"Authorization": f"Bearer {self.tokens[username]}"}
        return TestClient(self.app, headers=headers, follow_redirects=False)

    def browser(self, username: str | None, client: tuple[str, int] = ("testclient", 1)) -> Browser:
        """A cookie-carrying client signed in as ``username`` (None: anonymous)."""
        b = Browser(TestClient(self.app, follow_redirects=False, client=client))
        if username is not None:
            response = b.login(username, PASSWORD)
            assert response.status_code == 303, response.text
        return b

    def audit_rows(self) -> list[AuditRow]:
        with self.state.sessions() as s:
            rows = list(s.scalars(select(AuditRow).order_by(AuditRow.seq)))
            s.expunge_all()
        return rows


@dataclass
class Browser:
    client: TestClient
    csrf: str = ""

    def get(self, url: str, **kw: Any) -> Any:
        response = self.client.get(url, **kw)
        found = CSRF.search(response.text)
        if found:
            self.csrf = found.group(1)
        return response

    def post(self, url: str, data: dict[str, str] | None = None, *, csrf: str | None = None) -> Any:
        form = dict(data or {})
        form.setdefault("csrf_token", self.csrf if csrf is None else csrf)
        return self.client.post(url, data=form)

    def login(self, username: str, password: str) -> Any:
        self.get("/login")
        return self.post("/login", {"username": username, "password": password})


def make_settings(home: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "home": home,
        "session_secret": SESSION_SECRET,
        "audit_key": AUDIT_KEY,
        **overrides,
    }
    return Settings(**values)


#: argon2 at its cheapest (one pass over 1 MiB) for the tests' users: they sign in hundreds of
#: times, and at the server's parameters (RFC 9106's low-memory profile: about 0.13 s a hash or
#: a check) that was some 50 s of the suite. A test of the parameters themselves asks for
#: :func:`real_argon2`. The browser tests' servers (subprocesses) keep the real ones.
TEST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)

#: the server's hasher, as imported
SERVER_HASHER = users_module._hasher


@pytest.fixture(scope="module", autouse=True)
def _cheap_argon2() -> Iterator[None]:
    """:data:`TEST_HASHER` in place of the server's, from before the module's first app."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(users_module, "_hasher", lambda: TEST_HASHER)
        yield


@pytest.fixture
def real_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    """The server's own argon2 parameters for this test (ask for it before any app fixture)."""
    monkeypatch.setattr(users_module, "_hasher", SERVER_HASHER)


@contextmanager
def serve(settings: Settings) -> Iterator[Served]:
    """The app for ``settings`` running (lifespan entered) with the users and flags loaded."""
    app = create_app(settings)
    with TestClient(app, follow_redirects=False) as client:
        state = app.state.vru
        assert isinstance(state, AppState)
        with state.write_sessions.begin() as s:
            for name, (role, programmes) in USERS.items():
                add_user(s, username=name, role=role, password=PASSWORD, programmes=programmes)
        with state.write_sessions.begin() as s:
            tokens = {name: issue_token(s, name) for name in USERS}
            load_flags(s, FLAGS.values())
        yield Served(app=app, client=client, state=state, tokens=tokens)


@pytest.fixture
def settings(vru_home: Path) -> Settings:
    return make_settings(vru_home)


@pytest.fixture
def served(settings: Settings) -> Iterator[Served]:
    with serve(settings) as running:
        yield running


@pytest.fixture(params=["sqlite", "postgresql"])
def served_on(request: pytest.FixtureRequest, vru_home: Path) -> Iterator[Served]:
    """The app on SQLite and on the run's PostgreSQL database (emptied first; skipped without
    VRU_TEST_POSTGRES_URL except in CI, where it fails)."""
    if request.param == "sqlite":
        settings = make_settings(vru_home)
    else:
        url = str(request.getfixturevalue("postgres_database"))
        empty_postgres(url)
        settings = make_settings(vru_home, database_url=url)
    with serve(settings) as running:
        yield running


# --- a registered model: for scoring, the panel's pages and the browser tests ----------------


@dataclass(frozen=True)
class Registered:
    registry: Registry
    log: ReviewLog
    version: int
    model: RiskModel


def register_candidate(
    settings: Settings, model: RiskModel, *, fairness: str = "pass"
) -> Registered:
    """Register ``model`` as a candidate whose gates pass (as training and `vru audit` do)."""
    registry = Registry(settings.tracking_uri)
    version = register(registry, model, CANDIDATE, settings.home)
    registry.set_tag(version, "vru.gate.performance", "pass")
    registry.set_tag(version, TRAINED_BY_TAG, "dana")
    registry.set_tag(version, FAIRNESS_TAG, fairness)
    registry.set_alias("candidate", version)
    return Registered(registry, ReviewLog(settings.home / "review_log.jsonl"), version, model)


def approve(registered: Registered, reviewer: str = "eve") -> None:
    review(
        "approve",
        version=registered.version,
        reviewer=reviewer,
        reason="the fairness report was read and discussed",
        registry=registered.registry,
        log=registered.log,
    )


def materialise_moments(settings: Settings, model: RiskModel, day: dt.date = TODAY) -> Moments:
    """The daily job's materialised moments for ``day`` (40 young people, police contacts)."""
    moments = moments_for(model, n=40, day=day)
    save_moments(moments, settings.home / "flags" / f"moments-{day.isoformat()}")
    return moments


#: Moments materialised 120 days before TODAY too (past the 90-day display period).
OLD_DAY = TODAY - dt.timedelta(days=120)
#: Flags for materialised moments (P00000...P00039 on TODAY and on OLD_DAY): offered to one
#: programme each, to one and already supported by another, to nobody, and past the display
#: period; the other moments have no flag.
MOMENT_FLAGS = {
    "MJ": make_flag("P00000", TODAY, (("jump_start", 2, "offered"),)),
    "ME": make_flag("P00001", TODAY, (("early_intervention", 3, "offered"),)),
    "MA": make_flag(
        "P00002", TODAY, (("admit_ae", 3, "offered"), ("jump_start", None, "already_supported"))
    ),
    "MN": make_flag("P00003", TODAY, ()),
    "MO": make_flag("P00004", OLD_DAY, (("jump_start", 1, "offered"),)),
}
#: (person, day) pairs of materialised moments no flag was made for
UNFLAGGED_MOMENTS = (("P00010", TODAY), ("P00011", TODAY), ("P00000", OLD_DAY))


@contextmanager
def serve_in_service(settings: Settings, model: RiskModel) -> Iterator[Served]:
    """The app with ``model`` approved as champion, moments materialised on TODAY and OLD_DAY,
    and :data:`FLAGS` plus :data:`MOMENT_FLAGS` loaded (``served.flags`` holds both)."""
    approve(register_candidate(settings, model))
    materialise_moments(settings, model)
    materialise_moments(settings, model, OLD_DAY)
    with serve(settings) as served:
        with served.state.write_sessions.begin() as s:
            load_flags(s, MOMENT_FLAGS.values())
        served.flags.update(MOMENT_FLAGS)
        yield served


@pytest.fixture(params=["sqlite", "postgresql"])
def in_service_on(
    request: pytest.FixtureRequest, vru_home: Path, risk_model: RiskModel
) -> Iterator[Served]:
    """:func:`serve_in_service` on SQLite and on the run's PostgreSQL database, with request
    limits no test of access meets (the limits are tested in test_rate_limit.py)."""
    limits = {"identifier_requests_per_minute": 100_000, "identifier_requests_per_hour": 100_000}
    if request.param == "sqlite":
        settings = make_settings(vru_home, **limits)
    else:
        url = str(request.getfixturevalue("postgres_database"))
        empty_postgres(url)
        settings = make_settings(vru_home, database_url=url, **limits)
    with serve_in_service(settings, risk_model) as served:
        yield served


def flag_moments(
    served: Served,
    moments: Moments,
    rows: Sequence[int],
    offers: tuple[tuple[str, int | None, str], ...],
) -> list[Flag]:
    """Load a flag (:func:`make_flag`, with ``offers``) for each of ``rows`` of ``moments``:
    the (person, as_of) pairs that scoring may then explain to those programmes."""
    flags = [
        make_flag(str(moments.frame["person_id"][i]), moments.frame["as_of"][i], offers)
        for i in rows
    ]
    with served.state.write_sessions.begin() as s:
        load_flags(s, flags)
    return flags
