"""The monitoring run's group checks, on small hand-made frames: a group with few young people
who went on to the outcome, none of them offered a place, is withheld rather than judged (its
interval would collapse to 0 to 0 and recommend suspending a healthy model); with enough of
them, the same shortfall is judged."""

from __future__ import annotations

import numpy as np
import pandas as pd

from vru_risk.fairness_reports.gate import FairnessGateConfig
from vru_risk.jobs.monitor_groups import group_section
from vru_risk.monitoring.criteria import MonitoringCriteria


def matured(missed_people: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """200 positive young people of group 'a' (a third offered a place) and ``missed_people``
    of group 'b', none offered."""
    a = [f"A{i:04d}" for i in range(200)]
    b = [f"B{i:04d}" for i in range(missed_people)]
    frame = pd.DataFrame(
        {
            "person_id": a + b,
            "offered": [i % 3 == 0 for i in range(200)] + [False] * missed_people,
            "supported": False,
            "label": 1.0,
        }
    )
    people = pd.DataFrame({"person_id": a + b, "sen": ["none"] * 200 + ["ehcp"] * missed_people})
    return frame, people


def test_a_group_with_few_positives_none_offered_is_withheld_not_judged() -> None:
    criteria = MonitoringCriteria().resolved(FairnessGateConfig())
    few, people = matured(12)
    section, findings = group_section(None, few, people, criteria)
    (sen,) = [a for a in section["recall"] if a["attribute"] == "sen"]
    ehcp = next(g for g in sen["groups"] if g["group"] == "ehcp")
    assert ehcp["suppressed"] and ehcp["rate"] is None
    assert findings == []
    many, people = matured(60)
    _, findings = group_section(None, many, people, criteria)
    assert {f.subject for f in findings} == {"sen=ehcp"}
    assert np.all([f.level == "suspension_recommended" for f in findings])
