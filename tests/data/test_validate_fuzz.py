"""Hypothesis: corrupt a valid folder at random and demand a precise, harmless report.

The strategy knows which file and column it broke (a value of the wrong kind, an empty required
value, a dropped or an extra column, an unknown person, a control character in any field,
whitespace around an identifier); the report must exit 2, name that file and column (and the
row, for a cell), print no traceback and leave the folder byte-for-byte as it was.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import RunVru
from tests.folders import ROWS, snapshot, write_manifest, write_table, write_valid_folder
from vru_risk.data.contract import BOOL_FALSE, BOOL_TRUE, TABLES, Column, Kind

_TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cc", "Cs")),
    min_size=1,
    max_size=12,
)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def _is_iso_date(v: str) -> bool:
    try:
        return bool(_DATE.fullmatch(v)) and date.fromisoformat(v) is not None
    except ValueError:
        return False


def _invalid_for(col: Column) -> st.SearchStrategy[str]:
    """Non-empty text that is *not* a valid value of the column."""
    if col.kind is Kind.CATEGORY:
        return _TEXT.filter(lambda v: v not in col.categories)
    if col.kind is Kind.BOOL:
        return _TEXT.filter(lambda v: v.lower() not in BOOL_TRUE | BOOL_FALSE)
    if col.kind is Kind.DATE:
        return st.one_of(
            _TEXT.filter(lambda v: not _is_iso_date(v)),
            st.sampled_from(["2025-02-30", "2025-13-01", "01/02/2025", "2025-1-5", "20250105"]),
        )
    if col.kind is Kind.DATETIME:
        return st.one_of(_TEXT, st.sampled_from(["2025-02-30T10:00:00", "14/02/2026 23:40"]))
    if col.kind is Kind.FLOAT:
        return _TEXT.filter(lambda v: not _NUMBER.fullmatch(v))
    if col.kind is Kind.INT:
        return _TEXT.filter(lambda v: not re.fullmatch(r"[+-]?\d{1,9}", v))
    return _TEXT


@dataclass(frozen=True)
class Corruption:
    table: str
    column: str
    kind: str  # "cell", "empty", "drop", "extra", "orphan" (control characters, spaces: "cell")
    row: int | None = None  # index into the table's rows
    value: str = ""


@st.composite
def corruptions(draw: st.DrawFn) -> Corruption:
    table = draw(st.sampled_from(list(ROWS)))
    spec = TABLES[table]
    n = len(ROWS[table])
    present = [c for c in spec.columns if c.name in ROWS[table][0]]
    kind = draw(st.sampled_from(["cell", "empty", "drop", "extra", "orphan", "control", "spaces"]))
    if kind == "drop":
        col = draw(st.sampled_from([c for c in present if c.required]))
        return Corruption(table, col.name, "drop")
    if kind == "extra":
        name = draw(st.from_regex(r"[a-z][a-z0-9_]{0,14}", fullmatch=True))
        name = name if name not in spec.column_names else name + "_x"
        return Corruption(table, name, "extra")
    row = draw(st.integers(0, n - 1))
    if kind == "control":  # in any column (a line break would also be a blank line: not drawn)
        col = draw(st.sampled_from(present))
        original = ROWS[table][row][col.name]
        at = draw(st.integers(0, len(original)))
        char = draw(st.characters(categories=["Cc"], exclude_characters="\r\n"))
        return Corruption(table, col.name, "cell", row, original[:at] + char + original[at:])
    if kind == "spaces":  # around an identifier or code
        col = draw(st.sampled_from([c for c in present if c.kind is Kind.STRING]))
        space = draw(st.sampled_from([" ", "\t", "\u00a0", "\u3000"]))
        original = ROWS[table][row][col.name]
        value = draw(st.sampled_from([space + original, original + space]))
        return Corruption(table, col.name, "cell", row, value)
    if kind == "empty":
        required = [c for c in present if not c.nullable]
        return Corruption(table, draw(st.sampled_from(required)).name, "empty", row)
    if kind == "orphan" and table != "people":
        value = draw(_TEXT.filter(lambda v: not v.startswith("P00")))
        return Corruption(table, "person_id", "orphan", row, value)
    typed = [c for c in present if c.kind is not Kind.STRING]
    col = draw(st.sampled_from(typed))
    return Corruption(table, col.name, "cell", row, draw(_invalid_for(col)))


def apply(folder: Path, fmt: str, c: Corruption) -> None:
    rows = [dict(r) for r in ROWS[c.table]]
    if c.kind == "drop":
        rows = [{k: v for k, v in r.items() if k != c.column} for r in rows]
    elif c.kind == "extra":
        rows = [{**r, c.column: "x"} for r in rows]
    else:
        assert c.row is not None
        rows[c.row][c.column] = c.value
    (folder / f"{c.table}.{fmt}").unlink()
    write_table(folder, c.table, rows, fmt, as_text=frozenset({c.column}))
    write_manifest(folder, fmt)


# `vru` is safe to share between examples: each call drains capsys before it runs.
@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(corruption=corruptions(), fmt=st.sampled_from(["csv", "parquet"]))
def test_random_corruption_is_reported_precisely(
    vru: RunVru, corruption: Corruption, fmt: str
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_valid_folder(Path(tmp) / "extract", fmt)
        apply(folder, fmt, corruption)
        before = snapshot(folder)
        result = vru("data", "validate", folder)
        assert result.code == 2, result.output
        assert "Traceback" not in result.output
        file = f"{corruption.table}.{fmt}"
        named = [
            line
            for line in result.stdout.splitlines()
            if line.startswith(file) and f"column {corruption.column!r}" in line
        ]
        assert named, f"{file} / {corruption.column} not named:\n{result.stdout}"
        if corruption.row is not None:
            assert f"row {corruption.row + 2}:" in result.stdout
        assert snapshot(folder) == before
