"""Open a *validated* data folder in DuckDB (or Spark) as typed relations with knowledge dates.

Every source becomes a view ``src_<table>`` with the contract's columns typed exactly as the
validator reads them, plus:

* ``event_date`` (DATE): the day the event happened (``arrival`` cast to a date for A&E);
* ``known_date`` (DATE): the ``known_date`` column where supplied, else event date plus the
  source's configured reporting lag;
* derived columns usable in filters (``night_or_weekend`` for A&E).

Nothing is read into pandas: the views are scanned straight from the Parquet/CSV files.

Usage::

    con = duckdb.connect()
    folder = open_folder(Path("data"), today=date(2026, 8, 31))
    register_sources(con, folder, DEFAULT_REPORTING_LAG_DAYS)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Literal

import duckdb

from vru_risk.data.contract import DERIVED_COLUMNS, EVENT_TABLES, TABLES, Kind
from vru_risk.data.engine import Engine, as_engine
from vru_risk.data.fingerprint import FingerprintKind
from vru_risk.data.sql import quote_ident
from vru_risk.data.validate import ValidationReport, validate_folder
from vru_risk.data.validate.columns import typed_column


class InvalidDataError(ValueError):
    """The folder breaks the data contract; ``report`` holds every problem."""

    def __init__(self, report: ValidationReport) -> None:
        self.report = report
        first = "\n".join(p.render() for p in report.problems[:5])
        more = len(report.problems) - 5
        tail = (
            f"\n... and {more} more (run `vru data validate {report.folder}`)" if more > 0 else ""
        )
        super().__init__(
            f"{report.folder} does not meet the data contract; nothing was built:\n{first}{tail}"
        )


@dataclass(frozen=True)
class DataFolder:
    """A folder that passed validation: where each table is and what the manifest says."""

    path: Path
    extract_date: date
    fingerprint: str
    files: dict[str, Path]
    columns: dict[str, tuple[str, ...]]
    refreshed: dict[str, date] = field(default_factory=dict)
    #: how ``fingerprint`` was made (see :mod:`vru_risk.data.fingerprint`)
    fingerprint_kind: FingerprintKind = "content"

    @property
    def available(self) -> tuple[str, ...]:
        return tuple(t for t in EVENT_TABLES if t in self.files)

    @property
    def unavailable(self) -> tuple[str, ...]:
        return tuple(t for t in EVENT_TABLES if t not in self.files)


def open_folder(
    path: Path,
    *,
    extract_date: date | None = None,
    today: date,
    threads: int = 2,
    memory_limit: str = "2GB",
    scratch_dir: Path | None = None,
    fingerprint: FingerprintKind = "content",
    engine: Engine | None = None,
) -> DataFolder:
    """Validate ``path`` (on ``engine``: DuckDB by default) and describe it (its
    ``fingerprint`` made from the files' content or metadata); raise
    :class:`InvalidDataError` on any problem."""
    report = validate_folder(
        path,
        extract_date=extract_date,
        today=today,
        threads=threads,
        memory_limit=memory_limit,
        scratch_dir=scratch_dir,
        fingerprint=fingerprint,
        engine=engine,
    )
    if not report.ok:
        raise InvalidDataError(report)
    refreshed: dict[str, date] = {}
    if report.manifest is not None:
        for name, entry in (report.manifest.get("tables") or {}).items():
            refreshed[name] = date.fromisoformat(entry["refreshed"])
    return DataFolder(
        path=path,
        extract_date=report.extract_date,
        fingerprint=report.fingerprint,
        files={name: path / info.file for name, info in report.tables.items()},
        columns={name: info.columns for name, info in report.tables.items()},
        refreshed=refreshed,
        fingerprint_kind=report.fingerprint_kind,
    )


def register_sources(
    con: duckdb.DuckDBPyConnection | Engine,
    folder: DataFolder,
    reporting_lag_days: Mapping[str, int],
    *,
    knowledge_dates: Literal["known", "event"] = "known",
) -> dict[str, tuple[str, ...]]:
    """Create the typed views ``src_<table>``; return the columns available per table.

    ``knowledge_dates="event"`` makes every record count as known on its event date: the
    classic leakage bug (features see records that arrived after the as-of date). It exists
    only so that tests and benchmarks can show the leakage tripwire firing; never use it.

    ``con`` is a DuckDB connection or an :class:`~vru_risk.data.engine.Engine` (Spark's
    views are typed by the same SQL, transpiled).
    """
    engine = as_engine(con)
    available: dict[str, tuple[str, ...]] = {}
    for name, path in folder.files.items():
        table = TABLES[name]
        raw = engine.source(path)
        stored = engine.columns(raw)
        cols = [c.name for c in table.columns if c.name in stored]
        if knowledge_dates == "event" and table.event_date is not None:
            cols = [c for c in cols if c != "known_date"]
        typed = ", ".join(
            f"{typed_column(table.column(c), stored[c]).typed} AS {quote_ident(c)}" for c in cols
        )
        extra: dict[str, str] = {}
        if table.event_date is not None:
            event = quote_ident(table.event_date)
            is_datetime = table.column(table.event_date).kind is Kind.DATETIME
            event_expr = f"CAST({event} AS DATE)" if is_datetime else event
            extra["event_date"] = event_expr
            if knowledge_dates == "event":
                extra["known_date"] = event_expr
            elif "known_date" not in stored:
                lag = int(reporting_lag_days[name])
                extra["known_date"] = f"CAST({event_expr} + INTERVAL {lag} DAY AS DATE)"
        for derived, spec in DERIVED_COLUMNS.get(name, {}).items():
            extra[derived] = spec.sql
        select = ", ".join(
            [quote_ident(c) for c in cols] + [f"{expr} AS {n}" for n, expr in extra.items()]
        )
        engine.execute(
            f"CREATE OR REPLACE VIEW src_{name} AS "
            f"SELECT {select} FROM (SELECT {typed} FROM {raw})",
            f"the typed view of {name}",
        )
        available[name] = (*cols, *extra)
    return available
