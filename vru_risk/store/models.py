"""Tables of the application database (SQLAlchemy 2 declarative, typed).

Times are stored as timezone-aware UTC (``DateTime(timezone=True)``; SQLite keeps the UTC value
and :class:`UTCDateTime` gives it back aware). The audit log keeps its time as the exact ISO text
it was MAC'd with, so verification never depends on how a database round-trips timestamps.

Example
-------
>>> sorted(Base.metadata.tables)[:3]
['api_tokens', 'audit_key_segments', 'audit_log']
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from vru_risk.data.ids import PERSON_ID_MAX_LENGTH
from vru_risk.vocabulary import WITHDRAWAL_REASON_LENGTH


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite drops the offset on its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(
        self, value: dt.datetime | None, _dialect: Dialect
    ) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC column; use datetime.now(UTC)")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: Any, _dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        assert isinstance(value, dt.datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(
            "role in ('practitioner', 'data_scientist', 'ethics_panel', 'admin')",
            name="ck_users_role",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(32))
    programmes: Mapped[list[str]] = mapped_column(JSON, default=list)
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    disabled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: raised by every password reset: a web session issued under an older generation is
    #: refused at its next request (sessions carry the generation they were issued under)
    credentials_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class ApiToken(Base):
    """An API bearer token: only its SHA-256 is stored; it works until ``expires_at`` unless
    revoked (singly, by a password reset, or by disabling its user)."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    label: Mapped[str | None] = mapped_column(String(100), nullable=True)
    #: when the token last authorised a request (recorded at most every few minutes)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


class FlagLoad(Base):
    """One ``vru flags load``: its rows are staged in batches under ``load_id`` and become
    visible together when ``published_at`` is set (one short transaction). A load never
    published (killed, or refused half-way) is discarded by the next load."""

    __tablename__ = "flag_loads"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(255))
    operator: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    staged: Mapped[int] = mapped_column(Integer, default=0)


class FlagRow(Base):
    """A flag as loaded. Shown only once published (``load_id`` null, or its load published)
    and while not withdrawn (``withdrawn_at`` null): :func:`~vru_risk.store.flag_store.shown`.
    """

    __tablename__ = "flags"

    flag_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    person_id: Mapped[str] = mapped_column(String(PERSON_ID_MAX_LENGTH), index=True)
    as_of: Mapped[dt.date] = mapped_column(Date, index=True)
    expires: Mapped[dt.date] = mapped_column(Date)
    band: Mapped[str] = mapped_column(String(64))
    model_name: Mapped[str] = mapped_column(String(128))
    model_version: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(128))
    body: Mapped[str] = mapped_column(Text)
    loaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    load_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    withdrawn_reason: Mapped[str | None] = mapped_column(
        String(WITHDRAWAL_REASON_LENGTH), nullable=True
    )
    withdrawn_by: Mapped[str | None] = mapped_column(String(64), nullable=True)


class FlagProgramme(Base):
    __tablename__ = "flag_programmes"
    __table_args__ = (
        Index("ix_flag_programmes_listing", "programme_id", "status", "rank"),
        CheckConstraint("status in ('offered', 'already_supported')", name="ck_fp_status"),
    )

    flag_id: Mapped[str] = mapped_column(ForeignKey("flags.flag_id"), primary_key=True)
    programme_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(32))
    rank: Mapped[int | None] = mapped_column(Integer, nullable=True)


