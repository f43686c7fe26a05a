"""Application-database fixtures: every test runs on SQLite and on PostgreSQL.

PostgreSQL comes from ``VRU_TEST_POSTGRES_URL`` (``make pytest`` starts the local cluster and
exports it): one fresh database per test run (random name), migrated once, emptied before each
test and dropped at the end. Without the URL the PostgreSQL cases skip with the reason shown,
except in CI (``CI=true``), where they fail.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from vru_risk.flags.flag import (
    CannotSee,
    Flag,
    ModelRef,
    ProgrammeOffer,
    Reason,
    Trigger,
    band_for,
)
from vru_risk.flags.flag import flag_id as make_flag_id
from vru_risk.store import make_engine, migrate, session_factory
from vru_risk.store.models import Base
from vru_risk.store.users import UserInfo, add_user

BACKENDS = ("sqlite", "postgresql")
Status = Literal["offered", "already_supported"]
PASSWORD = "a long enough password"


def postgres_admin_url() -> str | None:
    """The PostgreSQL URL for tests, or skip (fail in CI) when it is not set."""
    url = os.environ.get("VRU_TEST_POSTGRES_URL")
    if url:
        return url
    if os.environ.get("CI") == "true":
        pytest.fail("VRU_TEST_POSTGRES_URL is not set in CI: PostgreSQL tests must run there")
    pytest.skip("PostgreSQL: VRU_TEST_POSTGRES_URL is not set (`make pytest` sets it)")


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test run; dropped at the end."""
    admin_url = postgres_admin_url()
    assert admin_url is not None
    name = f"vru_test_{secrets.token_hex(4)}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
        engine = make_engine(url)
        migrate(engine)
        engine.dispose()
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def empty_postgres(url: str) -> None:
    engine = make_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty application database: SQLite in tmp_path, or the run's PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'app.db'}"
        engine = make_engine(url)
        migrate(engine)
        engine.dispose()
        return url
    url = str(request.getfixturevalue("postgres_database"))
    empty_postgres(url)
    return url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return session_factory(engine, write=True)


def make_flag(
    person_id: str = "P0001",
    as_of: dt.date = dt.date(2026, 3, 2),
    *,
    offers: tuple[tuple[str, int | None, Status], ...] = (("jump_start", 1, "offered"),),
    version: int = 3,
    percentile: float = 97.0,
    expires_days: int = 90,
    content_hash: str = "c0ffee" * 8,
) -> Flag:
    """A valid flag with one police and one attendance reason (for redaction checks)."""
    return Flag(
        flag_id=make_flag_id(person_id, as_of, content_hash),
        person_id=person_id,
        as_of=as_of,
        age_years=14,
        triggers=(
            Trigger(kind="police_contact", source="police_contacts", date=as_of, detail="victim"),
        ),
        probability=0.12,
        percentile=percentile,
        band=band_for(percentile),
        raw_score=-1.0,
        base_value=-2.5,
        reasons_for=(
            Reason(
                family="police_suspect",
                source="police_contacts",
                direction="raises",
                strength="strongly",
                text="2 police contacts as a suspect in the last year",
                contribution=1.2,
                features=("police_suspect_365d",),
            ),
        ),
        reasons_against=(
            Reason(
                family="attendance",
                source="attendance",
                direction="lowers",
                strength="slightly",
                text="attendance of 96% in the last term",
                contribution=-0.2,
                features=("attendance_rate_90d",),
            ),
        ),
        other_factors=0.5,
        cannot_see=CannotSee(sources_unavailable=(), sources_refreshed={}, not_known=()),
        what_could_change=(),
        programmes=tuple(
            ProgrammeOffer(
                programme=p, name=p.replace("_", " ").title(), status=s, rank=rank, capacity=20
            )
            for p, rank, s in offers
        ),
        scoring_model=ModelRef(name="vru-risk", version=version, content_hash=content_hash),
        expires=as_of + dt.timedelta(days=expires_days),
    )


def practitioner(
    sessions: sessionmaker[Session],
    username: str = "pat",
    programmes: tuple[str, ...] = ("jump_start",),
) -> UserInfo:
    with sessions.begin() as s:
        return add_user(
            s, username=username, role="practitioner", password=PASSWORD, programmes=programmes
        )
