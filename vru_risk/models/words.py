"""Words for the codes of the audit-only attributes, their groups and the features, shared by
the fairness report and monitoring (which may not import each other).

A code this module does not know is shown with its underscores as spaces, never as the raw code.
Group labels follow :mod:`vru_risk.models.groups`: a missing value is the group ``unknown``
("not recorded"), booleans ``true``/``false``, an intersection ``a*b``.

Example
-------
>>> group_label("sen", "ehcp"), group_label("ethnicity*sex", "white*female")
('EHC plan', 'White, female')
>>> attribute_label("ethnicity*sex"), group_label("looked_after", "true")
('Ethnicity and sex', 'looked after (in care)')
>>> group_label("imd_decile", "3"), group_label("region", "north_east")
('deprivation decile 3 (1 is the most deprived)', 'north east')
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

from vru_risk.models.groups import INTERSECTION_SEP, UNKNOWN
from vru_risk.models.tags import ALLOCATION_RULE, HINDSIGHT_ONLY

ATTRIBUTE_LABELS: Final[dict[str, str]] = {
    "sex": "Sex",
    "ethnicity": "Ethnicity",
    "sen": "Special educational needs (SEN)",
    "fsm": "Free school meals",
    "looked_after": "Looked after (in care)",
    "imd_decile": "Deprivation decile of the home area",
    "imd_band": "Deprivation of the home area",
    "age_band": "Age on the day",
}

_FSM: Final = {"yes": "on free school meals", "no": "not on free school meals"}
_LOOKED_AFTER: Final = {"yes": "looked after (in care)", "no": "not looked after"}

GROUP_LABELS: Final[dict[str, dict[str, str]]] = {
    "sex": {"female": "female", "male": "male"},
    "ethnicity": {
        "asian": "Asian",
        "black": "Black",
        "mixed": "Mixed",
        "white": "White",
        "other": "Other",
    },
    "sen": {
        "none": "no special educational needs",
        "sen_support": "SEN support",
        "ehcp": "EHC plan",
    },
    # the fairness report says yes/no; monitoring's group labels keep the booleans true/false
    "fsm": {**_FSM, "true": _FSM["yes"], "false": _FSM["no"]},
    "looked_after": {**_LOOKED_AFTER, "true": _LOOKED_AFTER["yes"], "false": _LOOKED_AFTER["no"]},
    "imd_band": {
        "1-3 (most deprived)": "most deprived areas (deciles 1 to 3)",
        "4-7": "middle areas (deciles 4 to 7)",
        "8-10 (least deprived)": "least deprived areas (deciles 8 to 10)",
    },
    "age_band": {"8-11": "aged 8 to 11", "12-14": "aged 12 to 14", "15-18": "aged 15 to 18"},
}

#: groups said by a pattern rather than one by one (``{group}``: the group's label)
_GROUP_PATTERNS: Final[dict[str, str]] = {
    "imd_decile": "deprivation decile {group} (1 is the most deprived)",
}


def plain(code: str) -> str:
    """A code this module does not know, with its underscores as spaces."""
    return code.replace("_", " ")


def attribute_label(attribute: str) -> str:
    """An attribute (or an intersection ``a*b``) in words."""
    parts = attribute.split(INTERSECTION_SEP)
    words = [ATTRIBUTE_LABELS.get(p, plain(p)) for p in parts]
    if len(words) == 1:
        return words[0]
    return " and ".join([words[0], *(w[:1].lower() + w[1:] for w in words[1:])])


def one_group(attribute: str, group: str) -> str:
    """A group of one attribute (not an intersection) in words."""
    if group == UNKNOWN:
        return "not recorded"
    known = GROUP_LABELS.get(attribute, {}).get(group)
    if known is not None:
        return known
    pattern = _GROUP_PATTERNS.get(attribute)
    return pattern.format(group=group) if pattern else plain(group)


def group_label(attribute: str, group: str) -> str:
    """A group in words (an intersection's parts joined by a comma)."""
    attributes, groups = attribute.split(INTERSECTION_SEP), group.split(INTERSECTION_SEP)
    if len(attributes) != len(groups):
        return plain(group)
    return ", ".join(one_group(a, g) for a, g in zip(attributes, groups, strict=True))


def feature_words(phrase: str) -> str:
    """A feature's plain-English phrase without its value placeholders ("attended {pct} of
    school sessions" → "attended … of school sessions").

    >>> feature_words("attended {pct} of school sessions in the last 30 days")
    'attended … of school sessions in the last 30 days'
    """
    return re.sub(r"\{[^}]*\}", "…", phrase)


def feature_label(name: str, phrases: Mapping[str, str] | None = None) -> str:
    """A feature in words: its catalog phrase (``phrases``: name → phrase) without placeholders,
    else its name with underscores as spaces.

    >>> feature_label("ae_assault_365d", {"ae_assault_365d": "{n} A&E visits after an assault"})
    '… A&E visits after an assault'
    >>> feature_label("pol_missing_365d")
    'pol missing 365d'
    """
    phrase = (phrases or {}).get(name)
    return plain(name) if phrase is None else feature_words(phrase)


def family_words(family: str) -> str:
    """A feature family in words beside its source: the source's prefix left out, underscores
    as spaces.

    >>> family_words("police_suspect_violence"), family_words("ae_self_harm"), family_words("age")
    ('suspect violence', 'self harm', 'age')
    """
    head, _, rest = family.partition("_")
    return plain(rest or head)


#: the models of a training's comparison that are not rule baselines, in words (names of
#: :mod:`vru_risk.training.results`)
MODEL_WORDS: Final[dict[str, str]] = {
    "lightgbm": "LightGBM: the model audited",
    "logistic_regression": "Logistic regression: a simpler model on the same features",
    "oracle": "Oracle: ranks by the outcome itself (a ceiling that models cannot reach)",
}
#: named rule baselines (:data:`vru_risk.training.baselines.NAMED`), in words
RULE_WORDS: Final[dict[str, str]] = {
    "persistent_absence": "persistent absence (under 90% of school sessions attended in the "
    "last year)",
}
#: how the metrics at capacity were reached (:data:`~vru_risk.models.tags.ALLOCATION_RULE`)
ALLOCATION_WORDS: Final[dict[str, str]] = {
    ALLOCATION_RULE: "the service's allocation, replayed",
    HINDSIGHT_ONLY: "each month's top list (hindsight)",
}


def model_words(name: str, phrases: Mapping[str, str]) -> str:
    """A model of the training's comparison in words: the model, the oracle, or a rule baseline
    (``feature``, ``feature>=k`` or a named rule) said with the feature's phrase.

    >>> phrases = {"ae_assault_365d": "{n} A&E visits after an assault in the last year"}
    >>> model_words("ae_assault_365d", phrases)
    'Rule: at least 1 of A&E visits after an assault in the last year'
    >>> model_words("ae_assault_365d>=2", phrases), model_words("persistent_absence", {})
    ('Rule: at least 2 of A&E visits after an assault in the last year', 'Rule: persistent absence (under 90% of school sessions attended in the last year)')
    """  # noqa: E501
    if name in MODEL_WORDS:
        return MODEL_WORDS[name]
    if name in RULE_WORDS:
        return f"Rule: {RULE_WORDS[name]}"
    feature, _, k = name.partition(">=")
    phrase = phrases.get(feature.strip())
    if phrase is None:
        return f"Rule: {plain(name)}"
    words = feature_words(phrase).removeprefix("… ")
    return f"Rule: at least {k.strip() or 1} of {words}"


def allocation_words(rule: str | None) -> str | None:
    """An allocation rule's tag value in words (another value as it is; None stays None).

    >>> allocation_words("service-replay-1")
    "the service's allocation, replayed"
    """
    return None if rule is None else ALLOCATION_WORDS.get(rule, rule)
