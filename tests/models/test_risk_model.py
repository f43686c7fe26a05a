"""RiskModel: the spec check before every score, contributions, pickle-free persistence."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.factories import frame_for
from vru_risk.features.catalog import CatalogError, FeatureSpec
from vru_risk.models.risk_model import FrameMismatchError, ModelFileError, RiskModel


@pytest.fixture
def rows(spec: FeatureSpec) -> pd.DataFrame:
    return frame_for(spec, 300, 7)[0]


def test_contributions_sum_to_the_raw_score_with_the_base_value_last(
    risk_model: RiskModel, rows: pd.DataFrame
) -> None:
    contrib = risk_model.contributions(rows)
    assert list(contrib.columns) == [*risk_model.spec.names, "base_value"]
    assert contrib.index.equals(rows.index)
    raw = risk_model.raw_score(rows)
    assert np.allclose(contrib.sum(axis=1).to_numpy(), raw, atol=1e-10)
    assert np.allclose(raw, risk_model.booster.predict(rows.to_numpy(), raw_score=True), atol=0)
    assert contrib["base_value"].nunique() == 1
    # contributions explain the raw score; the probability is the calibrated one
    assert np.allclose(risk_model.predict(rows), risk_model.calibrator.transform(raw))


def test_contributions_equal_shap_tree_explainer(risk_model: RiskModel, rows: pd.DataFrame) -> None:
    import shap

    explanation = shap.TreeExplainer(risk_model.booster)(rows.to_numpy())
    matrix = np.asarray(explanation.values)
    contrib = risk_model.contributions(rows).drop(columns="base_value").to_numpy()
    assert matrix.shape == contrib.shape
    assert np.allclose(matrix, contrib, atol=1e-8)
    assert np.allclose(explanation.base_values, risk_model.contributions(rows)["base_value"])


def test_a_reordered_frame_is_refused(risk_model: RiskModel, rows: pd.DataFrame) -> None:
    names = list(rows.columns)
    swapped = rows[[names[1], names[0], *names[2:]]]
    with pytest.raises(FrameMismatchError, match=f"position 1 is '{names[1]}'"):
        risk_model.predict(swapped)


def test_a_retyped_frame_is_refused(risk_model: RiskModel, rows: pd.DataFrame) -> None:
    retyped = rows.assign(pol_suspect_365d=rows["pol_suspect_365d"].astype("int64"))
    with pytest.raises(FrameMismatchError, match="pol_suspect_365d is int64"):
        risk_model.predict(retyped)
    categorical = rows.assign(age_years=rows["age_years"].astype("category"))
    with pytest.raises(FrameMismatchError, match="age_years is category"):
        risk_model.contributions(categorical)


def test_duplicated_columns_are_named(risk_model: RiskModel, rows: pd.DataFrame) -> None:
    doubled = pd.concat([rows, rows[["age_years"]]], axis=1)
    with pytest.raises(FrameMismatchError, match="duplicated column"):
        risk_model.predict(doubled)


def test_a_spec_edited_in_memory_is_checked_again(risk_model: RiskModel) -> None:
    first = risk_model.spec.features[0]
    edited = first.model_copy(
        update={"definition": first.definition.model_copy(update={"where": {"ethnicity": ("x",)}})}
    )
    spec = risk_model.spec.model_copy(update={"features": (edited, *risk_model.spec.features[1:])})
    with pytest.raises(CatalogError, match="ethnicity"):
        RiskModel(
            spec=spec,
            booster=risk_model.booster,
            calibrator=risk_model.calibrator,
            reference_scores=risk_model.reference_scores,
            source_patterns={},
        )


def test_missing_and_extra_columns_are_named(risk_model: RiskModel, rows: pd.DataFrame) -> None:
    with pytest.raises(FrameMismatchError) as info:
        risk_model.predict(rows.drop(columns=["age_years"]).assign(sex=1.0))
    message = str(info.value)
    assert "missing column(s): age_years" in message
    assert "unexpected column(s): sex" in message


def test_saving_and_loading_gives_identical_scores(
    risk_model: RiskModel, rows: pd.DataFrame, tmp_path: Path
) -> None:
    digest = risk_model.save(tmp_path / "m")
    saved = sorted(p.name for p in (tmp_path / "m").iterdir())
    assert saved == sorted(
        [
            "booster.txt",
            "calibration.json",
            "feature_medians.json",
            "feature_spec.json",
            "info.json",
            "reference_scores.json",
            "risk_model.json",
            "source_patterns.json",
        ]
    )
    for path in (tmp_path / "m").iterdir():  # plain text, nothing pickled
        path.read_text(encoding="utf-8")
    loaded = RiskModel.load(tmp_path / "m")
    assert loaded.content_hash == digest
    assert np.array_equal(loaded.predict(rows), risk_model.predict(rows))
    assert np.array_equal(
        loaded.contributions(rows).to_numpy(), risk_model.contributions(rows).to_numpy()
    )
    assert loaded.spec.hash == risk_model.spec.hash
    # the same model saved again has the same content hash
    assert risk_model.save(tmp_path / "again") == digest
    with pytest.raises(FileExistsError):
        risk_model.save(tmp_path / "m")


def test_an_altered_or_incomplete_model_is_refused(risk_model: RiskModel, tmp_path: Path) -> None:
    risk_model.save(tmp_path / "m")
    calibration = tmp_path / "m" / "calibration.json"
    calibration.write_text(json.dumps({"method": "sigmoid", "slope": 9.0, "intercept": 0.0}))
    with pytest.raises(ModelFileError, match=r"calibration\.json has changed"):
        RiskModel.load(tmp_path / "m")
    risk_model.save(tmp_path / "n")
    (tmp_path / "n" / "booster.txt").unlink()
    with pytest.raises(ModelFileError, match=r"booster\.txt"):
        RiskModel.load(tmp_path / "n")
    with pytest.raises(ModelFileError, match="not a saved RiskModel"):
        RiskModel.load(tmp_path)


@pytest.mark.parametrize(
    ("feature", "where", "named"),
    [
        ("att_rate_30d", {"ethnicity": ["white_british"]}, r"audit-only attribute.*ethnicity"),
        ("pol_contacts_365d", {"role": ["stop_search"]}, r"declared proxy 'stop_and_search'"),
    ],
)
def test_a_saved_spec_with_a_protected_attribute_or_proxy_cannot_be_loaded(
    risk_model: RiskModel, tmp_path: Path, feature: str, where: dict[str, list[str]], named: str
) -> None:
    risk_model.save(tmp_path / "m")
    spec_path = tmp_path / "m" / "feature_spec.json"
    spec = json.loads(spec_path.read_text())
    entry = next(f for f in spec["features"] if f["name"] == feature)
    entry["definition"]["where"] = where
    spec_path.write_text(json.dumps(spec))
    # even with the manifest's hash rewritten to match, the spec's guardrails refuse it
    manifest_path = tmp_path / "m" / "risk_model.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["files"]["feature_spec.json"] = hashlib.sha256(spec_path.read_bytes()).hexdigest()
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(ModelFileError, match=named):
        RiskModel.load(tmp_path / "m")


def test_the_model_refuses_a_protected_attribute_named_as_a_feature(
    risk_model: RiskModel,
) -> None:
    with pytest.raises(CatalogError, match="feature 'sex'"):
        RiskModel(
            spec=risk_model.spec.model_copy(
                update={
                    "features": (
                        risk_model.spec.features[0].model_copy(update={"name": "sex"}),
                        *risk_model.spec.features[1:],
                    )
                }
            ),
            booster=risk_model.booster,
            calibrator=risk_model.calibrator,
            reference_scores=risk_model.reference_scores,
            source_patterns={},
        )


def test_percentiles_and_unseen_source_patterns(risk_model: RiskModel, rows: pd.DataFrame) -> None:
    ref = risk_model.reference_scores
    pct = risk_model.percentile(np.array([ref[0] - 1e-9, ref[500], ref[-1]]))
    assert pct[0] == 0 and 49 <= pct[1] <= 51 and pct[2] == 100
    no_police = rows.assign(**{c: np.nan for c in rows.columns if c.startswith("pol_")})
    assert not risk_model.unseen_pattern(rows.iloc[:5], "").any()
    assert risk_model.unseen_pattern(no_police.iloc[:5], "").all()
    assert risk_model.unseen_pattern(rows.iloc[:5], "ae_visits").all()
