"""``vru audit-scores``: the fairness report for scores that did not come from vru-risk.

An incumbent rule, a questionnaire total or another vendor's tool can be audited the same way
as a candidate model: one CSV row per assessed young person (or per event, with ``--person``
naming whose it is), a score column, an outcome column and the attributes to audit. The report
is the same as a model's, without the sections that need a model (performance against
baselines, calibration curves, proxy test, mitigation, review history).

Rules
-----
* ``--threshold X``: a score equal to the threshold is flagged.
* ``--top-k N``: every row tied with the N-th highest score is flagged too (the output says how
  many were flagged); ``--top-frac F``: the same with N = ceil(F × rows).
* ``--lower-is-riskier`` flips the direction of all three (the top-k/top-frac lists are cut
  from the lowest scores).
* Labels: by default exactly two values, {0, 1} or {true, false} (any case); with
  ``--positive-label VALUE`` any two-valued column, VALUE being the positive one.
* Every problem with the input exits 2 with a message naming the file, the column and the CSV
  lines (the header is line 1), and nothing is written.
"""

from __future__ import annotations

import csv
import hashlib
import math
from collections import Counter
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
import typer
from rich.console import Console

from vru_risk.cli.common import UserError, console
from vru_risk.fairness_reports.audit import AuditResult, audit
from vru_risk.fairness_reports.bootstrap import bootstrap_intervals
from vru_risk.fairness_reports.gate import FairnessGateConfig, evaluate_gate
from vru_risk.fairness_reports.groups import INTERSECTION_SEP
from vru_risk.fairness_reports.operating_points import (
    OperatingPoint,
    Threshold,
    TopFraction,
    TopK,
    fraction_to_k,
)
from vru_risk.fairness_reports.report import build_report, not_assessed_line, write_report

OUTCOME = "label"
_SHOWN = 5  # offending lines named in an error message
_MISSING = frozenset({"", "na", "n/a", "nan", "null", "none"})
_BINARY_SETS = (("0", "1"), ("false", "true"))


def _lines(values: pd.Series, mask: np.ndarray, *, show: bool = False) -> str:
    """``"3 rows (line 2, 5, 9)"`` for the rows of ``mask``, with their values if ``show``.

    ``values`` comes from :func:`read_scores_csv`, whose index is the CSV line minus 2 (the
    header is line 1).
    """
    where = np.flatnonzero(mask)
    shown = where[:_SHOWN]
    lines = values.index.to_numpy()[shown] + 2
    if show:
        named = ", ".join(
            f"{line}: {value!r}" for line, value in zip(lines, values.iloc[shown], strict=True)
        )
    else:
        named = ", ".join(str(line) for line in lines)
    more = f", and {len(where) - _SHOWN} more" if len(where) > _SHOWN else ""
    return f"{len(where)} row{'s' if len(where) != 1 else ''} (line {named}{more})"


