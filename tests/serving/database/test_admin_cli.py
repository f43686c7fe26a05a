"""``vru users``, ``vru flags load``, ``vru audit-log verify``, ``vru retention apply`` and
``vru db``, through the real entry point, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import io
import secrets
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.conftest import RunVru
from tests.store.conftest import make_flag
from vru_risk.serving.tokens import user_for_token
from vru_risk.store import make_engine, session_factory

KEY = "an-audit-key-of-some-length"
PASSWORD = "the admin's long password"


@pytest.fixture
def app_db(db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("VRU_DATABASE_URL", db_url)
    monkeypatch.setenv("VRU_AUDIT_KEY", KEY)
    return db_url


def audit_rows(url: str) -> list[dict[str, object]]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            found = conn.execute(text("SELECT * FROM audit_log ORDER BY seq"))
            return [dict(r._mapping) for r in found]
    finally:
        engine.dispose()


def stdin(monkeypatch: pytest.MonkeyPatch, *lines: str) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("".join(f"{line}\n" for line in lines)))


def flat(output: str) -> str:
    return " ".join(output.split())


def test_users_commands(vru: RunVru, app_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    stdin(monkeypatch, PASSWORD)
    added = vru("users", "add", "root", "--role", "admin", "--password-stdin")
    assert added.code == 0, added.output
    assert "added root (admin)" in added.stdout
    stdin(monkeypatch, PASSWORD)
    pat = vru(
        "users", "add", "pat", "--role", "practitioner", "--programme", "jump_start",
        "--programme", "admit_ae", "--password-stdin",
    )  # fmt: skip
    assert pat.code == 0 and "programmes: jump_start, admit_ae" in pat.stdout
    stdin(monkeypatch, PASSWORD)
    again = vru("users", "add", "root", "--role", "admin", "--password-stdin")
    assert again.code == 2 and "'root' already exists" in again.stderr
    stdin(monkeypatch, PASSWORD)
    unbound = vru("users", "add", "pip", "--role", "practitioner", "--password-stdin")
    assert unbound.code == 2 and "at least one programme" in unbound.stderr
    stdin(monkeypatch, "short")
    weak = vru("users", "add", "pip", "--role", "admin", "--password-stdin")
    assert weak.code == 2 and "use at least 12" in weak.stderr
    bad_role = vru("users", "add", "pip", "--role", "boss", "--password-stdin")
    assert bad_role.code == 2 and "unknown role 'boss'" in bad_role.stderr
    stdin(monkeypatch)
    no_tty = vru("users", "add", "pip", "--role", "admin")
    assert no_tty.code == 2 and "--password-stdin" in no_tty.stderr
    on_line = vru("users", "add", "pip", "--role", "admin", "--password", PASSWORD)
    assert on_line.code == 2  # there is no such option: never on the command line

    token = vru("users", "token", "pat")
    assert token.code == 0
    plaintext = token.stdout.strip().splitlines()[-1]
    engine = make_engine(app_db)
    try:
        with session_factory(engine)() as s:
            user = user_for_token(s, plaintext)
            assert user is not None and user.username == "pat"
            stored = s.execute(text("SELECT token_sha256 FROM api_tokens")).scalar_one()
        assert plaintext not in stored
        stdin(monkeypatch, "another long password")
        assert vru("users", "reset-password", "pat", "--password-stdin").code == 0
        disabled = vru("users", "disable", "pat")
        assert disabled.code == 0 and "tokens are revoked" in disabled.stdout
        with session_factory(engine)() as s:
            assert user_for_token(s, plaintext) is None
    finally:
        engine.dispose()
    missing = vru("users", "disable", "ghost")
    assert missing.code == 2 and "no user 'ghost'" in missing.stderr
    listed = vru("users", "list")
    assert listed.code == 0
    assert "root" in listed.stdout and "jump_start, admit_ae" in listed.stdout
    assert "no" in listed.stdout.split("pat")[1]
    # finding 18: each administrative act is an audit row, without a password or token
    logged = audit_rows(app_db)
    assert [r["purpose"] for r in logged] == [
        "admin: users add",
        "admin: users add",
        "admin: users token",
        "admin: users reset-password",
        "admin: users disable",
    ]
    assert all(r["role"] == "operator" and r["person_id"] is None for r in logged)
    assert "added root (admin)" in str(logged[0]["route"])
    assert "pat" in str(logged[2]["route"]) and "pat" in str(logged[4]["route"])
    everything = " ".join(str(v) for r in logged for v in r.values())
    for secret in (PASSWORD, "another long password", plaintext):
        assert secret not in everything
    assert vru("audit-log", "verify").code == 0


def test_a_wrong_audit_key_stops_commands_before_they_act(
    vru: RunVru, app_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Finding 6: a key that is not the log's (here one with a character lost in copying) is
    refused with the hint, before the act, so no row is chained under the wrong key."""
    stdin(monkeypatch, PASSWORD)
    assert vru("users", "add", "root", "--role", "admin", "--password-stdin").code == 0
    monkeypatch.setenv("VRU_AUDIT_KEY", KEY[:-1])
    hint = "audit key does not match the audit log: check VRU_AUDIT_KEY (a trailing newline?)"
    stdin(monkeypatch, PASSWORD)
    refused = vru("users", "add", "pip", "--role", "admin", "--password-stdin")
    assert refused.code == 2 and hint in flat(refused.stderr)
    for args in (("users", "disable", "root"), ("users", "token", "root"), ("retention", "apply")):
        other = vru(*args)
        assert other.code == 2 and hint in flat(other.stderr), args
    verify = vru("audit-log", "verify")
    assert verify.code == 2 and hint in flat(verify.stdout)
    monkeypatch.setenv("VRU_AUDIT_KEY", KEY + "\n")
    newline = vru("users", "list")
    assert newline.code == 2 and "trailing newline" in flat(newline.stderr)
    assert KEY not in newline.stderr  # the key is never echoed
    monkeypatch.setenv("VRU_AUDIT_KEY", KEY)
    assert "pip" not in vru("users", "list").stdout  # nothing was done
    assert [r["purpose"] for r in audit_rows(app_db)] == ["admin: users add"]
    assert vru("audit-log", "verify").code == 0


