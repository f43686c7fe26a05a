"""A small, hand-written valid data folder (contract v1) for bad-input tests to corrupt."""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from vru_risk.data.contract import TABLES
from vru_risk.data.synthetic.writer import ARROW_TYPES

EXTRACT_DATE = date(2026, 8, 31)

ROWS: dict[str, list[dict[str, str]]] = {
    "people": [
        {
            "person_id": "P001",
            "birth_date": "2010-03-01",
            "sex": "female",
            "ethnicity": "white",
            "sen": "none",
            "fsm": "false",
            "looked_after": "false",
            "imd_decile": "4",
            "school_id": "S01",
            "left_area_date": "",
        },
        {
            "person_id": "P002",
            "birth_date": "2011-07-01",
            "sex": "male",
            "ethnicity": "black",
            "sen": "sen_support",
            "fsm": "true",
            "looked_after": "false",
            "imd_decile": "1",
            "school_id": "S02",
            "left_area_date": "",
        },
        {
            "person_id": "P003",
            "birth_date": "2009-11-01",
            "sex": "male",
            "ethnicity": "mixed",
            "sen": "ehcp",
            "fsm": "",
            "looked_after": "true",
            "imd_decile": "",
            "school_id": "",
            "left_area_date": "2025-12-15",
        },
        {
            "person_id": "P004",
            "birth_date": "2012-01-01",
            "sex": "unknown",
            "ethnicity": "unknown",
            "sen": "none",
            "fsm": "0",
            "looked_after": "FALSE",
            "imd_decile": "10",
            "school_id": "S01",
            "left_area_date": "",
        },
    ],
    "attendance": [
        {"person_id": p, "date": d, "session": s, "status": st, "known_date": k}
        for p, d, s, st, k in [
            ("P001", "2025-09-08", "am", "present", "2025-09-12"),
            ("P001", "2025-09-08", "pm", "late", "2025-09-12"),
            ("P001", "2025-09-09", "am", "unauthorised_absence", "2025-09-12"),
            ("P002", "2025-09-08", "am", "authorised_absence", "2025-09-12"),
            ("P002", "2025-09-08", "pm", "excluded", "2025-09-12"),
            ("P004", "2025-09-08", "am", "not_required", "2025-09-12"),
        ]
    ],
    "exclusions": [
        {
            "person_id": "P002",
            "start_date": "2025-10-01",
            "kind": "suspension",
            "days": "2.5",
            "reason": "physical_assault",
            "known_date": "2025-10-03",
        },
        {
            "person_id": "P003",
            "start_date": "2025-06-01",
            "kind": "permanent",
            "days": "",
            "reason": "weapon",
            "known_date": "2025-06-10",
        },
    ],
    "police_contacts": [
        {
            "person_id": "P002",
            "date": "2025-11-02",
            "role": "suspect",
            "offence": "robbery",
            "outcome": "charge",
            "known_date": "2025-11-03",
            "outcome_known_date": "2026-01-20",
        },
        {
            "person_id": "P001",
            "date": "2026-02-14",
            "role": "victim",
            "offence": "violence_with_injury",
            "outcome": "",
            "known_date": "2026-02-14",
            "outcome_known_date": "",
        },
    ],
    "ae_visits": [
        {
            "person_id": "P001",
            "arrival": "2026-02-14T23:40:00",
            "hospital": "Musgrove Park",
            "reason": "assault",
            "admitted": "false",
            "known_date": "2026-03-01",
        },
    ],
    "interventions": [
        {
            "person_id": "P002",
            "programme": "Early Intervention Team",
            "start_date": "2025-11-20",
            "end_date": "",
            "known_date": "2025-11-20",
        },
    ],
}


def write_csv(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def _convert_options(name: str, as_text: frozenset[str] = frozenset()) -> pacsv.ConvertOptions:
    return pacsv.ConvertOptions(
        column_types={
            c.name: pa.string() if c.name in as_text else ARROW_TYPES[c.kind]
            for c in TABLES[name].columns
        }
        | {c: pa.string() for c in as_text},
        true_values=["true", "1", "TRUE"],
        false_values=["false", "0", "FALSE"],
        strings_can_be_null=True,
    )


def write_valid_folder(folder: Path, fmt: str = "csv", *, manifest: bool = True) -> Path:
    """Write the valid folder as CSV or Parquet (Parquet with proper column types)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in ROWS.items():
        write_table(folder, name, rows, fmt)
    if manifest:
        write_manifest(folder, fmt)
    return folder


def write_table(
    folder: Path,
    name: str,
    rows: list[dict[str, str]],
    fmt: str,
    as_text: frozenset[str] = frozenset(),
) -> None:
    """Write one table; in Parquet, columns in ``as_text`` are stored as strings."""
    if fmt == "csv":
        write_csv(folder / f"{name}.csv", rows)
        return
    tmp = folder / f".{name}.tmp.csv"
    write_csv(tmp, rows)
    table = pacsv.read_csv(tmp, convert_options=_convert_options(name, as_text))
    tmp.unlink()
    pq.write_table(table, folder / f"{name}.parquet")


def write_manifest(folder: Path, fmt: str, **changes: object) -> None:
    doc: dict[str, object] = {
        "contract_version": "1",
        "extract_date": EXTRACT_DATE.isoformat(),
        "tables": {
            name: {"file": f"{name}.{fmt}", "refreshed": EXTRACT_DATE.isoformat()} for name in ROWS
        },
    }
    doc.update(changes)
    (folder / "manifest.json").write_text(json.dumps(doc, indent=2, sort_keys=True))


def parquet_schema(folder: Path, name: str) -> pa.Schema:
    return pq.read_schema(folder / f"{name}.parquet")


def snapshot(folder: Path) -> dict[str, tuple[int, int, bytes]]:
    """Names, sizes, mtimes and bytes of every file: to prove nothing was written."""
    return {
        str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns, p.read_bytes())
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }
