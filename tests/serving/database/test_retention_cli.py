"""``vru retention apply``: never counts back from a day after the real date, says what it
would delete (--dry-run), deletes person-level files as well as rows, and checks everything it
needs before deleting anything; on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import func, select, update

from tests.conftest import RunVru
from tests.store.conftest import make_flag, practitioner
from vru_risk.flags.programmes import load_programmes
from vru_risk.serving.access_log.log import AuditLog
from vru_risk.settings import Settings
from vru_risk.store import make_engine, session_factory
from vru_risk.store.decisions import record_decision
from vru_risk.store.flag_store import load_flags
from vru_risk.store.models import AuditRow, DecisionRow, FlagRow

KEY = "an-audit-key-of-some-length"
TODAY = dt.date.today()
OLD = TODAY - dt.timedelta(days=500)  # past the 12-month period
NEW = TODAY - dt.timedelta(days=20)


@pytest.fixture
def home(db_url: str, monkeypatch: pytest.MonkeyPatch, vru_home: Path) -> Path:
    """VRU_HOME with an old and a new flag (each with a decision) in the database, and the
    daily job's files of both days."""
    monkeypatch.setenv("VRU_DATABASE_URL", db_url)
    monkeypatch.setenv("VRU_AUDIT_KEY", KEY)
    engine = make_engine(db_url)
    sessions = session_factory(engine, write=True)
    old, new = make_flag("OLD", OLD), make_flag("NEW", NEW)
    try:
        # the audit log's key segment and anchor, as the first command or the server's start
        # records them before anything is stored (its head.json elsewhere: no row to mirror)
        AuditLog(
            engine, KEY.encode(), vru_home.parent / "head.json", anchor_path=Settings().audit_anchor
        ).check_ready()
        with sessions.begin() as s:
            load_flags(s, [old, new])
        pat = practitioner(sessions)
        with sessions.begin() as s:
            for flag in (old, new):
                record_decision(
                    s, flag_id=flag.flag_id, user=pat, programme_id="jump_start",
                    decision="no_action", reason_code="moved_away", text="",
                known_programmes=load_programmes(),
                )  # fmt: skip
        with sessions.begin() as s:  # recorded while the old flag was shown
            when = dt.datetime.combine(OLD, dt.time(12), tzinfo=dt.UTC)
            s.execute(
                update(DecisionRow)
                .where(DecisionRow.flag_id == old.flag_id)
                .values(created_at=when)
            )
    finally:
        engine.dispose()
    issued = vru_home / "flags" / "issued"
    issued.mkdir(parents=True)
    (issued / f"issued-{OLD}.jsonl").write_text(old.model_dump_json() + "\n")
    (issued / f"issued-{NEW}.jsonl").write_text(new.model_dump_json() + "\n")
    mixed = make_flag("MIXED-NEW", NEW).model_dump_json()
    (issued / "issued-by-hand.jsonl").write_text(
        make_flag("MIXED-OLD", OLD).model_dump_json() + "\n" + mixed + "\n"
    )
    for day in (OLD, NEW):
        folder = vru_home / "flags" / f"moments-{day}"
        folder.mkdir()
        (folder / "moments.json").write_text(json.dumps({"days": [day.isoformat()]}))
        (folder / "moments.parquet").write_bytes(b"person-level rows")
    (vru_home / "flags" / f".moments-{OLD}.tmp").mkdir()  # a crashed job's leftover
    long_ago = dt.datetime.combine(OLD, dt.time(12)).timestamp()
    for folder, name in (("features", "abc-def.parquet"), ("cache", "duckdb_temp_1.block")):
        (vru_home / folder).mkdir(exist_ok=True)
        stale, fresh = vru_home / folder / f"old-{name}", vru_home / folder / f"new-{name}"
        stale.write_bytes(b"x")
        fresh.write_bytes(b"x")
        os.utime(stale, (long_ago, long_ago))
    return vru_home


