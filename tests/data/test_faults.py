"""Faults injected into a data folder (``vru_risk.data.faults``, ``vru data fault``), on a small
synthetic county (400 young people, two school years) and on the hand-written CSV folder.

Each fault writes a valid folder (it opens through the validator) whose manifest's row counts
and hashes match its files, whose refresh dates are the original's, and whose untouched tables
are byte for byte the original's; the fault itself is checked against the rows: a stop removes
exactly the rows known after its date, a coding change recodes about the stated share of the
unauthorised absences from its date and nothing else, and a shift adds the stated newcomers per
young person of its kind, each with a copy of the original's records from its date and nothing
before. Every refusal names what to change and writes nothing.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import RunVru
from tests.folders import write_valid_folder
from vru_risk.data.faults import (
    NEWCOMER_PREFIX,
    SHIFT_LOOKBACK_DAYS,
    Fault,
    FaultError,
    FaultResult,
    inject_fault,
)
from vru_risk.data.fingerprint import file_sha256
from vru_risk.data.load import DataFolder, open_folder
from vru_risk.data.synthetic import SyntheticConfig, generate_county

START = date(2026, 1, 5)
TODAY = date(2026, 11, 30)


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> DataFolder:
    root = tmp_path_factory.mktemp("small-county")
    config = SyntheticConfig(people=400, years=2, seed=3)
    generate_county(config, out_dir=root / "data", truth_dir=root / "truth")
    return open_folder(root / "data", today=TODAY, threads=1)


def _table(folder: Path, name: str) -> pd.DataFrame:
    return pd.read_parquet(folder / f"{name}.parquet")


def _checked(result: FaultResult, src: DataFolder) -> dict[str, object]:
    """The faulted folder validates; its manifest matches its files and keeps the refresh
    dates; untouched tables are the original bytes. Returns the manifest."""
    out = result.out
    opened = open_folder(out, today=TODAY, threads=1)
    assert opened.refreshed == src.refreshed and opened.extract_date == src.extract_date
    manifest: dict[str, object] = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    for name, entry in manifest["tables"].items():  # type: ignore[attr-defined]
        path = out / entry["file"]
        assert entry["sha256"] == file_sha256(path), name
        assert entry["rows"] == len(pd.read_parquet(path)), name
        if name not in result.rows:
            assert path.read_bytes() == src.files[name].read_bytes(), name
    assert manifest["faults"] == [result.fault.to_dict()]
    return manifest


def test_a_stop_removes_the_rows_known_after_its_date_and_keeps_the_claimed_refresh(
    small: DataFolder, tmp_path: Path
) -> None:
    fault = Fault("stop", START, source="police_contacts")
    result = inject_fault(small, tmp_path / "stopped", fault, threads=1)
    assert set(result.rows) == {"police_contacts"}
    manifest = _checked(result, small)
    before, after = _table(small.path, "police_contacts"), _table(result.out, "police_contacts")
    late = pd.to_datetime(before["known_date"]) > pd.Timestamp(START)
    assert late.sum() > 5 and result.changed["police_contacts"] == late.sum()
    pd.testing.assert_frame_equal(after, before[~late].reset_index(drop=True))
    refreshed = manifest["tables"]["police_contacts"]["refreshed"]  # type: ignore[index]
    assert date.fromisoformat(refreshed) > START  # the manifest still claims refreshes


def test_a_coding_change_recodes_the_stated_share_of_unauthorised_absences_from_its_date(
    small: DataFolder, tmp_path: Path
) -> None:
    result = inject_fault(small, tmp_path / "coded", Fault("coding", START, size=0.4), threads=1)
    assert set(result.rows) == {"attendance"}
    _checked(result, small)
    before, after = _table(small.path, "attendance"), _table(result.out, "attendance")
    assert len(before) == len(after)
    changed = before["status"] != after["status"]
    assert changed.sum() == result.changed["attendance"]
    assert (before.loc[changed, "status"] == "unauthorised_absence").all()
    assert (after.loc[changed, "status"] == "authorised_absence").all()
    assert (pd.to_datetime(before.loc[changed, "date"]) >= pd.Timestamp(START)).all()
    eligible = (before["status"] == "unauthorised_absence") & (
        pd.to_datetime(before["date"]) >= pd.Timestamp(START)
    )
    assert eligible.sum() > 500
    share = changed.sum() / eligible.sum()
    assert 0.35 < share < 0.45, share
    again = inject_fault(small, tmp_path / "again", Fault("coding", START, size=0.4), threads=1)
    assert (again.out / "attendance.parquet").read_bytes() == (
        result.out / "attendance.parquet"
    ).read_bytes()  # the same seed recodes the same sessions
    other = inject_fault(
        small, tmp_path / "other", Fault("coding", START, size=0.4, seed=1), threads=1
    )
    assert (_table(other.out, "attendance")["status"] != after["status"]).any()


def test_a_shift_brings_newcomers_with_copies_of_their_originals_records_from_its_date(
    small: DataFolder, tmp_path: Path
) -> None:
    fault = Fault("shift", START, size=2.0)
    result = inject_fault(small, tmp_path / "shifted", fault, threads=1)
    _checked(result, small)
    assert result.fault.source == "police_contacts" and "interventions" not in result.rows
    people, police = _table(small.path, "people"), _table(small.path, "police_contacts")
    event = pd.to_datetime(police["date"])
    recent = police[
        (police["role"] == "suspect")  # the default kind: police contacts as a suspect
        & (event > pd.Timestamp(START) - pd.Timedelta(days=SHIFT_LOOKBACK_DAYS))
        & (event <= pd.Timestamp(START))
        & (pd.to_datetime(police["known_date"]) <= pd.Timestamp(START))
    ]
    left = pd.to_datetime(people.set_index("person_id")["left_area_date"])
    kind = {p for p in recent["person_id"] if pd.isna(left[p]) or left[p] > pd.Timestamp(START)}
    assert len(kind) >= 5 and result.newcomers == 2 * len(kind)  # size 2: two each
    shifted = _table(result.out, "people")
    new = shifted[shifted["person_id"].str.startswith(NEWCOMER_PREFIX)]
    assert len(new) == result.newcomers and shifted["person_id"].is_unique
    for table, column in (("attendance", "date"), ("police_contacts", "date")):
        rows = _table(result.out, table)
        mine = rows[rows["person_id"].str.startswith(NEWCOMER_PREFIX)]
        assert len(mine) == result.changed[table] > 0
        assert (pd.to_datetime(mine[column]) >= pd.Timestamp(START)).all()
    original = police[police["person_id"].isin(kind) & (event >= pd.Timestamp(START))]
    copied = _table(result.out, "police_contacts")
    copied = copied[copied["person_id"].str.startswith(NEWCOMER_PREFIX)]
    columns = [c for c in police.columns if c != "person_id"]
    key = columns[:3]
    expected = pd.concat([original, original])[columns].sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(copied[columns].sort_values(key).reset_index(drop=True), expected)
    half = inject_fault(small, tmp_path / "half", Fault("shift", START, size=0.5), threads=1)
    assert 0 < half.newcomers < len(kind)


def test_a_csv_folder_stays_csv_and_valid(tmp_path: Path) -> None:
    folder = open_folder(write_valid_folder(tmp_path / "csv"), today=TODAY, threads=1)
    result = inject_fault(
        folder, tmp_path / "coded", Fault("coding", date(2025, 9, 9), size=1.0), threads=1
    )
    opened = open_folder(result.out, today=TODAY, threads=1)
    assert opened.files["attendance"].name == "attendance.csv"
    text = (result.out / "attendance.csv").read_text(encoding="utf-8").splitlines()
    assert text[0] == "person_id,date,session,status,known_date"
    assert "P001,2025-09-09,am,authorised_absence,2025-09-12" in text
    assert "P002,2025-09-08,am,authorised_absence,2025-09-12" in text
    assert result.changed == {"attendance": 1}


@pytest.mark.parametrize(
    ("fault", "needle"),
    [
        (Fault("stop", START, source="schools"), "--source 'schools' is not a source a stop"),
        (Fault("stop", START), "a stop needs the source that stops"),
        (Fault("stop", START, source="ae_visits", size=0.5), "a stop has no size"),
        (Fault("coding", START, size=1.5), "--size 1.5 is out of range"),
        (Fault("coding", START), "give --size"),
        (Fault("coding", START, source="ae_visits", size=0.2), "recodes attendance sessions"),
        (Fault("shift", START, size=4), "at most 3"),
        (Fault("shift", START, source="interventions", size=1), "not a source a shift"),
        (Fault("stop", date(2027, 1, 1), source="ae_visits"), "after the extract date"),
        (Fault("stop", date(2020, 1, 1), source="ae_visits"), "not inside the ae_visits"),
    ],
)
def test_a_fault_that_cannot_be_injected_is_refused_naming_what_to_change(
    small: DataFolder, tmp_path: Path, fault: Fault, needle: str
) -> None:
    with pytest.raises(FaultError) as refused:
        inject_fault(small, tmp_path / "out", fault, threads=1)
    assert needle in str(refused.value)
    assert not (tmp_path / "out").exists() and list(tmp_path.iterdir()) == []


def test_vru_data_fault_writes_a_folder_that_vru_data_validate_accepts(
    vru: RunVru, small: DataFolder, tmp_path: Path
) -> None:
    out = tmp_path / "faulted"
    args = ("data", "fault", "--kind", "stop", "--from", START, "--source", "ae_visits")
    result = vru(*args, "--data", small.path, "--out", out)
    assert result.code == 0, result.output
    assert "ae_visits stops on 2026-01-05" in result.stdout
    assert vru("data", "validate", out).code == 0
    again = vru(*args, "--data", small.path, "--out", out)
    assert again.code == 2 and "already exists" in again.output
    unknown = vru(
        "data",
        "fault",
        "--kind",
        "flood",
        "--from",
        START,
        "--data",
        small.path,
        "--out",
        tmp_path / "x",
    )
    assert unknown.code == 2 and "use one of stop, coding, shift" in unknown.output
    bad = vru(
        "data",
        "fault",
        "--kind",
        "coding",
        "--from",
        START,
        "--size",
        "2",
        "--data",
        small.path,
        "--out",
        tmp_path / "y",
    )
    assert bad.code == 2 and "--size 2 is out of range" in bad.output
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()
