"""``vru flags load`` through the real entry point, on SQLite and PostgreSQL: refusals are
exit 2 naming file and line, and every load is an audit-log row."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.conftest import RunVru
from tests.store.conftest import make_flag
from vru_risk.store import make_engine, session_factory
from vru_risk.store.models import AuditRow, FlagRow

KEY = "an-audit-key-of-some-length"
DAY = dt.date.today() - dt.timedelta(days=1)
SECRET_PERSON = "PERSON-SECRET-0042"


@pytest.fixture
def app_db(db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("VRU_DATABASE_URL", db_url)
    monkeypatch.setenv("VRU_AUDIT_KEY", KEY)
    return db_url


def flat(output: str) -> str:
    return " ".join(output.split())


def write(path: Path, *lines: str) -> Path:
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return path


def counts(url: str) -> tuple[int, list[AuditRow]]:
    engine = make_engine(url)
    try:
        with session_factory(engine)() as s:
            flags = int(s.scalar(select(func.count()).select_from(FlagRow)) or 0)
            rows = list(s.scalars(select(AuditRow).order_by(AuditRow.seq)))
            s.expunge_all()
    finally:
        engine.dispose()
    return flags, rows


def test_flags_load_writes_an_audit_row_with_the_counts(
    vru: RunVru, app_db: str, tmp_path: Path
) -> None:
    path = write(tmp_path / "day.jsonl", make_flag("A", DAY).model_dump_json())
    first = vru("flags", "load", path)
    assert first.code == 0, first.output
    assert "1 flag(s) inserted, 0 already present; recorded as audit-log row 1" in flat(
        first.stdout
    )
    second = vru("flags", "load", path)
    assert "audit-log row 2" in flat(second.stdout)
    flags, rows = counts(app_db)
    assert flags == 1
    assert [r.purpose for r in rows] == ["admin: flags load"] * 2
    assert rows[0].role == "operator" and rows[0].person_id is None
    assert rows[0].route.startswith("vru flags load: day.jsonl: 1 flag(s) inserted, 0 already")
    assert "0 flag(s) inserted, 1 already present" in rows[1].route


def test_flags_load_refuses_without_the_audit_key_and_loads_nothing(
    vru: RunVru, app_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("VRU_AUDIT_KEY")
    path = write(tmp_path / "day.jsonl", make_flag("A", DAY).model_dump_json())
    refused = vru("flags", "load", path)
    assert refused.code == 2 and "VRU_AUDIT_KEY is not set" in flat(refused.stderr)
    assert counts(app_db) == (0, [])


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("person_id", "P\x00", "person_id holds a control character (U+0000)"),
        ("person_id", SECRET_PERSON + "x" * 200, "person_id has 218 characters"),
        ("flag_id", "f" * 90, "flag_id has 90 characters"),
        ("raw_score", float("inf"), "raw_score: Input should be a finite number"),
        ("as_of", "2099-01-01", "as_of 2099-01-01 is after today's date"),
        # security re-review F2: listed, but no page, API or decision form opens it
        ("flag_id", "ABCDEF0123456789ABCD", "flag_id is not 20 lower-case hexadecimal digits"),
        ("flag_id", "a" * 64, "flag_id is not 20 lower-case hexadecimal digits"),
        # F8: displays as another flag's young person, but is not them
        ("person_id", "P0009396\u200b", "person_id holds an invisible formatting character"),
        ("person_id", " P0009396", "person_id has whitespace at the start or end"),
    ],
)
def test_flags_load_refuses_unsafe_flags_with_exit_2_naming_the_line(
    vru: RunVru, app_db: str, tmp_path: Path, field: str, value: object, words: str
) -> None:
    """On PostgreSQL a NUL byte or an over-long id used to reach the database and exit 1."""
    data = json.loads(make_flag("B", DAY).model_dump_json())
    data[field] = value
    line = json.dumps(data)  # JSON's Infinity for float("inf"), \u0000 for NUL
    path = write(tmp_path / "day.jsonl", make_flag("A", DAY).model_dump_json(), "", line)
    refused = vru("flags", "load", path)
    assert refused.code == 2, refused.output
    message = flat(refused.stderr)
    assert str(path) in message and "line 3:" in message and words in message
    assert "nothing was loaded" in message and SECRET_PERSON not in message
    assert counts(app_db) == (0, [])


def test_an_empty_flags_file_is_exit_2(vru: RunVru, app_db: str, tmp_path: Path) -> None:
    for content in ("", "\n \n"):
        path = tmp_path / "empty.jsonl"
        path.write_text(content)
        refused = vru("flags", "load", path)
        assert refused.code == 2 and f"no flags in {path}" in flat(refused.stderr)


def offers_twice(data: dict[str, Any]) -> None:
    data["programmes"].append(dict(data["programmes"][0]))


def rank_past_64_bits(data: dict[str, Any]) -> None:
    data["programmes"][0]["rank"] = 2**63


def version_past_32_bits(data: dict[str, Any]) -> None:
    data["scoring_model"]["version"] = 2**40


@pytest.mark.parametrize(
    ("spoil", "words"),
    [
        (offers_twice, "programmes names a programme more than once"),
        (rank_past_64_bits, "programmes.rank is beyond the range of its database column"),
        (version_past_32_bits, "scoring_model.version is beyond the range of its database column"),
    ],
)
def test_flags_the_database_would_refuse_are_exit_2_naming_the_line(
    vru: RunVru, app_db: str, tmp_path: Path, spoil: Any, words: str
) -> None:
    """Security re-review F3: these were "internal error" (exit 1) without a line: an
    IntegrityError, an OverflowError on SQLite, int4 out of range on PostgreSQL."""
    data = json.loads(make_flag("B", DAY).model_dump_json())
    spoil(data)
    path = write(tmp_path / "day.jsonl", make_flag("A", DAY).model_dump_json(), json.dumps(data))
    refused = vru("flags", "load", path)
    assert refused.code == 2, refused.output
    message = flat(refused.stderr)
    assert str(path) in message and "line 2:" in message and words in message
    assert "internal error" not in message and "nothing was loaded" in message
    assert counts(app_db) == (0, [])
