"""Simulated practitioners and young people: decisions at the configured rates (by group when
asked), reasons the store accepts, times before the flag expires, support from the programmes'
durations, and every draw tied to its own offer and seed."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from vru_risk.flags.programmes import load_programmes
from vru_risk.simulation.config import ServiceConfig, parse_group_rate
from vru_risk.simulation.practitioners import REASONS, decide
from vru_risk.store.inputs import REASON_CODES

DAY = dt.date(2025, 3, 3)
EXTRACT = dt.date(2026, 8, 31)


def offers(n: int, programme: str = "jump_start", day: dt.date = DAY) -> pd.DataFrame:
    return pd.DataFrame(
        {"person_id": [f"P{i:05d}" for i in range(n)], "as_of": [day] * n, "programme": programme}
    )


def groups(n: int) -> pd.DataFrame:
    eth = ["black" if i % 4 == 0 else "white" for i in range(n)]
    frame = pd.DataFrame({"person_id": [f"P{i:05d}" for i in range(n)], "ethnicity": eth})
    return frame.set_index("person_id")


def run(frame: pd.DataFrame, config: ServiceConfig, **kw: object) -> pd.DataFrame:
    left = kw.pop("left_area", {})
    assert isinstance(left, dict)
    return decide(
        frame,
        kw.pop("groups", groups(len(frame))),  # type: ignore[arg-type]
        config,
        load_programmes(),
        extract_date=kw.pop("extract_date", EXTRACT),  # type: ignore[arg-type]
        left_area=left,
    )


def test_decisions_follow_the_rates_with_reasons_the_store_accepts() -> None:
    out = run(offers(4000), ServiceConfig(agreement=0.6, undecided=0.1, disagree_share=0.25))
    decided = out[out["decision"].notna()]
    assert len(decided) / len(out) == pytest.approx(0.9, abs=0.02)
    referred = (decided["decision"] == "referred").mean()
    assert referred == pytest.approx(0.6, abs=0.03)
    others = decided[decided["decision"] != "referred"]
    assert (others["decision"] == "disagree").mean() == pytest.approx(0.25, abs=0.04)
    for kind, codes in REASONS.items():
        assert set(codes) <= set(REASON_CODES[kind])  # type: ignore[index]
        used = set(decided.loc[decided["decision"] == kind, "reason_code"])
        assert used == set(codes)
    assert decided["text"].str.len().gt(0).all() and out["username"].eq("sim-jump-start").all()
    days = [(t.date() - DAY).days for t in decided["decided_at"]]
    assert min(days) == 0 and max(days) == 14
    hours = {t.hour for t in decided["decided_at"]}
    assert hours <= set(range(9, 17)) and all(t.tzinfo is not None for t in decided["decided_at"])


def test_agreement_can_depend_on_the_young_persons_group() -> None:
    config = ServiceConfig(
        agreement=0.8, undecided=0.0, agreement_by_group={"ethnicity": {"black": 0.3}}
    )
    frame = offers(4000)
    out = run(frame, config)
    black = groups(4000)["ethnicity"].to_numpy() == "black"
    referred = (out["decision"] == "referred").to_numpy()
    assert referred[black].mean() == pytest.approx(0.3, abs=0.04)
    assert referred[~black].mean() == pytest.approx(0.8, abs=0.03)
    # a young person whose group is not known takes the default rate
    unknown = run(frame, config, groups=pd.DataFrame(index=pd.Index([], name="person_id")))
    assert (unknown["decision"] == "referred").mean() == pytest.approx(0.8, abs=0.03)


def test_each_offers_draws_are_its_own_and_the_seeds() -> None:
    config = ServiceConfig(seed=3)
    frame = offers(300)
    whole = run(frame, config)
    part = run(frame.iloc[150:].reset_index(drop=True), config)
    columns = ["decision", "reason_code", "decided_at", "took_up", "support_start", "support_end"]
    pd.testing.assert_frame_equal(
        whole.iloc[150:][columns].reset_index(drop=True), part[columns], check_dtype=False
    )
    other = run(frame, ServiceConfig(seed=4))
    assert (other["decision"] != whole["decision"]).sum() > 30


def test_support_follows_take_up_the_programmes_durations_and_leaving() -> None:
    config = ServiceConfig(agreement=1.0, undecided=0.0, take_up=0.5)
    programmes = ["jump_start", "early_intervention", "school_inclusion", "admit_ae"]
    frame = pd.concat([offers(1000, p) for p in programmes], ignore_index=True)
    frame["person_id"] = [f"{p}-{i}" for i, p in enumerate(frame["person_id"])]
    left = {frame.at[0, "person_id"]: DAY + dt.timedelta(days=1)}
    out = run(frame, config, left_area=left, groups=pd.DataFrame(index=pd.Index([], name="p")))
    assert out["took_up"].mean() == pytest.approx(0.5, abs=0.03)
    started = out[out["support_start"].notna()]
    first_took = bool(out["took_up"].iloc[0])  # the first young person left the next day
    assert started["took_up"].all() and len(started) == out["took_up"].sum() - first_took
    lag = np.array(
        [
            (s - t.date()).days
            for s, t in zip(started["support_start"], started["decided_at"], strict=True)
        ]
    )
    assert lag.min() == 1 and lag.max() == 14
    length = {
        p: [(e - s).days + 1 for s, e in zip(g["support_start"], g["support_end"], strict=True)]
        for p, g in started.groupby("programme")
    }
    # the county's own durations: Jump Start 120-240 days, Early Intervention 60-180, School
    # Inclusion 60-120, Admit A&E 28-56
    assert (min(length["jump_start"]), max(length["jump_start"])) == (120, 240)
    assert (min(length["admit_ae"]), max(length["admit_ae"])) == (28, 56)
    known = [
        (k - s).days
        for s, k in zip(started["support_start"], started["support_known"], strict=True)
    ]
    assert min(known) == 0 and max(known) == 14


def test_what_happens_after_the_extract_date_has_not_happened() -> None:
    config = ServiceConfig(agreement=1.0, undecided=0.0, take_up=1.0)
    out = run(offers(400, day=EXTRACT - dt.timedelta(days=7)), config)
    late = out["decided_at"].isna().to_numpy()
    assert late.any() and (~late).any()
    assert out.loc[late, "decision"].isna().all() and out.loc[late, "support_start"].isna().all()
    started = out["support_start"].dropna()
    assert len(started) and max(started) <= EXTRACT  # a later start has not happened either
    assert len(started) < (~late).sum()


def test_options_that_cannot_be_used_are_all_named() -> None:
    config = ServiceConfig(
        agreement=1.2,
        take_up=-0.1,
        agreement_by_group={"postcode": {"x": 0.5}, "sex": {"male": 2.0}},
        decision_days=120,
        durations={"jump_start": (30, 10)},
    )
    problems = config.problems(valid_days=90)
    assert len(problems) == 6
    assert any("postcode" in p and "audit-only" in p for p in problems)
    assert any("before the flag expires" in p for p in problems)
    assert parse_group_rate("sex=male:0.25") == ("sex", "male", 0.25)
    for bad in ("sex", "sex=male", "sex=male:lots"):
        with pytest.raises(ValueError, match=r"ATTRIBUTE=GROUP:RATE|not a number"):
            parse_group_rate(bad)
