"""Flag views and what monitoring reads of a version's service (offers, decisions, views,
flags), on SQLite and PostgreSQL; the migration that adds ``flag_views`` up and down."""

from __future__ import annotations

import datetime as dt

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import inspect, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from tests.store.conftest import make_flag, practitioner
from vru_risk.flags.programmes import load_programmes
from vru_risk.store import make_engine, migrate, table_names
from vru_risk.store.decisions import record_decision
from vru_risk.store.engine import MIGRATIONS
from vru_risk.store.flag_store import load_flags
from vru_risk.store.flag_views import record_view, views_of
from vru_risk.store.models import FlagLoad, FlagRow
from vru_risk.store.service_rows import (
    decisions_of_version,
    flags_of_version,
    offers_of_version,
    views_of_version,
)

DAY = dt.date(2026, 3, 2)
AT = dt.datetime(2026, 3, 3, 10, 0, tzinfo=dt.UTC)


def test_a_view_is_stored_per_flag_programme_and_user_and_needs_a_real_flag(
    sessions: sessionmaker[Session],
) -> None:
    flag = make_flag("P1", DAY)
    with sessions.begin() as s:
        load_flags(s, [flag])
    pat = practitioner(sessions)
    with sessions.begin() as s:
        record_view(s, flag_id=flag.flag_id, programme_id="jump_start", user_id=pat.id, at=AT)
        record_view(s, flag_id=flag.flag_id, programme_id="jump_start", user_id=pat.id)
    with sessions.begin() as s:
        views = views_of(s, [flag.flag_id])
    assert [(v.flag_id, v.programme_id, v.user_id) for v in views] == [
        (flag.flag_id, "jump_start", pat.id)
    ] * 2
    assert views[0].viewed_at == AT and views[1].viewed_at > AT  # aware UTC, oldest first
    with pytest.raises(IntegrityError), sessions.begin() as s:
        record_view(s, flag_id="0" * 20, programme_id="jump_start", user_id=pat.id)


def test_the_migration_adds_flag_views_to_a_database_at_0004_and_removes_it_again(
    db_url: str,
) -> None:
    engine = make_engine(db_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    try:
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.downgrade(config, "0004")
            assert "flag_views" not in inspect(conn).get_table_names()
        sessions = sessionmaker(engine)
        flag = make_flag("P1", DAY)
        with sessions.begin() as s:
            load_flags(s, [flag])  # a flag stored before views were recorded
        migrate(engine)
        assert "flag_views" in table_names(engine)
        pat = practitioner(sessions)
        with sessions.begin() as s:
            assert views_of(s, [flag.flag_id]) == []
            record_view(s, flag_id=flag.flag_id, programme_id="jump_start", user_id=pat.id)
        with engine.begin() as conn:  # down again: the views go, the flag stays
            config.attributes["connection"] = conn
            command.downgrade(config, "0004")
            assert "flag_views" not in inspect(conn).get_table_names()
            assert conn.execute(text("SELECT count(*) FROM flags")).scalar() == 1
        migrate(engine)
        assert "flag_views" in table_names(engine)
    finally:
        engine.dispose()


def test_monitoring_reads_the_shown_flags_of_one_version_in_a_span_of_dates(
    sessions: sessionmaker[Session],
) -> None:
    inside = make_flag("IN", DAY, offers=(("jump_start", 1, "offered"), ("admit_ae", 1, "offered")))
    supported = make_flag(
        "SUP", DAY, offers=(("jump_start", None, "already_supported"), ("admit_ae", 2, "offered"))
    )
    before = make_flag("OLD", DAY - dt.timedelta(days=40))
    other = make_flag("V2", DAY, version=2, content_hash="d00d" * 16)
    withdrawn = make_flag("WD", DAY + dt.timedelta(days=1))
    staged = make_flag("ST", DAY + dt.timedelta(days=2))
    with sessions.begin() as s:
        load_flags(s, [inside, supported, before, other, withdrawn, staged])
        s.add(FlagLoad(id=7, source="staged.jsonl", operator="ops"))  # never published
        s.flush()
        s.execute(update(FlagRow).where(FlagRow.flag_id == staged.flag_id).values(load_id=7))
        s.execute(
            update(FlagRow)
            .where(FlagRow.flag_id == withdrawn.flag_id)
            .values(withdrawn_at=AT, withdrawn_reason="sent in error", withdrawn_by="admin")
        )
    pat = practitioner(sessions)
    programmes = load_programmes()
    with sessions.begin() as s:
        for f in (inside, before, other):
            record_decision(
                s, flag_id=f.flag_id, user=pat, programme_id="jump_start", decision="no_action",
                reason_code="moved_away", text="", known_programmes=programmes,
            )  # fmt: skip
            record_view(s, flag_id=f.flag_id, programme_id="jump_start", user_id=pat.id, at=AT)
        record_view(s, flag_id=withdrawn.flag_id, programme_id="jump_start", user_id=pat.id)
    end = DAY + dt.timedelta(days=27)
    with sessions.begin() as s:
        offers = offers_of_version(s, 3, DAY, end)
        with_withdrawn = offers_of_version(s, 3, DAY, end, withdrawn=True)
        decisions = decisions_of_version(s, 3, DAY, end)
        views = views_of_version(s, 3, DAY, end)
        flags = flags_of_version(s, 3, end)
    assert [(o.flag_id, o.programme_id) for o in offers] == [
        (f.flag_id, p)
        for f, p in sorted(
            [(inside, "admit_ae"), (inside, "jump_start"), (supported, "admit_ae")],
            key=lambda x: (x[0].flag_id, x[1]),
        )
    ]
    assert offers[0].person_id in ("IN", "SUP") and offers[0].as_of == DAY
    assert {o.band for o in offers} == {inside.band} and offers[0].expires == inside.expires
    assert len(with_withdrawn) == len(offers) + 1  # capacity counts a withdrawn flag's offer
    assert [(d.flag_id, d.decision, d.corrects) for d in decisions] == [
        (inside.flag_id, "no_action", None)
    ]
    assert decisions[0].created_at.tzinfo is not None
    assert [(v.flag_id, v.programme_id, v.viewed_at) for v in views] == [
        (inside.flag_id, "jump_start", AT)
    ]
    by_id = sorted((inside, supported), key=lambda f: f.flag_id)
    assert [f.person_id for f in flags] == ["OLD", *(f.person_id for f in by_id)]
    assert flags[1].body.startswith("{") and flags[0].as_of == before.as_of
    with sessions.begin() as s:
        assert flags_of_version(s, 3, DAY - dt.timedelta(days=41)) == []
