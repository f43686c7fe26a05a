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

The rules behind the first three are in :mod:`vru_risk.fairness_reports.unassessable`.

Examples
--------
>>> describe(3, 0)
'only 3 young people, none with the outcome'
>>> describe(1, 1, 1)
'only 1 young person, who had the outcome and was flagged'
>>> too_few(12, 2, 0, min_count=50, min_positives=10, min_flagged=5)
'too few to judge: only 12 young people, 2 with the outcome, nobody flagged (rates need at least 50 young people, 10 with the outcome and 5 flagged)'
>>> sorted(undefined_reasons(4, 0, 4))
['auc', 'composition_ratio', 'false_omission_rate', 'fnr', 'tpr']
"""  # noqa: E501

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass

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


def _outcome_words(count: int, positives: int, who: str = "who") -> str:
    if count == 1:
        return f"{who} had the outcome" if positives else f"{who} did not have the outcome"
    if positives == 0:
        return "none with the outcome"
    if positives == count:
        return "all with the outcome"
    return f"{positives:,} with the outcome"


def _flagged_words(count: int, flagged: int) -> str:
    if count == 1:
        return "was flagged" if flagged else "was not flagged"
    if flagged == 0:
        return "nobody flagged"
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
    who = "who" if unit == YOUNG_PEOPLE else "that"
    text = f"{'only ' if only else ''}{count_words(count, unit)}, "
    text += _outcome_words(count, positives, who)
    if flagged is not None:
        text += f"{' and ' if count == 1 else ', '}{_flagged_words(count, flagged)}"
    return text


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


#: the words of a report on vru-risk's own population, and the neutral words for scores of any
#: population (``vru audit-scores``): longest first, so "young people" is not left as "young"
_NEUTRAL: tuple[tuple[str, str], ...] = (
    ("Young people", "People"),
    ("young people", "people"),
    ("Young person", "Person"),
    ("A young person", "A person"),
    ("a young person", "a person"),
    ("young person", "person"),
)


def neutral_wording(text: str) -> str:
    """A report's words for people of any age and service: another tool's scores may be of
    adults, or of a population vru-risk knows nothing of.

    >>> neutral_wording("only 3 young people, and a young person with the outcome")
    'only 3 people, and a person with the outcome'
    """
    for words, neutral in _NEUTRAL:
        text = text.replace(words, neutral)
    return text
