"""Scores from another tool, as a CSV file: the input contract of ``vru audit-scores``.

An incumbent rule, a questionnaire total or another vendor's tool can be audited the same way
as a candidate model: one CSV row per assessed person (or per event, with a person column
naming whose it is), a score column, an outcome column and the attributes to audit.

Rules
-----
* The file is UTF-8 CSV with a header naming every column once; values are read as text (no
  value guessed), surrounding spaces and blank lines are dropped.
* Scores: a finite number on every row.
* Labels: by default exactly two values, {0, 1} or {true, false} (any case); with a positive
  label VALUE any two-valued column, VALUE being the positive one.
* Group values: empty, ``NA``, ``n/a``, ``nan``, ``null`` and ``none`` (any case) are missing,
  and an audit calls them ``unknown``.
* Operating point, exactly one: a threshold X (a score equal to the threshold is flagged); the
  top N (every row tied with the N-th highest score is flagged too); the top fraction F (the
  same with N = ceil(F × rows)). Lower-is-riskier flips the direction of all three (the
  top-N/top-fraction lists are cut from the lowest scores).
* Every problem raises :class:`ScoresInputError` naming the file, the column (and the option
  that named it) and the CSV lines (the header is line 1).

Example
-------
>>> operating_point(None, 5, None, False)
TopK(k=5, kind='top_k')
>>> group_values(pd.Series(["white", "NA", ""])).isna().tolist()
[False, True, True]
"""

from __future__ import annotations

import csv
import hashlib
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from vru_risk.fairness_reports.groups import INTERSECTION_SEP
from vru_risk.fairness_reports.operating_points import (
    OperatingPoint,
    Threshold,
    TopFraction,
    TopK,
)

_SHOWN = 5  # offending lines named in an error message
_MISSING = frozenset({"", "na", "n/a", "nan", "null", "none"})
_BINARY_SETS = (("0", "1"), ("false", "true"))


class ScoresInputError(ValueError):
    """Scores that cannot be audited as given; the message names file, column and lines."""


@dataclass(frozen=True)
class ExternalScores:
    """A scores file read under the contract: one entry per row.

    ``ranked`` are the scores oriented so that higher is riskier for a top-N or top-fraction
    cut (negated when lower is riskier); ``people`` whose row each is; ``sensitive`` the
    audited attributes (missing values missing)."""

    rows: int
    ranked: np.ndarray
    labels: np.ndarray
    positive_label: str
    people: np.ndarray
    sensitive: pd.DataFrame
    intersections: list[tuple[str, ...]]


