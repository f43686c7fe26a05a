"""One settings object, read from VRU_* variables at the edge."""

from __future__ import annotations

from pathlib import Path

import pytest

from vru_risk.serving.tokens import DEFAULT_TOKEN_DAYS, MAX_TOKEN_DAYS
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


def test_engine_and_spark_master_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    s = load_settings()
    assert (s.engine, s.spark_master) == ("duckdb", "local[2]")
    monkeypatch.setenv("VRU_ENGINE", "spark")
    monkeypatch.setenv("VRU_SPARK_MASTER", "spark://head:7077")
    s = load_settings()
    assert (s.engine, s.spark_master) == ("spark", "spark://head:7077")
    monkeypatch.setenv("VRU_ENGINE", "postgres")
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert "VRU_ENGINE" in str(info.value) and "'duckdb' or 'spark'" in str(info.value)


def test_settings_are_frozen() -> None:
    s = Settings()
    with pytest.raises(ValueError, match="frozen"):
        s.home = Path("elsewhere")  # type: ignore[misc]


def test_service_settings_have_safe_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AUDIT_KEY", "SESSION_SECRET", "SECURE_COOKIES", "PROGRAMMES_PATH"):
        monkeypatch.delenv(f"VRU_{name}", raising=False)
    s = load_settings()
    assert s.audit_key is None and s.session_secret is None
    assert s.secure_cookies is False and s.docs_enabled is True
    assert s.session_hours == 8
    assert (s.login_free_failures, s.login_max_delay_seconds) == (5, 300)
    assert s.login_client_failures_per_hour == 100
    assert (s.token_days, s.max_body_bytes) == (DEFAULT_TOKEN_DAYS, 64 * 1024)
    assert s.forwarded_allow_ips == "127.0.0.1"
    assert (s.identifier_requests_per_minute, s.identifier_requests_per_hour) == (120, 600)
    assert (s.flag_visible_days, s.retention_months) == (90, 12)
    assert s.programmes_path is None
    assert s.audit_dir == s.home / "audit"


def test_service_settings_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("VRU_AUDIT_KEY", "k" * 32)
    monkeypatch.setenv("VRU_SESSION_SECRET", "s" * 40)
    monkeypatch.setenv("VRU_SECURE_COOKIES", "true")
    monkeypatch.setenv("VRU_SESSION_HOURS", "4")
    monkeypatch.setenv("VRU_LOGIN_FREE_FAILURES", "3")
    monkeypatch.setenv("VRU_TOKEN_DAYS", "30")
    monkeypatch.setenv("VRU_MAX_BODY_BYTES", "10000")
    monkeypatch.setenv("VRU_IDENTIFIER_REQUESTS_PER_MINUTE", "30")
    monkeypatch.setenv("VRU_IDENTIFIER_REQUESTS_PER_HOUR", "200")
    monkeypatch.setenv("VRU_FLAG_VISIBLE_DAYS", "30")
    monkeypatch.setenv("VRU_RETENTION_MONTHS", "6")
    monkeypatch.setenv("VRU_PROGRAMMES_PATH", str(tmp_path / "programmes.yaml"))
    monkeypatch.setenv("VRU_DOCS_ENABLED", "false")
    s = load_settings()
    assert s.audit_key is not None and s.audit_key.get_secret_value() == "k" * 32
    assert s.session_secret is not None and s.session_secret.get_secret_value() == "s" * 40
    assert "k" * 32 not in repr(s) and "s" * 40 not in repr(s)  # secrets never printed
    assert s.secure_cookies is True and s.docs_enabled is False
    assert (s.session_hours, s.login_free_failures) == (4, 3)
    assert (s.token_days, s.max_body_bytes) == (30, 10000)
    assert (s.identifier_requests_per_minute, s.identifier_requests_per_hour) == (30, 200)
    assert (s.flag_visible_days, s.retention_months) == (30, 6)
    assert s.programmes_path == tmp_path / "programmes.yaml"


