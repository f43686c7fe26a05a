"""The manifest of a data folder (``manifest.json``) and the extract date.

The manifest names the contract version, the day the extract was taken and, per table, its file,
the day it was last refreshed and optionally its sha256. :func:`read_manifest` reports every
problem with it at once; :func:`extract_date_option_problems` checks an extract date given on
the command line against today and the manifest.

Example
-------
>>> parse_iso_date("2026-08-31"), parse_iso_date("31/08/2026")
(datetime.date(2026, 8, 31), None)
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from vru_risk.data.contract import CONTRACT_VERSION, MANIFEST_NAME, TABLES
from vru_risk.data.fingerprint import file_sha256
from vru_risk.data.validate.files import manifest_file_problem, path_problem
from vru_risk.data.validate.problems import Problem


def parse_iso_date(text: object) -> date | None:
    """A ``YYYY-MM-DD`` date, or ``None`` for anything else."""
    if not isinstance(text, str) or len(text) != 10:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


@dataclass
class ManifestReading:
    """What the manifest says and what is wrong with it (all empty when there is none)."""

    #: The manifest, once it parses as a JSON object.
    manifest: dict[str, Any] | None = None
    #: Its ``extract_date``, when that is a valid date.
    extract_date: date | None = None
    #: The manifest file's sha256 (part of the folder's fingerprint), once it could be read.
    sha256: str | None = None
    problems: list[Problem] = field(default_factory=list)


def read_manifest(
    folder: Path, files: dict[str, Path], *, today: date, refused: set[str]
) -> ManifestReading:
    """Read and check ``folder/manifest.json`` against the table ``files`` found in the folder.

    ``refused`` names tables whose file was already reported as not a regular file.
    """
    path = folder / MANIFEST_NAME
    reading = ManifestReading()
    if not os.path.lexists(path):
        return reading
    problem = path_problem(path, folder, check="bad_manifest")
    if problem is not None:
        reading.problems.append(problem)
        return reading
    try:
        reading.sha256 = file_sha256(path)
    except OSError as exc:
        reading.problems.append(
            Problem(MANIFEST_NAME, None, "bad_manifest", f"cannot be read: {exc}", "fix it")
        )
        return reading

    def bad(message: str, hint: str, column: str | None = None) -> None:
        reading.problems.append(Problem(MANIFEST_NAME, column, "bad_manifest", message, hint))

    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        bad(f"is not valid UTF-8 JSON: {exc}", "fix the JSON or remove manifest.json")
        return reading
    if not isinstance(manifest, dict):
        bad("must be a JSON object", "see docs/data-contract.md for the manifest's fields")
        return reading
    reading.manifest = manifest
    version = manifest.get("contract_version")
    if str(version) != CONTRACT_VERSION:
        bad(
            f"contract_version is {version!r}; this software reads version {CONTRACT_VERSION!r}",
            "produce the extract under contract v1 or upgrade vru-risk",
            "contract_version",
        )
    extract = parse_iso_date(manifest.get("extract_date"))
    if extract is None:
        bad(
            f"extract_date {manifest.get('extract_date')!r} is missing or not YYYY-MM-DD",
            "set extract_date to the day the extract was taken",
            "extract_date",
        )
    reading.extract_date = extract
    if extract is not None and extract > today:
        bad(
            f"extract_date {extract} is after today ({today})",
            "set extract_date to the day the extract was taken",
            "extract_date",
        )
    tables = manifest.get("tables", {})
    if not isinstance(tables, dict):
        bad("'tables' must be an object keyed by table name", "see docs/data-contract.md")
        return reading
    for name, entry in sorted(tables.items()):
        if name not in TABLES:
            bad(
                f"lists unknown table {name!r}; tables: {', '.join(TABLES)}",
                "remove the entry",
                "tables",
            )
            continue
        if isinstance(entry, dict) and "file" in entry:
            wrong = manifest_file_problem(folder, name, entry["file"], files.get(name))
            if wrong:
                bad(
                    wrong,
                    f'give the name of the table\'s file in the data folder, e.g. "{name}.csv" '
                    "(no folders, no absolute paths)",
                    f"tables.{name}.file",
                )
        if name not in files:
            if name in refused:  # already reported as not a file
                continue
            bad(
                f"lists table {name!r} but no {name}.csv or {name}.parquet is in the folder",
                "add the file, or remove the entry if the source is not shared",
                "tables",
            )
            continue
        if not isinstance(entry, dict):
            bad(f"entry for {name!r} must be an object", "see docs/data-contract.md")
            continue
        refreshed = parse_iso_date(entry.get("refreshed"))
        if refreshed is None:
            bad(
                f"tables.{name}.refreshed {entry.get('refreshed')!r} is missing or not YYYY-MM-DD",
                "give the day the table was last refreshed",
                "tables",
            )
        elif extract is not None and refreshed > extract:
            bad(
                f"tables.{name}.refreshed {refreshed} is after the extract date {extract}",
                "a table cannot be refreshed after the extract was taken",
                "tables",
            )
        expected_hash = entry.get("sha256")
        if expected_hash is not None and expected_hash != file_sha256(files[name]):
            bad(
                f"{files[name].name} does not match the sha256 recorded in the manifest "
                "(the file changed after the extract was written)",
                "re-take the extract, or rewrite the manifest if the change is intended",
                "tables",
            )
    for name in files:
        if name not in tables:
            bad(
                f"does not list table {name!r} (its refresh date is unknown)",
                f"add tables.{name} with its 'refreshed' date",
                "tables",
            )
    return reading


def extract_date_option_problems(
    option: date | None, *, today: date, manifest: dict[str, Any] | None
) -> list[Problem]:
    """Why an extract date given on the command line is impossible (none when it is possible)."""
    problems: list[Problem] = []
    if option is None:
        return problems
    if option > today:
        problems.append(
            Problem(
                "--extract-date",
                None,
                "bad_extract_date",
                f"{option} is after today ({today}); an extract cannot be taken in the "
                "future, and a later date would treat unfinished label windows as complete",
                "give the day the extract was taken",
            )
        )
    written = parse_iso_date((manifest or {}).get("extract_date"))
    if written is not None and option > written:
        problems.append(
            Problem(
                "--extract-date",
                None,
                "bad_extract_date",
                f"{option} is after the extract date {written} in manifest.json; the data "
                "cannot hold what happened after it was taken",
                "leave --extract-date out, or give a date on or before the manifest's",
            )
        )
    return problems
