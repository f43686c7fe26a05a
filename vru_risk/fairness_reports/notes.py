"""Groups that cannot be assessed: the plain words, and the note that carries them.

Small and unknown groups are normal in a real extract: a handful of young people whose ethnicity
was not recorded, nobody in a group who went on to the outcome, a group of one. Every stage of the
audit that cannot assess such a group says so in exactly one :class:`GroupNote` per group: which
group, why in plain words ("only 3 young people, none with the outcome") and what that means for
the reader. A value that cannot be assessed is shown as "cannot be assessed", never as 0 or NaN;
the report gathers every note in one section.

The stages and what they cannot assess:

* group rates (``audit``): a group below the audit's minimum sizes has its rates withheld; a rate
  whose denominator is empty (recall without anyone with the outcome, a false positive rate when
  everyone had it, precision when nobody was flagged …) is undefined;
* 95% intervals (``bootstrap_intervals``): no interval for a withheld or undefined rate, nor for a
  comparison with a reference group whose rate is withheld, undefined or 0 (for a ratio);
* the fairness gate: a criterion without an interval is *not assessable*;
* mitigations: re-weighing cannot balance a group whose examples all have the same outcome;
  equal-miss-rate thresholds need someone with the outcome in the group; Fairlearn's
  ``ThresholdOptimizer`` needs both outcomes in every group it is fitted on;
* the proxy test needs enough members and non-members of a group to cross-validate.

Examples
--------
>>> describe(3, 0)
'only 3 young people, none with the outcome'
>>> describe(1, 1, 1)
'only 1 young person, with the outcome, flagged'
>>> too_few(12, 2, 0, min_count=50, min_positives=10, min_flagged=5)
'too few to judge: only 12 young people, 2 with the outcome, nobody flagged (rates need at least 50 young people, 10 with the outcome and 5 flagged)'
>>> sorted(undefined_reasons(4, 0, 4))
['auc', 'composition_ratio', 'false_omission_rate', 'fnr', 'tpr']
"""  # noqa: E501

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

CANNOT_ASSESS = "cannot be assessed"
"""How a value that cannot be assessed is shown (never 0, never NaN)."""

STAGE_RATES = "group rates"
STAGE_INTERVALS = "95% intervals"
STAGE_GATE = "fairness gate"
STAGE_REWEIGHING = "re-weighing in training (group-blind alternative)"
STAGE_EQUAL_FNR = "group-specific thresholds equalising FNR (illustrative)"
STAGE_THRESHOLD_OPTIMIZER = "Fairlearn ThresholdOptimizer, TPR parity (illustrative)"
STAGE_PROXY = "proxy test"

STAGES = (
    STAGE_RATES,
    STAGE_INTERVALS,
    STAGE_GATE,
    STAGE_REWEIGHING,
    STAGE_EQUAL_FNR,
    STAGE_THRESHOLD_OPTIMIZER,
    STAGE_PROXY,
)
"""The stages in the order of the report."""

YOUNG_PEOPLE = ("young person", "young people")
EXAMPLES = ("training example", "training examples")

METRIC_WORDS: Mapping[str, str] = {
    "base_rate": "base rate",
    "selection_rate": "selection rate",
    "tpr": "recall",
    "fnr": "miss rate",
    "fpr": "false positive rate",
    "ppv": "precision",
    "false_omission_rate": "false omission rate",
    "auc": "AUC",
    "calibration_error": "calibration error",
    "composition_ratio": "share of the list against share of those with the outcome",
}
"""Plain names of the audit's per-group values."""


@dataclass(frozen=True)
class GroupNote:
    """One group one stage could not assess (or a mitigation had to leave out).

    ``reason`` says why in plain words, ``meaning`` what it means for the reader.
    """

    stage: str
    attribute: str
    group: str
    reason: str
    meaning: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)

    def sentence(self) -> str:
        """``"<stage>, <attribute> <group>: <reason>. <meaning>"``."""
        return f"{self.stage}, {self.attribute} {self.group}: {self.reason}. {self.meaning}"


