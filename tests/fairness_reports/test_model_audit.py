"""The model audit's building blocks on hand-computed cases: deprivation and age bands, the
per-example join of the audit-only attributes, and ``audit_model`` on a small synthetic window."""

from __future__ import annotations

from html import unescape

import numpy as np
import pandas as pd
import pytest

from vru_risk.fairness_reports.allocation import (
    NoReplay,
    Replay,
    hindsight_words,
    replay_predictions,
)
from vru_risk.fairness_reports.gate import FairnessGateConfig
from vru_risk.fairness_reports.model_audit import (
    ATTRIBUTES,
    NO_CONTEXT,
    PRIMARY,
    ModelAudit,
    age_band,
    audit_model,
    imd_band,
    sensitive_frame,
)
from vru_risk.fairness_reports.operating_points import ALLOCATION_WORDS
from vru_risk.fairness_reports.report import build_report, render_html
from vru_risk.features.context import MomentContext
from vru_risk.flags.programmes import load_programmes
from vru_risk.models.tags import ALLOCATION_RULE

MOST, MIDDLE, LEAST = "1-3 (most deprived)", "4-7", "8-10 (least deprived)"


# ------------------------------------------------------------------------------ imd_band


def test_imd_band_edges_and_unknowns() -> None:
    deciles = pd.Series([1, 3, 4, 7, 8, 10, None, "5", "not a decile"], index=list("abcdefghi"))
    out = imd_band(deciles)
    assert out.tolist() == [MOST, MOST, MIDDLE, MIDDLE, LEAST, LEAST, "unknown", MIDDLE, "unknown"]
    assert out.index.tolist() == list("abcdefghi")
    assert out.dtype == object


def test_imd_band_of_a_nullable_integer_column() -> None:
    out = imd_band(pd.Series(pd.array([2, None, 9], dtype="Int64")))
    assert out.tolist() == [MOST, "unknown", LEAST]


# ------------------------------------------------------------------------------- age_band


@pytest.mark.parametrize(
    ("birth", "as_of", "band"),
    [
        # 12th birthday on the as-of date: 12; the day before: still 11
        ("2010-03-01", "2022-03-01", "12-14"),
        ("2010-03-01", "2022-02-28", "8-11"),
        # 15th birthday on the as-of date and the day before
        ("2007-06-15", "2022-06-15", "15-18"),
        ("2007-06-15", "2022-06-14", "12-14"),
        # same month, earlier day of month: the birthday has passed
        ("2007-06-15", "2022-06-30", "15-18"),
        # born on 29 February: 15 only on 1 March of a common year
        ("2008-02-29", "2023-02-28", "12-14"),
        ("2008-02-29", "2023-03-01", "15-18"),
        # the youngest and oldest in the service
        ("2014-09-01", "2022-09-01", "8-11"),
        ("2004-01-31", "2022-12-31", "15-18"),
    ],
)
def test_age_band_counts_whole_years_on_the_as_of_date(birth: str, as_of: str, band: str) -> None:
    assert age_band(pd.Series([birth]), pd.Series([as_of])).tolist() == [band]


def test_age_band_is_unknown_without_a_birth_date_or_an_as_of_date() -> None:
    birth = pd.Series(["2010-03-01", None, "2010-03-01"], index=[7, 8, 9])
    as_of = pd.Series(["2022-03-01", "2022-03-01", None], index=[7, 8, 9])
    out = age_band(birth, as_of)
    assert out.tolist() == ["12-14", "unknown", "unknown"]
    assert out.index.tolist() == [7, 8, 9]


# -------------------------------------------------------------------------- sensitive_frame


def people_table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "person_id": ["A", "B", "C"],
            "birth_date": pd.Series(["2010-03-01", "2011-01-15", None], dtype="datetime64[ns]"),
            "sex": ["female", "male", None],
            "ethnicity": ["white", "black", "asian"],
            "sen": ["none", "ehcp", "sen_support"],
            "fsm": pd.array([True, False, None], dtype="boolean"),
            "looked_after": [False, True, False],
            "imd_decile": pd.array([2, 9, None], dtype="Int64"),
            "school_id": ["S1", "S2", "S1"],  # not audit-only: never carried over
        }
    )


