"""Every flag is checked before anything is stored: dates, finite numbers, ids that fit the
database columns and the audit log, no control characters, a file with at least one flag."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.store.conftest import make_flag
from vru_risk.flags.flag import Flag
from vru_risk.store.flag_store import FlagStoreError, get_flag, load_flags, read_flags_jsonl
from vru_risk.store.models import AuditRow, FlagProgramme, FlagRow

#: The columns' lengths (the person id also goes into every audit row)
LIMITS = {
    "person_id": min(
        FlagRow.__table__.c.person_id.type.length,
        AuditRow.__table__.c.person_id.type.length,
    ),
    "flag_id": FlagRow.__table__.c.flag_id.type.length,
    "programme": FlagProgramme.__table__.c.programme_id.type.length,
}

TODAY = dt.date.today()
DAY = TODAY - dt.timedelta(days=2)
SECRET_PERSON = "PERSON-SECRET-0042"


def edited(flag: Flag, edit: Callable[[dict[str, Any]], None]) -> str:
    """The flag's JSON line after ``edit`` changed its parsed form (JSON's Infinity and NaN
    are written as Python's json module writes them)."""
    data = json.loads(flag.model_dump_json())
    edit(data)
    return json.dumps(data)


def set_path(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """An edit setting ``path`` to ``value`` (a callable is called when the edit is made: a day
    counted from today is counted when the test runs, which may be after midnight)."""

    def edit(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = data
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        target[int(last) if last.isdigit() else last] = value() if callable(value) else value

    return edit


UNSAFE = {
    "future as_of": (
        set_path("as_of", lambda: (dt.date.today() + dt.timedelta(days=1)).isoformat()),
        "is after today's date",
    ),
    "as_of of 2099": (set_path("as_of", "2099-01-01"), "never in the future"),
    "expiry before as_of": (
        set_path("expires", (DAY - dt.timedelta(days=1)).isoformat()),
        "is before as_of",
    ),
    "Infinity raw score": (set_path("raw_score", float("inf")), "raw_score: Input should be"),
    "NaN contribution": (
        set_path("reasons_for.0.contribution", float("nan")),
        "reasons_for.0.contribution: Input should be a finite number",
    ),
    "-Infinity what-if": (set_path("base_value", float("-inf")), "finite number"),
    "NUL in the person id": (
        set_path("person_id", SECRET_PERSON + "\x00"),
        "person_id holds a control character (U+0000)",
    ),
    "escape in a reason": (
        set_path("reasons_for.0.text", "2 contacts\x1b[31m"),
        "reasons_for.0.text holds a control character (U+001B)",
    ),
    "newline in a trigger": (
        set_path("triggers.0.detail", "victim\nforged line"),
        "triggers.0.detail holds a control character (U+000A)",
    ),
    "bidi override in the band": (set_path("band", "highest 5%\u202e"), "(U+202E)"),
    "person id over the limit": (
        set_path("person_id", SECRET_PERSON + "x" * LIMITS["person_id"]),
        f"person_id has {len(SECRET_PERSON) + LIMITS['person_id']} characters",
    ),
    "flag id over the limit": (
        set_path("flag_id", "f" * (LIMITS["flag_id"] + 1)),
        f"flag_id has {LIMITS['flag_id'] + 1} characters; the database and the audit log "
        f"accept at most {LIMITS['flag_id']}",
    ),
    "programme id over the limit": (
        set_path("programmes.0.programme", "p" * (LIMITS["programme"] + 1)),
        f"programmes.programme has {LIMITS['programme'] + 1} characters",
    ),
    "empty person id": (set_path("person_id", " "), "person_id is empty"),
    # security re-review F2: ids the routes never open
    "upper-case flag id": (
        set_path("flag_id", "ABCDEF0123456789ABCD"),
        "flag_id is not 20 lower-case hexadecimal digits",
    ),
    "64-character flag id": (
        set_path("flag_id", "a" * 64),
        "flag_id is not 20 lower-case hexadecimal digits",
    ),
    # F8: invisible characters and surrounding spaces in ids
    "zero-width space in the person id": (
        set_path("person_id", SECRET_PERSON + "\u200b"),
        "person_id holds an invisible formatting character (U+200B)",
    ),
    "leading space in the person id": (
        set_path("person_id", " " + SECRET_PERSON),
        "person_id has whitespace at the start or end",
    ),
    "no-break space after the person id": (
        set_path("person_id", SECRET_PERSON + "\u00a0"),
        "person_id has whitespace at the start or end",
    ),
    "byte-order mark in a programme id": (
        set_path("programmes.0.programme", "\ufeffjump_start"),
        "programmes.programme holds an invisible formatting character (U+FEFF)",
    ),
    # F3: what the database refused with an internal error
    "programme offered twice": (
        lambda data: data["programmes"].append(dict(data["programmes"][0])),
        "programmes names a programme more than once",
    ),
    "rank past 64 bits": (
        set_path("programmes.0.rank", 2**63),
        "programmes.rank is beyond the range of its database column (-2147483648 to 2147483647)",
    ),
    "model version past 32 bits": (
        set_path("scoring_model.version", 2**40),
        "scoring_model.version is beyond the range of its database column",
    ),
}


@pytest.mark.parametrize("case", sorted(UNSAFE))
def test_a_flag_that_cannot_be_stored_or_shown_is_refused_naming_file_and_line(
    case: str, tmp_path: Path
) -> None:
    edit, words = UNSAFE[case]
    good = make_flag("P1", DAY)
    path = tmp_path / "flags.jsonl"
    path.write_text(good.model_dump_json() + "\n" + edited(make_flag(SECRET_PERSON, DAY), edit))
    with pytest.raises(FlagStoreError) as info:
        read_flags_jsonl(path)
    message = str(info.value)
    assert str(path) in message and "line 2:" in message and "nothing was loaded" in message
    assert words in message
    assert "line 1" not in message
    assert SECRET_PERSON not in message  # a problem is named by its field, never its value


def test_the_limits_are_the_columns_and_a_flag_at_the_limit_loads(
    sessions: sessionmaker[Session],
) -> None:
    from vru_risk.store import flag_checks  # (a module of its own since this test was written)

    checked = flag_checks.LIMITS
    assert checked["person_id"] == LIMITS["person_id"] and checked["flag_id"] == LIMITS["flag_id"]
    assert checked["programmes.programme"] == LIMITS["programme"]
    longest = make_flag("P" * LIMITS["person_id"], DAY)
    with sessions.begin() as s:
        assert load_flags(s, [longest]).inserted == 1
    with sessions.begin() as s:
        assert get_flag(s, longest.flag_id) == longest


def test_load_flags_checks_the_same_rules(sessions: sessionmaker[Session]) -> None:
    future = make_flag("P1", TODAY + dt.timedelta(days=30))
    nul = make_flag("P2\x00", DAY)
    for bad in (future, nul):
        with pytest.raises(FlagStoreError, match="cannot be stored"), sessions.begin() as s:
            load_flags(s, [make_flag("P3", DAY), bad])
    with sessions.begin() as s:
        assert s.scalar(select(func.count()).select_from(FlagRow)) == 0


@pytest.mark.parametrize("content", ["", "\n\n  \n"])
def test_a_file_without_flags_is_refused(tmp_path: Path, content: str) -> None:
    path = tmp_path / "flags.jsonl"
    path.write_text(content)
    with pytest.raises(FlagStoreError, match=rf"no flags in {path}"):
        read_flags_jsonl(path)


def test_a_flag_at_the_integer_limits_loads(sessions: sessionmaker[Session]) -> None:
    flag = make_flag("P1", DAY, version=2**31 - 1, offers=(("jump_start", 2**31 - 1, "offered"),))
    with sessions.begin() as s:
        assert load_flags(s, [flag]).inserted == 1
    with sessions.begin() as s:
        assert get_flag(s, flag.flag_id) == flag