def read_scores_csv(path: Path) -> pd.DataFrame:
    """The CSV as strings (no value guessed), blank lines dropped; the index is CSV line − 2."""
    if not path.exists():
        raise UserError(f"{path} does not exist: give the CSV file of scores to audit")
    if not path.is_file():
        raise UserError(f"{path} is not a file: give the CSV file of scores to audit")
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            header = next(csv.reader(handle), None)
    except UnicodeDecodeError:
        raise UserError(
            f"{path} is not a CSV file: it is not UTF-8 text (export the scores as CSV, UTF-8)"
        ) from None
    except csv.Error as exc:
        raise UserError(f"{path} is not a readable CSV file: {exc}") from None
    if header is None or not any(name.strip() for name in header):
        raise UserError(f"{path} is empty: it needs a header line and one row per score")
    names = [name.strip() for name in header]
    duplicated = sorted({name for name in names if names.count(name) > 1})
    if duplicated:
        raise UserError(
            f"{path}: the header names {', '.join(repr(d) for d in duplicated)} more than once; "
            "every column needs its own name"
        )
    try:
        frame = pd.read_csv(
            path,
            dtype=str,
            keep_default_na=False,
            skip_blank_lines=False,
            encoding="utf-8-sig",
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise UserError(f"{path} is not a readable CSV file: {exc}") from None
    if not isinstance(frame.index, pd.RangeIndex):  # pandas took a surplus column as the index
        raise UserError(
            f"{path}: the rows have more fields than the header names ({len(names)}); every "
            "column needs a name"
        )
    frame.columns = pd.Index(names)
    frame = frame.fillna("")
    for name in names:
        frame[name] = frame[name].str.strip()
    frame = frame.loc[~(frame == "").all(axis=1)]
    if frame.empty:
        raise UserError(f"{path} has a header but no rows: there is nothing to audit")
    return frame


def _require_column(frame: pd.DataFrame, name: str, option: str, path: Path) -> None:
    if name not in frame.columns:
        present = ", ".join(str(c) for c in frame.columns)
        raise UserError(f"{path} has no column {name!r} ({option}); columns present: {present}")


def parse_scores(values: pd.Series, column: str, path: Path) -> np.ndarray:
    """Float scores, or a UserError naming the empty or non-numeric lines."""
    empty = (values == "").to_numpy()
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(numbers) & ~empty
    problems = []
    if empty.any():
        problems.append(f"empty in {_lines(values, empty)}")
    if bad.any():
        problems.append(f"not a finite number in {_lines(values, bad, show=True)}")
    if problems:
        raise UserError(
            f"{path}: column {column!r} (--score) is {'; and '.join(problems)}. Every row needs "
            "a numeric score (drop the rows the tool did not score)"
        )
    return numbers


def parse_labels(
    values: pd.Series, column: str, path: Path, positive: str | None
) -> tuple[np.ndarray, str]:
    """0/1 labels and the value read as positive, or a UserError listing the values found."""
    empty = (values == "").to_numpy()
    if empty.any():
        raise UserError(
            f"{path}: column {column!r} (--label) is empty in {_lines(values, empty)}; drop "
            "unlabelled (censored) rows before auditing"
        )
    found = values.value_counts()
    listing = ", ".join(
        f"{value!r} ({count:,} row{'s' if count != 1 else ''})"
        for value, count in found.head(10).items()
    )
    if len(found) > 10:
        listing += f", and {len(found) - 10} more"
    if positive is not None:
        if len(found) != 2 or positive not in found.index:
            raise UserError(
                f"{path}: column {column!r} (--label) must hold exactly two values, one of them "
                f"the --positive-label {positive!r}; found {listing}"
            )
        return (values == positive).to_numpy().astype(np.int8), positive
    lowered = values.str.lower()
    for negative_value, positive_value in _BINARY_SETS:
        if set(lowered.unique()) == {negative_value, positive_value}:
            return (lowered == positive_value).to_numpy().astype(np.int8), positive_value
    raise UserError(
        f"{path}: column {column!r} (--label) must hold exactly two values, 0 and 1 or true and "
        f"false; found {listing}. For other values give --positive-label VALUE"
    )


def _group_values(values: pd.Series) -> pd.Series:
    """Missing markers (empty, NA, null …) become missing, so the audit calls them unknown."""
    return values.where(~values.str.lower().isin(_MISSING), None).astype(object)


def operating_point(
    threshold: float | None,
    top_k: int | None,
    top_frac: float | None,
    lower_is_riskier: bool,
) -> OperatingPoint:
    """The one operating point asked for, or a UserError."""
    given = [
        name
        for name, value in (
            ("--threshold", threshold),
            ("--top-k", top_k),
            ("--top-frac", top_frac),
        )
        if value is not None
    ]
    if len(given) != 1:
        listed = f" (got {' and '.join(given)})" if given else ""
        raise UserError(
            "give exactly one of --threshold X (flag scores at or beyond X), --top-k N (the N "
            f"riskiest and ties) or --top-frac F (the riskiest fraction F and ties){listed}"
        )
    if threshold is not None:
        if not math.isfinite(threshold):
            raise UserError(f"--threshold must be a finite number, got {threshold}")
        return Threshold(threshold, lower_is_riskier=lower_is_riskier)
    if top_k is not None:
        if top_k < 1:
            raise UserError(f"--top-k must be at least 1, got {top_k}")
        return TopK(top_k)
    assert top_frac is not None
    if not 0.0 < top_frac <= 1.0:
        raise UserError(f"--top-frac must be above 0 and at most 1, got {top_frac}")
    return TopFraction(top_frac)


def _check_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} is a file; give a new or empty folder for the report")
    if out.is_dir() and any(out.iterdir()):
        raise UserError(
            f"--out {out} already exists and is not empty; refusing to mix reports: give a new "
            "or empty folder"
        )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _intersections(given: list[str] | None, groups: list[str]) -> list[tuple[str, ...]]:
    out = []
    for text in given or []:
        names = tuple(part.strip() for part in text.split(INTERSECTION_SEP))
        unknown = [name for name in names if name not in groups]
        if len(names) < 2 or unknown:
            raise UserError(
                f"--intersection {text!r} must join two or more --group columns with "
                f"{INTERSECTION_SEP!r} (e.g. {INTERSECTION_SEP.join(groups[:2])!r}); "
                f"the --group columns are {', '.join(groups)}"
            )
        out.append(names)
    return out


