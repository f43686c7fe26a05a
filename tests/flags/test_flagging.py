"""Flags: reasons phrased from the person's own values, one per family, adding up to the raw
score; what the model cannot see; what could change it; programme eligibility, capacity and
support already under way; redaction by programme."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.factories import frame_for
from vru_risk.data.contract import AUDIT_ONLY_COLUMNS
from vru_risk.features.catalog import FeatureInfo, FeatureSpec
from vru_risk.features.moments import Moments, load_moments, save_moments
from vru_risk.features.phrases import render_phrase
from vru_risk.flags.flag import (
    CANNOT_SEE_STANDING,
    REDACTED_REASON,
    Flag,
    ModelRef,
    band_for,
)
from vru_risk.flags.flagging import (
    MIN_WHAT_IF_DROP,
    FlagOptions,
    MomentRows,
    allocate,
    explain_moment_rows,
    explain_rows,
    generate_flags,
    score_moments,
    score_rows,
)
from vru_risk.flags.programmes import (
    ProgrammeConfigError,
    Programmes,
    load_programmes,
)
from vru_risk.flags.reasons import explain, families, family_text
from vru_risk.models.risk_model import FrameMismatchError, ModelInputs, RiskModel

DAY = date(2026, 3, 10)  # a Tuesday
REF = ModelRef(name="vru-risk", version=7, content_hash="c" * 64)
#: what the data says of a trigger of each kind (the hospital of an A&E visit is given per row)
DETAIL = {
    "police_contact": "suspect",
    "exclusion": "suspension: physical_assault",
    "attendance_drop": "below 85% over 4 weeks",
    "ae_visit": "Musgrove Park",
}


def moments_for(
    model: RiskModel,
    *,
    n: int = 40,
    seed: int = 5,
    day: date = DAY,
    ages: Sequence[int] | None = None,
    kinds: Sequence[str] | None = None,
    hospitals: Sequence[str | None] | None = None,
    supported: Sequence[tuple[int, str]] = (),
    unavailable: tuple[str, ...] = (),
    update: dict[str, Sequence[float]] | None = None,
) -> Moments:
    """``n`` moments known on ``day`` with realistic feature values."""
    x, _ = frame_for(model.spec, n, seed)
    for col, values in (update or {}).items():
        x[col] = np.asarray(values, dtype="float64")
    for source in unavailable:
        x[[f.name for f in model.spec.features if f.source == source]] = np.nan
    people = [f"P{i:05d}" for i in range(n)]
    ages = list(ages) if ages is not None else [14] * n
    kinds = list(kinds) if kinds is not None else ["police_contact"] * n
    hospitals = list(hospitals) if hospitals is not None else [None] * n
    x["age_years"] = np.asarray(ages, dtype="float64")
    frame = pd.DataFrame(
        {
            "person_id": people,
            "as_of": [day] * n,
            "trigger_kinds": kinds,
            "n_triggers": [1] * n,
            "sources_unavailable": [",".join(unavailable)] * n,
            "age_completed": ages,
            "school_id": ["SEC-0001"] * n,
        }
    )
    frame = pd.concat([frame, x.reset_index(drop=True)], axis=1)
    source = {
        "police_contact": "police_contacts",
        "ae_visit": "ae_visits",
        "exclusion": "exclusions",
        "attendance_drop": "attendance",
    }
    triggers = pd.DataFrame(
        {
            "person_id": people,
            "as_of": [day] * n,
            "trigger_kind": kinds,
            "trigger_date": [day - timedelta(days=2)] * n,
            "source": [source[k] for k in kinds],
            "detail": [
                h if h is not None else DETAIL[k] for h, k in zip(hospitals, kinds, strict=True)
            ],
        }
    )
    sup = pd.DataFrame(
        {
            "person_id": [people[i] for i, _ in supported],
            "day": [day] * len(supported),
            "programme": [p for _, p in supported],
        }
    )
    return Moments(
        days=(day,),
        extract_date=day,
        frame=frame,
        triggers=triggers,
        supported=sup,
        refreshed={"attendance": day, "exclusions": day, "police_contacts": day, "ae_visits": None},
        sources_unavailable=unavailable,
    )


def open_programmes(tmp_path: Path, **changes: dict[str, object]) -> Programmes:
    """The packaged programmes with every threshold at 0 (so eligibility alone decides)."""
    base = load_programmes()
    progs = []
    for p in base.programmes:
        data = p.model_dump()
        data["min_percentile"] = 0.0
        data.update(changes.get(p.id, {}))
        progs.append(data)
    return Programmes.model_validate({"programmes_version": 1, "programmes": progs})


def offered(offers: dict[int, tuple], programme: str) -> set[int]:
    return {
        i
        for i, o in offers.items()
        for e in o
        if e.programme == programme and e.status == "offered"
    }


# --- reasons ---------------------------------------------------------------------------------


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
            assert w.text.startswith("model score with these inputs")
            assert w.text.endswith("not a forecast")
            assert 0.0 <= w.probability <= flag.probability - MIN_WHAT_IF_DROP
    assert seen > 0
    assert not actionable & {"age", "police_suspect", "exclusions_suspension"}


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


# --- programmes ------------------------------------------------------------------------------


def test_age_boundaries_of_jump_start_and_early_intervention(
    risk_model: RiskModel, tmp_path: Path
) -> None:
    ages = [7, 8, 9, 10, 17, 18, 19]
    m = moments_for(risk_model, n=len(ages), ages=ages)
    progs = open_programmes(tmp_path)
    scored = score_moments(risk_model, m)
    offers = allocate(scored, m, progs)
    assert {ages[i] for i in offered(offers, "jump_start")} == {8, 9, 10, 17, 18}
    assert {ages[i] for i in offered(offers, "early_intervention")} == {10, 17}


def test_trigger_kinds_and_hospitals_decide_eligibility(
    risk_model: RiskModel, tmp_path: Path
) -> None:
    kinds = ["ae_visit", "ae_visit", "police_contact", "attendance_drop", "exclusion"]
    hospitals = ["Musgrove Park", "Weston General", None, None, None]
    m = moments_for(risk_model, n=5, kinds=kinds, hospitals=hospitals, ages=[14] * 5)
    offers = allocate(score_moments(risk_model, m), m, open_programmes(tmp_path))
    assert offered(offers, "admit_ae") == {0}  # a configured hospital only
    assert offered(offers, "early_intervention") == {2, 4}  # police contact, exclusion
    assert offered(offers, "school_inclusion") == {3, 4}  # attendance drop, exclusion
    assert offered(offers, "jump_start") == {0, 1, 2, 3, 4}


def test_capacity_takes_the_highest_scores_and_is_used_up_within_a_period(
    risk_model: RiskModel, tmp_path: Path
) -> None:
    progs = open_programmes(tmp_path, early_intervention={"capacity": 3})
    m = moments_for(risk_model, n=12, seed=8)
    scored = score_moments(risk_model, m)
    offers = allocate(scored, m, progs)
    eit = offered(offers, "early_intervention")
    assert len(eit) == 3
    top3 = set(np.argsort(-scored["probability"].to_numpy())[:3])
    assert eit == top3
    ranks = sorted(
        e.rank for o in offers.values() for e in o if e.programme == "early_intervention"
    )
    assert ranks == [1, 2, 3]
    # flags issued earlier in the same month use the capacity up ...
    batch = generate_flags(risk_model, m, progs, model_ref=REF)
    later = moments_for(risk_model, n=12, seed=9, day=DAY + timedelta(days=7))
    again = allocate(score_moments(risk_model, later), later, progs, issued=batch.flags)
    assert offered(again, "early_intervention") == set()
    # ... and a new month starts afresh
    april = moments_for(risk_model, n=12, seed=9, day=date(2026, 4, 2))
    fresh = allocate(score_moments(risk_model, april), april, progs, issued=batch.flags)
    assert len(offered(fresh, "early_intervention")) == 3


def test_min_percentile_keeps_low_scores_off_the_list(
    risk_model: RiskModel, tmp_path: Path
) -> None:
    progs = open_programmes(tmp_path, jump_start={"min_percentile": 95.0})
    m = moments_for(risk_model, n=200, seed=4)
    scored = score_moments(risk_model, m)
    offers = allocate(scored, m, progs)
    for i in offered(offers, "jump_start"):
        assert scored["percentile"].iloc[i] >= 95.0


def test_a_person_already_in_a_programme_is_shown_as_such_not_re_offered(
    risk_model: RiskModel, tmp_path: Path
) -> None:
    m = moments_for(risk_model, n=3, supported=[(0, "Early Intervention Team")])
    batch = generate_flags(risk_model, m, open_programmes(tmp_path), model_ref=REF)
    flag = next(f for f in batch.flags if f.person_id == "P00000")
    status = {p.programme: p.status for p in flag.programmes}
    assert status["early_intervention"] == "already_supported"
    assert status["jump_start"] == "offered"
    others = [f for f in batch.flags if f.person_id != "P00000"]
    assert all(
        {p.programme: p.status for p in f.programmes}["early_intervention"] == "offered"
        for f in others
    )


def test_someone_offered_in_a_valid_flag_is_not_offered_again(
    risk_model: RiskModel, tmp_path: Path
) -> None:
    progs = open_programmes(tmp_path)
    first = generate_flags(risk_model, moments_for(risk_model, n=4), progs, model_ref=REF)
    assert {f.person_id for f in first.flags} == {f"P{i:05d}" for i in range(4)}
    nxt = moments_for(risk_model, n=4, day=DAY + timedelta(days=40))
    second = generate_flags(risk_model, nxt, progs, model_ref=REF, issued=first.flags)
    assert second.flags == []
    much_later = moments_for(risk_model, n=4, day=DAY + timedelta(days=120))
    third = generate_flags(risk_model, much_later, progs, model_ref=REF, issued=first.flags)
    assert len(third.flags) == 4


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


def test_programme_files_report_every_problem(tmp_path: Path) -> None:
    bad = tmp_path / "programmes.yaml"
    bad.write_text(
        "programmes_version: 1\nprogrammes:\n"
        "  - {id: a, name: A, min_age: 12, max_age: 10, trigger_kinds: [ae_visit],\n"
        "     capacity: 5, period: month, shared_sources: [health_records]}\n"
        "  - {id: b, name: B, min_age: 8, max_age: 18, trigger_kinds: [exclusion],\n"
        "     capacity: -1, period: fortnight, shared_sources: []}\n",
        encoding="utf-8",
    )
    with pytest.raises(ProgrammeConfigError) as info:
        load_programmes(bad)
    message = str(info.value)
    assert str(bad) in message
    assert "programme a" in message and "min_age 12 is above max_age 10" in message
    assert "health_records" in message
    assert "programme b.capacity" in message and "programme b.period" in message
    with pytest.raises(ProgrammeConfigError, match="does not exist"):
        load_programmes(tmp_path / "nope.yaml")


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
