"""Flags, programme lists, decisions and aggregates, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.store.conftest import PASSWORD, Status, make_flag, practitioner
from vru_risk.flags.flag import REDACTED_REASON
from vru_risk.flags.programmes import load_programmes
from vru_risk.store.decisions import decisions_for, record_decision
from vru_risk.store.flag_store import (
    FlagStoreError,
    aggregates,
    capacity_used,
    flags_for_programme,
    get_flag,
    latest_as_of,
    load_flags,
    read_flags_jsonl,
)
from vru_risk.store.models import DecisionRow, FlagProgramme, FlagRow
from vru_risk.store.users import UserInputError, add_user

DAY = dt.date(2026, 3, 2)
PROGRAMMES = load_programmes()
JUMP: tuple[str, int | None, Status] = ("jump_start", 1, "offered")
SUPPORTED: tuple[tuple[str, int | None, Status], ...] = (("jump_start", None, "already_supported"),)


def write_jsonl(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_load_is_idempotent_and_keeps_the_flag_exactly(sessions: sessionmaker[Session]) -> None:
    flags = [make_flag(f"P{i}", offers=(("jump_start", i, "offered"),)) for i in range(1, 4)]
    with sessions.begin() as s:
        result = load_flags(s, flags)
    assert (result.inserted, result.already_present) == (3, 0)
    with sessions.begin() as s:
        again = load_flags(s, [*flags, make_flag("P9")])
    assert (again.inserted, again.already_present) == (1, 3)
    with sessions.begin() as s:
        assert get_flag(s, flags[0].flag_id) == flags[0]
        assert get_flag(s, "nope") is None
        assert s.scalar(select(func.count()).select_from(FlagRow)) == 4
        assert s.scalar(select(func.count()).select_from(FlagProgramme)) == 4


def test_same_id_with_different_content_is_refused_and_nothing_is_added(
    sessions: sessionmaker[Session],
) -> None:
    original = make_flag("P1")
    with sessions.begin() as s:
        load_flags(s, [original])
    changed = original.model_copy(update={"probability": 0.5})
    with (
        pytest.raises(FlagStoreError, match="already stored with different content"),
        sessions.begin() as s,
    ):
        load_flags(s, [make_flag("P2"), changed])
    with sessions.begin() as s:
        assert s.scalar(select(func.count()).select_from(FlagRow)) == 1
        with pytest.raises(FlagStoreError, match="given twice with different content"):
            load_flags(s, [make_flag("P3"), make_flag("P3", percentile=50.0)])


def test_read_jsonl_names_file_and_every_bad_line(tmp_path: Path) -> None:
    good = make_flag("P1").model_dump_json()
    other = make_flag("P2").model_dump_json()
    broken = json.loads(good)
    broken["probability"] = 7
    path = write_jsonl(
        tmp_path / "flags.jsonl",
        [good, "", "{not json", json.dumps(broken), other, good],
    )
    with pytest.raises(FlagStoreError) as info:
        read_flags_jsonl(path)
    message = str(info.value)
    assert str(path) in message and "2 bad line(s); nothing was loaded" in message
    assert "line 3:" in message and "line 4: probability" in message
    assert "line 1" not in message.replace("line 1 ", "")  # the good lines are not blamed
    path = write_jsonl(tmp_path / "ok.jsonl", [good, "", other, good])
    assert [f.person_id for f in read_flags_jsonl(path)] == ["P1", "P2"]
    dup = json.loads(other)
    dup["flag_id"] = json.loads(good)["flag_id"]
    path = write_jsonl(tmp_path / "dup.jsonl", [good, json.dumps(dup)])
    with pytest.raises(FlagStoreError, match=r"line 2: flag .* already on line 1"):
        read_flags_jsonl(path)
    with pytest.raises(FlagStoreError, match="does not exist"):
        read_flags_jsonl(tmp_path / "missing.jsonl")
    (tmp_path / "bin.jsonl").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(FlagStoreError, match="not UTF-8"):
        read_flags_jsonl(tmp_path / "bin.jsonl")


def test_programme_list_filters_and_orders(sessions: sessionmaker[Session]) -> None:
    flags = [
        make_flag("A", DAY, offers=(("jump_start", 2, "offered"), ("admit_ae", 1, "offered"))),
        make_flag("B", DAY, offers=(("jump_start", 1, "offered"),)),
        make_flag("C", DAY, offers=(("jump_start", None, "already_supported"),)),
        make_flag("D", DAY - dt.timedelta(days=90), offers=(("jump_start", 1, "offered"),)),
        make_flag("E", DAY - dt.timedelta(days=91), offers=(("jump_start", 1, "offered"),)),
        make_flag("F", DAY - dt.timedelta(days=10), expires_days=9),
        make_flag("G", DAY + dt.timedelta(days=1)),
        make_flag("H", DAY, offers=(("early_intervention", 1, "offered"),)),
    ]
    with sessions.begin() as s:
        load_flags(s, flags)
    with sessions.begin() as s:
        listed = flags_for_programme(s, "jump_start", today=DAY, visible_days=90)
        assert [f.person_id for f in listed] == ["B", "D", "A"]
        assert [
            f.person_id for f in flags_for_programme(s, "admit_ae", today=DAY, visible_days=90)
        ] == ["A"]
        assert flags_for_programme(s, "jump_start", today=DAY, visible_days=30)[-1].person_id == "A"
        assert flags_for_programme(s, "school_inclusion", today=DAY, visible_days=90) == []
        assert latest_as_of(s) == DAY + dt.timedelta(days=1)
        # full flags: redaction is the caller's job, and works on what comes back
        jump_start = load_programmes().by_id("jump_start")
        shown = listed[0].for_programme(jump_start)
        assert shown.reasons_for[0].text == REDACTED_REASON
        assert shown.reasons_against[0].text.startswith("attendance of 96%")
        # or redacted on the way out (each stored flag once per programme, then from a cache)
        for _ in range(2):
            redacted = flags_for_programme(
                s, "jump_start", today=DAY, visible_days=90, redact_for=jump_start
            )
            assert redacted == [f.for_programme(jump_start) for f in listed]
            assert redacted[0].reasons_for[0].text == REDACTED_REASON


def test_empty_store_has_no_latest_as_of(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        assert latest_as_of(s) is None
        assert aggregates(s, today=None).total_flags == 0


def test_capacity_used_counts_offers_in_the_period(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        load_flags(
            s,
            [
                make_flag("A", dt.date(2026, 3, 1)),
                make_flag("B", dt.date(2026, 3, 31)),
                make_flag("C", dt.date(2026, 2, 28)),
                make_flag("D", dt.date(2026, 3, 5), offers=SUPPORTED),
                make_flag("E", dt.date(2026, 3, 2), offers=(("admit_ae", 1, "offered"),)),
                make_flag("F", dt.date(2026, 3, 9), offers=(("admit_ae", 1, "offered"),)),
            ],
        )
    with sessions.begin() as s:
        assert capacity_used(s, "jump_start", dt.date(2026, 3, 15)) == 2  # month
        assert capacity_used(s, "jump_start", dt.date(2026, 2, 1)) == 1
        assert capacity_used(s, "admit_ae", dt.date(2026, 3, 4)) == 1  # week of Monday 2 March
        with pytest.raises(FlagStoreError, match="no programme 'boxing'"):
            capacity_used(s, "boxing", DAY)


def test_decisions_are_appended_and_corrected(sessions: sessionmaker[Session]) -> None:
    flag = make_flag("A", offers=(("jump_start", 1, "offered"), ("admit_ae", 1, "offered")))
    with sessions.begin() as s:
        load_flags(s, [flag])
    pat = practitioner(sessions, programmes=("jump_start", "admit_ae"))
    with sessions.begin() as s:
        first = record_decision(
            s, flag_id=flag.flag_id, user=pat, programme_id="jump_start", decision="no_action",
            reason_code="support_declined", text="  family declined  ",
            known_programmes=PROGRAMMES,
        )  # fmt: skip
        second = record_decision(
            s, flag_id=flag.flag_id, user=pat, programme_id="jump_start", decision="referred",
            reason_code="meets_programme_criteria", text="", referred_to="school_inclusion",
            corrects=first.id, known_programmes=PROGRAMMES,
        )  # fmt: skip
        record_decision(
            s, flag_id=flag.flag_id, user=pat, programme_id="admit_ae", decision="disagree",
            reason_code="information_out_of_date", text="visit was a sports injury",
            known_programmes=PROGRAMMES,
        )  # fmt: skip
    assert first.text == "family declined" and first.created_at.tzinfo is not None
    with sessions.begin() as s:
        history = decisions_for(s, flag.flag_id)
        assert [d.decision for d in history] == ["no_action", "referred", "disagree"]
        assert history[1].corrects == first.id and history[1].referred_to == "school_inclusion"
        assert [d.id for d in decisions_for(s, flag.flag_id, ["jump_start"])] == [
            first.id,
            second.id,
        ]
        assert decisions_for(s, flag.flag_id, []) == []
        counts = aggregates(s, today=DAY)
        assert counts.decisions_by_programme_kind == {
            "jump_start": {"referred": 1},
            "admit_ae": {"disagree": 1},
        }
        assert s.scalar(select(func.count()).select_from(DecisionRow)) == 3


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"flag_id": "nope"}, "no flag 'nope'"),
        ({"programme_id": "admit_ae"}, "not bound to programme 'admit_ae'"),
        ({"decision": "maybe"}, "unknown decision 'maybe'"),
        ({"reason_code": ""}, "Choose a reason listed under 'No action'"),
        ({"reason_code": "meets_programme_criteria"}, "is not one for 'no_action'"),
        ({"reason_code": "other", "text": "   "}, "say why in the free text"),
        ({"decision": "disagree", "reason_code": "information_wrong", "text": ""}, "say why"),
        ({"decision": "referred", "reason_code": "practitioner_concern"}, "names the programme"),
        (
            {"decision": "referred", "reason_code": "other", "text": "x", "referred_to": "gym"},
            "cannot refer to 'gym'",
        ),
        ({"referred_to": "jump_start"}, "only given with 'referred'"),
        ({"text": "x" * 4001}, "at most 4000"),
        ({"corrects": 999}, "the decision it corrects is not one of 'jump_start'"),
    ],
)
def test_bad_decisions_are_refused(
    sessions: sessionmaker[Session], change: dict[str, object], words: str
) -> None:
    flag = make_flag("A")
    with sessions.begin() as s:
        load_flags(s, [flag])
    pat = practitioner(sessions)
    args: dict[str, object] = {
        "flag_id": flag.flag_id,
        "user": pat,
        "programme_id": "jump_start",
        "decision": "no_action",
        "reason_code": "support_declined",
        "text": "",
        "known_programmes": PROGRAMMES,
        **change,
    }
    # input errors (store.inputs) and the store's own refusals are both a user's to fix
    with pytest.raises(UserInputError, match=words), sessions.begin() as s:
        record_decision(s, **args)  # type: ignore[arg-type]
    with sessions.begin() as s:
        assert s.scalar(select(func.count()).select_from(DecisionRow)) == 0


def test_only_practitioners_of_an_offered_programme_decide(sessions: sessionmaker[Session]) -> None:
    flag = make_flag(
        "A", offers=(("jump_start", 1, "offered"), ("admit_ae", None, "already_supported"))
    )
    with sessions.begin() as s:
        load_flags(s, [flag])
        admin = add_user(s, username="root", role="admin", password=PASSWORD)
    nurse = practitioner(sessions, "nurse", ("admit_ae",))
    base = {
        "flag_id": flag.flag_id,
        "decision": "no_action",
        "reason_code": "already_supported",
        "text": "",
        "known_programmes": PROGRAMMES,
    }
    with sessions.begin() as s:
        with pytest.raises(FlagStoreError, match="only practitioners record decisions"):
            record_decision(s, user=admin, programme_id="jump_start", **base)  # type: ignore[arg-type]
        with pytest.raises(FlagStoreError, match="not offered to programme 'admit_ae'"):
            record_decision(s, user=nurse, programme_id="admit_ae", **base)  # type: ignore[arg-type]
        with pytest.raises(FlagStoreError, match="not an active practitioner"):
            record_decision(
                s, user=nurse.__class__(**{**nurse.__dict__, "active": False}),
                programme_id="admit_ae", **base,  # type: ignore[arg-type]
            )  # fmt: skip


def test_aggregates_hold_counts_and_no_person_ids(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        load_flags(
            s,
            [
                make_flag("PERSON-A", percentile=99.5),
                make_flag("PERSON-B", percentile=96.0, version=4),
                make_flag("PERSON-C", percentile=96.0, offers=(JUMP, ("admit_ae", 2, "offered"))),
                make_flag("PERSON-D", offers=SUPPORTED),
            ],
        )
        counts = aggregates(s, today=DAY)
    assert counts.today == DAY and counts.total_flags == 4
    assert counts.flags_by_programme_band == {
        "jump_start": {"highest 1%": 1, "highest 5%": 2},
        "admit_ae": {"highest 5%": 1},
    }
    assert counts.flags_by_model_version == {3: 3, 4: 1}
    assert counts.people_by_programme_band == counts.flags_by_programme_band  # one each
    assert counts.total_people == 4 and counts.people_by_model_version == {3: 3, 4: 1}
    assert "PERSON" not in repr(counts)
