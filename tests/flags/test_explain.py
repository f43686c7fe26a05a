"""Explaining flags: every number recomputed from the booster's own ``pred_contrib``; sources
the model cannot see; what could change the score; explanations on demand from saved moments."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from tests.flags.builders import REF, moments_for, open_programmes
from vru_risk.features.moments import load_moments, save_moments
from vru_risk.flags.explain import MIN_WHAT_IF_DROP, FlagOptions, explain_rows
from vru_risk.flags.flag import CANNOT_SEE_STANDING, Flag, band_for
from vru_risk.flags.generate import generate_flags
from vru_risk.flags.score import score_moments
from vru_risk.models.risk_model import RiskModel


def test_reasons_plus_other_factors_plus_base_equal_the_raw_score_for_every_flag(
    risk_model: RiskModel, tmp_path: Path
) -> None:
    m = moments_for(risk_model, n=300, seed=11)
    progs = open_programmes(tmp_path, jump_start={"capacity": 1000})
    batch = generate_flags(risk_model, m, progs, model_ref=REF)
    assert len(batch.flags) == 300
    x = m.features(risk_model.spec)
    raw = dict(zip(m.frame["person_id"], risk_model.raw_score(x), strict=True))
    contrib = risk_model.contributions(x).set_axis(m.frame["person_id"].to_numpy())
    names = list(risk_model.spec.names)
    for flag in batch.flags:
        row = contrib.loc[flag.person_id]
        shown = [*flag.reasons_for, *flag.reasons_against]
        in_reasons = {f for r in shown for f in r.features}
        # every number recomputed independently from the booster's own pred_contrib
        assert flag.base_value == pytest.approx(row["base_value"], abs=1e-12)
        for r in shown:
            assert r.contribution == pytest.approx(row[list(r.features)].sum(), abs=1e-12)
        others = [n for n in names if n not in in_reasons]
        assert flag.other_factors == pytest.approx(row[others].sum(), abs=1e-9)
        assert flag.raw_score == pytest.approx(raw[flag.person_id], abs=1e-9)
        assert flag.shown_total == pytest.approx(raw[flag.person_id], abs=1e-9)
        assert len(flag.reasons_for) <= 5 and len(flag.reasons_against) <= 3
        assert all(r.contribution > 0 for r in flag.reasons_for)
        assert all(r.contribution < 0 for r in flag.reasons_against)
        assert flag.band == band_for(flag.percentile)
        assert flag.expires == flag.as_of + timedelta(days=90)
        assert "before calibration" in flag.reasons_explain
        assert flag.scoring_model == REF
        Flag.model_validate_json(flag.model_dump_json())  # round-trips through JSON


def test_an_unavailable_source_is_never_a_reason_and_is_listed(
    risk_model: RiskModel, tmp_path: Path
) -> None:
    m = moments_for(risk_model, n=200, unavailable=("police_contacts",))
    batch = generate_flags(risk_model, m, open_programmes(tmp_path), model_ref=REF)
    assert batch.flags
    for flag in batch.flags:
        sources = {r.source for r in (*flag.reasons_for, *flag.reasons_against)}
        assert "police_contacts" not in sources
        notes = {(n.source, n.why) for n in flag.cannot_see.sources_unavailable}
        assert ("police_contacts", "not shared with this VRU") in notes
        assert flag.cannot_see.standing == CANNOT_SEE_STANDING
        assert flag.cannot_see.sources_refreshed["ae_visits"] is None
        assert flag.shown_total == pytest.approx(flag.raw_score, abs=1e-9)


def test_what_could_change_it_is_only_for_actionable_families(
    risk_model: RiskModel, tmp_path: Path
) -> None:
    m = moments_for(risk_model, n=300, seed=2)
    batch = generate_flags(risk_model, m, open_programmes(tmp_path), model_ref=REF)
    actionable = {f.family for f in risk_model.spec.features if f.actionable}
    seen = 0
    for flag in batch.flags:
        for w in flag.what_could_change:
            seen += 1
            assert w.family in actionable
            assert w.source == "attendance"
            assert w.text.startswith("If these records were like those of most young people")
            assert "median" not in w.text
            assert w.text.endswith("it is not a forecast of what support would do.")
            assert 0.0 <= w.probability <= flag.probability - MIN_WHAT_IF_DROP
    assert seen > 0
    assert not actionable & {"age", "police_suspect", "exclusions_suspension"}


def test_moments_round_trip_for_on_demand_explanations(
    risk_model: RiskModel, tmp_path: Path
) -> None:
    m = moments_for(risk_model, n=20, supported=[(1, "Admit A&E")])
    save_moments(m, tmp_path / "moments-2026-03-10")
    back = load_moments(tmp_path / "moments-2026-03-10")
    scored = score_moments(risk_model, back)
    direct = explain_rows(
        risk_model, m, score_moments(risk_model, m), [3], model_ref=REF, options=FlagOptions()
    )
    again = explain_rows(risk_model, back, scored, [3], model_ref=REF, options=FlagOptions())
    assert direct[0].model_dump() == again[0].model_dump()
    assert direct[0].programmes == ()
