"""How a flag is said to a practitioner: framed reasons, plain what-ifs and estimates, the flag's
age, stale sources and a readable title."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import numpy as np

from tests.flags.builders import REF, moments_for, open_programmes
from vru_risk.features.catalog import load_catalog
from vru_risk.flags.flag import REDACTED_REASON, Reason, Trigger
from vru_risk.flags.generate import generate_flags
from vru_risk.flags.reasons import BACKGROUND_FAMILIES
from vru_risk.flags.wording import (
    estimate_sentence,
    flag_title,
    in_words,
    reason_sentence,
    stale_sources,
    trigger_sentence,
    what_if_sentence,
)
from vru_risk.models.base_rates import base_rate_of
from vru_risk.models.risk_model import RiskModel

AE = Trigger(kind="ae_visit", source="ae_visits", date=dt.date(2026, 3, 8), detail="Musgrove Park")


def test_a_reason_that_lowers_the_score_is_framed_against_others_at_such_moments() -> None:
    own = Reason(
        family="ae_any",
        source="ae_visits",
        direction="lowers",
        strength="moderately",
        text="1 A&E visit in the last year",
        contribution=-0.2,
        features=("ae_visits_365d",),
    )
    assert reason_sentence(own, [AE]) == (
        "Compared with others seen at A&E, 1 A&E visit in the last year moderately lowers the score"
    )
    merged = own.model_copy(
        update={"family": "another_service", "source": "another_service", "text": REDACTED_REASON}
    )
    assert reason_sentence(merged, [AE]).endswith("does not see moderately lower the score")
    raises = own.model_copy(update={"direction": "raises", "contribution": 0.2})
    assert reason_sentence(raises, [AE]) == raises.sentence  # said as it is


def test_background_families_exist_and_are_marked_on_reasons(
    risk_model: RiskModel, tmp_path: Path
) -> None:
    catalog = {f.family for f in load_catalog().spec().features}
    assert catalog >= BACKGROUND_FAMILIES
    m = moments_for(risk_model, n=80, seed=3, ages=list(np.arange(80) % 10 + 8))
    flags = generate_flags(risk_model, m, open_programmes(tmp_path), model_ref=REF).flags
    reasons = [r for f in flags for r in (*f.reasons_for, *f.reasons_against)]
    assert any(r.background for r in reasons), "no age or roll reason in 80 flags"
    for r in reasons:
        assert r.background == (r.family in BACKGROUND_FAMILIES)


def test_estimates_and_what_ifs_are_in_plain_words(risk_model: RiskModel, tmp_path: Path) -> None:
    assert [in_words(p) for p in (0.6, 0.083, 0.2, 0.004)] == [
        "about 6 in 10",
        "about 1 in 12",
        "about 2 in 10",
        "fewer than 1 in 100",
    ]
    m = moments_for(risk_model, n=10)
    flag = generate_flags(risk_model, m, open_programmes(tmp_path), model_ref=REF).flags[0]
    stored = base_rate_of(risk_model.info, [t.kind for t in flag.triggers])
    expected = float(np.mean(risk_model.reference_scores)) if stored is None else stored
    assert flag.reference_rate is not None and abs(flag.reference_rate - expected) < 1e-12
    said = estimate_sentence(flag)
    assert said.startswith(in_words(flag.probability).capitalize() + " young people with scores")
    assert f"against {in_words(flag.reference_rate)} of all young people at such moments" in said
    # a model storing base rates per trigger kind frames the estimate against its kind's
    stored_rates = dataclasses.replace(
        risk_model, info={**risk_model.info, "base_rate:police_contact": "0.083"}
    )
    framed = generate_flags(stored_rates, m, open_programmes(tmp_path), model_ref=REF).flags[0]
    assert framed.reference_rate == 0.083
    assert "against about 1 in 12 of all young people" in estimate_sentence(framed)
    text = what_if_sentence("attended 95% of school sessions in the last 90 days", 0.41, 0.6)
    assert "would be 41 in 100 rather than 60 in 100" in text
    for jargon in ("median", "log-odds", "SHAP", "%:"):
        assert jargon not in said + text


def test_trigger_details_title_and_stale_sources_in_words() -> None:
    excl = Trigger(
        kind="exclusion",
        source="exclusions",
        date=dt.date(2026, 3, 2),
        detail="suspension: drugs_alcohol",
    )
    assert trigger_sentence(excl) == (
        "School exclusion suspension for drugs or alcohol on 2 March 2026"
    )
    police = Trigger(
        kind="police_contact", source="police_contacts", date=None, detail="missing_person"
    )
    assert trigger_sentence(police) == "Police contact reported missing"
    assert trigger_sentence(AE) == "A&E visit (Musgrove Park) on 8 March 2026"
    today = dt.date(2026, 4, 4)
    refreshed = {"ae_visits": dt.date(2026, 3, 9), "attendance": dt.date(2026, 4, 1), "x": None}
    assert stale_sources(refreshed, today, 14) == {"ae_visits": 26}
    assert stale_sources(refreshed, None, 14) == {}


def test_the_title_names_trigger_age_band_and_date(risk_model: RiskModel, tmp_path: Path) -> None:
    m = moments_for(risk_model, n=3, ages=[15, 15, 15], kinds=["exclusion"] * 3)
    flag = generate_flags(risk_model, m, open_programmes(tmp_path), model_ref=REF).flags[0]
    assert flag_title(flag) == "School exclusion, aged 14-15, known on 10 March 2026"
    assert flag.flag_id not in flag_title(flag)
