"""The keyed audit log: every kind of tampering is caught, concurrent writers stay gapless."""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import multiprocessing
import threading
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text

from vru_risk.serving.access_log.locks import process_lock_path
from vru_risk.serving.access_log.log import GENESIS, AuditEvent, AuditLog, AuditLogError
from vru_risk.store import make_engine, migrate
from vru_risk.store.models import AuditRow

KEY = b"a-key-kept-outside-the-database"


def event(i: int, *, person: str | None = None) -> AuditEvent:
    return AuditEvent(
        username=f"user{i % 3}",
        role="practitioner",
        person_id=person or f"P{i:04d}",
        model_version=3,
        purpose="view flag",
        route=f"/flags/{i}",
    )


@pytest.fixture
def log(engine: Engine, tmp_path: Path) -> AuditLog:
    audit = AuditLog(engine, KEY, tmp_path / "audit" / "head.json")
    audit.append([event(i) for i in range(1, 6)])
    audit.append([event(i) for i in range(6, 11)])
    return audit


def rows(engine: Engine) -> list[dict[str, object]]:
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(AuditRow).order_by(AuditRow.seq))]


def execute(engine: Engine, sql: str, **params: object) -> None:
    with engine.begin() as conn:
        conn.execute(text(sql), params)


def canonical(row: dict[str, object]) -> bytes:
    keys = ("seq", "at", "username", "role", "person_id", "model_version", "purpose", "route")
    body = {k: row[k] for k in keys}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def test_append_numbers_rows_and_mirrors_the_head(log: AuditLog, engine: Engine) -> None:
    stored = rows(engine)
    assert [r["seq"] for r in stored] == list(range(1, 11))
    assert stored[0]["prev_mac"] == GENESIS
    assert all(b["prev_mac"] == a["mac"] for a, b in itertools.pairwise(stored))
    head = json.loads(log.head_path.read_text())
    assert (head["seq"], head["mac"]) == (10, stored[-1]["mac"])
    assert log.append([]) == []
    assert log.append([event(11, person=None)]) == [11]
    report = log.verify()
    assert report.ok and report.rows == 11 and report.head_seq == 11
    assert report.lines()[-1] == "OK: the chain is intact"


def test_bad_events_and_keys_are_refused(engine: Engine, tmp_path: Path) -> None:
    with pytest.raises(AuditLogError, match="VRU_AUDIT_KEY"):
        AuditLog(engine, b"short", tmp_path / "head.json")
    audit = AuditLog(engine, KEY, tmp_path / "head.json")
    with pytest.raises(AuditLogError, match="empty purpose"):
        audit.append([AuditEvent("u", "admin", None, None, " ", "/x")])
    with pytest.raises(AuditLogError, match="route is longer than 255"):
        audit.append([AuditEvent("u", "admin", None, None, "p", "/" * 300)])
    assert rows(engine) == []


def test_edit_caught_even_when_the_chain_is_recomputed_without_the_key(
    log: AuditLog, engine: Engine
) -> None:
    """A forger changes who looked at row 4 and recomputes every later mac with plain SHA-256."""
    stored = rows(engine)
    prev = str(stored[2]["mac"])
    for row in stored[3:]:
        if row["seq"] == 4:
            row["username"] = "someone-else"
        forged = hashlib.sha256(prev.encode() + canonical(row)).hexdigest()
        execute(
            engine,
            "UPDATE audit_log SET username = :u, prev_mac = :p, mac = :m WHERE seq = :s",
            u=row["username"], p=prev, m=forged, s=row["seq"],
        )  # fmt: skip
        prev = forged
    report = log.verify()
    assert not report.ok
    assert report.edited == list(range(4, 11))
    assert not (report.deleted or report.inserted or report.reordered or report.truncated)
    assert "EDITED: row(s) 4-10" in "\n".join(report.lines())


def test_plain_edit_caught(log: AuditLog, engine: Engine) -> None:
    execute(engine, "UPDATE audit_log SET person_id = 'P9999' WHERE seq = 7")
    report = log.verify()
    assert report.edited == [7] and not report.ok


def test_delete_caught(log: AuditLog, engine: Engine) -> None:
    execute(engine, "DELETE FROM audit_log WHERE seq IN (3, 4)")
    report = log.verify()
    assert report.deleted == [range(3, 5)]
    assert not (report.edited or report.inserted or report.truncated)
    assert "DELETED: row(s) 3-4" in "\n".join(report.lines())


