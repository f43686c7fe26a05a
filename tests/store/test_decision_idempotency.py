"""Idempotency keys of decisions in the store, on SQLite and PostgreSQL: a retry returns the
stored decision, other content under the same key is a conflict, and two concurrent retries
through two engines (two server processes) store exactly one row."""

from __future__ import annotations

import contextlib
import threading
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.store.conftest import make_flag, practitioner
from vru_risk.flags.programmes import load_programmes
from vru_risk.store import decisions, make_engine, session_factory
from vru_risk.store.decisions import DecisionInfo, IdempotencyConflictError, record_decision
from vru_risk.store.flag_store import load_flags
from vru_risk.store.inputs import DecisionInputError
from vru_risk.store.models import DecisionRow
from vru_risk.store.users import UserInfo

FLAG = make_flag("A")


def decide(session: Session, user: UserInfo, key: str | None, **change: Any) -> DecisionInfo:
    fields: dict[str, Any] = {
        "flag_id": FLAG.flag_id,
        "user": user,
        "programme_id": "jump_start",
        "decision": "no_action",
        "reason_code": "support_declined",
        "text": "declined",
        "known_programmes": load_programmes(),
        "idempotency_key": key,
        **change,
    }
    return record_decision(session, **fields)


def rows(sessions: sessionmaker[Session]) -> int:
    with sessions() as s:
        return int(s.scalar(select(func.count()).select_from(DecisionRow)) or 0)


def test_a_retry_returns_the_stored_decision_and_other_content_conflicts(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as s:
        load_flags(s, [FLAG])
    pat = practitioner(sessions)
    with sessions.begin() as s:
        first = decide(s, pat, "key-1", text="  declined\r\n")
    with sessions.begin() as s:
        again = decide(s, pat, "key-1", text="declined")  # the same, as stored
    assert (again.id, again.replayed, first.replayed) == (first.id, True, False)
    assert again == DecisionInfo(**{**first.__dict__, "replayed": True})
    for change in ({"text": "other"}, {"reason_code": "no_capacity"}, {"corrects": first.id}):
        with (
            pytest.raises(IdempotencyConflictError, match="different decision"),
            sessions.begin() as s,
        ):
            decide(s, pat, "key-1", **change)
    with pytest.raises(DecisionInputError, match="visible ASCII"), sessions.begin() as s:
        decide(s, pat, "key with spaces")
    assert rows(sessions) == 1


def test_two_concurrent_retries_store_one_row(
    engine: Engine, sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both look the key up before either inserts (held at a barrier): on PostgreSQL the second
    insert meets the unique index and reads the first's row; on SQLite the second waits for the
    write lock (the barrier times out) and finds the row. Exactly one row either way."""
    with sessions.begin() as s:
        load_flags(s, [FLAG])
    pat = practitioner(sessions)
    both_looked = threading.Barrier(2)
    original = decisions._by_key
    first_lookup = threading.local()

    def held(session: Session, user_id: int, key: str) -> DecisionRow | None:
        found = original(session, user_id, key)
        if not getattr(first_lookup, "done", False):
            first_lookup.done = True
            # SQLite: the other thread is waiting for the write lock, the barrier times out
            with contextlib.suppress(threading.BrokenBarrierError):
                both_looked.wait(timeout=3)
        return found

    monkeypatch.setattr(decisions, "_by_key", held)
    engines = [engine, make_engine(engine.url.render_as_string(hide_password=False))]
    results: list[DecisionInfo] = []
    errors: list[BaseException] = []

    def retry(k: int) -> None:
        try:
            with session_factory(engines[k], write=True)() as s:
                results.append(decide(s, pat, "same-key"))
                s.commit()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=retry, args=(k,)) for k in range(2)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
    finally:
        engines[1].dispose()
    assert errors == []
    assert rows(sessions) == 1
    assert len({r.id for r in results}) == 1 and sorted(r.replayed for r in results) == [
        False,
        True,
    ]
