"""Decision metrics from small hand-built frames: the current decision after corrections and as
of the run, offers opened before they expired, cells and reason codes withheld by distinct
people (one person with many rows is one person), agreement out of bounds per programme, and
referral rates by group against the reference group's."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from tests.monitoring.test_checks import make_report
from tests.monitoring.test_feedback import CRITERIA as FEEDBACK_CRITERIA
from tests.monitoring.test_feedback import service as feedback_service
from vru_risk.fairness_reports.groups import default_reference
from vru_risk.features.catalog import FeatureSpec
from vru_risk.models.gate_config import FairnessGateConfig
from vru_risk.monitoring.criteria import MonitoringCriteria
from vru_risk.monitoring.decisions import (
    DECISION_COLUMNS,
    OFFER_COLUMNS,
    VIEW_COLUMNS,
    current_decisions,
    decision_section,
    offer_outcomes,
)
from vru_risk.monitoring.feedback import feedback_section
from vru_risk.monitoring.report import render_html

AS_OF = date(2026, 6, 30)
CRITERIA = MonitoringCriteria().resolved(FairnessGateConfig())
NAMES = {"jump": "Jump Start", "early": "Early Intervention", "incl": "School Inclusion"}


def at(day: int, hour: int = 10, month: int = 6) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def reference_of(_name: str, counts: pd.Series) -> str:
    return default_reference(counts)


def frame(columns: tuple[str, ...], rows: Sequence[tuple[object, ...]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(columns))


def test_the_current_decision_is_the_latest_uncorrected_one_recorded_by_the_as_of_day() -> None:
    decisions = frame(
        DECISION_COLUMNS,
        [
            (1, "f1", "jump", "no_action", "moved_away", at(2), None),
            (2, "f1", "jump", "referred", "practitioner_concern", at(3), 1),  # corrects 1
            (3, "f2", "jump", "disagree", "information_wrong", at(5), None),
            (4, "f2", "jump", "referred", "practitioner_concern", at(1, 9, 7), 3),  # after as_of
            (5, "f3", "jump", "no_action", "support_declined", at(4), None),
            (6, "f3", "jump", "referred", "practitioner_concern", at(6), None),  # a colleague
            (7, "f4", "jump", "referred", "practitioner_concern", at(1, 0, 7), None),  # July
            (8, "f1", "early", "disagree", "information_wrong", at(7), None),
        ],
    )
    current = current_decisions(decisions, as_of=AS_OF)
    found = {(r.flag_id, r.programme_id): r for r in current.itertuples()}
    assert {k: r.decision for k, r in found.items()} == {
        ("f1", "early"): "disagree",
        ("f1", "jump"): "referred",
        ("f2", "jump"): "disagree",  # its correction came after the as-of day
        ("f3", "jump"): "referred",
    }
    assert found[("f1", "jump")].reason_code == "practitioner_concern"
    assert found[("f1", "jump")].first_at == pd.Timestamp(at(2))  # corrections keep the clock


def test_an_offer_is_opened_by_its_own_programme_before_expiry_and_by_the_as_of_day() -> None:
    june1, june10 = date(2026, 6, 1), date(2026, 6, 10)
    offers = frame(
        OFFER_COLUMNS,
        [
            ("f1", "jump", "P1", june1, date(2026, 8, 1), "highest 1%"),
            ("f1", "early", "P1", june1, date(2026, 8, 1), "highest 1%"),
            ("f2", "jump", "P2", june1, june10, "highest 5%"),
            ("f3", "jump", "P3", june1, june10, "highest 5%"),
        ],
    )
    views = frame(
        VIEW_COLUMNS,
        [
            ("f1", "jump", at(1, 12)),
            ("f1", "early", at(1, 8, 7)),  # after the as-of day
            ("f2", "early", at(3)),  # another programme's view (not offered to it)
            ("f2", "jump", at(11)),  # after its expiry day
            ("f3", "jump", at(10, 23)),  # on its expiry day
        ],
    )
    decisions = frame(
        DECISION_COLUMNS,
        [
            (1, "f1", "jump", "no_action", "moved_away", at(2, 12), None),
            (2, "f1", "jump", "referred", "practitioner_concern", at(9), 1),
        ],
    )
    out = offer_outcomes(offers, decisions, views, as_of=AS_OF)
    assert out["opened"].tolist() == [True, False, False, True]
    assert out["decision"].tolist() == ["referred", "undecided", "undecided", "undecided"]
    assert out["days"].tolist()[0] == pytest.approx(1.5) and np.isnan(out["days"].tolist()[1])


def world() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Offers, decisions, views and people of four programmes (see the test below)."""
    offers, decisions, views, people = [], [], [], []
    day = date(2026, 6, 10)
    n = 0

    def offer(person: str, programme: str, kind: str | None, reason: str = "") -> None:
        nonlocal n
        n += 1
        flag = f"flag{n:05d}"
        band = "highest 1%" if n % 4 == 0 else "highest 5%"
        offers.append((flag, programme, person, day, day + timedelta(days=60), band))
        views.append((flag, programme, at(11)))
        if kind is not None:
            decisions.append((n, flag, programme, kind, reason, at(10 + n % 5, 12), None))

    for i in range(40):  # 40 people: 39 referred, 1 no action (rubber-stamping?)
        person = f"P-jump-{i:02d}"
        people.append((person, "female" if i % 2 else "male"))
        offer(person, "jump", "referred" if i else "no_action", "practitioner_concern")
    decisions[0] = (*decisions[0][:4], "moved_away", *decisions[0][5:])
    for i in range(20):  # 20 people: 10 no action, 10 undecided
        person = f"P-early-{i:02d}"
        people.append((person, "female" if i % 2 else "male"))
        offer(person, "early", "no_action" if i < 10 else None, "support_declined")
    for i in range(25):  # 25 people: 5 decided
        person = f"P-incl-{i:02d}"
        people.append((person, "female" if i % 2 else "male"))
        offer(person, "incl", "referred" if i < 5 else None, "practitioner_concern")
    people.append(("P-solo", "female"))
    for _ in range(40):  # ONE young person with 40 offers of a programme of their own
        offer("P-solo", "solo", "disagree", "information_wrong")
    return (
        frame(OFFER_COLUMNS, offers),
        frame(DECISION_COLUMNS, decisions),
        frame(VIEW_COLUMNS, views),
        pd.DataFrame(people, columns=["person_id", "sex"]),
    )


