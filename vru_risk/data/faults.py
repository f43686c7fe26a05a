"""Faults injected into a data folder at a stated size, to test that monitoring finds them.

:func:`inject_fault` takes a validated data folder and writes a copy with one fault in it from a
start date; the copy is a valid folder of the same format (CSV or Parquet), its manifest's row
counts and hashes rewritten, its refresh dates left as the manifest claims, and the fault
recorded under the manifest's ``faults`` key (provenance, never read by the pipeline). Tables the
fault does not touch are copied byte for byte. Three kinds:

- ``stop``: a source stops on the start date while its manifest still claims refreshes: every
  row of the source known after the start date (its ``known_date``; its event date where the
  file has none) is gone, as if the feed had delivered nothing since. A stop has no size: the
  whole source stops.
- ``coding``: a coding change in the school registers: from the start date, a share ``size`` of
  the sessions recorded as ``unauthorised_absence`` are recorded as ``authorised_absence``
  instead (a school's system mapping code ``O``, other unauthorised, to ``C``, leave of absence:
  see :mod:`vru_risk.data.dfe_codes`). Which sessions is decided by a keyed hash of the row and
  the seed, so the same seed recodes the same sessions.
- ``shift``: a population shift: young people *arrive* on the start date, ``size`` newcomers
  per young person of one kind (those with a record in ``source`` in the year before the start,
  known by then, and still in the area; by default a police contact *as a suspect*, the young
  people the service most often flags; 0.5: half of them get a newcomer, 2: each gets two; at
  most :data:`MAX_SHIFT_SIZE`). A newcomer is a copy with a new
  pseudonymous id, the same birth date, attributes and school, and a copy of every record of the
  original from the start date on (interventions excepted: the newcomer has not been
  supported). Nothing of a newcomer is on record before the start date.

  Why arrivals: a population changes in practice by people joining it (families moving in, a
  boundary change, a school or a district joining the data-sharing agreement), and their local
  records begin when they arrive. Copying the *future* records of a kind of young person gives
  newcomers who behave like an existing group, so the shift is in who reaches teachable moments
  (more young people involved in offending, with short local histories), not in how any one
  record is written; every record stays plausible and the folder valid.

Everything runs in DuckDB over the raw files, so a county of any size is rewritten without
reading it into memory; rows keep their order (newcomers' rows follow the originals).

Example
-------
>>> Fault("coding", date(2026, 1, 5), size=0.3).problems(["attendance"])
[]
>>> Fault("stop", date(2026, 1, 5), source="police", size=0.5).problems(["police_contacts"])[0]
'a stop has no size: the whole source stops; leave out --size'
"""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Final, Literal, get_args

import duckdb

from vru_risk.data.contract import EVENT_TABLES, MANIFEST_NAME
from vru_risk.data.fingerprint import file_sha256
from vru_risk.data.load import DataFolder
from vru_risk.data.raw_files import (
    copy_to,
    count_rows,
    event_date,
    known_date,
    raw_relation,
    typed_value,
)
from vru_risk.data.sql import connect, quote_literal
from vru_risk.data.synthetic.writer import atomic_folders, write_json

FaultKind = Literal["stop", "coding", "shift"]
FAULT_KINDS: Final[tuple[str, ...]] = get_args(FaultKind)

#: The kind of young person a shift duplicates when no source is given.
DEFAULT_SHIFT_SOURCE: Final = "police_contacts"
#: A young person is of a shift's kind with a record in its source in this many days before
#: the start date ...
SHIFT_LOOKBACK_DAYS: Final = 365
#: ... of this kind, for the sources listed (column, value): of police contacts, as a suspect
SHIFT_KIND_ROLES: Final = {"police_contacts": ("role", "suspect")}
#: The most newcomers per young person of a shift's kind.
MAX_SHIFT_SIZE: Final = 3.0
#: The recoding of a coding change.
RECODED_FROM: Final = "unauthorised_absence"
RECODED_TO: Final = "authorised_absence"
#: Newcomers' ids: this prefix and 16 hex digits of a hash of the original's id and the seed.
NEWCOMER_PREFIX: Final = "arrival-"


class FaultError(ValueError):
    """A fault that cannot be injected as asked; the message says what to change."""