def test_delete_and_renumber_caught(log: AuditLog, engine: Engine) -> None:
    execute(engine, "DELETE FROM audit_log WHERE seq = 3")
    for seq in range(4, 11):
        execute(engine, "UPDATE audit_log SET seq = :n WHERE seq = :s", n=seq - 1, s=seq)
    report = log.verify()
    assert report.deleted == [range(3, 4)]
    assert report.moved_from == {s - 1: s for s in range(4, 11)}
    assert not report.ok


def test_insert_caught(log: AuditLog, engine: Engine) -> None:
    """A forged row slipped in at 6 (later rows renumbered), and one appended at the end."""
    for seq in range(10, 5, -1):
        execute(engine, "UPDATE audit_log SET seq = :n WHERE seq = :s", n=seq + 1, s=seq)
    stored = {r["seq"]: r for r in rows(engine)}
    forged = {**stored[5], "seq": 6, "person_id": "P-forged", "prev_mac": stored[5]["mac"]}
    forged["mac"] = hashlib.sha256(str(forged["prev_mac"]).encode() + canonical(forged)).hexdigest()
    execute(
        engine,
        "INSERT INTO audit_log (seq, at, username, role, person_id, model_version, purpose, "
        "route, prev_mac, mac) VALUES (:seq, :at, :username, :role, :person_id, "
        ":model_version, :purpose, :route, :prev_mac, :mac)",
        **forged,
    )
    tail = {**forged, "seq": 12, "prev_mac": stored[11]["mac"], "mac": "f" * 64}
    execute(
        engine,
        "INSERT INTO audit_log (seq, at, username, role, person_id, model_version, purpose, "
        "route, prev_mac, mac) VALUES (:seq, :at, :username, :role, :person_id, "
        ":model_version, :purpose, :route, :prev_mac, :mac)",
        **tail,
    )
    report = log.verify()
    assert report.inserted == [6, 12]
    assert report.moved_from == {s + 1: s for s in range(6, 11)}
    assert not (report.edited or report.deleted or report.truncated)
    assert "INSERTED: row(s) 6, 12" in "\n".join(report.lines())


def test_reorder_caught(log: AuditLog, engine: Engine) -> None:
    execute(engine, "UPDATE audit_log SET seq = -1 WHERE seq = 3")
    execute(engine, "UPDATE audit_log SET seq = 3 WHERE seq = 4")
    execute(engine, "UPDATE audit_log SET seq = 4 WHERE seq = -1")
    report = log.verify()
    assert report.reordered == [3, 4] and report.moved_from == {3: 4, 4: 3}
    assert not (report.edited or report.deleted or report.inserted or report.truncated)
    assert "3 (written as 4), 4 (written as 3)" in "\n".join(report.lines())


def test_truncation_caught_by_the_head(log: AuditLog, engine: Engine) -> None:
    execute(engine, "DELETE FROM audit_log WHERE seq > 7")
    report = log.verify()
    assert report.truncated == range(8, 11)
    assert not (report.edited or report.deleted or report.inserted)
    execute(engine, "DELETE FROM audit_log")
    assert log.verify().truncated == range(1, 11)


def test_missing_or_altered_head_is_a_problem(log: AuditLog) -> None:
    log.head_path.write_text(json.dumps({"seq": 10, "mac": "0" * 64}))
    assert "does not carry" in str(log.verify().head_problem)
    log.head_path.write_text("{garbage")
    assert "not a readable audit head" in str(log.verify().head_problem)
    log.head_path.unlink()
    report = log.verify()
    assert not report.ok and "missing" in str(report.head_problem)


def test_sixteen_concurrent_writers_leave_a_valid_gapless_chain(
    db_url: str, tmp_path: Path
) -> None:
    head = tmp_path / "audit" / "head.json"
    errors: list[BaseException] = []
    start = threading.Barrier(16)

    def write(worker: int) -> None:
        engine = make_engine(db_url)  # each writer has its own engine and connections
        try:
            audit = AuditLog(engine, KEY, head)
            start.wait()
            for i in range(6):
                audit.append([event(worker * 100 + i)] * (1 + i % 2))
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=write, args=(w,)) for w in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    engine = make_engine(db_url)
    try:
        report = AuditLog(engine, KEY, head).verify()
        assert report.ok, report.lines()
        assert report.rows == 16 * 9 and report.head_seq == 16 * 9
        assert [r["seq"] for r in rows(engine)] == list(range(1, 16 * 9 + 1))
    finally:
        engine.dispose()