def count_words(n: int, unit: tuple[str, str] = YOUNG_PEOPLE) -> str:
    """``"1 young person"``, ``"3 young people"``."""
    return f"{n:,} {unit[0] if n == 1 else unit[1]}"


def _outcome_words(count: int, positives: int) -> str:
    if count == 1:
        return "with the outcome" if positives else "without the outcome"
    if positives == 0:
        return "none with the outcome"
    if positives == count:
        return "all with the outcome"
    return f"{positives:,} with the outcome"


def _flagged_words(count: int, flagged: int) -> str:
    if flagged == 0:
        return "nobody flagged"
    if count == 1:
        return "flagged"
    return "all flagged" if flagged == count else f"{flagged:,} flagged"


def describe(
    count: int,
    positives: int,
    flagged: int | None = None,
    *,
    unit: tuple[str, str] = YOUNG_PEOPLE,
    only: bool = True,
) -> str:
    """A group's counts in words: ``"only 3 young people, none with the outcome"``."""
    parts = [
        f"{'only ' if only else ''}{count_words(count, unit)}",
        _outcome_words(count, positives),
    ]
    if flagged is not None:
        parts.append(_flagged_words(count, flagged))
    return ", ".join(parts)


def too_few(
    count: int,
    positives: int,
    flagged: int,
    *,
    min_count: int,
    min_positives: int,
    min_flagged: int,
) -> str | None:
    """Why a group's rates are withheld, in plain words; None when it is large enough."""
    if count >= min_count and positives >= min_positives and flagged >= min_flagged:
        return None
    return (
        f"too few to judge: {describe(count, positives, flagged)} (rates need at least "
        f"{count_words(min_count)}, {min_positives:,} with the outcome and {min_flagged:,} "
        "flagged)"
    )


def undefined_reasons(count: int, positives: int, flagged: int) -> dict[str, str]:
    """The per-group values that are undefined for a group with these counts, and why.

    Keys are the audit's column names (:data:`METRIC_WORDS`). The share-of-list ratio also needs
    someone flagged overall, which one group's counts cannot say; the caller adds that.
    """
    if count == 0:
        return dict.fromkeys(METRIC_WORDS, "nobody is in it")
    reasons: dict[str, str] = {}
    if positives == 0:
        nobody = (
            "its only young person did not have the outcome"
            if count == 1
            else f"none of its {count_words(count)} had the outcome"
        )
        why = f"{nobody}, so there is nobody the list could reach or miss"
        for metric in ("tpr", "fnr", "auc", "composition_ratio"):
            reasons[metric] = why
    if positives == count:
        everyone = "its only young person" if count == 1 else f"all of its {count_words(count)}"
        why = f"{everyone} had the outcome, so nobody in it could be flagged wrongly"
        reasons["fpr"] = why
        reasons.setdefault("auc", why)
    if flagged == 0:
        reasons["ppv"] = "nobody in it was flagged"
    if flagged == count:
        reasons["false_omission_rate"] = "everybody in it was flagged, so nobody was left off"
    return reasons


def metric_list(metrics: Iterable[str]) -> str:
    """``"recall, miss rate and AUC"``."""
    words = [METRIC_WORDS.get(m, m.replace("_", " ")) for m in metrics]
    if len(words) <= 1:
        return "".join(words)
    return f"{', '.join(words[:-1])} and {words[-1]}"


def join_reasons(reasons: Iterable[str]) -> str:
    """Distinct reasons, in order, joined with semicolons."""
    return "; ".join(dict.fromkeys(r for r in reasons if r))


def one_per_group(notes: Sequence[GroupNote]) -> list[GroupNote]:
    """Merge notes of the same (stage, attribute, group) into one (reasons and meanings joined)."""
    merged: dict[tuple[str, str, str], list[GroupNote]] = {}
    for note in notes:
        merged.setdefault((note.stage, note.attribute, note.group), []).append(note)
    return [
        GroupNote(
            stage,
            attribute,
            group,
            join_reasons(n.reason for n in same),
            " ".join(dict.fromkeys(n.meaning for n in same)),
        )
        for (stage, attribute, group), same in merged.items()
    ]


