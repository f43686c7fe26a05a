"""Words for every code the fairness report carries: attributes, their groups, the measures and
the gate's criteria, and the glossary that explains them to a lay reader.

``report.json`` keeps the codes (``ehcp``, ``fsm``, ``tpr_ratio``); the page shows only words:
:func:`attribute_label` ("Free school meals"), :func:`group_label` ("EHC plan"), :func:`who`
("young people with an EHC plan", for sentences), :func:`measure_label` ("recall ratio to the
reference group"). A code this module does not know (a column of another tool's scores) is shown
with its underscores as spaces, never as the raw code. :data:`GLOSSARY` defines each term the
page uses.

Example
-------
>>> group_label("sen", "ehcp"), who("fsm", "yes")
('EHC plan', 'young people on free school meals')
>>> group_label("ethnicity*sex", "white*female")
'White, female'
>>> attribute_label("ethnicity*sex"), measure_label("tpr_ratio")
('Ethnicity and sex', 'recall ratio to the reference group')
>>> group_label("region", "north_east")
'north east'
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any, Final

from vru_risk.fairness_reports.groups import INTERSECTION_SEP, UNKNOWN
from vru_risk.models.words import (
    ALLOCATION_WORDS,
    ATTRIBUTE_LABELS,
    GROUP_LABELS,
    MODEL_WORDS,
    RULE_WORDS,
    attribute_label,
    feature_words,
    group_label,
    model_words,
    one_group,
)
from vru_risk.models.words import plain as _plain

#: the attributes' and groups' words live in :mod:`vru_risk.models.words` (monitoring uses them
#: too); re-exported here for the report's callers
__all__ = [
    "ALLOCATION_WORDS",
    "ATTRIBUTE_LABELS",
    "GLOSSARY",
    "GROUP_LABELS",
    "MEASURE_LABELS",
    "MODEL_WORDS",
    "PERFORMANCE_LEFT_OUT",
    "RULE_WORDS",
    "attribute_label",
    "column_label",
    "feature_words",
    "group_label",
    "measure_label",
    "model_words",
    "performance_words",
    "who",
    "with_feature_words",
]

#: how sentences name the young people of a group
_WHO: Final[dict[str, dict[str, str]]] = {
    "ethnicity": {"other": "young people in another ethnic group"},
    "sen": {
        "none": "young people with no special educational needs",
        "sen_support": "young people receiving SEN support",
        "ehcp": "young people with an EHC plan",
    },
    "fsm": {
        "yes": "young people on free school meals",
        "no": "young people not on free school meals",
    },
    "looked_after": {
        "yes": "looked-after young people (in care)",
        "no": "young people not looked after",
    },
}
_WHO_PATTERN: Final[dict[str, str]] = {
    "sex": "{label} young people",
    "ethnicity": "young people in the {label} group",
    "imd_band": "young people living in the {label}",
    "age_band": "young people {label}",
}

MEASURE_LABELS: Final[dict[str, str]] = {
    "count": "moments",
    "positives": "with the outcome",
    "flagged": "flagged",
    "people": "young people",
    "people_with_outcome": "young people with the outcome",
    "people_flagged": "young people flagged",
    "base_rate": "base rate",
    "selection_rate": "selection rate",
    "tpr": "recall",
    "fnr": "miss rate",
    "fpr": "false-positive rate",
    "ppv": "precision",
    "false_omission_rate": "false omission rate",
    "auc": "AUC",
    "calibration_error": "calibration error",
    "composition_ratio": "share of the list against share of those with the outcome",
}
"""Plain names of the per-group values; ``<measure>_ratio`` and ``<measure>_difference`` read
"<measure> ratio to the reference group" and "<measure> difference from the reference group"."""


def who(attribute: str, group: str) -> str:
    """The young people of a group, for a sentence ("young people with an EHC plan")."""
    if INTERSECTION_SEP in attribute:
        return f"young people in the group {group_label(attribute, group)}"
    if group == UNKNOWN:
        label = attribute_label(attribute)
        return f"young people whose {label[:1].lower()}{label[1:]} was not recorded"
    known = _WHO.get(attribute, {}).get(group)
    if known:
        return known
    pattern = _WHO_PATTERN.get(attribute)
    if pattern:
        return pattern.format(label=one_group(attribute, group))
    return f"young people in the group {one_group(attribute, group)}"


def measure_label(measure: str) -> str:
    """A per-group value, or its ratio to / difference from the reference group, in words."""
    for suffix, words in (("_ratio", "ratio to"), ("_difference", "difference from")):
        base = measure.removesuffix(suffix)
        if base != measure and base in MEASURE_LABELS:
            return f"{MEASURE_LABELS[base]} {words} the reference group"
    return MEASURE_LABELS.get(measure, _plain(measure))


GLOSSARY: Final[tuple[tuple[str, str], ...]] = (
    (
        "moment (teachable moment)",
        "An event (an A&E visit, an exclusion, a police contact, a fall in attendance) after "
        "which an offer of support may help. One young person can have several.",
    ),
    (
        "outcome",
        "What the audit checks the list against: services later recorded the young person in "
        "serious violence (as a victim or otherwise) within a year.",
    ),
    ("flagged", "Offered a place (or put on the list) by the service at that moment."),
    ("base rate", "The share of a group's moments that were followed by the outcome."),
    ("selection rate", "The share of a group's moments that were flagged."),
    (
        "recall",
        "Of the young people who went on to the outcome, the share the list reached (flagged). "
        "Higher recall means fewer of them were missed.",
    ),
    ("miss rate", "Of those who went on to the outcome, the share the list missed (1 − recall)."),
    (
        "false-positive rate",
        "Of those who did not go on to the outcome, the share the list flagged anyway.",
    ),
    ("precision", "Of those flagged, the share who went on to the outcome."),
    ("false omission rate", "Of those not flagged, the share who went on to the outcome."),
    (
        "AUC",
        "How well the scores put those who went on to the outcome above those who did not "
        "(0.5: no better than chance; 1: perfectly).",
    ),
    (
        "calibration error",
        "How far the model's stated chances are from what happened, on average over score "
        "bands (0: exactly right).",
    ),
    (
        "reference group",
        "The group each other group is compared with: by default the largest of its attribute.",
    ),
    (
        "ratio to the reference group",
        "The group's rate divided by the reference group's: 1 means the same, above 1 higher.",
    ),
    (
        "difference from the reference group",
        "The group's rate minus the reference group's, in percentage points over 100.",
    ),
    (
        "95% interval",
        "The range the figure would plausibly take with other young people like these, from "
        "resampling young people 1,000 times (a bootstrap). The gate judges the whole range.",
    ),
    (
        "band",
        "The range the ethics panel agreed a comparison must stay within for the gate to pass.",
    ),
    (
        "too few to judge",
        "A group with too few distinct young people (in all, with the outcome, or flagged) has "
        "its rates withheld: they would be unstable and could identify someone.",
    ),
    (
        "EHC plan",
        "Education, Health and Care plan: a legal plan for a child or young person whose "
        "special educational needs call for more support than a school normally provides.",
    ),
    ("SEN support", "Special educational needs support given by the school without an EHC plan."),
    ("free school meals", "Eligible for free school meals, a common marker of low family income."),
    ("looked after", "In the care of the local authority."),
    (
        "deprivation of the home area",
        "The Index of Multiple Deprivation decile of the home area, in three bands "
        "(decile 1 is the most deprived tenth of England).",
    ),
    ("not recorded", "The record does not say; such young people form a group of their own."),
)
"""Each term the report uses, with its meaning in plain words."""


def column_label(key: str) -> str:
    """A column of the report's tables in words (a measure, or a mitigation row's per-attribute
    summary such as ``recall_ratio_sen``).

    >>> column_label("recall_ratio_sen"), column_label("fnr_gap_looked_after")
    ('smallest recall ratio: special educational needs (SEN)', 'largest miss-rate gap: looked after (in care)')
    """  # noqa: E501
    for prefix, words in (
        ("recall_ratio_", "smallest recall ratio"),
        ("fnr_gap_", "largest miss-rate gap"),
    ):
        if key.startswith(prefix):
            label = attribute_label(key.removeprefix(prefix))
            return f"{words}: {label[:1].lower()}{label[1:]}"
    return measure_label(key)


def with_feature_words(
    proxy: list[dict[str, Any]], phrases: Mapping[str, str]
) -> list[dict[str, Any]]:
    """The proxy test's rows, each with ``top_feature_words``: its top features in plain words
    (``phrases``: feature name → the catalog's phrase), for the page."""
    words = {name: feature_words(phrase) for name, phrase in phrases.items()}
    return [
        {
            **row,
            "top_feature_words": [words.get(n, n.replace("_", " ")) for n in row["top_features"]],
        }
        for row in proxy
    ]


def performance_words(
    rows: Sequence[Mapping[Hashable, Any]], phrases: Mapping[str, str]
) -> list[dict[str, Any]]:
    """The training's comparison at capacity for the report, each model in words (MLflow's
    ``summary.csv`` keeps the codes and every column; the report's cells say the allocation in
    words)."""
    return [
        {
            **{str(k): v for k, v in row.items() if k not in PERFORMANCE_LEFT_OUT},
            "model": model_words(str(row.get("model", "")), phrases),
        }
        for row in rows
    ]


#: columns of the training's summary the report's table leaves to MLflow (the model's words say
#: its kind; its calibration has its own section): the table must fit a printed A4 page
PERFORMANCE_LEFT_OUT: Final = frozenset({"kind", "average_precision", "brier", "ece"})
