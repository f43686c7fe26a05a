"""Monitoring findings say every code in words (issue 17): built with the real codes (the
contract's sources, categorical columns and values, its audit-only attributes and their groups,
the packaged catalog's features), no sentence shows a code its ``subject`` or ``figures`` carry;
those keep the codes for code and JSON consumers."""

from __future__ import annotations

import re
from collections.abc import Iterable

import pandas as pd

from vru_risk.data.contract import AUDIT_ONLY_COLUMNS, SOURCE_NAMES, TABLES, Kind, source_name
from vru_risk.features.catalog import load_catalog
from vru_risk.models.gate_config import FairnessGateConfig
from vru_risk.models.groups import INTERSECTION_SEP, UNKNOWN, group_labels
from vru_risk.models.words import GROUP_LABELS, attribute_label, feature_label, group_label
from vru_risk.models.words import plain as plain_words
from vru_risk.monitoring.coding import categorical_columns, category_mixes, coding_check
from vru_risk.monitoring.criteria import CodingThresholds, MonitoringCriteria
from vru_risk.monitoring.decision_groups import GroupDecisions, referral_findings
from vru_risk.monitoring.drift import FeatureDrift, SourceDrift
from vru_risk.monitoring.verdict import (
    Finding,
    GroupComparison,
    drift_findings,
    group_findings,
    outage_findings,
)

FEATURES = load_catalog().spec().features
PHRASES = {f.name: f.phrase for f in FEATURES}
CRITERIA = MonitoringCriteria().resolved(FairnessGateConfig())
PEOPLE = TABLES["people"]


def _groups(attribute: str) -> tuple[str, ...]:
    """The contract's values of an audit-only attribute as monitoring labels its groups."""
    column = PEOPLE.column(attribute)
    if column.kind is Kind.BOOL:
        values: Iterable[object] = (True, False, None)
    elif column.kind is Kind.INT:
        assert column.min_value is not None and column.max_value is not None
        values = (*range(int(column.min_value), int(column.max_value) + 1), None)
    else:
        values = column.categories
    return tuple(str(g) for g in group_labels(pd.Series(list(values), dtype=object)))


def _codes(f: Finding) -> set[str]:
    """The codes a finding's machine-readable fields carry."""
    subject = f.subject.replace("=", INTERSECTION_SEP).split(INTERSECTION_SEP)
    figures = [v for v in f.figures.values() if isinstance(v, str)]
    return {c for c in (*subject, *figures) if not c.isdigit()}


def _assert_said_in_words(findings: list[Finding], words: Iterable[str]) -> None:
    """No code of a finding in its sentence once the expected words are taken out (a code that
    is itself a word, ``female``, is said by its words); a code with an underscore never."""
    said = sorted(set(words), key=len, reverse=True)
    assert findings
    for f in findings:
        rest = f.sentence
        for w in said:
            rest = rest.replace(w, " ")
        for code in _codes(f):
            assert not re.search(rf"(?<!\w){re.escape(code)}(?!\w)", rest), (code, f.sentence)
            if "_" in code:
                assert code not in f.sentence, (code, f.sentence)


def test_every_source_and_audit_group_of_the_contract_has_its_own_words() -> None:
    assert set(SOURCE_NAMES) == set(TABLES)
    for attribute in AUDIT_ONLY_COLUMNS:
        assert attribute_label(attribute) != attribute.replace("_", " ")
        for g in _groups(attribute):
            if PEOPLE.column(attribute).kind is Kind.INT or g == UNKNOWN:
                assert group_label(attribute, g) != g
            else:
                assert g in GROUP_LABELS[attribute], (attribute, g)


def test_drift_and_outage_findings_say_sources_and_features_in_words() -> None:
    summaries = [  # one per feature, so that each is the worst of its source once
        SourceDrift(
            f.source,
            (FeatureDrift(f.name, f.source, 0.3, 0.1, 0.0, 0.0, 1000, 1000, True, False),),
            min_features_drifted=1,
        )
        for f in FEATURES
    ]
    found = drift_findings(summaries, PHRASES)
    assert [f.figures["worst_feature"] for f in found] == [f.name for f in FEATURES]
    words = [*(source_name(s) for s in TABLES), *(feature_label(f.name, PHRASES) for f in FEATURES)]
    _assert_said_in_words(found, words)
    outages = outage_findings(
        dict.fromkeys(TABLES, 60), MonitoringCriteria(outage_days=dict.fromkeys(TABLES, 30))
    )
    assert len(outages) == len(TABLES)
    _assert_said_in_words(outages, (source_name(s) for s in TABLES))


def test_coding_findings_say_sources_columns_and_values_in_words() -> None:
    columns = categorical_columns(list(TABLES))
    keys = [f"{s}.{c}" for s, cs in columns.items() for c in cs]
    criteria = MonitoringCriteria(coding=dict.fromkeys(keys, CodingThresholds(min_rows=1)))
    found: list[Finding] = []
    widest = max(len(TABLES[k.split(".")[0]].column(k.split(".")[1]).categories) for k in keys)
    for moved in range(widest):  # each value of each column, in turn, is the one recoded
        frames = []
        for key in keys:
            source, column = key.split(".")
            values = TABLES[source].column(column).categories
            for month, share in (("03", 0.1), ("04", 0.5)):
                rest = (1 - share) / max(len(values) - 1, 1)
                rows = [
                    round(10_000 * (share if k == moved % len(values) else rest))
                    for k in range(len(values))
                ]
                frames.append(
                    pd.DataFrame(
                        {"source": source, "column": column, "month": month}
                        | {"value": list(values), "rows": rows}
                    )
                )
        counts = pd.concat(frames)
        mixes = category_mixes(counts[counts["month"] == "03"])
        found += coding_check(mixes, counts[counts["month"] == "04"], ["04"] * 30, criteria)[1]
    values = {v for k in keys for v in TABLES[k.split(".")[0]].column(k.split(".")[1]).categories}
    assert {f.figures["value"] for f in found} == values  # every value of the contract said
    plain = [plain_words(c) for c in (*values, *(k.split(".")[1] for k in keys))]
    _assert_said_in_words(found, [*(source_name(s) for s in TABLES), *plain])


def test_group_and_referral_findings_say_attributes_and_groups_in_words() -> None:
    comparisons, referrals = [], []
    for attribute in AUDIT_ONLY_COLUMNS:
        reference, *others = _groups(attribute)
        comparisons += [
            GroupComparison(attribute, g, reference, "tpr_ratio", 0.5, 0.4, 0.6) for g in others
        ]
        groups = [
            GroupDecisions(g, False, ratio=0.5, ratio_low=0.4, ratio_high=0.6, judged=True)
            for g in others
        ]
        referrals.append({"attribute": attribute, "reference": reference, "groups": groups})
    words = [
        *(attribute_label(a) for a in AUDIT_ONLY_COLUMNS),
        *(group_label(a, g) for a in AUDIT_ONLY_COLUMNS for g in _groups(a)),
    ]
    found = group_findings(comparisons, CRITERIA)
    assert len(found) == len(comparisons)
    _assert_said_in_words(found, words)
    referred = referral_findings(referrals, CRITERIA)
    assert len(referred) == len(comparisons)
    _assert_said_in_words(referred, words)
