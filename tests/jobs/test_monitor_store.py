"""The monitoring job reads the offers of a version's published flags from the application
database, and says why it could not when there is no database or no such flag."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from vru_risk.jobs.monitor_data import offers_from_store
from vru_risk.settings import Settings
from vru_risk.store import open_database, session_factory
from vru_risk.store.models import FlagLoad, FlagProgramme, FlagRow

DAY = date(2026, 6, 1)


def flag(flag_id: str, version: int, day: date, load_id: int | None = None) -> FlagRow:
    return FlagRow(
        flag_id=flag_id,
        person_id="P-store-test",
        as_of=day,
        expires=day + timedelta(days=28),
        band="highest 5%",
        model_name="vru-risk",
        model_version=version,
        content_hash="c" * 64,
        body="{}",
        load_id=load_id,
    )


def test_offers_come_from_published_flags_of_the_version_only(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    offers, note = offers_from_store(settings, 3, DAY, DAY + timedelta(days=27))
    assert offers is None and "no application database yet" in note
    engine = open_database(settings.app_database_url)
    with session_factory(engine)() as session:
        session.add(FlagLoad(id=1, source="staged.jsonl", operator="ops"))  # never published
        session.add_all(
            [
                flag("a", 3, DAY),
                flag("b", 3, DAY + timedelta(days=1)),
                flag("c", 2, DAY),  # another version
                flag("d", 3, DAY + timedelta(days=40)),  # after the window
                flag("e", 3, DAY, load_id=1),  # staged, not published
            ]
        )
        session.flush()
        session.add_all(
            [
                FlagProgramme(flag_id=f, programme_id=p, status=s, rank=1)
                for f, p, s in [
                    ("a", "mentoring", "offered"),
                    ("a", "sport", "already_supported"),
                    ("b", "mentoring", "offered"),
                    ("c", "mentoring", "offered"),
                    ("d", "mentoring", "offered"),
                    ("e", "mentoring", "offered"),
                ]
            ]
        )
        session.commit()
    engine.dispose()
    offers, note = offers_from_store(settings, 3, DAY, DAY + timedelta(days=27))
    assert offers is not None
    assert {p: sorted(days) for p, days in offers.items()} == {
        "mentoring": [DAY, DAY + timedelta(days=1)]
    }
    assert note.startswith("2 published offers of version 3")
    none, why = offers_from_store(settings, 9, DAY, DAY + timedelta(days=27))
    assert none is None and "no published flag of version 9" in why
