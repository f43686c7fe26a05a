"""The feedback watch from small hand-built frames: a flag's main reason is its largest reason
for; the share whose main reason is a police record, by month and by group (shares and bands
of people only, small cells withheld by distinct people), against the first months of service;
a material rise asks for review, a steady share does not, and a window still inside the baseline
is not judged."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pandas as pd

from vru_risk.fairness_reports.groups import default_reference
from vru_risk.models.gate_config import FairnessGateConfig
from vru_risk.monitoring.criteria import FeedbackCriteria, MonitoringCriteria
from vru_risk.monitoring.feedback import FLAG_COLUMNS, feedback_section, main_reason_source

#: the flags of the last four weeks against the baseline (June's only, in these services)
CRITERIA = MonitoringCriteria(feedback=FeedbackCriteria(window_days=28)).resolved(
    FairnessGateConfig()
)
AS_OF = date(2026, 6, 30)


def reference_of(_name: str, counts: pd.Series) -> str:
    return default_reference(counts)


def test_the_main_reason_is_the_largest_reason_for_not_the_first() -> None:
    reasons = [
        {"source": "attendance", "contribution": 0.3},
        {"source": "police_contacts", "contribution": 0.8},
        {"source": "ae_visits", "contribution": 0.5},
    ]
    assert main_reason_source(reasons) == "police_contacts"
    assert main_reason_source(reasons[:1]) == "attendance" and main_reason_source([]) is None


def service(window_share: float, *, offset: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Flags of a version from January to June 2026: 120 a month (one per young person), a
    police record the main reason of 2 in 10, June's at ``window_share``; April has 4 young
    people and one more with 30 flags."""
    rows, people = [], []
    for month in range(1, 7):
        share = window_share if month == 6 else 0.2
        size = 4 if month == 4 else 120
        for i in range(size):
            person = f"P-{month}-{i}"
            people.append((person, "female" if i % 2 else "male"))
            day = date(2026, month, 5) + timedelta(days=i % 20)
            main = "police_contacts" if (i + offset) % 10 < share * 10 else "exclusions"
            rows.append((f"f-{month}-{i}", person, day, main))
    for k in range(30):  # one young person, thirty flags in April
        rows.append((f"f-solo-{k}", "P-solo", date(2026, 4, 1 + k % 28), "police_contacts"))
    people.append(("P-solo", "female"))
    return (
        pd.DataFrame(rows, columns=list(FLAG_COLUMNS)),
        pd.DataFrame(people, columns=["person_id", "sex"]),
    )


def test_a_rise_of_police_main_reasons_over_the_first_months_asks_for_review() -> None:
    flags, people = service(0.6)
    section, findings = feedback_section(
        flags,
        people,
        as_of=AS_OF,
        attributes=[("sex",)],
        reference_of=reference_of,
        criteria=CRITERIA,
    )
    assert section["judged"] and section["why_not_judged"] is None
    assert (
        "first 3 month(s)" in section["baseline_note"]
        and "2026-01 to 2026-03" in (section["baseline_note"])
    )
    months = {m["label"]: m for m in section["by_month"]}
    assert list(months) == [f"2026-0{m}" for m in range(1, 7)]
    assert months["2026-04"]["suppressed"] and months["2026-04"]["police_share"] is None
    assert months["2026-01"]["people"] == "50 to 199"
    rise = section["rise"]
    assert rise["low"] > 0 and rise["value"] > CRITERIA.feedback.max_rise
    (finding,) = findings
    assert finding.criterion == "police_feedback" and finding.level == "review"
    assert "police-delivered support" in finding.sentence
    (sex,) = section["by_group"]["window"]
    assert sex["attribute"] == "sex" and {g["group"] for g in sex["groups"]} == {"female", "male"}
    text = json.dumps(section)
    assert "P-" not in text and "f-" not in text and '"count"' not in text


def test_a_steady_share_is_judged_without_a_finding() -> None:
    flags, people = service(0.2, offset=3)
    section, findings = feedback_section(
        flags, people, as_of=AS_OF, attributes=[("sex",)], reference_of=reference_of,
        criteria=CRITERIA,
    )  # fmt: skip
    assert section["judged"] and findings == []
    assert section["rise"]["low"] < 0 < section["rise"]["high"]


def test_nothing_is_judged_while_the_window_is_in_the_baseline_or_too_small() -> None:
    flags, people = service(0.9)
    early, none = feedback_section(
        flags, people, as_of=date(2026, 3, 31), attributes=[("sex",)], reference_of=reference_of,
        criteria=CRITERIA,
    )  # fmt: skip
    assert not early["judged"] and none == []
    assert early["why_not_judged"] == "the last 28 days are not yet after the baseline months"
    assert [m["label"] for m in early["by_month"]] == ["2026-01", "2026-02", "2026-03"]
    strict = CRITERIA.model_copy(
        update={"feedback": CRITERIA.feedback.model_copy(update={"min_flags": 200})}
    )
    small, none = feedback_section(
        flags, people, as_of=AS_OF, attributes=[], reference_of=reference_of, criteria=strict
    )
    assert not small["judged"] and none == [] and "fewer than 200 flags" in small["why_not_judged"]
    empty, none = feedback_section(
        flags.iloc[:0], people, as_of=AS_OF, attributes=[], reference_of=reference_of,
        criteria=CRITERIA,
    )  # fmt: skip
    assert empty["by_month"] == [] and none == []