def one_outcome_groups(groups: npt.ArrayLike, y: npt.ArrayLike) -> dict[str, tuple[int, int]]:
    """Groups whose rows all have the same outcome (0/1) → (count, positives), sorted by group.

    Re-weighing cannot balance them and Fairlearn's ``ThresholdOptimizer`` cannot be fitted on
    them ("Degenerate labels").

    >>> one_outcome_groups(["a", "a", "b", "c", "c"], [1, 0, 1, 0, 0])
    {'b': (1, 1), 'c': (2, 0)}
    """
    frame = pd.DataFrame({"g": np.asarray(groups, dtype=object), "y": np.asarray(y, dtype=float)})
    cells = frame.groupby("g", sort=True)["y"].agg(["size", "sum", "nunique"])
    return {
        str(group): (int(row["size"]), int(row["sum"]))
        for group, row in cells.iterrows()
        if int(row["nunique"]) < 2
    }


def in_report_order(
    notes: Iterable[GroupNote], groups: Sequence[tuple[str, str]]
) -> list[GroupNote]:
    """``notes`` by attribute and group in the order of ``groups`` (the audit's), then by stage;
    groups the audit does not have come after, by name."""
    attributes = list(dict.fromkeys(a for a, _ in groups))
    position = {key: i for i, key in enumerate(groups)}

    def key(note: GroupNote) -> tuple[int, int, str, int]:
        attribute = (
            attributes.index(note.attribute) if note.attribute in attributes else len(attributes)
        )
        group = position.get((note.attribute, note.group), len(position))
        stage = STAGES.index(note.stage) if note.stage in STAGES else len(STAGES)
        return attribute, group, f"{note.attribute}\t{note.group}", stage

    return sorted(notes, key=key)


# ------------------------------------------------------------------------------ group rates


def assess_rates(
    by_group: pd.DataFrame,
    *,
    rates: Sequence[str],
    thresholds: Mapping[str, int],
    calibration_audited: bool,
) -> pd.DataFrame:
    """The audit's ``by_group`` with ``cannot_assess`` (the values that cannot be assessed, in
    words) and ``cannot_assess_reason`` (why), both None for a group assessed in full.

    A group too small to judge has all its rates withheld; otherwise each undefined value is
    named with its reason. The calibration error of scores that are not probabilities is
    undefined for every group alike: that is a note about the audit, not about a group, so it
    is left out here (``calibration_audited=False``).
    """
    out = by_group.copy()
    what: list[str | None] = []
    why: list[str | None] = []
    for row in out.to_dict(orient="records"):
        count, positives, flagged = int(row["count"]), int(row["positives"]), int(row["flagged"])
        if bool(row["suppressed"]):
            what.append("its rates")
            why.append(too_few(count, positives, flagged, **thresholds))
            continue
        columns = [*rates, "composition_ratio"]
        undefined = [
            m
            for m in columns
            if _missing(row.get(m)) and (m != "calibration_error" or calibration_audited)
        ]
        if not undefined:
            what.append(None)
            why.append(None)
            continue
        known = undefined_reasons(count, positives, flagged)
        reasons = [
            known.get(m)
            or (
                "nobody at all was flagged"
                if m == "composition_ratio"
                else f"its {METRIC_WORDS.get(m, m)} is undefined for these counts"
            )
            for m in undefined
        ]
        what.append(metric_list(undefined))
        why.append(join_reasons(reasons))
    out["cannot_assess"] = pd.Series(what, index=out.index, dtype=object)
    out["cannot_assess_reason"] = pd.Series(why, index=out.index, dtype=object)
    return out


