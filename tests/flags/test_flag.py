"""The Flag as a programme sees it: redaction to the sources its data-sharing agreement covers."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.flags.builders import REF, moments_for, open_programmes
from vru_risk.flags.flag import REDACTED_REASON, Flag, Reason, strength_of
from vru_risk.flags.generate import generate_flags
from vru_risk.models.risk_model import RiskModel


def test_redaction_by_programme(risk_model: RiskModel, tmp_path: Path) -> None:
    m = moments_for(
        risk_model,
        n=60,
        kinds=["ae_visit"] * 60,
        hospitals=["Musgrove Park"] * 60,
        update={"ae_visits_365d": [4.0] * 60, "ae_assault_365d": [2.0] * 60},
        supported=[(i, "Admit A&E") for i in range(0, 60, 3)],
    )
    progs = open_programmes(tmp_path)
    batch = generate_flags(risk_model, m, progs, model_ref=REF)
    flag = next(
        f
        for f in batch.flags
        if any(r.source == "ae_visits" for r in (*f.reasons_for, *f.reasons_against))
        and any(p.status == "already_supported" for p in f.programmes)
    )
    for viewer in ("jump_start", "early_intervention"):
        programme = progs.by_id(viewer)
        assert "ae_visits" not in programme.shared_sources
        seen = flag.for_programme(programme)
        text = seen.model_dump_json()
        for leak in ("ae_visit", "A&E", "Musgrove", "admit_ae", "Admit", "hospital"):
            assert leak not in text, (viewer, leak)
        for r in (*seen.reasons_for, *seen.reasons_against):
            if r.text == REDACTED_REASON:
                assert r.source == "another_service" and r.features == ()
        assert [t.kind for t in seen.triggers] == ["another_service"]
        assert seen.triggers[0].date is None
        assert {p.programme for p in seen.programmes} <= {viewer}  # only its own entry
        assert all(w.source in programme.shared_sources for w in seen.what_could_change)
        assert seen.shown_total == pytest.approx(flag.raw_score, abs=1e-9)  # still adds up
        Flag.model_validate_json(text)  # still a valid flag
    admit = progs.by_id("admit_ae")
    seen = flag.for_programme(admit)
    assert seen.triggers[0].detail == "Musgrove Park" and seen.triggers[0].kind == "ae_visit"
    assert [p.status for p in seen.programmes] == ["already_supported"]


def _reason(family: str, source: str, contribution: float) -> Reason:
    return Reason(
        family=family,
        source=source,
        direction="raises" if contribution > 0 else "lowers",
        strength=strength_of(contribution),
        text=f"{family} values",
        contribution=contribution,
        features=(f"{family}_365d",),
    )


def test_unshared_reasons_merge_into_one_line_per_direction(
    risk_model: RiskModel, tmp_path: Path
) -> None:
    m = moments_for(risk_model, n=3, kinds=["police_contact"] * 3)
    flag = generate_flags(risk_model, m, open_programmes(tmp_path), model_ref=REF).flags[0]
    # police 0.4 and A&E 0.3 (unshared with Jump Start) around exclusions 0.5 and attendance 0.1
    flag = flag.model_copy(
        update={
            "reasons_for": (
                _reason("exclusions_suspension", "exclusions", 0.5),
                _reason("police_suspect", "police_contacts", 0.4),
                _reason("ae_assault", "ae_visits", 0.3),
                _reason("attendance_presence", "attendance", 0.1),
            ),
            "reasons_against": (
                _reason("police_witness", "police_contacts", -0.05),
                _reason("attendance_lateness", "attendance", -0.02),
            ),
        }
    )
    seen = flag.for_programme(open_programmes(tmp_path).by_id("jump_start"))
    # 0.4 + 0.3 leads; the top visible reason follows it
    assert [r.family for r in seen.reasons_for] == [
        "another_service",
        "exclusions_suspension",
        "attendance_presence",
    ]
    merged = seen.reasons_for[0]
    assert merged.contribution == pytest.approx(0.7) and merged.strength == "strongly"
    assert merged.direction == "raises" and merged.features == ()
    assert merged.sentence == (
        "records from services your programme does not see strongly raise the model's score"
    )
    (down_merged,) = [r for r in seen.reasons_against if r.family == "another_service"]
    assert down_merged.contribution == pytest.approx(-0.05) and down_merged.direction == "lowers"
    assert [r.family for r in seen.reasons_against] == ["another_service", "attendance_lateness"]
    texts = [r.text for r in (*seen.reasons_for, *seen.reasons_against)]
    assert texts.count(REDACTED_REASON) == 2  # once per direction, never per source
    for leak in ("police", "ae_", "A&E"):
        assert leak not in seen.model_dump_json(include={"reasons_for", "reasons_against"})
    # nothing dropped, nothing re-signed: the sums per direction are kept
    assert sum(r.contribution for r in seen.reasons_for) == pytest.approx(1.3)
    assert sum(r.contribution for r in seen.reasons_against) == pytest.approx(-0.07)
    assert seen.shown_total == pytest.approx(flag.shown_total)
    # a programme seeing a source gets its reasons as they are; only the rest is merged
    eit = open_programmes(tmp_path).by_id("early_intervention")
    assert [r.family for r in flag.for_programme(eit).reasons_for] == [
        "exclusions_suspension",
        "police_suspect",
        "another_service",
        "attendance_presence",
    ]