def files(home: Path) -> list[str]:
    return sorted(
        str(p.relative_to(home))
        for p in home.rglob("*")
        if p.is_file() and p.parent.name not in ("audit",) and p.suffix != ".db"
    )


def database(db_url: str) -> tuple[list[str], int, list[AuditRow]]:
    engine = make_engine(db_url)
    try:
        with session_factory(engine)() as s:
            people = sorted(s.scalars(select(FlagRow.person_id)))
            decisions = int(s.scalar(select(func.count()).select_from(DecisionRow)) or 0)
            rows = list(s.scalars(select(AuditRow).order_by(AuditRow.seq)))
            s.expunge_all()
    finally:
        engine.dispose()
    return people, decisions, rows


def flat(output: str) -> str:
    return " ".join(output.split())


@pytest.mark.parametrize("day", ["2062-08-31", "9999-12-31", "tomorrow"])
def test_a_day_after_the_real_date_is_refused(
    vru: RunVru, home: Path, db_url: str, day: str
) -> None:
    today = dt.date.today()  # now, not at import: a run may cross midnight
    if day == "tomorrow":
        day = (today + dt.timedelta(days=1)).isoformat()
    before = files(home)
    refused = vru("retention", "apply", "--today", day)
    assert refused.code == 2, refused.output
    message = flat(refused.stderr)
    assert f"{day}, is after today's date ({today.isoformat()})" in message
    assert "--today may only go back in time" in message and "Nothing was deleted" in message
    assert database(db_url) == (["NEW", "OLD"], 2, [])
    assert files(home) == before


def test_a_day_without_a_cut_off_is_refused_not_an_internal_error(
    vru: RunVru, home: Path, db_url: str
) -> None:
    refused = vru("retention", "apply", "--today", "0001-01-01")
    assert refused.code == 2, refused.output
    assert "no cut-off date exists 12 months before 0001-01-01" in flat(refused.stderr)
    assert database(db_url) == (["NEW", "OLD"], 2, [])


