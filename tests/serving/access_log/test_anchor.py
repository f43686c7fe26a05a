"""The audit log's key check, head.json and the anchor outside the data folder (security
review findings 6, 13 and 19), on SQLite and PostgreSQL.

The ``log`` fixture is ten rows written with KEY; its head.json and anchor are under tmp_path.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from tests.serving.access_log.test_log import KEY, event, execute, log, rows
from vru_risk.serving.access_log.log import AuditLog, AuditLogError

__all__ = ["log"]

WRONG = b"a-key-that-is-not-the-logs-key"
HINT = "audit key does not match the audit log: check VRU_AUDIT_KEY (a trailing newline?)"


def text(log: AuditLog) -> str:
    return "\n".join(log.verify().lines())


# --- finding 6: a wrong key is caught before it writes, and named by verify ------------------


def test_a_wrong_key_is_refused_before_any_row_is_written(log: AuditLog, engine: Engine) -> None:
    wrong = AuditLog(engine, WRONG, log.head_path)
    with pytest.raises(AuditLogError, match=r"check VRU_AUDIT_KEY \(a trailing newline\?\)"):
        wrong.check_ready()
    with pytest.raises(AuditLogError, match="does not match the audit log"):
        wrong.append([event(11)])
    with_newline = AuditLog(engine, KEY + b"\n", log.head_path)
    with pytest.raises(AuditLogError, match="trailing newline"):
        with_newline.append([event(11)])
    assert len(rows(engine)) == 10
    assert log.verify().ok
    log.check_ready()  # the right key is ready


def test_a_new_log_records_its_keys_fingerprint_with_the_first_row(
    engine: Engine, tmp_path: Path
) -> None:
    first = AuditLog(engine, KEY, tmp_path / "audit" / "head.json")
    first.check_ready()  # records key segment 1 (and the anchor) before any row
    anchor = json.loads(first.anchor_path.read_text())
    assert KEY.decode() not in json.dumps(anchor)  # a fingerprint, never the key
    assert [s["segment"] for s in anchor["segments"]] == [1] and anchor["head"] is None
    with pytest.raises(AuditLogError, match="does not match"):
        AuditLog(engine, WRONG, first.head_path).append([event(1)])
    assert first.append([event(1)]) == [1]
    assert json.loads(first.anchor_path.read_text())["head"]["seq"] == 1


# --- finding 13: every head-file case --------------------------------------------------------


def test_a_wrong_key_reads_as_a_wrong_key_not_as_edits(log: AuditLog, engine: Engine) -> None:
    report = AuditLog(engine, WRONG, log.head_path).verify()
    assert not report.ok and report.edited == []
    assert report.unchecked == [range(1, 11)]
    assert HINT in "\n".join(report.lines())


def test_a_log_written_before_key_segments_with_a_wrong_key_hints_at_the_key(
    log: AuditLog, engine: Engine
) -> None:
    """No fingerprint to compare with (a log from before key segments): when every row fails
    its MAC the report says the likely cause is a wrong key, not edits."""
    execute(engine, "DELETE FROM audit_key_segments")
    log.anchor_path.unlink()
    report = AuditLog(engine, WRONG, log.head_path).verify()
    assert report.edited == list(range(1, 11))
    assert "likely cause is a wrong key, not edits" in "\n".join(report.lines())
    with pytest.raises(AuditLogError, match="did not write the newest row"):
        AuditLog(engine, WRONG, log.head_path).check_ready()
    log.check_ready()  # the right key adopts it: segment 1 and the anchor recorded
    assert log.verify().ok


@pytest.mark.parametrize("seq", [-3, 0, 3.0, 2.5, "3", True, None])
def test_a_head_whose_sequence_is_not_a_row_number_is_altered(
    log: AuditLog, engine: Engine, seq: Any
) -> None:
    execute(engine, "DELETE FROM audit_log WHERE seq > 7")  # and the newest rows removed
    log.head_path.write_text(json.dumps({"seq": seq, "mac": "a" * 64}))
    report = log.verify()
    assert not report.ok and "not a readable audit head" in str(report.head_problem)
    assert report.truncated == range(8, 11)  # the anchor still knows the end
    with pytest.raises(AuditLogError, match="not a readable audit head"):
        log.check_ready()


def test_a_head_rolled_back_to_hide_truncation_is_caught(log: AuditLog, engine: Engine) -> None:
    """The newest rows deleted and head.json rewritten to name the last remaining row, with
    its real MAC: head.json alone is consistent, the anchor is not."""
    stored = rows(engine)
    execute(engine, "DELETE FROM audit_log WHERE seq > 7")
    log.head_path.write_text(json.dumps({"seq": 7, "mac": stored[6]["mac"]}))
    report = log.verify()
    assert not report.ok
    assert report.truncated == range(8, 11)
    assert "the anchor claims 10 rows, the table has 7: 3 rows missing" in text(log)
    assert "head.json was rolled back" in str(report.head_problem)


def test_a_head_far_beyond_the_rows_is_reported_without_a_row_each(log: AuditLog) -> None:
    claimed = 10**15
    log.head_path.write_text(json.dumps({"seq": claimed, "mac": "b" * 64}))
    report = log.verify()
    assert report.truncated == range(11, claimed + 1)
    assert (
        f"head.json claims {claimed} rows, the table has 10: {claimed - 10} rows missing at the end"
    ) in "\n".join(report.lines())
    assert report.edited == [] and report.deleted == []


def test_a_missing_head_for_a_non_empty_log_is_a_problem(log: AuditLog) -> None:
    log.head_path.unlink()
    report = log.verify()
    assert not report.ok and "missing although the table has rows" in str(report.head_problem)


# --- finding 19: deleting everything is not "nothing" ----------------------------------------


def test_a_fresh_home_verifies_as_empty(engine: Engine, tmp_path: Path) -> None:
    fresh = AuditLog(engine, KEY, tmp_path / "audit" / "head.json")
    report = fresh.verify()
    assert report.ok and report.lines()[-1] == "empty, no record of any rows: OK"


def test_all_rows_and_the_head_deleted_are_caught_by_the_anchor(
    log: AuditLog, engine: Engine
) -> None:
    execute(engine, "DELETE FROM audit_log")
    log.head_path.unlink()
    report = log.verify()
    assert not report.ok and report.truncated == range(1, 11)
    assert "the anchor claims 10 rows, the table has 0" in "\n".join(report.lines())
    with pytest.raises(AuditLogError, match="records rows up to 10, the table has no rows"):
        log.check_ready()


def test_a_fresh_database_under_an_anchor_that_recorded_rows_is_tampering(
    log: AuditLog, engine: Engine
) -> None:
    """Every row, every key segment and head.json gone: what a new database looks like."""
    execute(engine, "DELETE FROM audit_log")
    execute(engine, "DELETE FROM audit_key_segments")
    log.head_path.unlink()
    report = log.verify()
    lines = "\n".join(report.lines())
    assert not report.ok and "records key segment 1" in lines and "does not have" in lines
    for attempt in (log.check_ready, lambda: log.append([event(1)])):
        with pytest.raises(AuditLogError, match="records rows up to 10, the table has no rows"):
            attempt()
    assert rows(engine) == []


def test_a_missing_anchor_for_a_non_empty_log_is_tampering(log: AuditLog) -> None:
    log.anchor_path.unlink()
    report = log.verify()
    assert not report.ok
    assert "is missing although the audit log has rows" in "\n".join(report.lines())
    with pytest.raises(AuditLogError, match="VRU_AUDIT_ANCHOR_PATH"):
        log.check_ready()
    with pytest.raises(AuditLogError, match=r"anchor .* is missing"):
        log.append([event(11)])  # committed, but its mirror fails: said at once


def test_an_altered_anchor_is_tampering(log: AuditLog) -> None:
    doc = json.loads(log.anchor_path.read_text())
    doc["segments"][0]["fingerprint"] = "c" * 64
    log.anchor_path.write_text(json.dumps(doc))
    assert "records differently" in text(log)
    with pytest.raises(AuditLogError, match="disagrees with the database"):
        log.check_ready()
    log.anchor_path.write_text("{garbage")
    assert "not a readable audit anchor" in text(log)
