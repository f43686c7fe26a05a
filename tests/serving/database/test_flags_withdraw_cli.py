"""``vru flags withdraw`` through the real entry point, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.conftest import RunVru
from tests.store.conftest import make_flag, practitioner
from vru_risk.flags.programmes import load_programmes
from vru_risk.store import make_engine, session_factory
from vru_risk.store.decisions import decisions_for, record_decision
from vru_risk.store.flag_store import flags_for_programme, get_flag, stored_flag
from vru_risk.store.models import AuditRow

KEY = "an-audit-key-of-some-length"
DAY = dt.date.today() - dt.timedelta(days=1)


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


def audit_rows(url: str) -> list[AuditRow]:
    engine = make_engine(url)
    try:
        with session_factory(engine)() as s:
            rows = list(s.scalars(select(AuditRow).order_by(AuditRow.seq)))
            s.expunge_all()
    finally:
        engine.dispose()
    return rows


def test_withdrawing_a_flag(vru: RunVru, app_db: str, tmp_path: Path) -> None:
    flag, other = make_flag("A", DAY), make_flag("B", DAY)
    assert vru("flags", "load", write(tmp_path / "f.jsonl", flag.model_dump_json(),
                                      other.model_dump_json())).code == 0  # fmt: skip
    engine = make_engine(app_db)
    sessions = session_factory(engine, write=True)
    pat = practitioner(sessions)
    with sessions.begin() as s:
        record_decision(
            s, flag_id=flag.flag_id, user=pat, programme_id="jump_start",
            decision="no_action", reason_code="moved_away", text="",
                known_programmes=load_programmes(),
        )  # fmt: skip
    try:
        no_reason = vru("flags", "withdraw", flag.flag_id)
        assert no_reason.code == 2 and "--reason" in no_reason.stderr
        for reason, words in (
            ("  ", "say why the flag is withdrawn"),
            ("x" * 301, "the reason has 301 characters; at most 300"),
            ("wrong\x00person", "control character (U+0000)"),
        ):
            refused = vru("flags", "withdraw", flag.flag_id, "--reason", reason)
            assert refused.code == 2 and words in flat(refused.stderr)
        unknown = vru("flags", "withdraw", "no-such-flag", "--reason", "typo")
        assert unknown.code == 2 and "no flag 'no-such-flag'" in flat(unknown.stderr)
        assert audit_rows(app_db)[-1].purpose == "admin: flags load"  # no refusal was recorded

        done = vru("flags", "withdraw", flag.flag_id, "--reason", "loaded for the wrong person")
        assert done.code == 0, done.output
        assert f"flag {flag.flag_id} was withdrawn on" in flat(done.stdout)
        assert "loaded for the wrong person" in done.stdout
        with sessions() as s:
            assert get_flag(s, flag.flag_id) is None
            found = stored_flag(s, flag.flag_id)
            assert found is not None and found.withdrawal is not None
            assert found.withdrawal.reason == "loaded for the wrong person"
            listed = flags_for_programme(s, "jump_start", today=DAY, visible_days=90)
            assert [f.flag_id for f in listed] == [other.flag_id]
            assert len(decisions_for(s, flag.flag_id)) == 1  # the decision stays
        row = audit_rows(app_db)[-1]
        assert (row.purpose, row.role, row.person_id) == ("admin: flags withdraw", "operator", "A")
        assert row.route == f"vru flags withdraw: {flag.flag_id}: loaded for the wrong person"

        twice = vru("flags", "withdraw", flag.flag_id, "--reason", "again")
        assert twice.code == 2 and "was already withdrawn on" in flat(twice.stderr)
        assert "loaded for the wrong person" in flat(twice.stderr)
        reload = vru("flags", "load", tmp_path / "f.jsonl")  # loading it again does not revive it
        assert "(1 of them withdrawn: they stay withdrawn)" in flat(reload.stdout)
        with sessions() as s:
            assert get_flag(s, flag.flag_id) is None
    finally:
        engine.dispose()