def test_sensitive_frame_joins_by_person_and_keeps_every_row_in_order() -> None:
    rows = pd.DataFrame(
        {
            "person_id": ["B", "ZZZ", "A", "A", "C"],
            "as_of": pd.to_datetime(
                ["2022-03-01", "2022-03-01", "2022-03-01", "2022-02-28", "2022-03-01"]
            ),
            "score": [0.1, 0.2, 0.3, 0.4, 0.5],
        },
        index=[50, 40, 30, 20, 10],
    )
    out = sensitive_frame(rows, people_table())
    assert out.index.tolist() == [50, 40, 30, 20, 10]
    assert list(out.columns) == list(ATTRIBUTES)
    row = out.to_dict(orient="index")
    assert list(row[50].values()) == ["male", "black", "ehcp", "no", "yes", LEAST, "8-11"]
    # the same person on two as-of dates: the age band follows the date (12th birthday 1 March)
    assert list(row[30].values()) == ["female", "white", "none", "yes", "no", MOST, "12-14"]
    assert row[20]["age_band"] == "8-11"
    # missing values of a known person
    assert (row[10]["sex"], row[10]["fsm"]) == ("unknown", "unknown")
    assert (row[10]["imd_band"], row[10]["age_band"]) == ("unknown", "unknown")
    assert row[10]["looked_after"] == "no"


def test_a_person_missing_from_people_is_kept_with_nothing_known() -> None:
    rows = pd.DataFrame({"person_id": ["ZZZ"], "as_of": pd.to_datetime(["2022-03-01"])})
    out = sensitive_frame(rows, people_table())
    assert len(out) == 1
    values = out.iloc[0]
    assert all(v == "unknown" for v in values), values.to_dict()
    assert values[["imd_band", "age_band"]].tolist() == ["unknown", "unknown"]


def test_sensitive_frame_maps_booleans_to_yes_and_no() -> None:
    rows = pd.DataFrame({"person_id": ["A", "B"], "as_of": pd.to_datetime(["2022-01-01"] * 2)})
    out = sensitive_frame(rows, people_table())
    assert out["fsm"].tolist() == ["yes", "no"]
    assert out["looked_after"].tolist() == ["no", "yes"]
    assert set(out["fsm"]) <= {"yes", "no"}


def test_sensitive_frame_refuses_people_without_the_audit_columns() -> None:
    rows = pd.DataFrame({"person_id": ["A"], "as_of": pd.to_datetime(["2022-01-01"])})
    people = people_table().drop(columns=["ethnicity", "imd_decile"])
    with pytest.raises(ValueError, match=r"people lacks column\(s\) ethnicity, imd_decile"):
        sensitive_frame(rows, people)


# ------------------------------------------------------------------------------ audit_model

N_PEOPLE = 120
MONTHS = ("2023-01-01", "2023-02-01", "2023-03-01")
CAPACITY = 10
SMALL = {"min_count": 10, "min_positives": 2, "min_flagged": 1}


