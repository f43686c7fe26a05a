"""The monitoring reference: the real allocation's expected precision, suppression by distinct
people, and a canonical, hashed JSON artifact that refuses another format."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.factories import frame_for
from vru_risk.features.catalog import FeatureSpec
from vru_risk.features.context import MomentContext
from vru_risk.flags.programmes import Programmes
from vru_risk.monitoring.reference import (
    REFERENCE_FORMAT,
    MonitoringReference,
    ReferenceError,
    compute_reference,
)
from vru_risk.monitoring.sources import weekly_source_rows

MONDAY = date(2026, 3, 2)
PROGRAMMES = Programmes.model_validate(
    {
        "programmes_version": 1,
        "programmes": [
            {
                "id": "mentoring",
                "name": "Mentoring",
                "min_age": 8,
                "max_age": 18,
                "trigger_kinds": ["police_contact"],
                "capacity": 3,
                "period": "week",
                "min_percentile": 50,
                "shared_sources": ["attendance", "police_contacts"],
            }
        ],
    }
)
# person, day offset, percentile, probability, label (NaN: censored), sex
ROWS = [
    ("p1", 0, 99.0, 0.9, 1.0, "female"),
    ("p2", 0, 95.0, 0.8, 0.0, "female"),
    ("p3", 0, 80.0, 0.7, 1.0, "male"),
    ("p4", 0, 40.0, 0.1, 0.0, "male"),
    ("p5", 1, 97.0, 0.85, 1.0, "male"),  # above the floor, the week's places already used
    ("p6", 1, 60.0, 0.5, np.nan, "male"),
    ("p7", 6, 10.0, 0.05, 0.0, "female"),
]


def window(spec: FeatureSpec, extra: int = 0) -> tuple[pd.DataFrame, MomentContext]:
    # one young person with up to four moments below the floor, in the group "unknown"
    rows = [*ROWS, *(("lone", 2 + i, 5.0, 0.02, 0.0, None) for i in range(extra))]
    n = len(rows)
    x, _ = frame_for(spec, n, 11)
    days = [MONDAY + timedelta(days=d) for _, d, *_ in rows]
    people = [r[0] for r in rows]
    scored = pd.concat(
        [
            pd.DataFrame(
                {
                    "person_id": people,
                    "as_of": days,
                    "percentile": [r[2] for r in rows],
                    "probability": [r[3] for r in rows],
                    "label": [r[4] for r in rows],
                    "sex": [r[5] for r in rows],
                }
            ),
            x,
        ],
        axis=1,
    )
    context = MomentContext(
        frame=pd.DataFrame(
            {
                "person_id": scored["person_id"],
                "as_of": scored["as_of"],
                "age_completed": 14,
                "school_id": "SEC-0001",
            }
        ),
        triggers=pd.DataFrame(
            {
                "person_id": scored["person_id"],
                "as_of": scored["as_of"],
                "trigger_kind": "police_contact",
                "trigger_date": scored["as_of"],
                "source": "police_contacts",
                "detail": "suspect",
            }
        ),
        supported=pd.DataFrame(columns=["person_id", "day", "programme"]),
    )
    return scored, context


def reference(spec: FeatureSpec, extra: int = 0, **kw: Any) -> MonitoringReference:
    scored, context = window(spec, extra)
    return compute_reference(
        scored,
        context,
        PROGRAMMES,
        spec,
        label="label",
        min_people_per_cell=2,
        **kw,
    )


def test_expected_precision_is_the_real_allocations_not_a_top_k(spec: FeatureSpec) -> None:
    ref = reference(spec)
    a = ref.allocation
    # first come: p1, p2, p3 take the week's three places on Monday; p5 (97th) finds none
    assert (a.offered, a.offered_positive, a.positives) == (3, 2, 3)
    assert a.precision == pytest.approx(2 / 3) and a.recall == pytest.approx(2 / 3)
    assert (a.places, a.places_used_share) == (3, 1.0)
    assert a.offers_by_programme == {"mentoring": 3}
    assert ref.bands["highest 1%"] == pytest.approx(1 / 7)
    assert (ref.moments, ref.people) == (7, 7)


def test_group_cells_are_suppressed_by_distinct_people_not_rows(spec: FeatureSpec) -> None:
    ref = reference(spec, extra=4)  # "lone": one person, four moments, group "unknown"
    sex = {r.group: r for r in ref.groups["sex"]}
    assert sex["unknown"].suppressed and sex["unknown"].moments is None
    assert sex["female"].suppressed  # else unknown = total - female - male
    assert not sex["male"].suppressed and sex["male"].people == 4
    assert sex["male"].selection_rate == pytest.approx(1 / 4)


def test_histograms_cover_every_feature_and_the_score(spec: FeatureSpec) -> None:
    ref = reference(spec)
    assert list(ref.features) == list(spec.names)
    assert all(h.all.rows == 7 for h in ref.features.values())
    assert set(ref.features["att_rate_30d"].by_month) == {"03"}
    assert ref.score.all.rows == 7 and sum(ref.score.all.counts) == 7
    assert set(ref.source_coverage) == set(spec.sources)


def test_json_round_trip_and_hash_stability(spec: FeatureSpec) -> None:
    scored, context = window(spec)
    events = pd.DataFrame(
        {
            "source": "police_contacts",
            "person_id": scored["person_id"],
            "event_date": scored["as_of"],
            "known_date": scored["as_of"],
        }
    )
    kw = {
        "source_weeks": weekly_source_rows(events),
        "source_days": {"police_contacts": list(scored["as_of"])},
    }
    a = reference(spec, **kw)
    b = reference(spec, **kw)
    assert a.hash == b.hash and a.to_json() == b.to_json()
    back = MonitoringReference.from_json(a.to_json())
    assert back == a and back.hash == a.hash
    assert json.loads(a.to_json())["hash"] == a.hash
    assert a.sources["police_contacts"].weeks == 1  # Monday to Sunday
    # one label more changes the expected precision, hence the hash
    scored.loc[scored["person_id"] == "p2", "label"] = 1.0
    changed = compute_reference(
        scored, context, PROGRAMMES, spec, label="label", min_people_per_cell=2
    )
    assert changed.hash != reference(spec).hash


def test_another_format_or_an_edited_body_is_refused_with_what_to_do(spec: FeatureSpec) -> None:
    doc = json.loads(reference(spec).to_json())
    with pytest.raises(ReferenceError, match="recreate the version's reference"):
        MonitoringReference.from_json(json.dumps({**doc, "format": "vru-monitoring-reference-0"}))
    assert doc["format"] == REFERENCE_FORMAT
    doc["moments"] = 8
    with pytest.raises(ReferenceError, match="changed after it was written"):
        MonitoringReference.from_json(json.dumps(doc))
    with pytest.raises(ReferenceError, match="not JSON"):
        MonitoringReference.from_json("{")


def test_a_window_without_a_column_or_rows_is_refused(spec: FeatureSpec) -> None:
    scored, context = window(spec)
    with pytest.raises(ReferenceError, match="percentile"):
        compute_reference(
            scored.drop(columns=["percentile"]),
            context,
            PROGRAMMES,
            spec,
            label="label",
            min_people_per_cell=2,
        )
    with pytest.raises(ReferenceError, match="no scored moments"):
        compute_reference(
            scored.iloc[:0], context, PROGRAMMES, spec, label="label", min_people_per_cell=2
        )


def test_drift_compares_with_the_same_season_when_the_reference_holds_enough_of_it(
    spec: FeatureSpec,
) -> None:
    h = reference(spec).features["att_rate_30d"]
    assert h.season("03", min_rows=5) == h.by_month["03"]
    assert h.season("03", min_rows=500) == h.all  # too few rows in March: the whole window
    assert h.season("08", min_rows=1) == h.all  # August not in the reference window
