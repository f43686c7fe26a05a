"""The server checks its audit key and the anchor at start (security review findings 6 and
19): with a key that is not the log's, or without the anchor outside the data folder, it
starts, says why on /health, and refuses every view of an individual (503). On SQLite and
PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import delete

from tests.serving.app.conftest import FLAGS, Served
from vru_risk.serving.access_log.log import open_audit_log
from vru_risk.serving.access_log.maintenance import rotate_key
from vru_risk.serving.app import create_app
from vru_risk.store import make_engine
from vru_risk.store.models import AuditKeySegment, AuditRow

HINT = "audit key does not match the audit log: check VRU_AUDIT_KEY (a trailing newline?)"
A = FLAGS["A"].flag_id


@contextmanager
def restarted(served: Served, **changes: Any) -> Iterator[tuple[TestClient, TestClient]]:
    """The same home and database served again with changed settings: (anonymous client,
    practitioner pat's API client)."""
    app = create_app(served.state.settings.model_copy(update=changes))
    with TestClient(app, follow_redirects=False) as client:
        pat = TestClient(app, headers={"Authorization": f"Bearer {served.tokens['pat']}"})
        yield client, pat


def test_a_server_with_another_key_starts_but_shows_no_individual(served_on: Served) -> None:
    served = served_on
    assert served.api("pat").get(f"/api/v1/flags/{A}").status_code == 200  # a row, right key
    before = [(r.seq, r.mac) for r in served.audit_rows()]
    assert before
    with restarted(served, audit_key=SecretStr("another-key-entirely-0123456789")) as (
        client,
        pat,
    ):
        health = client.get("/health").json()
        assert health["status"] == "degraded" and health["audit_log"] == "unavailable"
        assert HINT in health["reason"]
        assert "VRU_AUDIT_KEY" in health["reason"] and health["fix"]
        for response in (pat.get("/api/v1/flags"), pat.get(f"/api/v1/flags/{A}")):
            assert response.status_code == 503
            assert HINT in response.json()["detail"]
        assert client.get("/api/v1/model").status_code in (401, 403)  # still answering
    assert [(r.seq, r.mac) for r in served.audit_rows()] == before  # nothing under that key


def test_a_server_without_its_anchor_shows_no_individual(served_on: Served) -> None:
    served = served_on
    assert served.api("pat").get(f"/api/v1/flags/{A}").status_code == 200
    assert served.state.audit is not None
    served.state.audit.flush()  # the head and anchor of that row written now, not after unlink
    served.state.settings.audit_anchor.unlink()
    with restarted(served) as (client, pat):
        health = client.get("/health").json()
        assert health["audit_log"] == "unavailable"
        assert "VRU_AUDIT_ANCHOR_PATH" in health["reason"] and "missing" in health["reason"]
        assert pat.get(f"/api/v1/flags/{A}").status_code == 503


def test_a_server_whose_audit_log_was_emptied_shows_no_individual(served_on: Served) -> None:
    """Security re-review F4: with the rows, key segments, head.json and the anchor deleted the
    server started a fresh chain and showed individuals again."""
    served = served_on
    assert served.api("pat").get(f"/api/v1/flags/{A}").status_code == 200
    assert served.state.audit is not None
    served.state.audit.flush()
    with served.state.write_sessions.begin() as s:
        s.execute(delete(AuditRow))
        s.execute(delete(AuditKeySegment))
    served.state.audit.head_path.unlink()
    served.state.settings.audit_anchor.unlink()
    with restarted(served) as (client, pat):
        health = client.get("/health").json()
        assert health["status"] == "degraded" and health["audit_log"] == "unavailable"
        emptied = "the audit log has no rows and no key segments, but the database holds"
        assert emptied in health["reason"]
        response = pat.get(f"/api/v1/flags/{A}")
        assert response.status_code == 503
        assert "the audit rows were deleted" in response.json()["detail"]
    assert served.audit_rows() == []


def test_health_reports_the_audit_log_unavailable_once_the_key_was_rotated(
    served_on: Served,
) -> None:
    """Security re-review F5: after `vru audit-log rotate-key` the running server refused every
    view (503) while /health kept saying "ok", audit log "ready"."""
    served = served_on
    assert served.api("pat").get(f"/api/v1/flags/{A}").status_code == 200
    assert served.client.get("/health").json()["audit_log"] == "ready"
    operator = open_audit_log(
        served.state.settings, make_engine(served.state.settings.app_database_url)
    )
    try:
        rotate_key(operator, b"the-new-audit-key-0123456789", operator="ops")
    finally:
        operator.close()
        operator.engine.dispose()
    assert served.api("pat").get(f"/api/v1/flags/{A}").status_code == 503
    health = served.client.get("/health").json()
    assert health["status"] == "degraded" and health["audit_log"] == "unavailable"
    assert (
        "it is the retired key of key segment 1; the key was rotated at row" in (health["reason"])
    )
    assert "restart the server" in health["fix"]