def test_a_dry_run_says_what_would_go_and_changes_nothing(
    vru: RunVru, home: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("VRU_AUDIT_KEY")  # nothing is written, so no key is needed
    before = files(home)
    today = dt.date.today()  # now, not at import: a run may cross midnight
    dry = vru("retention", "apply", "--dry-run")
    assert dry.code == 0, dry.output
    text = flat(dry.stdout)
    assert f"counting back from {today} would delete everything with as_of before" in text
    assert (
        "1 flag(s), 1 decision(s), 0 flag view(s), 2 ledger line(s) (1 file(s) deleted, 1 "
        "rewritten), 2 moments folder(s), 2 cached feature file(s), 0 MLflow prediction "
        "file(s). Nothing was deleted." in text
    )
    assert database(db_url) == (["NEW", "OLD"], 2, [])
    assert files(home) == before


def test_retention_deletes_rows_and_person_level_files_and_records_each(
    vru: RunVru, home: Path, db_url: str
) -> None:
    applied = vru("retention", "apply")
    assert applied.code == 0, applied.output
    summary = (
        "deleted 1 flag(s), 1 decision(s) and 0 flag view(s), 2 ledger line(s) (1 file(s) "
        "deleted, 1 rewritten), 2 moments folder(s), 2 cached feature file(s), 0 MLflow "
        "prediction file(s); recorded as audit-log row 1"
    )
    assert summary in flat(applied.stdout)
    people, decisions, rows = database(db_url)
    assert (people, decisions) == (["NEW"], 1)
    assert files(home) == [
        "cache/new-duckdb_temp_1.block",
        "features/new-abc-def.parquet",
        f"flags/issued/issued-{NEW}.jsonl",
        "flags/issued/issued-by-hand.jsonl",
        f"flags/moments-{NEW}/moments.json",
        f"flags/moments-{NEW}/moments.parquet",
    ]
    assert not (home / "flags" / f".moments-{OLD}.tmp").exists()
    kept = (home / "flags" / "issued" / "issued-by-hand.jsonl").read_text().splitlines()
    assert [json.loads(line)["person_id"] for line in kept] == ["MIXED-NEW"]
    [row] = rows
    assert (row.purpose, row.role, row.person_id) == ("retention", "operator", None)
    assert (
        "deleted 1 flag(s), 1 decision(s), 0 flag view(s), 2 ledger line(s) (1 file(s) deleted"
        in row.route
    )
    assert "2 moments folder(s), 2 cached feature file(s)" in row.route
    again = vru("retention", "apply")
    assert "deleted 0 flag(s), 0 decision(s) and 0 flag view(s), 0 ledger line(s)" in flat(
        again.stdout
    )


def head_garbage(home: Path) -> None:
    (home / "audit").mkdir()
    (home / "audit" / "head.json").write_text("not json")


def head_a_folder(home: Path) -> None:
    (home / "audit" / "head.json").mkdir(parents=True)


def audit_dir_a_file(home: Path) -> None:
    (home / "audit").write_text("a file where the audit folder should be")


def ledger_not_text(home: Path) -> None:
    (home / "flags" / "issued" / f"issued-{OLD}.jsonl").write_bytes(b"\xff\xfe not utf-8")


def predictions_not_parquet(home: Path) -> None:
    run = home / "mlartifacts" / "1" / "0a1b" / "artifacts"
    run.mkdir(parents=True)
    (run / "predictions.parquet").write_bytes(b"person-level rows, not Parquet")


@pytest.mark.parametrize(
    ("spoil", "words"),
    [
        (head_garbage, "is not a readable audit head"),
        (head_a_folder, "cannot be read (Is a directory)"),
        (audit_dir_a_file, "cannot be read (Not a directory)"),
        (ledger_not_text, f"issued-{OLD}.jsonl cannot be read"),
        (predictions_not_parquet, "0a1b/artifacts/predictions.parquet cannot be dated"),
    ],
)
def test_a_run_that_could_not_be_recorded_or_finished_deletes_nothing(
    vru: RunVru, home: Path, db_url: str, spoil: object, words: str
) -> None:
    """It used to delete, commit, and then fail on the audit head with exit 1."""
    assert callable(spoil)
    spoil(home)
    before = files(home)
    refused = vru("retention", "apply")
    assert refused.code == 2, refused.output
    message = flat(refused.stderr)
    assert words in message and "nothing was deleted" in message
    assert database(db_url) == (["NEW", "OLD"], 2, [])
    assert files(home) == before


def add_flag_with_a_decision_now(db_url: str, person_id: str, day: dt.date) -> None:
    engine = make_engine(db_url)
    sessions = session_factory(engine, write=True)
    flag = make_flag(person_id, day)
    try:
        with sessions.begin() as s:
            load_flags(s, [flag])
        pat = practitioner(sessions, username="pat2")
        with sessions.begin() as s:
            record_decision(
                s, flag_id=flag.flag_id, user=pat, programme_id="jump_start",
                decision="no_action", reason_code="moved_away", text="",
                known_programmes=load_programmes(),
            )  # fmt: skip
    finally:
        engine.dispose()


def test_a_run_deleting_a_decision_recorded_minutes_ago_is_refused_unless_forced(
    vru: RunVru, home: Path, db_url: str
) -> None:
    """Security re-review F1: decisions recorded a minute before were deleted with exit 0."""
    add_flag_with_a_decision_now(db_url, "OLD-BUSY", OLD)
    before = files(home)
    refused = vru("retention", "apply")
    assert refused.code == 2, refused.output
    message = flat(refused.stderr)
    assert "1 decision(s) recorded in the last 30 days would be deleted" in message
    assert "--force" in message and "Nothing was deleted" in message
    assert database(db_url) == (["NEW", "OLD", "OLD-BUSY"], 3, [])
    assert files(home) == before
    dry = vru("retention", "apply", "--dry-run")
    assert dry.code == 0, dry.output
    assert "Without --force the run would be refused: 1 decision(s)" in flat(dry.stdout)
    forced = vru("retention", "apply", "--force")
    assert forced.code == 0, forced.output
    assert "deleted 2 flag(s), 2 decision(s) and 0 flag view(s)" in flat(forced.stdout)
    people, decisions, rows = database(db_url)
    assert (people, decisions) == (["NEW"], 1)
    assert rows[-1].route.startswith("vru retention apply (--force past its hazards): ")


def test_a_run_that_would_empty_every_list_is_refused(vru: RunVru, home: Path, db_url: str) -> None:
    """Security re-review F1: the cut-off must not fall inside the newest flag's display period
    (here every flag is older than the period: an extract lagging the clock, a wrong clock)."""
    engine = make_engine(db_url)
    try:
        with session_factory(engine, write=True).begin() as s:
            s.execute(update(FlagRow).where(FlagRow.person_id == "NEW").values(as_of=OLD))
    finally:
        engine.dispose()
    refused = vru("retention", "apply")
    assert refused.code == 2, refused.output
    message = flat(refused.stderr)
    assert f"falls inside the display period of the newest flag (as_of {OLD}," in message
    assert "flags practitioners are still shown would be deleted" in message
    assert database(db_url) == (["NEW", "OLD"], 2, [])


def test_settings_refuse_a_retention_period_shorter_than_the_display_period(
    vru: RunVru, home: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Security re-review F1: VRU_RETENTION_MONTHS=1 was accepted beside 90 visible days."""
    monkeypatch.setenv("VRU_RETENTION_MONTHS", "1")
    refused = vru("retention", "apply")
    assert refused.code == 2, refused.output
    message = flat(refused.stderr)
    assert "VRU_RETENTION_MONTHS (1) is shorter than VRU_FLAG_VISIBLE_DAYS (90 days)" in message
    assert database(db_url) == (["NEW", "OLD"], 2, [])


def write_predictions(folder: Path, *days: dt.date) -> Path:
    """A training run's predictions.parquet (as `vru train` logs it) holding ``days``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "predictions.parquet"
    table = pa.table(
        {
            "person_id": [f"P{i}" for i in range(len(days))],
            "as_of": pa.array(days, pa.date32()),
            "label_serious_violence": [0.0] * len(days),
        }
    )
    pq.write_table(table, path)
    return path


def test_retention_deletes_training_predictions_past_the_period(
    vru: RunVru, home: Path, db_url: str
) -> None:
    """Security re-review F6: the person-level predictions MLflow keeps under VRU_HOME (person
    id, day, scores, labels) were never deleted, nor counted."""
    runs = home / "mlartifacts" / "1"
    old_parent = write_predictions(runs / "a1" / "artifacts", OLD - dt.timedelta(days=90), OLD)
    old_fold = write_predictions(runs / "a2" / "artifacts", OLD)
    recent = write_predictions(runs / "b1" / "artifacts", OLD, NEW)  # its newest is in the period
    model = runs / "a1" / "artifacts" / "risk_model" / "booster.txt"
    model.parent.mkdir()
    model.write_text("a model holds no person-level rows")
    dry = vru("retention", "apply", "--dry-run")
    assert "2 cached feature file(s), 2 MLflow prediction file(s). Nothing" in flat(dry.stdout)
    assert old_parent.exists() and old_fold.exists()
    applied = vru("retention", "apply")
    assert applied.code == 0, applied.output
    assert "2 MLflow prediction file(s); recorded as audit-log row 1" in flat(applied.stdout)
    assert not old_parent.exists() and not old_fold.exists()
    assert recent.exists() and model.exists()
    [row] = database(db_url)[2]
    assert row.route.endswith("2 cached feature file(s), 2 MLflow prediction file(s)")