class DecisionRow(Base):
    """Append-only: a correction is a new row whose ``corrects`` names the row it corrects."""

    __tablename__ = "decisions"
    __table_args__ = (
        CheckConstraint(
            "decision in ('referred', 'no_action', 'disagree')", name="ck_decisions_kind"
        ),
        CheckConstraint(
            "(decision = 'referred') = (referred_to is not null)", name="ck_decisions_referred"
        ),
        Index("ix_decisions_flag", "flag_id", "programme_id"),
        # a retry with the same key stores nothing new (NULL keys never collide)
        Index("uq_decisions_user_idempotency_key", "user_id", "idempotency_key", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    flag_id: Mapped[str] = mapped_column(ForeignKey("flags.flag_id"))
    programme_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    username: Mapped[str] = mapped_column(String(64))
    decision: Mapped[str] = mapped_column(String(16))
    referred_to: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reason_code: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    corrects: Mapped[int | None] = mapped_column(ForeignKey("decisions.id"), nullable=True)
    #: the client's ``Idempotency-Key`` (API) or the decision form's hidden key (pages)
    idempotency_key: Mapped[str | None] = mapped_column(String(128), nullable=True)


class FlagView(Base):
    """A flag shown to a practitioner: its page or the API's flag detail answered with it, acting
    for ``programme_id`` (never a list, a 403 or a 404). Written after the view's audit row; the
    decisions monitoring counts the offers opened before they expired from it. Never updated;
    deleted with its flag by retention."""

    __tablename__ = "flag_views"
    __table_args__ = (Index("ix_flag_views_flag", "flag_id", "programme_id"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    flag_id: Mapped[str] = mapped_column(ForeignKey("flags.flag_id"))
    programme_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    viewed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReviewLogMirror(Base):
    """The ethics panel's review log (a JSONL file) mirrored for the pages and for backups."""

    __tablename__ = "review_log_mirror"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    digest: Mapped[str] = mapped_column(String(64))


class AuditRow(Base):
    """One view of an individual (or an administrative act); never updated or deleted."""

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[str] = mapped_column(String(40))
    username: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(32))
    person_id: Mapped[str | None] = mapped_column(
        String(PERSON_ID_MAX_LENGTH), nullable=True, index=True
    )
    model_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    purpose: Mapped[str] = mapped_column(String(64))
    route: Mapped[str] = mapped_column(String(255))
    prev_mac: Mapped[str] = mapped_column(String(64))
    mac: Mapped[str] = mapped_column(String(64))


class AuditKeySegment(Base):
    """A key segment of the audit log: rows from ``first_seq`` on are MAC'd with the key whose
    keyed fingerprint this is (``HMAC-SHA256(key, label)``; never the key), until the next
    segment. Segment 1 is recorded with the first row; each later one by ``vru audit-log
    rotate-key``. Never updated or deleted; mirrored in the audit anchor outside the data
    folder."""

    __tablename__ = "audit_key_segments"

    segment: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    first_seq: Mapped[int] = mapped_column(BigInteger)
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    at: Mapped[str] = mapped_column(String(40))


class LoginFailure(Base):
    """A sign-in attempt, counted for the login limits by every server process (recorded
    before the password is checked; removed again when the password was right).

    ``key`` is an HMAC of ``user:<username>`` and ``client`` one of ``client:<address>``, under
    a key derived from the session secret (pseudonymised); ``at`` is seconds since the epoch.
    Rows older than the limits' window are deleted as new attempts come and at server start.
    """

    __tablename__ = "login_failures"
    __table_args__ = (
        Index("ix_login_failures_key_at", "key", "at"),
        Index("ix_login_failures_client_at", "client", "at"),
        Index("ix_login_failures_at", "at"),  # pruning
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    key: Mapped[str] = mapped_column(String(64))
    client: Mapped[str] = mapped_column(String(64))
    at: Mapped[float] = mapped_column(Float)


class RequestCount(Base):
    """Requests naming an individual (a flag, its decisions, a person to score) per user and
    clock window, counted by every server process (``vru serve --workers N``) with one UPSERT.

    ``key`` is an HMAC of the user's id under a key derived from the session secret
    (pseudonymised, as ``login_failures``); ``span`` the window's length in seconds (60, 3600);
    ``started`` its first second since the epoch. Rows of ended windows are deleted as new
    windows start and at server start.
    """

    __tablename__ = "request_counts"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    span: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    started: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hits: Mapped[int] = mapped_column(Integer)


class LoginKnownClient(Base):
    """A client address a user signed in from with the right password (both as keyed HMACs, as
    in :class:`LoginFailure`), and when last: failures of that username from *other* addresses
    never delay a sign-in from here. Kept for ``KNOWN_CLIENT_DAYS`` after the last sign-in."""

    __tablename__ = "login_known_clients"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    client: Mapped[str] = mapped_column(String(64), primary_key=True)
    at: Mapped[float] = mapped_column(Float, index=True)


class EndedSession(Base):
    """A web session ended by signing out (the SHA-256 of its CSRF token and when it was
    issued), refused by every server process until it would have expired anyway."""

    __tablename__ = "ended_sessions"

    csrf_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    issued: Mapped[float] = mapped_column(Float, index=True)