def test_the_servers_background_head_mirrors_every_commit_beside_another_writer(
    db_url: str, tmp_path: Path
) -> None:
    """The server's mode: 16 request threads share one log whose head.json is written by a
    background thread; a command-line writer (its own engine, head written before it returns)
    appends at the same time. After ``flush`` the head names the last row, and the chain is
    valid."""
    head = tmp_path / "audit" / "head.json"
    server_engine, cli_engine = make_engine(db_url), make_engine(db_url)
    errors: list[BaseException] = []
    start = threading.Barrier(17)
    server = AuditLog(server_engine, KEY, head, background_head=True)
    cli = AuditLog(cli_engine, KEY, head)

    def write(audit: AuditLog, worker: int) -> None:
        try:
            start.wait()
            for i in range(5):
                audit.append([event(worker * 100 + i)])
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(server, w)) for w in range(16)]
    threads.append(threading.Thread(target=write, args=(cli, 99)))
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        server.flush()
        assert json.loads(head.read_text())["seq"] == 17 * 5
        report = cli.verify()
        assert report.ok, report.lines()
        assert report.rows == 17 * 5 and report.head_seq == 17 * 5
    finally:
        server_engine.dispose()
        cli_engine.dispose()


def test_a_head_that_cannot_be_written_refuses_further_rows_until_restored(
    engine: Engine, tmp_path: Path
) -> None:
    """Background mode: an altered head.json stops the head thread's writes; from then on
    every append is refused (views too), until the head is restored; nothing is lost."""
    head = tmp_path / "audit" / "head.json"
    audit = AuditLog(engine, KEY, head, background_head=True, head_interval=0.01)
    try:
        audit.append([event(1)])
        audit.flush()
        head.write_text("{garbage")
        with contextlib.suppress(AuditLogError):  # raised here if the thread was quick
            audit.append([event(2)])  # committed; the head thread fails to write its head
        with pytest.raises(AuditLogError, match="cannot be written"):
            audit.flush()
        with pytest.raises(AuditLogError, match="nothing is shown until it can"):
            audit.append([event(3)])
        assert [r["seq"] for r in rows(engine)] == [1, 2]  # the refused row was never written
        head.unlink()  # restored (here: removed; the next write recreates it)
        audit.flush()
        assert audit.append([event(4)]) == [3]
        audit.close()
        assert json.loads(head.read_text())["seq"] == 3
        assert audit.verify().ok
    finally:
        audit.close()


def test_a_database_that_refuses_the_rows_raises_audit_log_error(
    engine: Engine, tmp_path: Path
) -> None:
    execute(engine, "ALTER TABLE audit_log RENAME TO audit_log_away")
    try:
        audit = AuditLog(engine, KEY, tmp_path / "head.json")
        with pytest.raises(AuditLogError, match="the database refused the audit rows"):
            audit.append([event(1)])
        assert not audit.head_path.exists()
    finally:
        execute(engine, "ALTER TABLE audit_log_away RENAME TO audit_log")


def _append_from_a_process(url: str, head: str, worker: int, n: int) -> None:
    """One server process's writes (runs in a spawned interpreter)."""
    engine = make_engine(url)
    try:
        audit = AuditLog(engine, KEY, Path(head), background_head=True)
        for i in range(n):
            audit.append([event(worker * 1000 + i)] * (1 + i % 3))
        audit.close()
    finally:
        engine.dispose()


def test_three_processes_appending_at_once_leave_one_gapless_chain(
    db_url: str, tmp_path: Path
) -> None:
    """As `vru serve --workers 3` does: separate interpreters, each with its background head
    writer; on SQLite they queue on the file lock beside the database."""
    head = tmp_path / "audit" / "head.json"
    context = multiprocessing.get_context("spawn")
    processes = [
        context.Process(target=_append_from_a_process, args=(db_url, str(head), w, 60))
        for w in range(3)
    ]
    for p in processes:
        p.start()
    for p in processes:
        p.join(timeout=120)
    assert [p.exitcode for p in processes] == [0, 0, 0]
    engine = make_engine(db_url)
    try:
        report = AuditLog(engine, KEY, head).verify()
        expected = 3 * sum(1 + i % 3 for i in range(60))
        assert report.ok, report.lines()
        assert report.rows == expected and report.head_seq == expected
        if engine.dialect.name == "sqlite":
            lock = process_lock_path(engine)
            assert lock == (tmp_path / "app.db.audit-lock").resolve() and lock.exists()
    finally:
        engine.dispose()


def test_an_unusable_lock_file_is_an_audit_log_error_not_a_crash(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'app.db'}")
    try:
        migrate(engine)
        lock = process_lock_path(engine)
        assert lock is not None
        lock.mkdir()  # a directory where the lock file should be
        with pytest.raises(AuditLogError, match="lock file"):
            AuditLog(engine, KEY, tmp_path / "head.json").append([event(1)])
    finally:
        engine.dispose()