def test_cells_and_reasons_are_withheld_by_distinct_people_and_agreement_is_judged() -> None:
    offers, decisions, views, people = world()
    outcomes = offer_outcomes(offers, decisions, views, as_of=AS_OF)
    section, findings = decision_section(
        outcomes,
        people,
        attributes=[("sex",)],
        reference_of=reference_of,
        criteria=CRITERIA,
        programme_names=NAMES,
    )
    cells = {c["label"]: c for c in section["by_programme"]}
    # one person with 40 offers is one person: withheld; the next smallest (early, 20 people)
    # is withheld too, so that neither follows from the total
    assert cells["solo"]["suppressed"] and cells["early"]["suppressed"]
    assert all(
        v is None for k, v in cells["solo"].items() if k not in ("label", "suppressed", "name")
    )
    jump = cells["jump"]
    assert (jump["offered"], jump["people"], jump["decided"]) == (40, "10 to 49", 40)
    assert jump["referred"] == pytest.approx(0.975) and jump["opened"] == 1.0
    assert jump["agreement_low"] <= jump["agreement"] <= jump["agreement_high"]
    assert jump["days_median"] is not None and jump["days_q1"] <= jump["days_q3"]
    incl = cells["incl"]  # shown, but 5 decided young people are too few for times to decide
    assert incl["offered"] == 25 and incl["undecided"] == 0.8 and incl["days_median"] is None
    overall = section["overall"]
    assert overall["offered"] == 125 and overall["decided"] == 95
    assert {c["label"] for c in section["by_band"]} == {"highest 1%", "highest 5%"}
    reasons = {(r["decision"], r["reason_code"]): r for r in section["reasons"]}
    # 40 decisions of one young person: withheld
    assert reasons[("disagree", "information_wrong")] == {
        "decision": "disagree",
        "reason_code": "information_wrong",
        "suppressed": True,
        "count": None,
    }
    assert reasons[("referred", "practitioner_concern")]["count"] == 44
    # "moved away" (one person) is withheld, and so is the other no-action reason, which would
    # otherwise give it away from the no-action total
    assert reasons[("no_action", "moved_away")]["suppressed"]
    assert reasons[("no_action", "support_declined")]["suppressed"]
    (finding,) = findings  # agreement, per programme: only Jump Start has 30 decisions
    assert finding.criterion == "agreement" and finding.subject == "Jump Start"
    assert "39 of 40" in finding.sentence and "without judgement" in finding.sentence
    assert finding.figures["low"] is not None
    text = json.dumps(section, default=str)
    assert "P-" not in text and "flag0" not in text  # no person, no flag