def test_empty_user_list_says_how_to_add_one(vru: RunVru, app_db: str) -> None:
    listed = vru("users", "list")
    assert listed.code == 0 and "vru users add" in listed.stdout


def test_flags_load_is_idempotent_and_all_or_nothing(
    vru: RunVru, app_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VRU_AUDIT_KEY", KEY)
    path = tmp_path / "flags.jsonl"
    path.write_text(make_flag("A").model_dump_json() + "\n" + make_flag("B").model_dump_json())
    first = vru("flags", "load", path)
    assert first.code == 0, first.output
    assert "2 flag(s) inserted, 0 already present" in first.stdout
    second = vru("flags", "load", path)
    assert "0 flag(s) inserted, 2 already present" in second.stdout
    bad = tmp_path / "bad.jsonl"
    bad.write_text(make_flag("C").model_dump_json() + "\n{}\n")
    refused = vru("flags", "load", bad)
    assert refused.code == 2
    assert "line 2" in flat(refused.stderr) and "nothing was loaded" in flat(refused.stderr)
    engine = make_engine(app_db)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM flags")).scalar() == 2
    finally:
        engine.dispose()
    missing = vru("flags", "load", tmp_path / "none.jsonl")
    assert missing.code == 2 and "does not exist" in missing.stderr


def test_audit_log_verify_and_retention_need_the_key(
    vru: RunVru, app_db: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("VRU_AUDIT_KEY", raising=False)
    for args in (("audit-log", "verify"), ("retention", "apply")):
        refused = vru(*args)
        assert refused.code == 2
        assert "VRU_AUDIT_KEY is not set" in flat(refused.stderr)
        assert "secrets.token_urlsafe" in flat(refused.stderr)
    monkeypatch.setenv("VRU_AUDIT_KEY", "short")
    short = vru("audit-log", "verify")
    assert short.code == 2 and "VRU_AUDIT_KEY" in short.stderr
    monkeypatch.setenv("VRU_AUDIT_KEY", KEY)
    empty = vru("audit-log", "verify")
    assert empty.code == 0 and "0 row(s) read" in empty.stdout

    path = tmp_path / "flags.jsonl"
    path.write_text(  # B: the newest flag, still shown (retention refuses to delete it)
        make_flag("A", dt.date(2025, 3, 2)).model_dump_json()
        + "\n"
        + make_flag("B", dt.date(2026, 3, 20)).model_dump_json()
    )
    assert vru("flags", "load", path).code == 0  # audit-log row 1
    bad_day = vru("retention", "apply", "--today", "31/03/2027")
    assert bad_day.code == 2 and "YYYY-MM-DD" in bad_day.stderr
    applied = vru("retention", "apply", "--today", "2026-03-31")
    assert applied.code == 0, applied.output
    assert "deleted 1 flag(s), 0 decision(s) and 0 flag view(s)" in flat(applied.stdout)
    assert "audit-log row 2" in flat(applied.stdout)
    ok = vru("audit-log", "verify")
    assert ok.code == 0 and "OK: the chain is intact" in ok.stdout

    engine = make_engine(app_db)
    try:
        with engine.begin() as conn:
            conn.execute(text("UPDATE audit_log SET username = 'nobody'"))
    finally:
        engine.dispose()
    tampered = vru("audit-log", "verify")
    assert tampered.code == 2
    assert "EDITED: row(s) 1-2" in tampered.stdout and "FAILED" in tampered.stdout


def test_db_commands(
    vru: RunVru, app_db: str, monkeypatch: pytest.MonkeyPatch, vru_home: Path
) -> None:
    upgraded = vru("db", "upgrade")
    assert upgraded.code == 0 and "newest schema" in upgraded.stdout
    assert "0 new entries" in upgraded.stdout
    if app_db.startswith("sqlite"):
        refused = vru("db", "grant-app-role", "--role", "vru_app")
        assert refused.code == 2 and "only exists on PostgreSQL" in refused.stderr
        return
    role = f"vru_cli_{secrets.token_hex(3)}"
    stdin(monkeypatch, "role password 123")
    granted = vru("db", "grant-app-role", "--role", role, "--password-stdin")
    try:
        assert granted.code == 0, granted.output
        assert "SELECT and INSERT only on audit_log" in flat(granted.stdout)
        [row] = audit_rows(app_db)
        assert row["purpose"] == "admin: db grant-app-role"
        assert role in str(row["route"]) and "role password" not in str(row["route"])
    finally:
        engine = make_engine(app_db)
        with engine.begin() as conn:
            conn.execute(text(f'DROP OWNED BY "{role}"'))
            conn.execute(text(f'DROP ROLE IF EXISTS "{role}"'))
        engine.dispose()


def test_unusable_database_url_is_invalid_input(
    vru: RunVru, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VRU_DATABASE_URL", "mysql://x@localhost/db")
    refused = vru("users", "list")
    assert refused.code == 2 and "VRU_DATABASE_URL" in refused.stderr
    monkeypatch.setenv("VRU_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    down = vru("users", "list")
    assert down.code == 2 and "cannot open the application database" in flat(down.stderr)
