"""Ethics-panel members as users of the service, for tests that run ``vru review``.

``vru review ...`` asks for the password of an active ethics_panel user named by --reviewer;
:func:`panel_members` adds such users to the test's own application database (under its
VRU_HOME) and feeds their password to ``--password-stdin``. When an audit key is set, the audit
log is opened first, as ``vru users add`` does: users beside an empty audit log read as a log
whose rows were deleted.
"""

from __future__ import annotations

import io

import pytest

from vru_risk.serving.access_log.log import open_audit_log
from vru_risk.settings import load_settings
from vru_risk.store import open_database, session_factory
from vru_risk.store.users import add_user

PANEL_PASSWORD = "panel member password"


def panel_members(monkeypatch: pytest.MonkeyPatch, *names: str) -> tuple[str, ...]:
    """Add ``names`` as ethics-panel users; return the CLI arguments that give the password."""
    settings = load_settings()
    engine = open_database(settings.app_database_url)
    try:
        if settings.audit_key is not None:
            audit = open_audit_log(settings, engine)
            audit.check_ready()  # the key segment and anchor first, as `vru users add` records them
            audit.close()
        with session_factory(engine, write=True).begin() as session:
            for name in names:
                add_user(session, username=name, role="ethics_panel", password=PANEL_PASSWORD)
    finally:
        engine.dispose()
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{PANEL_PASSWORD}\n" * 100))
    return ("--password-stdin",)