def test_a_group_referred_less_often_than_the_reference_group_asks_for_review() -> None:
    rng = np.random.default_rng(4)
    rows, people = [], []
    for group, size, referred in (("white", 100, 0.6), ("black", 40, 0.1), ("asian", 15, 0.0)):
        for i in range(size):
            person = f"P-{group}-{i}"
            people.append((person, group))
            for k in range(2):  # two offers each: people, not rows, are resampled
                kind = "referred" if rng.random() < referred else "no_action"
                rows.append((f"{person}/{k}", "jump", person, kind))
    offers = frame(
        OFFER_COLUMNS,
        [
            (f, p, person, date(2026, 6, 10), date(2026, 8, 1), "highest 5%")
            for f, p, person, _ in rows
        ],
    )
    decisions = frame(
        DECISION_COLUMNS,
        [(i, f, p, kind, "r", at(12), None) for i, (f, p, _, kind) in enumerate(rows)],
    )
    outcomes = offer_outcomes(offers, decisions, frame(VIEW_COLUMNS, []), as_of=AS_OF)
    section, findings = decision_section(
        outcomes,
        pd.DataFrame(people, columns=["person_id", "ethnicity"]),
        attributes=[("ethnicity",)],
        reference_of=reference_of,
        criteria=CRITERIA,
        programme_names=NAMES,
    )
    (attribute,) = section["by_group"]
    assert attribute["attribute"] == "ethnicity" and attribute["reference"] == "white"
    groups = {g["group"]: g for g in attribute["groups"]}
    black, asian = groups["black"], groups["asian"]
    assert black["judged"] and black["ratio_high"] < 0.8 and black["people"] == "10 to 49"
    assert not asian["judged"] and not asian["suppressed"]  # 15 < 30 young people: shown only
    assert asian["referred"] == 0.0 and groups["white"]["opened"] == 0.0
    referral = [f for f in findings if f.criterion == "referral_ratio"]
    assert [f.subject for f in referral] == ["ethnicity=black"]
    assert (
        "Group Ethnicity = Black: flagged young people were referred less often than those of White"
        in referral[0].sentence
    )
    assert not any("count" in g or "offered" in g for g in attribute["groups"])  # no counts


def test_the_report_page_explains_decisions_and_feedback_and_withholds_small_cells(
    spec: FeatureSpec,
) -> None:
    offers, decisions, views, people = world()
    outcomes = offer_outcomes(offers, decisions, views, as_of=AS_OF)
    section, _ = decision_section(
        outcomes,
        people,
        attributes=[("sex",)],
        reference_of=reference_of,
        criteria=CRITERIA,
        programme_names=NAMES,
    )
    flags, flagged = feedback_service(0.6)
    watch, _ = feedback_section(
        flags,
        flagged,
        as_of=AS_OF,
        attributes=[("sex",)],
        reference_of=reference_of,
        criteria=FEEDBACK_CRITERIA,
    )
    html = render_html(make_report(spec, {**section, "note": "Offers."}, {**watch, "note": None}))
    assert "What did practitioners do with the flags?" in html and "Jump Start" in html
    assert "withheld (fewer young people than a row may show)" in html
    assert "practitioner concern" in html and "97.5%" in html  # Jump Start's referrals
    assert "Were flagged young people of every group referred alike?" in html
    assert "feeding back into the flags" in html and "2026-01 to 2026-03" in html
    assert "P-" not in html
