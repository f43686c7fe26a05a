"""One settings object, read from VRU_* variables at the edge."""

from __future__ import annotations

from pathlib import Path

import pytest

from vru_risk.settings import Settings, SettingsError, load_settings


def test_defaults_put_every_store_under_home(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VRU_HOME", raising=False)
    s = load_settings()
    assert s.home == Path(".vru")
    assert s.tracking_uri.endswith(".vru/mlflow.db")
    assert s.app_database_url.endswith(".vru/app.db")
    assert s.cache_dir == Path(".vru/cache")


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("VRU_HOME", str(tmp_path))
    monkeypatch.setenv("VRU_DATABASE_URL", "postgresql+psycopg://vru@127.0.0.1/vru")
    monkeypatch.setenv("VRU_MLFLOW_TRACKING_URI", "http://127.0.0.1:5000")
    monkeypatch.setenv("VRU_DUCKDB_MEMORY_LIMIT", "512MiB")
    s = load_settings()
    assert s.home == tmp_path
    assert s.app_database_url.startswith("postgresql+psycopg://")
    assert s.tracking_uri == "http://127.0.0.1:5000"
    assert s.duckdb_memory_limit == "512MIB"


def test_bad_values_name_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VRU_DUCKDB_THREADS", "0")
    monkeypatch.setenv("VRU_DUCKDB_MEMORY_LIMIT", "lots")
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert "VRU_DUCKDB_THREADS" in str(info.value)
    assert "VRU_DUCKDB_MEMORY_LIMIT" in str(info.value)


def test_settings_are_frozen() -> None:
    s = Settings()
    with pytest.raises(ValueError, match="frozen"):
        s.home = Path("elsewhere")  # type: ignore[misc]
