"""``vru serve`` refuses settings it cannot serve with, naming what to set (exit 2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import RunVru
from tests.serving.app.conftest import SESSION_SECRET


def test_serve_needs_a_session_secret(vru: RunVru) -> None:
    result = vru("serve", "--port", "8765")
    assert result.code == 2
    assert "VRU_SESSION_SECRET is not set" in result.stderr


def test_serve_names_a_broken_programmes_file_and_database_url(
    vru: RunVru, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("VRU_SESSION_SECRET", SESSION_SECRET)
    monkeypatch.setenv("VRU_PROGRAMMES_PATH", str(tmp_path / "nope.yaml"))
    result = vru("serve")
    assert result.code == 2 and "nope.yaml does not exist" in result.stderr
    monkeypatch.delenv("VRU_PROGRAMMES_PATH")
    monkeypatch.setenv("VRU_DATABASE_URL", "nosuchdb://somewhere/x")
    result = vru("serve")
    assert result.code == 2 and "VRU_DATABASE_URL" in result.stderr


def test_serve_refuses_a_port_out_of_range(vru: RunVru, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VRU_SESSION_SECRET", SESSION_SECRET)
    result = vru("serve", "--port", "70000")
    assert result.code == 2 and "65535" in result.output