def audit_scores(
    file: Annotated[Path, typer.Argument(help="CSV file: one row per scored young person")],
    score: Annotated[str, typer.Option("--score", help="Column of the scores")],
    label: Annotated[str, typer.Option("--label", help="Column of the outcome (two values)")],
    group: Annotated[
        list[str],
        typer.Option("--group", help="Column of an attribute to audit (repeat for more)"),
    ],
    out: Annotated[Path, typer.Option("--out", help="New or empty folder for the report")],
    threshold: Annotated[
        float | None,
        typer.Option("--threshold", help="Flag scores at or above X (a score equal to X too)"),
    ] = None,
    top_k: Annotated[
        int | None,
        typer.Option("--top-k", help="Flag the N riskiest scores and every score tied with them"),
    ] = None,
    top_frac: Annotated[
        float | None,
        typer.Option("--top-frac", help="Flag the riskiest fraction F of rows (and ties)"),
    ] = None,
    positive_label: Annotated[
        str | None,
        typer.Option("--positive-label", help="The label value that means the outcome happened"),
    ] = None,
    lower_is_riskier: Annotated[
        bool, typer.Option("--lower-is-riskier", help="Lower scores are riskier")
    ] = False,
    person: Annotated[
        str | None,
        typer.Option("--person", help="Column naming whose row it is (default: one per row)"),
    ] = None,
    intersection: Annotated[
        list[str] | None,
        typer.Option("--intersection", help="Audit an intersection too, e.g. ethnicity*sex"),
    ] = None,
    resamples: Annotated[int, typer.Option("--resamples", help="Bootstrap replicates")] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the bootstrap")] = 0,
    title: Annotated[str | None, typer.Option("--title", help="Title of the report")] = None,
) -> None:
    """Fairness report for scores from any tool (a rule, a questionnaire, another vendor)."""
    op = operating_point(threshold, top_k, top_frac, lower_is_riskier)
    if resamples < 1:
        raise UserError(f"--resamples must be at least 1, got {resamples}")
    _check_out(out)
    frame = read_scores_csv(file)
    repeated = sorted({name for name in group if group.count(name) > 1})
    if repeated:
        raise UserError(f"--group {', '.join(repeated)} is given more than once")
    wanted = [(score, "--score"), (label, "--label"), *((name, "--group") for name in group)]
    if person is not None:
        wanted.append((person, "--person"))
    for name, option in wanted:
        _require_column(frame, name, option, file)
    intersections = _intersections(intersection, group)
    scores = parse_scores(frame[score], score, file)
    y, positive = parse_labels(frame[label], label, file, positive_label)
    people = np.arange(len(frame)).astype(str)
    if person is not None:
        ids = frame[person]
        empty = (ids == "").to_numpy()
        if empty.any():
            raise UserError(
                f"{file}: column {person!r} (--person) is empty in {_lines(ids, empty)}"
            )
        people = ids.to_numpy(dtype=object)
    sensitive = pd.DataFrame({name: _group_values(frame[name]).to_numpy() for name in group})
    # audit.py orients TopK/TopFraction by higher scores only: negate to cut from the lowest
    ranked = -scores if lower_is_riskier and not isinstance(op, Threshold) else scores

    try:
        result = audit(
            y, ranked, sensitive_features=sensitive, operating_point=op, intersections=intersections
        )
        with Console(stderr=True).status(f"bootstrapping {resamples:,} resamples of people ..."):
            intervals = bootstrap_intervals(
                y,
                ranked,
                sensitive_features=sensitive,
                operating_point=op,
                person_id=people,
                n_resamples=resamples,
                seed=seed,
                intersections=intersections,
            )
    except ValueError as exc:
        raise UserError(f"{file}: {exc}") from None
    gate = evaluate_gate(intervals, result.by_group, FairnessGateConfig())
    report = build_report(
        title=title or f"Fairness audit of {score} in {file.name}",
        subject={
            "kind": "external",
            "file": file.name,
            "file_sha256": _sha256(file),
            "score_column": score,
            "label_column": label,
            "positive_label": positive,
            "group_columns": list(group),
            "person_column": person,
            "lower_is_riskier": lower_is_riskier,
        },
        data_window={
            "rows": len(frame),
            "people": len(pd.unique(people)),
            "with_outcome": int(y.sum()),
            "source": f"every row of {file.name}; its time window is not known to vru-risk",
        },
        audits={OUTCOME: result},
        primary=OUTCOME,
        intervals=intervals,
        gate=gate,
        notes=_notes(result, op, lower_is_riskier, resamples, seed),
    )
    try:
        _, html_path = write_report(report, out)
    except OSError as exc:
        raise UserError(f"cannot write the report to {out}: {exc}") from None
    _print_summary(result, op, report, html_path)


