"""Finding 17: the application database and the person-level files under ``VRU_HOME`` were
readable by any local user (files 0644 in a 0755 home). What ``vru`` writes is now private to
its account, and a home left open is tightened at start, saying what changed."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from tests.conftest import RunVru

PASSWORD = "the admin's long password"


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_what_vru_writes_under_its_home_is_private_to_its_account(
    vru: RunVru, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "vru-home"  # the autouse fixture's VRU_HOME; not there yet
    monkeypatch.setenv("VRU_AUDIT_KEY", "an-audit-key-of-some-length")
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert vru("users", "add", "root", "--role", "admin", "--password-stdin").code == 0
    listed = vru("retention", "apply")  # recorded in the audit log: head.json written
    assert listed.code == 0, listed.output
    generated = vru("data", "generate", "--out", home / "data", "--people", "100", "--years", "1")
    assert generated.code == 0, generated.output
    assert mode(home) == 0o700
    for folder in (home / "audit", home / "data"):
        assert mode(folder) == 0o700, folder
    written = [home / "app.db", home / "audit" / "head.json", *(home / "data").iterdir()]
    assert len(written) > 4
    for path in written:
        assert mode(path) == 0o600, path
    assert "notice" not in listed.stderr  # it was made private: nothing to tighten


def test_a_home_open_to_others_is_tightened_at_start_saying_what_changed(
    vru: RunVru, tmp_path: Path
) -> None:
    home = tmp_path / "vru-home"
    (home / "flags").mkdir(parents=True)
    (home / "app.db").write_text("")
    (home / "flags" / "flags-2026-03-02.jsonl").write_text("{}\n")
    home.chmod(0o755)  # as an older version, or a copy by hand, left it
    (home / "flags").chmod(0o775)
    (home / "app.db").chmod(0o644)
    (home / "flags" / "flags-2026-03-02.jsonl").chmod(0o666)
    result = vru("users", "list")
    assert result.code == 0, result.output
    said = " ".join(result.stderr.split())
    assert f"{home} was open to other local users: was 0755, now 0700" in said
    assert "3 file(s) and folder(s) under it are no longer open to group or others" in said
    assert mode(home) == 0o700 and mode(home / "flags") == 0o700
    assert mode(home / "app.db") == 0o600
    assert mode(home / "flags" / "flags-2026-03-02.jsonl") == 0o600
    assert "notice" not in vru("users", "list").stderr  # once only