@dataclass(frozen=True)
class Fault:
    """One fault: its kind, the day it starts, the source it hits (``stop``: required;
    ``coding``: attendance; ``shift``: the records that pick the kind of young person) and its
    size (``coding``: the share of unauthorised absences recoded, at most 1; ``shift``: the
    newcomers per young person of the kind, at most :data:`MAX_SHIFT_SIZE`; ``stop``: none)."""

    kind: FaultKind
    start: date
    source: str | None = None
    size: float | None = None
    seed: int = 0

    def resolved(self) -> Fault:
        """This fault with the defaults of its kind filled in."""
        if self.kind == "coding":
            return replace(self, source=self.source or "attendance")
        if self.kind == "shift":
            return replace(self, source=self.source or DEFAULT_SHIFT_SOURCE)
        return self

    def problems(self, tables: Sequence[str]) -> list[str]:
        """What is wrong with this fault for a folder holding ``tables`` (empty when fine)."""
        out: list[str] = []
        if self.kind not in FAULT_KINDS:
            return [f"--kind {self.kind!r} is not a fault; use one of {', '.join(FAULT_KINDS)}"]
        events = [t for t in EVENT_TABLES if t in tables]
        if self.kind == "stop":
            if self.size is not None:
                out.append("a stop has no size: the whole source stops; leave out --size")
            if self.source is None:
                out.append(f"a stop needs the source that stops: --source {' | '.join(events)}")
            elif self.source not in events:
                out.append(_unknown_source(self.source, events, "stop"))
        elif self.kind == "coding":
            if self.source not in (None, "attendance"):
                out.append(
                    f"--source {self.source!r}: a coding change recodes attendance sessions; "
                    "give --source attendance or leave it out"
                )
            elif "attendance" not in tables:
                out.append("the folder has no attendance table: a coding change recodes it")
            out += _size_problems(self.size, 1, "the share of unauthorised absences recoded")
        else:
            source = self.source or DEFAULT_SHIFT_SOURCE
            if source not in events or source == "interventions":
                kinds = [t for t in events if t != "interventions"]
                out.append(_unknown_source(source, kinds, "shift"))
            out += _size_problems(
                self.size, MAX_SHIFT_SIZE, "the newcomers per young person of the kind"
            )
        if self.seed < 0:
            out.append(f"--seed {self.seed} is negative; give a whole number 0 or above")
        return out

    def to_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "start": self.start.isoformat(),
            "source": self.source,
            "size": self.size,
            "seed": self.seed,
        }


def _unknown_source(source: str, allowed: Sequence[str], kind: str) -> str:
    return (
        f"--source {source!r} is not a source a {kind} can use in this folder; use one of "
        f"{', '.join(allowed) or '(none: the folder has no event tables)'}"
    )


def _size_problems(size: float | None, largest: float, what: str) -> list[str]:
    if size is None:
        return [f"give --size, {what}: above 0 and at most {largest:g}"]
    if not 0 < size <= largest:
        return [
            f"--size {size:g} is out of range: it is {what}; give a number above 0 and at "
            f"most {largest:g}"
        ]
    return []


@dataclass(frozen=True)
class FaultResult:
    """What :func:`inject_fault` wrote: rows per rewritten table before and after, rows
    changed by the fault, and the newcomers of a shift."""

    fault: Fault
    out: Path
    rows: dict[str, tuple[int, int]] = field(default_factory=dict)
    changed: dict[str, int] = field(default_factory=dict)
    newcomers: int = 0


# --- SQL over the raw files --------------------------------------------------------------------


def _raw(folder: DataFolder, table: str) -> str:
    return raw_relation(folder.files[table])


def _typed(con: duckdb.DuckDBPyConnection, folder: DataFolder, table: str, column: str) -> str:
    return typed_value(con, folder.files[table], table, column)


def _event(con: duckdb.DuckDBPyConnection, folder: DataFolder, table: str) -> str:
    return event_date(con, folder.files[table], table)


def _known(con: duckdb.DuckDBPyConnection, folder: DataFolder, table: str) -> str:
    return known_date(con, folder.files[table], table, folder.columns.get(table, ()))


def _uniform(key: str, seed: int, salt: str) -> str:
    """A number in [0, 1) from a keyed hash of ``key`` (SQL): the same key and seed, the same
    number, on any machine."""
    keyed = f"concat_ws('|', {quote_literal(salt)}, {int(seed)}, {key})"
    return f"(md5_number_lower({keyed}) % 1000000) / 1000000.0"