def _notes(
    result: AuditResult, op: OperatingPoint, lower: bool, resamples: int, seed: int
) -> list[str]:
    notes = [
        f"Intervals: {resamples:,} bootstrap resamples of people (seed {seed}).",
        "The scores did not come from vru-risk: the report has no performance, calibration "
        "curve, proxy, mitigation or review sections.",
    ]
    if lower and not isinstance(op, Threshold):
        notes.append("Lower scores are riskier: the list was cut from the lowest scores.")
    if pd.isna(result.overall.get("calibration_error")):
        notes.append(
            "The scores are not probabilities (not all within 0 to 1, or lower is riskier), so "
            "calibration within groups could not be assessed: those gate criteria read 'not "
            "assessable' and the gate cannot pass by itself."
        )
    else:
        notes.append(
            "The scores all lie within 0 to 1, so they were read as probabilities and their "
            "calibration within groups was checked."
        )
    return notes


def describe_flags(op: OperatingPoint, flagged: int, rows: int) -> str:
    """One line: how many rows were flagged, and how many of them only because of ties."""
    text = f"{flagged:,} of {rows:,} rows flagged"
    if isinstance(op, TopK | TopFraction):
        k = op.k if isinstance(op, TopK) else fraction_to_k(op.fraction, rows)
        wanted = f"--top-k {op.k}" if isinstance(op, TopK) else f"--top-frac {op.fraction:g}"
        if flagged > k:
            text += f" ({wanted} asked for {k:,}; {flagged - k:,} more tied with the last score)"
        else:
            text += f" ({wanted})"
    elif isinstance(op, Threshold):
        side = "at or below" if op.lower_is_riskier else "at or above"
        text += f" (scores {side} {op.value:g})"
    return text


def _print_summary(
    result: AuditResult, op: OperatingPoint, report: dict[str, Any], html: Path
) -> None:
    flagged, rows = int(result.overall["flagged"]), int(result.overall["count"])
    gate = report["gate"]
    console.print(describe_flags(op, flagged, rows))
    counts = Counter(str(c["status"]) for c in gate["criteria"])
    if counts:
        console.print(
            "gate criteria: " + ", ".join(f"{n} {status}" for status, n in counts.most_common())
        )
    colour = {"pass": "green", "fail": "red"}.get(gate["status"], "yellow")
    console.print(f"fairness gate: [bold {colour}]{gate['status'].upper()}[/]")
    unassessed = not_assessed_line(report)
    if unassessed:
        console.print(unassessed)
    console.print(f"report: {html}")