def test_bad_service_settings_name_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VRU_AUDIT_KEY", "short")
    monkeypatch.setenv("VRU_SESSION_SECRET", "also short")
    monkeypatch.setenv("VRU_RETENTION_MONTHS", "0")
    monkeypatch.setenv("VRU_FLAG_VISIBLE_DAYS", "soon")
    monkeypatch.setenv("VRU_SECURE_COOKIES", "maybe")
    monkeypatch.setenv("VRU_REQUEST_THREADS", "41")  # the database pool is sized for 40
    monkeypatch.setenv("VRU_TOKEN_DAYS", str(MAX_TOKEN_DAYS + 1))  # no token lives longer
    monkeypatch.setenv("VRU_MAX_BODY_BYTES", "100")
    with pytest.raises(SettingsError) as info:
        load_settings()
    message = str(info.value)
    for name in (
        "VRU_AUDIT_KEY",
        "VRU_SESSION_SECRET",
        "VRU_RETENTION_MONTHS",
        "VRU_FLAG_VISIBLE_DAYS",
        "VRU_SECURE_COOKIES",
        "VRU_REQUEST_THREADS",
        "VRU_TOKEN_DAYS",
        "VRU_MAX_BODY_BYTES",
    ):
        assert name in message
    assert "at least 16 characters" in message and "token_urlsafe" in message
    assert "also short" not in message  # a secret's value is never echoed


AUDIT_KEY = "an-audit-key-of-some-length"


@pytest.mark.parametrize("value", [AUDIT_KEY + "\n", AUDIT_KEY + "\r\n", " " + AUDIT_KEY])
def test_an_audit_key_with_surrounding_whitespace_is_refused(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    """Finding 6: a key read with its trailing newline would chain rows under another key."""
    monkeypatch.setenv("VRU_AUDIT_KEY", value)
    with pytest.raises(SettingsError) as info:
        load_settings()
    message = str(info.value)
    assert "VRU_AUDIT_KEY" in message and "trailing newline" in message
    assert AUDIT_KEY not in message  # never echoed


def test_retired_audit_keys_are_a_comma_separated_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VRU_AUDIT_KEY", AUDIT_KEY)
    monkeypatch.setenv("VRU_AUDIT_PREVIOUS_KEYS", "first-retired-key-0123,second-retired-key-0123")
    s = load_settings()
    assert s.audit_previous_key_list == (b"first-retired-key-0123", b"second-retired-key-0123")
    assert "first-retired" not in repr(s)
    monkeypatch.setenv("VRU_AUDIT_PREVIOUS_KEYS", "first-retired-key-0123, second-retired-key")
    with pytest.raises(SettingsError, match=r"VRU_AUDIT_PREVIOUS_KEYS: .*key 2 .*whitespace"):
        load_settings()
    monkeypatch.delenv("VRU_AUDIT_PREVIOUS_KEYS")
    monkeypatch.setenv("VRU_AUDIT_KEY", "with,a-comma-0123456789")
    with pytest.raises(SettingsError, match="must not contain a comma"):
        load_settings()


def test_audit_rows_are_kept_six_years_and_the_anchor_is_outside_home(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("VRU_HOME", str(tmp_path / "home"))
    s = load_settings()
    assert s.audit_retention_months == 72
    assert s.audit_anchor == tmp_path / "home.audit-anchor.json"
    assert not s.audit_anchor.is_relative_to(s.home)
    monkeypatch.setenv("VRU_AUDIT_ANCHOR_PATH", "/mnt/worm/vru/anchor.json")
    assert load_settings().audit_anchor == Path("/mnt/worm/vru/anchor.json")
    monkeypatch.setenv("VRU_AUDIT_RETENTION_MONTHS", "6")
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert "VRU_AUDIT_RETENTION_MONTHS (6) is shorter than VRU_RETENTION_MONTHS (12)" in str(
        info.value
    )


@pytest.mark.parametrize(
    ("months", "days", "refused"), [(1, 90, True), (3, 90, True), (4, 90, False)]
)
def test_a_retention_period_shorter_than_the_display_period_is_refused(
    monkeypatch: pytest.MonkeyPatch, months: int, days: int, refused: bool
) -> None:
    """Security re-review F1: one month of retention beside 90 days of display was accepted
    (and `vru retention apply` then deleted every flag still listed)."""
    monkeypatch.setenv("VRU_RETENTION_MONTHS", str(months))
    monkeypatch.setenv("VRU_FLAG_VISIBLE_DAYS", str(days))
    if not refused:
        assert load_settings().retention_months == months
        return
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert (
        f"VRU_RETENTION_MONTHS ({months}) is shorter than VRU_FLAG_VISIBLE_DAYS ({days} days)"
        in str(info.value)
    )
    assert "at least 4 months" in str(info.value)