def _day(d: date) -> str:
    return f"DATE {quote_literal(d.isoformat())}"


def _first_event(con: duckdb.DuckDBPyConnection, folder: DataFolder, table: str) -> date | None:
    value = con.execute(f"SELECT min({_event(con, folder, table)}) FROM {_raw(folder, table)}")
    row = value.fetchone()
    return None if row is None or row[0] is None else row[0]


# --- the three faults --------------------------------------------------------------------------


def _stop(
    con: duckdb.DuckDBPyConnection, folder: DataFolder, fault: Fault
) -> dict[str, tuple[str, int]]:
    assert fault.source is not None
    raw = _raw(folder, fault.source)
    known = _known(con, folder, fault.source)
    query = f"SELECT * FROM {raw} WHERE NOT ({known} > {_day(fault.start)})"
    dropped = count_rows(con, f"SELECT 1 FROM {raw} WHERE {known} > {_day(fault.start)}")
    return {fault.source: (query, dropped)}


def _coding(
    con: duckdb.DuckDBPyConnection, folder: DataFolder, fault: Fault
) -> dict[str, tuple[str, int]]:
    raw = _raw(folder, "attendance")
    status = _typed(con, folder, "attendance", "status")
    day = _typed(con, folder, "attendance", "date")
    key = "person_id, CAST(date AS VARCHAR), CAST(session AS VARCHAR)"
    chosen = (
        f"{status} = {quote_literal(RECODED_FROM)} AND {day} >= {_day(fault.start)} "
        f"AND {_uniform(key, fault.seed, 'coding')} < {float(fault.size or 0)!r}"
    )
    query = (
        f"SELECT * REPLACE (CASE WHEN {chosen} THEN {quote_literal(RECODED_TO)} "
        f"ELSE status END AS status) FROM {raw}"
    )
    return {"attendance": (query, count_rows(con, f"SELECT 1 FROM {raw} WHERE {chosen}"))}


def _newcomer_id(column: str, copy: str, seed: int) -> str:
    digest = f"md5(concat_ws('|', 'shift', {int(seed)}, {column}, {copy}))"
    return f"{quote_literal(NEWCOMER_PREFIX)} || substr({digest}, 1, 16)"


def _shift(
    con: duckdb.DuckDBPyConnection, folder: DataFolder, fault: Fault
) -> tuple[dict[str, tuple[str, int]], int]:
    assert fault.source is not None
    start = _day(fault.start)
    since = _day(fault.start - timedelta(days=SHIFT_LOOKBACK_DAYS))
    source = _raw(folder, fault.source)
    event, known = _event(con, folder, fault.source), _known(con, folder, fault.source)
    people = _raw(folder, "people")
    in_area = "TRUE"
    if "left_area_date" in folder.columns.get("people", ()):
        left = _typed(con, folder, "people", "left_area_date")
        in_area = f"({left} IS NULL OR {left} > {start})"
    kind = ""
    if fault.source in SHIFT_KIND_ROLES:
        column, value = SHIFT_KIND_ROLES[fault.source]
        kind = f"AND {_typed(con, folder, fault.source, column)} = {quote_literal(value)} "
    con.execute(
        "CREATE OR REPLACE TEMP TABLE shift_kind AS "
        f"SELECT DISTINCT person_id FROM {source} WHERE {event} > {since} "
        f"AND {event} <= {start} AND {known} <= {start} {kind}"
    )
    size = float(fault.size or 0)
    copies = f"range(0, {math.ceil(size)})"
    key = "p.person_id, CAST(c.copy AS VARCHAR)"
    con.execute(
        "CREATE OR REPLACE TEMP TABLE newcomers AS SELECT p.person_id AS original, "
        f"{_newcomer_id('p.person_id', 'CAST(c.copy AS VARCHAR)', fault.seed)} AS newcomer "
        f"FROM {people} p JOIN shift_kind k ON k.person_id = p.person_id "
        f"CROSS JOIN (SELECT range AS copy FROM {copies}) c WHERE {in_area} "
        f"AND {_uniform(key, fault.seed, 'shift')} < {size!r} - c.copy"
    )
    clash = count_rows(
        con, f"SELECT 1 FROM newcomers n JOIN {people} p ON p.person_id = n.newcomer"
    ) + count_rows(con, "SELECT newcomer FROM newcomers GROUP BY 1 HAVING count(*) > 1")
    if clash:
        raise FaultError(
            f"{clash} newcomer id(s) would repeat an id of the folder; give another --seed"
        )
    n = count_rows(con, "SELECT 1 FROM newcomers")
    queries = {
        "people": (
            f"SELECT * FROM {people} UNION ALL SELECT p.* REPLACE (n.newcomer AS person_id) "
            f"FROM {people} p JOIN newcomers n ON n.original = p.person_id",
            n,
        )
    }
    for table in folder.available:
        if table == "interventions":
            continue
        raw = _raw(folder, table)
        copies = (
            f"SELECT t.* REPLACE (n.newcomer AS person_id) FROM {raw} t JOIN newcomers n "
            f"ON n.original = t.person_id WHERE {_event(con, folder, table)} >= {start}"
        )
        queries[table] = (f"SELECT * FROM {raw} UNION ALL {copies}", count_rows(con, copies))
    return queries, n


