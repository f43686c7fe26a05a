"""Scoring: an unseen pattern of sources warned of; the server's one-moment path (no pandas)
giving the batch's flag; inputs checked against the model's spec; triggers per moment."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.flags.builders import REF, moments_for, open_programmes
from vru_risk.flags.explain import explain_moment_rows, explain_rows
from vru_risk.flags.generate import generate_flags
from vru_risk.flags.score import MomentRows, score_moments, score_rows
from vru_risk.models.risk_model import FrameMismatchError, ModelInputs, RiskModel


def test_an_unseen_pattern_of_sources_is_scored_with_a_warning(
    risk_model: RiskModel, tmp_path: Path
) -> None:
    # the model was trained with patterns '' and 'attendance' only
    m = moments_for(risk_model, n=50, unavailable=("ae_visits",))
    batch = generate_flags(risk_model, m, open_programmes(tmp_path), model_ref=REF)
    assert batch.flags
    for flag in batch.flags:
        assert flag.warnings and "never saw this combination" in flag.warnings[0]
        assert "ae_visits" in flag.warnings[0]
        assert flag.cannot_see.unseen_pattern_warning == flag.warnings[0]
    seen = generate_flags(
        risk_model, moments_for(risk_model, n=50), open_programmes(tmp_path), model_ref=REF
    )
    assert all(not f.warnings for f in seen.flags)


def rounded(value: object) -> object:
    """``value`` with every float rounded to 12 decimals, in nested dicts, lists and tuples."""
    if isinstance(value, float):
        return round(value, 12)
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [rounded(v) for v in value]
    return value


def test_one_moment_at_a_time_gives_the_batchs_flag(risk_model: RiskModel) -> None:
    """The server's path (MomentRows, score_rows, explain_moment_rows: no pandas per request)
    gives, moment by moment, exactly the flag of the batch path, unseen pattern and what-ifs
    included."""
    m = moments_for(risk_model, n=30, unavailable=("ae_visits",))
    scored = score_moments(risk_model, m)
    batch = explain_rows(risk_model, m, scored, list(range(30)), model_ref=REF)
    rows = MomentRows.of(risk_model, m)
    assert len(rows) == 30
    for k in (0, 7, 29):
        one = rows.take([k])
        scores = score_rows(risk_model, one)
        assert scores.probability[0] == pytest.approx(scored["probability"][k], abs=1e-12)
        assert bool(scores.unseen_pattern[0]) is bool(scored["unseen_pattern"][k])
        flag = explain_moment_rows(risk_model, one, scores, model_ref=REF)[0]
        # the same up to the order of float sums (a family's contribution differs by 1e-16)
        assert rounded(flag.model_dump()) == rounded(batch[k].model_dump())
    assert any(f.what_could_change for f in batch) and all(f.warnings for f in batch)


def test_checked_inputs_are_refused_by_a_model_of_another_spec(risk_model: RiskModel) -> None:
    m = moments_for(risk_model, n=3)
    inputs = risk_model.inputs(m.features(risk_model.spec))
    assert risk_model.predict(inputs) == pytest.approx(
        risk_model.predict(m.features(risk_model.spec))
    )
    forged = ModelInputs("f" * 64, inputs.x)
    with pytest.raises(FrameMismatchError, match="another feature spec"):
        risk_model.predict(forged)
    narrow = ModelInputs(inputs.spec_hash, inputs.x[:, :-1])
    with pytest.raises(FrameMismatchError, match="columns"):
        risk_model.contribution_values(narrow)
    with pytest.raises(FrameMismatchError, match="another order"):
        risk_model.inputs(m.features(risk_model.spec).iloc[:, ::-1])


def test_a_moment_asked_for_twice_gets_its_triggers_both_times(risk_model: RiskModel) -> None:
    m = moments_for(risk_model, n=6)
    scored = score_moments(risk_model, m)
    twice = explain_rows(risk_model, m, scored, [3, 3], model_ref=REF)
    assert twice[0].triggers and twice[0].triggers == twice[1].triggers
    rows = MomentRows.of(risk_model, m, [3, 3])
    assert rows.triggers[0] == rows.triggers[1] == twice[0].triggers