def read_external_scores(
    path: Path,
    *,
    score: str,
    label: str,
    groups: list[str],
    operating: OperatingPoint,
    lower_is_riskier: bool = False,
    person: str | None = None,
    positive_label: str | None = None,
    intersection: list[str] | None = None,
) -> ExternalScores:
    """Read and check a scores CSV (every rule of the module), or raise
    :class:`ScoresInputError`."""
    frame = read_scores_csv(path)
    repeated = sorted({name for name in groups if groups.count(name) > 1})
    if repeated:
        raise ScoresInputError(f"--group {', '.join(repeated)} is given more than once")
    wanted = [(score, "--score"), (label, "--label"), *((name, "--group") for name in groups)]
    if person is not None:
        wanted.append((person, "--person"))
    for name, option in wanted:
        require_column(frame, name, option, path)
    joined = intersections(intersection, groups)
    scores = parse_scores(frame[score], score, path)
    y, positive = parse_labels(frame[label], label, path, positive_label)
    people = np.arange(len(frame)).astype(str)
    if person is not None:
        ids = frame[person]
        empty = (ids == "").to_numpy()
        if empty.any():
            raise ScoresInputError(
                f"{path}: column {person!r} (--person) is empty in {_lines(ids, empty)}"
            )
        people = ids.to_numpy(dtype=object)
    sensitive = pd.DataFrame({name: group_values(frame[name]).to_numpy() for name in groups})
    # the audit orients TopK/TopFraction by higher scores only: negate to cut from the lowest
    ranked = -scores if lower_is_riskier and not isinstance(operating, Threshold) else scores
    return ExternalScores(
        rows=len(frame),
        ranked=ranked,
        labels=y,
        positive_label=positive,
        people=people,
        sensitive=sensitive,
        intersections=joined,
    )


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
        raise ScoresInputError(f"{path} does not exist: give the CSV file of scores to audit")
    if not path.is_file():
        raise ScoresInputError(f"{path} is not a file: give the CSV file of scores to audit")
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            header = next(csv.reader(handle), None)
    except UnicodeDecodeError:
        raise ScoresInputError(
            f"{path} is not a CSV file: it is not UTF-8 text (export the scores as CSV, UTF-8)"
        ) from None
    except csv.Error as exc:
        raise ScoresInputError(f"{path} is not a readable CSV file: {exc}") from None
    if header is None or not any(name.strip() for name in header):
        raise ScoresInputError(f"{path} is empty: it needs a header line and one row per score")
    names = [name.strip() for name in header]
    duplicated = sorted({name for name in names if names.count(name) > 1})
    if duplicated:
        raise ScoresInputError(
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
        raise ScoresInputError(f"{path} is not a readable CSV file: {exc}") from None
    if not isinstance(frame.index, pd.RangeIndex):  # pandas took a surplus column as the index
        raise ScoresInputError(
            f"{path}: the rows have more fields than the header names ({len(names)}); every "
            "column needs a name"
        )
    frame.columns = pd.Index(names)
    frame = frame.fillna("")
    for name in names:
        frame[name] = frame[name].str.strip()
    frame = frame.loc[~(frame == "").all(axis=1)]
    if frame.empty:
        raise ScoresInputError(f"{path} has a header but no rows: there is nothing to audit")
    return frame


def require_column(frame: pd.DataFrame, name: str, option: str, path: Path) -> None:
    if name not in frame.columns:
        present = ", ".join(str(c) for c in frame.columns)
        raise ScoresInputError(
            f"{path} has no column {name!r} ({option}); columns present: {present}"
        )


def parse_scores(values: pd.Series, column: str, path: Path) -> np.ndarray:
    """Float scores, or a ScoresInputError naming the empty or non-numeric lines."""
    empty = (values == "").to_numpy()
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(numbers) & ~empty
    problems = []
    if empty.any():
        problems.append(f"empty in {_lines(values, empty)}")
    if bad.any():
        problems.append(f"not a finite number in {_lines(values, bad, show=True)}")
    if problems:
        raise ScoresInputError(
            f"{path}: column {column!r} (--score) is {'; and '.join(problems)}. Every row needs "
            "a numeric score (drop the rows the tool did not score)"
        )
    return numbers


def parse_labels(
    values: pd.Series, column: str, path: Path, positive: str | None
) -> tuple[np.ndarray, str]:
    """0/1 labels and the value read as positive, or a ScoresInputError listing the values found."""
    empty = (values == "").to_numpy()
    if empty.any():
        raise ScoresInputError(
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
            raise ScoresInputError(
                f"{path}: column {column!r} (--label) must hold exactly two values, one of them "
                f"the --positive-label {positive!r}; found {listing}"
            )
        return (values == positive).to_numpy().astype(np.int8), positive
    lowered = values.str.lower()
    for negative_value, positive_value in _BINARY_SETS:
        if set(lowered.unique()) == {negative_value, positive_value}:
            return (lowered == positive_value).to_numpy().astype(np.int8), positive_value
    raise ScoresInputError(
        f"{path}: column {column!r} (--label) must hold exactly two values, 0 and 1 or true and "
        f"false; found {listing}. For other values give --positive-label VALUE"
    )


def group_values(values: pd.Series) -> pd.Series:
    """Missing markers (empty, NA, null …) become missing, so the audit calls them unknown."""
    return values.where(~values.str.lower().isin(_MISSING), None).astype(object)


def operating_point(
    threshold: float | None,
    top_k: int | None,
    top_frac: float | None,
    lower_is_riskier: bool,
) -> OperatingPoint:
    """The one operating point asked for, or a ScoresInputError."""
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
        raise ScoresInputError(
            "give exactly one of --threshold X (flag scores at or beyond X), --top-k N (the N "
            f"riskiest and ties) or --top-frac F (the riskiest fraction F and ties){listed}"
        )
    if threshold is not None:
        if not math.isfinite(threshold):
            raise ScoresInputError(f"--threshold must be a finite number, got {threshold}")
        return Threshold(threshold, lower_is_riskier=lower_is_riskier)
    if top_k is not None:
        if top_k < 1:
            raise ScoresInputError(f"--top-k must be at least 1, got {top_k}")
        return TopK(top_k)
    assert top_frac is not None
    if not 0.0 < top_frac <= 1.0:
        raise ScoresInputError(f"--top-frac must be above 0 and at most 1, got {top_frac}")
    return TopFraction(top_frac)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def intersections(given: list[str] | None, groups: list[str]) -> list[tuple[str, ...]]:
    out = []
    for text in given or []:
        names = tuple(part.strip() for part in text.split(INTERSECTION_SEP))
        unknown = [name for name in names if name not in groups]
        if len(names) < 2 or unknown:
            raise ScoresInputError(
                f"--intersection {text!r} must join two or more --group columns with "
                f"{INTERSECTION_SEP!r} (e.g. {INTERSECTION_SEP.join(groups[:2])!r}); "
                f"the --group columns are {', '.join(groups)}"
            )
        out.append(names)
    return out
