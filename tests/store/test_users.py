"""Users, roles, argon2 passwords and SHA-256 API tokens, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.store.conftest import PASSWORD, practitioner
from vru_risk.serving.tokens import (
    LAST_USED_EVERY,
    MAX_TOKEN_DAYS,
    check_token,
    issue_token,
    list_tokens,
    new_token,
    record_token_use,
    revoke_token,
    revoke_token_id,
    user_for_token,
)
from vru_risk.store.models import ApiToken, User
from vru_risk.store.users import (
    UserInputError,
    add_user,
    authenticate,
    disable_user,
    get_user,
    get_user_by_name,
    list_users,
    reset_password,
)


def test_add_and_authenticate(sessions: sessionmaker[Session]) -> None:
    pat = practitioner(sessions, programmes=("jump_start", "admit_ae", "jump_start"))
    assert pat.role == "practitioner"
    assert pat.programmes == ("jump_start", "admit_ae")
    with sessions.begin() as s:
        panel = add_user(s, username="eve.panel", role="ethics_panel", password=PASSWORD)
        stored = s.scalars(select(User.password_hash).where(User.username == "pat")).one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    with sessions.begin() as s:
        assert authenticate(s, "pat", PASSWORD) == pat
        assert authenticate(s, "pat", PASSWORD + "x") is None
        assert authenticate(s, "nobody", PASSWORD) is None
        assert authenticate(s, "PAT", PASSWORD) is None
        assert get_user(s, panel.id) == panel
        assert get_user(s, 9999) is None
        assert get_user_by_name(s, "eve.panel") == panel
        assert [u.username for u in list_users(s)] == ["eve.panel", "pat"]


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"username": "x", "role": "admin"}, "not allowed"),
        ({"username": "bad name", "role": "admin"}, "not allowed"),
        ({"username": "ok", "role": "superuser"}, "unknown role 'superuser'"),
        ({"username": "ok", "role": "practitioner"}, "at least one programme"),
        (
            {"username": "ok", "role": "practitioner", "programmes": ["boxing"]},
            "unknown programme.*boxing.*configured: jump_start",
        ),
        (
            {"username": "ok", "role": "data_scientist", "programmes": ["jump_start"]},
            "only practitioners are bound",
        ),
        ({"username": "ok", "role": "admin", "password": "short"}, "5 characters; use at least 12"),
        ({"username": "ok", "role": "admin", "password": " padded password "}, "white space"),
    ],
)
def test_bad_users_are_refused_with_a_reason(
    sessions: sessionmaker[Session], kwargs: dict[str, object], words: str
) -> None:
    args: dict[str, object] = {"password": PASSWORD, **kwargs}
    with pytest.raises(UserInputError, match=words), sessions.begin() as s:
        add_user(s, **args)  # type: ignore[arg-type]
    with sessions.begin() as s:
        assert list_users(s) == []


def test_duplicate_username_is_refused(sessions: sessionmaker[Session]) -> None:
    practitioner(sessions)
    with pytest.raises(UserInputError, match=r"'pat' already exists.*reset-password"):
        practitioner(sessions)


def test_disabled_users_cannot_log_in_or_use_tokens(sessions: sessionmaker[Session]) -> None:
    practitioner(sessions)
    with sessions.begin() as s:
        token = issue_token(s, "pat")
    with sessions.begin() as s:
        assert user_for_token(s, token) is not None
        gone = disable_user(s, "pat")
    assert gone.active is False
    with sessions.begin() as s:
        assert authenticate(s, "pat", PASSWORD) is None
        assert user_for_token(s, token) is None
        assert s.scalars(select(User.disabled_at)).one() is not None
        with pytest.raises(UserInputError, match="disabled"):
            issue_token(s, "pat")
        with pytest.raises(UserInputError, match="no user 'ghost'"):
            disable_user(s, "ghost")


def test_reset_password(sessions: sessionmaker[Session]) -> None:
    practitioner(sessions)
    practitioner(sessions, "ed")
    with sessions.begin() as s:
        token, kept = issue_token(s, "pat"), issue_token(s, "ed")
    with sessions.begin() as s:
        with pytest.raises(UserInputError, match="at least 12"):
            reset_password(s, "pat", "tiny")
        changed = reset_password(s, "pat", "a different long password")
    assert changed.generation == 1  # sessions issued under generation 0 are refused
    with sessions.begin() as s:
        assert authenticate(s, "pat", PASSWORD) is None
        fresh = authenticate(s, "pat", "a different long password")
        assert fresh is not None and fresh.generation == 1
        assert user_for_token(s, token) is None  # revoked by the reset
        assert user_for_token(s, kept) is not None  # another user's: untouched
        with pytest.raises(UserInputError, match="no user"):
            reset_password(s, "ghost", "a different long password")


def test_tokens_expire_record_their_use_and_are_revoked_by_id(
    sessions: sessionmaker[Session],
) -> None:
    practitioner(sessions)
    start = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    with sessions.begin() as s:
        issued = new_token(s, "pat", days=7, label=" nightly sync ", now=start)
        other = new_token(s, "pat", days=MAX_TOKEN_DAYS, now=start)
    assert issued.info.label == "nightly sync"
    assert issued.info.expires_at == start + dt.timedelta(days=7)
    with sessions.begin() as s:
        live = check_token(s, issued.token, now=start + dt.timedelta(days=7, seconds=-1))
        expired = check_token(s, issued.token, now=start + dt.timedelta(days=7))
    assert live.user is not None and live.user.username == "pat"
    assert expired.user is None and expired.expired_at == start + dt.timedelta(days=7)
    # the last use is written at most every LAST_USED_EVERY
    assert record_token_use(sessions, live, now=start + dt.timedelta(hours=1))
    with sessions.begin() as s:
        used = check_token(s, issued.token, now=start + dt.timedelta(hours=1, minutes=1))
    assert used.last_used_at == start + dt.timedelta(hours=1)
    assert not record_token_use(sessions, used, now=start + dt.timedelta(hours=1, minutes=1))
    assert record_token_use(sessions, used, now=start + dt.timedelta(hours=1) + LAST_USED_EVERY)
    with sessions.begin() as s:
        info, was_live = revoke_token_id(s, other.info.id)
        assert was_live and info.status() == "revoked" and info.username == "pat"
        assert revoke_token_id(s, other.info.id)[1] is False
        listed = list_tokens(s, "pat")
        with pytest.raises(UserInputError, match="no API token with id 99999"):
            revoke_token_id(s, 99999)
        for days, label in ((0, None), (MAX_TOKEN_DAYS + 1, None), (7, "  "), (7, "a\nb")):
            with pytest.raises(UserInputError):
                new_token(s, "pat", days=days, label=label)
    assert [(t.id, t.status(start)) for t in listed] == [
        (issued.info.id, "live"),
        (other.info.id, "revoked"),
    ]
    assert listed[0].last_used_at == start + dt.timedelta(hours=1) + LAST_USED_EVERY


def test_tokens_are_stored_as_sha256_and_can_be_revoked(sessions: sessionmaker[Session]) -> None:
    pat = practitioner(sessions)
    with sessions.begin() as s:
        first, second = issue_token(s, "pat"), issue_token(s, "pat")
    assert first != second and first.startswith("vru_") and len(first) > 40
    with sessions.begin() as s:
        stored = set(s.scalars(select(ApiToken.token_sha256)))
    assert stored == {hashlib.sha256(t.encode()).hexdigest() for t in (first, second)}
    with sessions.begin() as s:
        assert user_for_token(s, first) == pat
        assert user_for_token(s, "vru_not-a-token") is None
        assert user_for_token(s, "Bearer " + first) is None
        assert revoke_token(s, first) is True
        assert revoke_token(s, first) is False
    with sessions.begin() as s:
        assert user_for_token(s, first) is None
        assert user_for_token(s, second) == pat