def rate_notes(by_group: pd.DataFrame) -> list[GroupNote]:
    """One note per group of :func:`assess_rates`' output that is not assessed in full."""
    notes = []
    for row in by_group.to_dict(orient="records"):
        if row.get("cannot_assess") is None:
            continue
        if bool(row["suppressed"]):
            meaning = (
                f"Its rates are withheld and shown as '{CANNOT_ASSESS}' (its counts are shown); "
                "the fairness gate has no evidence on it."
            )
        else:
            meaning = (
                f"Its {row['cannot_assess']} {'are' if ' and ' in row['cannot_assess'] else 'is'}"
                f" shown as '{CANNOT_ASSESS}', never as 0; its other rates are shown."
            )
        notes.append(
            GroupNote(
                STAGE_RATES,
                str(row["attribute"]),
                str(row["group"]),
                str(row["cannot_assess_reason"]),
                meaning,
            )
        )
    return notes


def _missing(value: object) -> bool:
    if value is None:
        return True
    try:
        return math.isnan(float(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


# ---------------------------------------------------------------------------- 95% intervals


@dataclass(frozen=True)
class Cell:
    """A group's counts in the audit population and whether its rates are withheld."""

    group: str
    count: int
    positives: int
    flagged: int
    suppressed: bool


def base_metric(metric: str) -> str:
    """``"tpr"`` for ``"tpr"``, ``"tpr_difference"`` and ``"tpr_ratio"``."""
    return metric.removesuffix("_difference").removesuffix("_ratio")


def _own_reason(metric: str, cell: Cell, value: float, thresholds: Mapping[str, int]) -> str | None:
    if cell.suppressed:
        return too_few(cell.count, cell.positives, cell.flagged, **thresholds)
    if math.isnan(value):
        return undefined_reasons(cell.count, cell.positives, cell.flagged).get(
            metric, f"its {METRIC_WORDS.get(metric, metric)} is undefined"
        )
    return None


def interval_reason(
    metric: str,
    group: Cell,
    reference: Cell,
    values: tuple[float, float],
    thresholds: Mapping[str, int],
) -> str:
    """Why ``group`` has no 95% interval for ``metric`` (a rate, or its ``_difference`` or
    ``_ratio`` to the reference group); ``values`` are the rate's point estimates for the group
    and for the reference group."""
    base = base_metric(metric)
    own = _own_reason(base, group, values[0], thresholds)
    if own is not None:
        return own
    if base != metric:
        theirs = _own_reason(base, reference, values[1], thresholds)
        if theirs is not None:
            return f"the reference group {reference.group} cannot be assessed ({theirs})"
        if metric.endswith("_ratio") and values[1] == 0:
            return (
                f"the reference group {reference.group}'s {METRIC_WORDS.get(base, base)} is 0, "
                "so a ratio to it is undefined"
            )
    return "it is undefined in every bootstrap resample (too few to resample)"


def interval_notes(table: pd.DataFrame) -> list[GroupNote]:
    """One note per group of a ``bootstrap_intervals`` table that lacks an interval."""
    notes = []
    missing = table[table["low"].isna() | table["high"].isna()]
    for (attribute, group), rows in missing.groupby(["attribute", "group"], sort=False):
        metrics = [str(m) for m in rows["metric"]]
        reasons = rows["reason"].dropna() if "reason" in rows else pd.Series(dtype=object)
        notes.append(
            GroupNote(
                STAGE_INTERVALS,
                str(attribute),
                str(group),
                join_reasons(str(r) for r in reasons) or "no interval could be drawn",
                f"No 95% interval for {_interval_words(metrics)}: the report shows none, and "
                "the fairness gate cannot judge what needs one.",
            )
        )
    return notes


def _interval_words(metrics: Sequence[str]) -> str:
    own = [m for m in metrics if base_metric(m) == m]
    compared = list(dict.fromkeys(base_metric(m) for m in metrics if base_metric(m) != m))
    parts = []
    if own:
        parts.append(f"its {metric_list(own)}")
    if compared:
        verb = "compares" if len(compared) == 1 else "compare"
        parts.append(f"how its {metric_list(compared)} {verb} with the reference group")
    return ", nor for ".join(parts)