def synthetic_window(seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(predictions, people): 120 people over 3 months, one censored row of a person "CENS"
    (who would top March's list), one row whose harm label is unknown, and two people
    ("GONE1", "GONE2") who are not in the people table."""
    rng = np.random.default_rng(seed)
    ids = [f"P{i:03d}" for i in range(N_PEOPLE)]
    n = N_PEOPLE + 1
    people = pd.DataFrame(
        {
            "person_id": [*ids, "CENS"],
            "birth_date": pd.Timestamp("2007-01-01")
            + pd.to_timedelta(rng.integers(0, 365 * 7, n), unit="D"),
            "sex": rng.choice(["female", "male"], n),
            "ethnicity": rng.choice(["white", "black", "asian"], n),
            "sen": rng.choice(["none", "sen_support"], n),
            "fsm": rng.choice([True, False], n),
            "looked_after": rng.choice([True, False], n, p=[0.2, 0.8]),
            "imd_decile": rng.integers(1, 11, n),
        }
    )
    rows = []
    for fold, month in enumerate(MONTHS, start=1):
        for pid in [*ids[:-2], "GONE1", "GONE2"]:
            y = float(rng.random() < 0.25)
            rows.append(
                {
                    "person_id": pid,
                    "as_of": pd.Timestamp(month),
                    "fold": fold,
                    "score": float(np.clip(0.15 + 0.5 * y + rng.normal(0, 0.2), 0.001, 0.999)),
                    "label_serious_violence": y,
                    "label_serious_violence_harm": y if rng.random() < 0.8 else 0.0,
                }
            )
    rows.append(
        {
            "person_id": "CENS",
            "as_of": pd.Timestamp(MONTHS[-1]),
            "fold": 3,
            "score": 0.999,
            "label_serious_violence": np.nan,
            "label_serious_violence_harm": np.nan,
        }
    )
    predictions = pd.DataFrame(rows)
    predictions.loc[0, "label_serious_violence_harm"] = np.nan
    return predictions, people


def run(
    predictions: pd.DataFrame,
    people: pd.DataFrame,
    resamples: int = 20,
    allocation: Replay | NoReplay = NO_CONTEXT,
) -> ModelAudit:
    return audit_model(
        predictions,
        people,
        capacity=CAPACITY,
        seed=0,
        gate_config=FairnessGateConfig(),
        allocation=allocation,
        n_resamples=resamples,
        **SMALL,
    )


def test_audit_model_audits_the_outcomes_present_without_censored_rows() -> None:
    predictions, people = synthetic_window()
    labelled = N_PEOPLE * len(MONTHS)
    assert len(predictions) == labelled + 1
    result = run(predictions, people)
    assert set(result.audits) == {PRIMARY, "harm only"}  # no true-involvement column
    assert result.primary == PRIMARY
    primary = result.audits[PRIMARY]
    assert primary.population == "person-months"
    assert int(primary.overall["count"]) == labelled  # the censored row is not counted
    # CENS scored 0.999 but is censored: March's list is still 10 labelled people
    assert int(primary.overall["flagged"]) == CAPACITY * len(MONTHS)
    positives = int(predictions["label_serious_violence"].sum())
    assert int(primary.overall["positives"]) == positives
    harm = result.audits["harm only"]
    assert int(harm.overall["count"]) == labelled - 1  # its own unknown label is left out
    assert int(harm.overall["positives"]) == int(predictions["label_serious_violence_harm"].sum())
    # every audit-only attribute and the ethnicity × sex intersection are audited
    groups = primary.by_group
    assert set(ATTRIBUTES) | {"ethnicity*sex"} <= set(groups["attribute"])
    # the two people missing from people form the "unknown" group of every attribute
    for attribute in ATTRIBUTES:
        unknown = groups[(groups["attribute"] == attribute) & (groups["group"] == "unknown")]
        assert unknown["count"].tolist() == [2 * len(MONTHS)], attribute
    assert groups.loc[groups["group"] == "unknown", "suppressed"].all()
    # the gate judges the primary audit criterion by criterion, from its intervals
    assert result.gate.status in {"pass", "fail", "inconclusive"}
    assert result.gate.criteria
    assert {c.metric for c in result.gate.criteria}
    assert not result.intervals.empty
    assert set(result.intervals["attribute"]) <= set(groups["attribute"])
    assert result.window == {
        "from": "2023-01-01",
        "to": "2023-03-01",
        "examples": labelled + 1,
        "labelled": labelled,
        "people": N_PEOPLE + 1,
        "folds": [1, 2, 3],
        "capacity_per_month": CAPACITY,
        "operating_point": hindsight_words(CAPACITY),  # no moments' context: the fallback
    }


def test_audit_model_adds_true_involvement_and_skips_an_absent_harm_label() -> None:
    predictions, people = synthetic_window(seed=1)
    predictions = predictions.drop(columns=["label_serious_violence_harm"])
    predictions["label_true_involvement"] = predictions["label_serious_violence"]
    result = run(predictions, people)
    assert set(result.audits) == {PRIMARY, "true involvement"}
    assert int(result.audits["true involvement"].overall["count"]) == N_PEOPLE * len(MONTHS)


def test_audit_model_is_reproducible_for_a_seed() -> None:
    predictions, people = synthetic_window(seed=2)
    first, second = run(predictions, people), run(predictions, people)
    pd.testing.assert_frame_equal(first.intervals, second.intervals)
    assert first.gate == second.gate


def test_audit_model_refuses_predictions_without_labelled_rows() -> None:
    predictions, people = synthetic_window()
    predictions["label_serious_violence"] = np.nan
    with pytest.raises(ValueError, match="no labelled examples"):
        run(predictions, people)
    with pytest.raises(ValueError, match="no labelled examples"):
        run(predictions.iloc[0:0], people)


# ------------------------------------------------------- the allocation the audit judges


def window_replay(predictions: pd.DataFrame) -> Replay:
    """Every audit row a police contact of a 14-year-old (open to two programmes), the
    percentile of a score its rank among the window's scores."""
    keys = predictions[["person_id", "as_of"]].assign(as_of=lambda d: d["as_of"].dt.date)
    context = MomentContext(
        frame=keys.assign(age_completed=14, school_id="SEC-0001"),
        triggers=keys.assign(
            trigger_kind="police_contact",
            trigger_date=keys["as_of"],
            source="police_contacts",
            detail="suspect",
        ),
        supported=pd.DataFrame(columns=["person_id", "day", "programme"]),
    )
    reference = np.sort(predictions["score"].to_numpy(dtype="float64"))

    def percentile(p: np.ndarray) -> np.ndarray:
        return 100.0 * np.searchsorted(reference, p, side="right") / len(reference)

    return Replay(context, load_programmes(), percentile)


def test_audit_model_judges_the_places_the_service_would_have_offered() -> None:
    predictions, people = synthetic_window()
    replay = window_replay(predictions)
    result = run(predictions, people, allocation=replay)
    assert result.replayed
    primary = result.audits[PRIMARY]
    assert primary.population == "moments"
    # the replay over every row (the censored one too), then the labelled rows counted
    expected, _ = replay_predictions(predictions, replay)
    labelled = predictions["label_serious_violence"].notna().to_numpy()
    offered = np.asarray(expected.offered)
    assert offered[~labelled].all()  # CENS scored 0.999 and took a place
    assert int(primary.overall["flagged"]) == int(offered[labelled].sum())
    assert int(primary.overall["count"]) == int(labelled.sum())
    section = result.allocation
    assert section["operating_point"] == ALLOCATION_WORDS and section["rule"] == ALLOCATION_RULE
    assert section["figures"]["offered"] == int(offered.sum())
    bound = section["hindsight_bound"]
    assert bound["name"] == "hindsight bound" and bound["population"] == "person-months"
    assert bound["flagged"] == CAPACITY * len(MONTHS)
    assert result.window["operating_point"] == ALLOCATION_WORDS
    report = model_report(result)
    html = render_html(report)
    text = " ".join(unescape(html).split())
    assert f"The rates in this report are those of {ALLOCATION_WORDS}" in text
    assert "hindsight bound: " + hindsight_words(CAPACITY) in text
    assert "assessed on the scores, not on the allocation" in text
    assert any(s.startswith("Hindsight bound, for comparison only") for s in report["summary"])
    assert "could not be replayed" not in text


def test_the_fallback_to_the_hindsight_lists_names_itself_in_the_report() -> None:
    predictions, people = synthetic_window()
    result = run(predictions, people)  # no moments' context
    assert not result.replayed
    assert result.audits[PRIMARY].population == "person-months"
    report = model_report(result)
    statement = report["allocation"]["fallback"]["statement"]
    assert statement.startswith("The service's allocation could not be replayed: ")
    assert NO_CONTEXT.why in statement and NO_CONTEXT.fix in statement
    assert "not of the places the service would have offered" in statement
    assert report["summary"][0] == statement
    text = " ".join(unescape(render_html(report)).split())
    assert statement in text
    assert "vru audit --version N --data DATA_DIR" in text


def model_report(result: ModelAudit) -> dict[str, object]:
    return build_report(
        title="audit",
        subject={"kind": "model", "name": "vru-risk", "version": 1},
        data_window=result.window,
        audits=result.audits,
        primary=PRIMARY,
        intervals=result.intervals,
        gate=result.gate,
        mitigation=result.mitigation,
        allocation=result.allocation,
    )