# --- the folder --------------------------------------------------------------------------------


def _check_dates(con: duckdb.DuckDBPyConnection, folder: DataFolder, fault: Fault) -> None:
    if fault.start > folder.extract_date:
        raise FaultError(
            f"--from {fault.start} is after the extract date {folder.extract_date} of "
            f"{folder.path}: give a date inside the extract"
        )
    hit = "attendance" if fault.kind == "coding" else fault.source
    assert hit is not None
    first = _first_event(con, folder, hit)
    if first is None or fault.start <= first:
        since = f"its first record ({first})" if first else "it has no records"
        raise FaultError(
            f"--from {fault.start} is not inside the {hit} records of {folder.path} ({since}): "
            "give a date after the first record and on or before the extract date"
        )


def _manifest(folder: DataFolder, out: Path, fault: Fault, rows: dict[str, int]) -> None:
    """The manifest with the rewritten tables' row counts and hashes, the refresh dates as they
    were, and the fault recorded under ``faults``."""
    path = folder.path / MANIFEST_NAME
    if not path.is_file():
        return
    doc = json.loads(path.read_text(encoding="utf-8"))
    tables = doc.get("tables") or {}
    for table, n in rows.items():
        entry = tables.get(table)
        if not isinstance(entry, dict):
            continue
        if "rows" in entry:
            entry["rows"] = n
        if "sha256" in entry:
            entry["sha256"] = file_sha256(out / folder.files[table].name)
    doc["faults"] = [*doc.get("faults", []), fault.to_dict()]
    write_json(out / MANIFEST_NAME, doc)


def inject_fault(
    folder: DataFolder,
    out: Path,
    fault: Fault,
    *,
    threads: int = 2,
    memory_limit: str = "2GB",
    scratch_dir: Path | None = None,
) -> FaultResult:
    """Write ``folder`` with ``fault`` in it to ``out`` (a new folder; see the module
    docstring). Raise :class:`FaultError` naming what to change, writing nothing."""
    fault = fault.resolved()
    problems = fault.problems(list(folder.files))
    if problems:
        raise FaultError("; ".join(problems))
    if out.exists() or out.is_symlink():
        raise FaultError(f"--out {out} already exists: give a new folder (nothing is overwritten)")
    con = connect(
        threads=threads,
        memory_limit=memory_limit,
        temp_directory=scratch_dir,
        preserve_insertion_order=True,
    )
    try:
        _check_dates(con, folder, fault)
        newcomers = 0
        if fault.kind == "stop":
            queries = _stop(con, folder, fault)
        elif fault.kind == "coding":
            queries = _coding(con, folder, fault)
        else:
            queries, newcomers = _shift(con, folder, fault)
        result = FaultResult(fault=fault, out=out, newcomers=newcomers)
        with atomic_folders(out) as (tmp,):
            for table, path in folder.files.items():
                target = tmp / path.name
                if table not in queries:
                    shutil.copy2(path, target)
                    continue
                query, changed = queries[table]
                before = count_rows(con, f"SELECT 1 FROM {_raw(folder, table)}")
                result.rows[table] = (before, copy_to(con, query, target))
                result.changed[table] = changed
            _manifest(folder, tmp, fault, {t: after for t, (_, after) in result.rows.items()})
    finally:
        con.close()
    return result
