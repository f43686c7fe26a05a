"""The Flag as a programme sees it: redaction to the sources its data-sharing agreement covers."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.flags.builders import REF, moments_for, open_programmes
from vru_risk.flags.flag import REDACTED_REASON, Flag
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
