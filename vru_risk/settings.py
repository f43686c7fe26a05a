"""The one settings object of vru-risk.

Read once at the edges (the ``vru`` CLI, the server) with :func:`load_settings` and passed down
as plain values; no other module reads environment variables (ruff's banned-API rule and an
import-linter contract keep it that way).

Every field can be set with an environment variable prefixed ``VRU_`` (``VRU_HOME``,
``VRU_DUCKDB_MEMORY_LIMIT``...) or in a ``.env`` file in the working directory.

Example
-------
>>> s = Settings(home="/tmp/vru")
>>> s.tracking_uri.startswith("sqlite:///"), s.report_dir(3).as_posix()
(True, '/tmp/vru/reports/vru-risk-v3')
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from vru_risk.pydantic_errors import error_location
from vru_risk.secret_rules import GENERATE_SECRET, check_audit_key


class SettingsError(ValueError):
    """Settings from the environment that cannot be used; the message says which and why."""


class Settings(BaseSettings):
    """Paths, database URLs and engine limits, from ``VRU_*`` environment variables."""

    model_config = SettingsConfigDict(
        env_prefix="VRU_", env_file=".env", extra="ignore", frozen=True
    )

    home: Annotated[
        Path,
        Field(description="Folder holding every embedded store: MLflow, app DB, caches, reports"),
    ] = Path(".vru")
    database_url: Annotated[
        str | None,
        Field(description="Application database URL; default SQLite under home"),
    ] = None
    mlflow_tracking_uri: Annotated[
        str | None,
        Field(description="MLflow tracking URI; default SQLite under home"),
    ] = None
    mlflow_artifact_root: Annotated[
        str | None,
        Field(description="Where new MLflow experiments keep artifacts; default home/mlartifacts"),
    ] = None
    duckdb_threads: Annotated[
        int, Field(ge=1, le=256, description="Threads DuckDB may use for validation/features")
    ] = 2
    lightgbm_threads: Annotated[
        int,
        Field(
            ge=1,
            le=256,
            description="Threads LightGBM may use in batch jobs (vru flags generate); the "
            "server scores with one thread per request",
        ),
    ] = 2
    request_threads: Annotated[
        int,
        Field(
            ge=1,
            le=40,  # the database pool holds two connections for each of 40
            description="Worker threads running the server's blocking work (routes, database "
            "dependencies); more requests wait their turn. On 2 cores, more than a few only "
            "contend for Python's interpreter lock: 16 clients were served faster with 4 than "
            "with 40",
        ),
    ] = 4
    duckdb_memory_limit: Annotated[
        str, Field(description="Memory DuckDB may use before spilling to disk, e.g. '2GB'")
    ] = "2GB"
    engine: Annotated[
        Literal["duckdb", "spark"],
        Field(
            description="Engine of `vru features build` (VRU_ENGINE): duckdb (embedded, the "
            "default) or spark (the same SQL transpiled; needs pyspark and Java 17+)"
        ),
    ] = "duckdb"
    spark_master: Annotated[
        str,
        Field(
            description="Spark master of the spark engine (VRU_SPARK_MASTER): local[N], "
            "spark://host:7077, yarn, k8s://... or Spark Connect sc://..."
        ),
    ] = "local[2]"
    audit_key: Annotated[
        SecretStr | None,
        Field(
            description="HMAC key of the audit log (VRU_AUDIT_KEY), kept outside the database; "
            "commands that write the audit log refuse to run without it"
        ),
    ] = None
    audit_previous_keys: Annotated[
        SecretStr | None,
        Field(
            description="Retired audit keys, comma-separated (VRU_AUDIT_PREVIOUS_KEYS): "
            "`vru audit-log verify` needs the key of every key segment that still has rows"
        ),
    ] = None
    audit_anchor_path: Annotated[
        Path | None,
        Field(
            description="The audit log's record outside the data folder (fingerprints of its "
            "keys, newest row); default beside VRU_HOME. Production: a location that neither "
            "the database host nor VRU_HOME's owner can rewrite"
        ),
    ] = None
    audit_retention_months: Annotated[
        int,
        Field(
            ge=1,
            le=1200,
            description="Months an audit-log row is kept before `vru audit-log prune` deletes "
            "it (default 6 years); at least VRU_RETENTION_MONTHS",
        ),
    ] = 72
    session_secret: Annotated[
        SecretStr | None,
        Field(
            description="Secret signing the web session cookies (VRU_SESSION_SECRET); the app "
            "refuses to start without it unless in demo mode"
        ),
    ] = None
    secure_cookies: Annotated[
        bool,
        Field(
            description="Mark session cookies Secure and send HSTS (set it behind TLS); `vru "
            "serve` warns when it is off on an address other than loopback"
        ),
    ] = False
    session_hours: Annotated[
        int, Field(ge=1, le=24 * 30, description="Hours a web session lasts after login")
    ] = 8
    login_free_failures: Annotated[
        int,
        Field(
            ge=1,
            le=100,
            description="Failed sign-ins for a username from one client address (and from that "
            "many new addresses) before each further attempt must wait; the wait starts at a "
            "second and doubles with each failure",
        ),
    ] = 5
    identifier_requests_per_minute: Annotated[
        int,
        Field(
            ge=1,
            le=1_000_000,
            description="Requests naming a young person, flag or decision (opening a flag, its "
            "decisions, recording one, scoring) allowed per user in a clock minute, counted by "
            "every server process together; past it 429 until the minute ends",
        ),
    ] = 120
    identifier_requests_per_hour: Annotated[
        int,
        Field(
            ge=1,
            le=100_000_000,
            description="The same requests allowed per user in a clock hour: caps a slow, "
            "steady enumeration that stays under the minute's limit",
        ),
    ] = 600
    login_max_delay_seconds: Annotated[
        int,
        Field(
            ge=1,
            le=86400,
            description="The longest a sign-in attempt is made to wait after failures",
        ),
    ] = 300
    login_client_failures_per_hour: Annotated[
        int,
        Field(
            ge=1,
            le=100000,
            description="Failed sign-ins from one client address (any usernames) in an hour "
            "before that address is refused until the hour has passed",
        ),
    ] = 100
    token_days: Annotated[
        int,
        Field(
            ge=1,
            le=366,  # vru_risk.serving.tokens.MAX_TOKEN_DAYS
            description="Days an API token works after it is issued (`vru users token NAME "
            "--days N` for another lifetime)",
        ),
    ] = 90
    max_body_bytes: Annotated[
        int,
        Field(
            ge=1024,
            le=16 * 1024 * 1024,
            description="The largest request body the server reads (decisions and forms are "
            "small); larger ones are refused with 413 before they are read",
        ),
    ] = 64 * 1024
    forwarded_allow_ips: Annotated[
        str,
        Field(
            description="Addresses of the reverse proxies whose X-Forwarded-For/-Proto headers "
            "are trusted (comma-separated IPs or networks, as uvicorn's --forwarded-allow-ips): "
            "sign-in limits count the client address these give"
        ),
    ] = "127.0.0.1"
    flag_visible_days: Annotated[
        int, Field(ge=1, le=3660, description="Days after its as_of date a flag is still listed")
    ] = 90
    stale_source_days: Annotated[
        int,
        Field(
            ge=0,
            le=3660,
            description="A flag page warns when a source it draws on was last refreshed more "
            "than this many days before the service date",
        ),
    ] = 14
    aggregate_min_people: Annotated[
        int,
        Field(
            ge=1,
            le=1000,
            description="Aggregate cells of fewer distinct young people are withheld",
        ),
    ] = 5
    retention_months: Annotated[
        int,
        Field(
            ge=1,
            le=240,
            description="Months after its as_of date a flag and its decisions "
            "are deleted by `vru retention apply`; not shorter than VRU_FLAG_VISIBLE_DAYS",
        ),
    ] = 12
    programmes_path: Annotated[
        Path | None,
        Field(description="Programmes configuration file; default the packaged Somerset seed"),
    ] = None
    docs_enabled: Annotated[
        bool, Field(description="Serve the OpenAPI pages /docs and /redoc (assets served locally)")
    ] = True

    @field_validator("duckdb_memory_limit")
    @classmethod
    def _memory_limit_has_unit(cls, value: str) -> str:
        text = value.strip().upper().replace(" ", "")
        units = ("KB", "MB", "GB", "TB", "KIB", "MIB", "GIB", "TIB")
        number = next((text[: -len(u)] for u in units if text.endswith(u)), None)
        if number is None or not number.replace(".", "", 1).isdigit():
            raise ValueError(f"{value!r} is not a size such as '2GB' or '512MiB'")
        return text

    @field_validator("session_secret")
    @classmethod
    def _secret_long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 16:
            raise ValueError(f"must be at least 16 characters; {GENERATE_SECRET}")
        return value

    @field_validator("audit_key")
    @classmethod
    def _audit_key_usable(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            check_audit_key(value.get_secret_value())
        return value

    @field_validator("audit_previous_keys")
    @classmethod
    def _previous_keys_usable(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        for number, key in enumerate(value.get_secret_value().split(","), start=1):
            try:
                check_audit_key(key)
            except ValueError as exc:
                raise ValueError(f"key {number} (counting from 1, comma-separated) {exc}") from None
        return value

    @model_validator(mode="after")
    def _periods_nest(self) -> Settings:  # a span of N calendar months is at least N * 28 days
        if (months := -(-self.flag_visible_days // 28)) > self.retention_months:
            raise ValueError(
                f"VRU_RETENTION_MONTHS ({self.retention_months}) is shorter than "
                f"VRU_FLAG_VISIBLE_DAYS ({self.flag_visible_days} days): shown flags would be "
                f"deleted with their decisions; make it at least {months} months or lower the days"
            )
        if self.audit_retention_months < self.retention_months:
            raise ValueError(
                f"VRU_AUDIT_RETENTION_MONTHS ({self.audit_retention_months}) is shorter than "
                f"VRU_RETENTION_MONTHS ({self.retention_months}): the record of who viewed a "
                "flag would be deleted before the flag; raise the first or lower the second"
            )
        return self

    @property
    def audit_previous_key_list(self) -> tuple[bytes, ...]:
        """The retired audit keys (VRU_AUDIT_PREVIOUS_KEYS), as bytes."""
        if self.audit_previous_keys is None:
            return ()
        return tuple(k.encode() for k in self.audit_previous_keys.get_secret_value().split(","))

    @property
    def audit_anchor(self) -> Path:
        """The audit anchor file: VRU_AUDIT_ANCHOR_PATH, or ``<home>.audit-anchor.json`` beside
        VRU_HOME (deleting VRU_HOME leaves it; whoever controls this host controls it too)."""
        if self.audit_anchor_path is not None:
            return self.audit_anchor_path
        home = self.home.resolve()
        return home.parent / f"{home.name or 'vru'}.audit-anchor.json"

    @property
    def audit_dir(self) -> Path:
        """Where the audit log's chain head (head.json) is mirrored, outside the database."""
        return self.home / "audit"

    @property
    def cache_dir(self) -> Path:
        """DuckDB's scratch folder (work that spills past the memory limit)."""
        return self.home / "cache"

    @property
    def features_dir(self) -> Path:
        """``vru train``'s feature tables, cached by feature spec and data fingerprint."""
        return self.home / "features"

    @property
    def flags_dir(self) -> Path:
        """The daily job's materialised moments (``moments-<day>/``) and issued-flags ledger."""
        return self.home / "flags"

    @property
    def issued_dir(self) -> Path:
        """The issued-flags ledger (:mod:`vru_risk.flags.ledger`): capacity is counted from it."""
        return self.flags_dir / "issued"

    @property
    def reports_dir(self) -> Path:
        return self.home / "reports"

    def report_dir(self, version: int) -> Path:
        """A model version's fairness report (``vru audit`` writes it, the service shows it)."""
        return self.reports_dir / f"vru-risk-v{version}"

    @property
    def review_log_path(self) -> Path:
        """The ethics panel's review log (the application database holds a mirror of it)."""
        return self.home / "review_log.jsonl"

    @property
    def lottery_record_path(self) -> Path:
        """The programmes' fair-lottery draws, winners and losers (:mod:`vru_risk.flags.lottery`:
        append-only and hash-chained, beside the review log that approves the lotteries)."""
        return self.home / "lottery_record.jsonl"

    @property
    def app_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.home / 'app.db').resolve()}"

    @property
    def tracking_uri(self) -> str:
        return self.mlflow_tracking_uri or f"sqlite:///{(self.home / 'mlflow.db').resolve()}"

    @property
    def artifact_root(self) -> str | None:
        """Artifacts of new experiments: home/mlartifacts with the default SQLite store; with
        a tracking server, the server's own default unless VRU_MLFLOW_ARTIFACT_ROOT is set."""
        if self.mlflow_artifact_root:
            return self.mlflow_artifact_root
        if self.mlflow_tracking_uri:
            return None
        return (self.home / "mlartifacts").resolve().as_uri()


def quiet_libraries() -> None:
    """Keep MLflow's progress bars, telemetry and INFO chatter out of the CLI's output.

    Only defaults are set: a variable the user exported wins.
    """
    import logging
    import os

    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")  # read when MLflow is imported
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)


def passive_openmp_threads() -> None:
    """Let idle OpenMP threads (LightGBM's) sleep rather than spin, unless the user set
    OMP_WAIT_POLICY; read when LightGBM is first loaded, so call it before.

    On a 2-core machine shared with other work, a spinning thread waits for a core another
    process holds: three 300-tree fits on two threads took 142 s spinning and 18 s sleeping
    (14 s on one thread), at a load average of 6 to 7 (``vru demo``, whose timing is printed).
    Called by the CLI's root for every command.
    """
    import os

    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def load_settings() -> Settings:
    """Read the settings from the environment once; raise :class:`SettingsError` if unusable."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"VRU_{error_location(e['loc'], sep='_').upper()}: {e['msg']}"
            if e["loc"]
            else str(e["msg"]).removeprefix("Value error, ")
            for e in exc.errors()
        )
        raise SettingsError(
            f"invalid settings in the environment: {problems}. "
            "Fix or unset those variables (see README, 'Settings')."
        ) from None
