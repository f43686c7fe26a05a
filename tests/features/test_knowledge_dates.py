"""Property: features as of D depend only on rows known on or before D.

Hypothesis draws rows with event dates on or before D and known dates after D (and every other
mix). Rows known after D must never change any feature as of D; a row known on or before D must
change exactly the features that count it.
"""

from __future__ import annotations

import math
import tempfile
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.features.world import World
from vru_risk.data.contract import AE_REASON, EXCLUSION_REASON, POLICE_OFFENCE, POLICE_ROLE
from vru_risk.features.build import LABEL_PREFIX

D = date(2024, 6, 3)

_offset = st.integers(min_value=-500, max_value=0)  # event date relative to D
_lag = st.integers(min_value=0, max_value=120)


@st.composite
def rows(draw: st.DrawFn) -> tuple[str, date, date, dict[str, str]]:
    table = draw(st.sampled_from(["police_contacts", "ae_visits", "exclusions", "attendance"]))
    when = D + timedelta(days=draw(_offset))
    known = when + timedelta(days=draw(_lag))
    cols: dict[str, str]
    if table == "police_contacts":
        cols = {
            "role": draw(st.sampled_from([r for r in POLICE_ROLE if r != "stop_search"])),
            "offence": draw(st.sampled_from(POLICE_OFFENCE)),
        }
    elif table == "ae_visits":
        cols = {
            "reason": draw(st.sampled_from(AE_REASON)),
            "time": draw(st.sampled_from(["02:00:00", "14:00:00", "23:30:00"])),
            "admitted": draw(st.sampled_from(["true", "false"])),
        }
    elif table == "exclusions":
        cols = {"reason": draw(st.sampled_from(EXCLUSION_REASON)), "days": "2"}
    else:
        cols = {
            "status": draw(
                st.sampled_from(["present", "late", "unauthorised_absence", "authorised_absence"])
            ),
            "session": draw(st.sampled_from(["am", "pm"])),
        }
    return table, when, known, cols


def features_as_of(events: list[tuple[str, date, date, dict[str, str]]]) -> pd.Series:
    world = World(extract=date(2026, 8, 31)).person("A", birth="2009-05-01")
    # every source present (a missing source would make its features NaN regardless)
    world.event("police_contacts", "A", "2019-01-01", role="witness")
    world.event("ae_visits", "A", "2019-01-01")
    world.event("exclusions", "A", "2019-01-01")
    world.event("attendance", "A", "2019-01-01")
    seen: set[tuple[str, object, ...]] = set()
    for table, when, known, cols in events:
        key = (
            table,
            when,
            cols.get("session"),
            cols.get("role"),
            cols.get("offence"),
            cols.get("time"),
        )
        if key in seen:  # keep the contract's keys unique
            continue
        seen.add(key)
        world.event(table, "A", when, known, **cols)
    with tempfile.TemporaryDirectory() as tmp:
        frame = world.build(Path(tmp), snapshot=(D.isoformat(),), triggers=False)
    row = frame.loc[("A", D)]
    return row.drop([c for c in row.index if c.startswith("label_") or c == LABEL_PREFIX])


def same(a: pd.Series, b: pd.Series) -> bool:
    for name in a.index:
        x, y = a[name], b[name]
        if isinstance(x, float) and isinstance(y, float):
            if not ((math.isnan(x) and math.isnan(y)) or abs(x - y) < 1e-12):
                return False
        elif x != y:
            return False
    return True


_SHARED = settings(
    max_examples=15, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)


@_SHARED
@given(base=st.lists(rows(), max_size=8), late=st.lists(rows(), min_size=1, max_size=6))
def test_rows_known_after_d_never_change_features_as_of_d(
    base: list[tuple[str, date, date, dict[str, str]]],
    late: list[tuple[str, date, date, dict[str, str]]],
) -> None:
    visible = [r for r in base if r[2] <= D]
    # the same kinds of rows, but known after D (event date on or before D)
    unknown = [(t, w, max(k, D + timedelta(days=1)), c) for t, w, k, c in late]
    assert same(features_as_of(visible), features_as_of(visible + unknown))


@_SHARED
@given(
    base=st.lists(rows(), max_size=6),
    days_before=st.integers(min_value=0, max_value=89),
    lag=st.integers(min_value=0, max_value=89),
)
def test_a_row_known_by_d_changes_the_features_that_count_it(
    base: list[tuple[str, date, date, dict[str, str]]], days_before: int, lag: int
) -> None:
    visible = [
        r
        for r in base
        if r[2] <= D and not (r[0] == "police_contacts" and r[3]["role"] == "suspect")
    ]
    when = D - timedelta(days=days_before)
    known = min(when + timedelta(days=lag), D)
    row = ("police_contacts", when, known, {"role": "suspect", "offence": "robbery"})
    before, after = features_as_of(visible), features_as_of([*visible, row])
    for name in (
        "pol_suspect_90d",
        "pol_suspect_365d",
        "pol_suspect_all",
        "pol_suspect_violent_365d",
    ):
        assert after[name] == before[name] + 1, name
    assert after["pol_days_since_last"] <= days_before
    for name in before.index:
        if name.startswith(("att_", "excl_", "ae_", "age")):
            assert same(before[[name]], after[[name]]), name
