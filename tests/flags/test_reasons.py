"""Reasons: one per family, phrased with the person's own values, adding up to the raw score;
what the model cannot see is never a reason; missing values are phrased and listed."""

from __future__ import annotations

import numpy as np
import pytest

from tests.flags.builders import moments_for
from vru_risk.data.contract import AUDIT_ONLY_COLUMNS
from vru_risk.features.catalog import FeatureInfo, FeatureSpec
from vru_risk.features.phrases import render_phrase
from vru_risk.flags.reasons import explain, families, family_text
from vru_risk.models.risk_model import RiskModel


def test_a_family_is_one_reason_phrased_with_the_persons_values(risk_model: RiskModel) -> None:
    m = moments_for(
        risk_model,
        n=1,
        update={
            "excl_suspensions_90d": [1.0],
            "excl_suspensions_365d": [3.0],
            "excl_suspensions_all": [5.0],
            "excl_suspension_days_365d": [7.0],
            "pol_suspect_365d": [4.0],
            "att_rate_90d": [0.71],
        },
    )
    x = m.features(risk_model.spec)
    contrib = risk_model.contributions(x).to_numpy()[0]
    e = explain(risk_model.spec, x.to_numpy()[0], contrib, top_for=50, top_against=50)
    shown = [*e.reasons_for, *e.reasons_against]
    assert len({r.family for r in shown}) == len(shown)  # one reason per family
    names = list(risk_model.spec.names)
    for r in shown:  # each reason is the sum of its family's contributions
        cols = [names.index(f) for f in r.features]
        assert r.contribution == pytest.approx(contrib[cols].sum(), abs=1e-12)
        assert {risk_model.spec.by_name(f).family for f in r.features} == {r.family}
    values = x.to_numpy()[0]
    for r in shown:  # every phrase is one of the family's features said with the person's value
        rendered = {
            render_phrase(risk_model.spec.by_name(f), values[names.index(f)]) for f in r.features
        }
        assert set(r.text.split("; ")) <= rendered
    # the family's phrases, largest contribution first, with the real values
    fam = next(f for f in families(risk_model.spec) if f.name == "exclusions_suspension")
    suspension_family = [risk_model.spec.features[i].name for i in fam.columns]
    crafted = np.zeros(len(names))
    crafted[names.index("excl_suspensions_365d")] = 0.9
    crafted[names.index("excl_suspensions_90d")] = 0.5
    crafted[names.index("excl_suspensions_all")] = -0.2
    crafted[names.index("excl_suspension_days_365d")] = 0.01
    assert family_text(risk_model.spec, fam, values, crafted) == (
        "3 suspensions in the last year; 1 suspension in the last 90 days; 5 suspensions on record"
    )
    zeros = values.copy()
    zeros[names.index("excl_suspensions_90d")] = 0.0
    assert family_text(risk_model.spec, fam, zeros, crafted) == (
        "3 suspensions in the last year; 5 suspensions on record; "
        "7 school days suspended in the last year"
    )  # "0 suspensions in the last 90 days" says nothing beside the others
    nothing = zeros.copy()
    nothing[[names.index(n) for n in suspension_family]] = 0.0
    assert family_text(risk_model.spec, fam, nothing, crafted).startswith(
        "0 suspensions in the last year"
    )
    att = next(f for f in families(risk_model.spec) if f.name == "attendance_presence")
    crafted[names.index("att_rate_90d")] = 2.0
    assert family_text(risk_model.spec, att, values, crafted).startswith(
        "attended 71% of school sessions in the last 90 days"
    )
    for r in shown:
        assert r.strength in ("strongly", "moderately", "slightly")
        assert "log" not in r.text


def test_a_source_with_no_record_of_the_person_is_listed_not_explained(
    risk_model: RiskModel,
) -> None:
    spec = risk_model.spec
    m = moments_for(risk_model, n=1)
    x = m.features(spec)
    x.loc[:, [f.name for f in spec.features if f.source == "ae_visits"]] = np.nan
    contrib = risk_model.contributions(x).to_numpy()[0]
    e = explain(spec, x.to_numpy()[0], contrib, top_for=50, top_against=50)
    assert e.unseen == {"ae_visits": "no record for this young person"}
    assert all(r.source != "ae_visits" for r in (*e.reasons_for, *e.reasons_against))
    assert e.base_value + sum(
        r.contribution for r in (*e.reasons_for, *e.reasons_against)
    ) + e.other_factors == pytest.approx(e.raw_score, abs=1e-12)


def test_an_audit_only_attribute_can_never_be_a_reason(risk_model: RiskModel) -> None:
    spec = risk_model.spec
    assert not set(spec.names) & set(AUDIT_ONLY_COLUMNS)
    first = spec.features[0]
    forged = FeatureSpec.model_construct(
        catalog_version=spec.catalog_version,
        features=(
            FeatureInfo.model_construct(**{**first.__dict__, "name": "ethnicity"}),
            *spec.features[1:],
        ),
        reporting_lag_days=spec.reporting_lag_days,
        proxies=spec.proxies,
    )
    with pytest.raises(ValueError, match="audit-only"):
        families(forged)
    with pytest.raises(ValueError, match="audit-only"):
        explain(forged, np.zeros(len(spec.names)), np.zeros(len(spec.names) + 1))


def test_missing_values_are_phrased_and_listed_as_not_known(risk_model: RiskModel) -> None:
    spec = risk_model.spec
    m = moments_for(
        risk_model, n=1, update={"excl_days_since_last": [np.nan], "att_rate_30d": [np.nan]}
    )
    x = m.features(spec)
    e = explain(
        spec, x.to_numpy()[0], risk_model.contributions(x).to_numpy()[0], top_for=50, top_against=50
    )
    recency = next(f for f in families(spec) if f.name == "exclusions_recency")
    values = x.to_numpy()[0]
    assert family_text(spec, recency, values, np.ones(len(spec.names))) == "no exclusion on record"
    missing = {n.family: n.text for n in e.not_known}
    assert "no exclusion on record" in missing["exclusions_recency"]
    assert "no school sessions on roll in the last 30 days" in missing["attendance_presence"]
