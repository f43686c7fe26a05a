"""Aggregates (counts only, never a person): ``/api/v1/aggregates`` and the ``/aggregates``
page, for data scientists, the ethics panel and administrators.

A cell (programme x band, programme x decision, model version) of fewer than
``VRU_AGGREGATE_MIN_PEOPLE`` distinct young people is withheld: one young person flagged ten
times is one person, not ten. When exactly one cell of a programme is withheld, its smallest
shown cell is withheld too (secondary suppression), and likewise when a single cell is withheld
in the whole table (the totals are shown), so a withheld count cannot be recovered from the
rest.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from vru_risk.flags.flag import BANDS
from vru_risk.serving.deps import Db, State, api_roles, page_roles
from vru_risk.serving.routes.common import ERRORS, render, service_today
from vru_risk.serving.schemas import AggregatesOut
from vru_risk.store.flag_store import Aggregates, aggregates
from vru_risk.store.users import Role, UserInfo

router = APIRouter(tags=["aggregates"])

ROLES: tuple[Role, ...] = ("data_scientist", "ethics_panel", "admin")
DECISION_WORDS = {"referred": "referred", "no_action": "no action", "disagree": "disagreed"}


def withhold_small(
    counts: Mapping[str, Mapping[str, int]],
    people: Mapping[str, Mapping[str, int]],
    min_people: int,
) -> tuple[dict[str, dict[str, int]], list[tuple[str, str]]]:
    """The counts whose cells hold at least ``min_people`` distinct people, and the withheld
    cells (primary, then one secondary per programme with exactly one withheld, and one more
    when a single cell is withheld in the whole table, whose total is shown).

    >>> withhold_small({"a": {"x": 9, "y": 3, "z": 7}}, {"a": {"x": 8, "y": 1, "z": 6}}, 5)
    ({'a': {'x': 9}}, [('a', 'y'), ('a', 'z')])
    """
    shown: dict[str, dict[str, int]] = {}
    withheld: list[tuple[str, str]] = []
    for outer, cells in counts.items():
        small = {k for k in cells if people.get(outer, {}).get(k, 0) < min_people}
        kept = {k: n for k, n in cells.items() if k not in small}
        if len(small) == 1 and kept:
            smallest = min(kept, key=lambda k: (people.get(outer, {}).get(k, 0), kept[k], k))
            small.add(smallest)
            del kept[smallest]
        withheld.extend((outer, k) for k in cells if k in small)
        if kept:
            shown[outer] = kept
    if len(withheld) == 1 and shown:  # a lone cell would be the total minus the rest
        outer, key = min(
            ((o, k) for o, cells in shown.items() for k in cells),
            key=lambda c: (people.get(c[0], {}).get(c[1], 0), shown[c[0]][c[1]], c),
        )
        del shown[outer][key]
        if not shown[outer]:
            del shown[outer]
        withheld.append((outer, key))
    return shown, withheld


def counts(db: Db, min_people: int) -> AggregatesOut:
    """The aggregates with small cells withheld."""
    return withheld_counts(aggregates(db, today=service_today(db)), min_people)


def withheld_counts(found: Aggregates, min_people: int) -> AggregatesOut:
    """``found`` with cells of fewer than ``min_people`` distinct people withheld."""
    bands, band_gaps = withhold_small(
        found.flags_by_programme_band, found.people_by_programme_band, min_people
    )
    kinds, kind_gaps = withhold_small(
        found.decisions_by_programme_kind, found.people_by_programme_kind, min_people
    )
    versions, version_gaps = withhold_small(
        {"all": {str(k): v for k, v in found.flags_by_model_version.items()}},
        {"all": {str(k): v for k, v in found.people_by_model_version.items()}},
        min_people,
    )
    enough = found.total_people >= min_people
    return AggregatesOut(
        today=found.today,
        total_flags=found.total_flags if enough else 0,
        total_people=found.total_people if enough else 0,
        total_offers=sum(
            n for cells in found.flags_by_programme_band.values() for n in cells.values()
        )
        if enough
        else 0,
        min_people=min_people,
        flags_by_programme_band=bands,
        decisions_by_programme_kind=kinds,
        flags_by_model_version=versions.get("all", {}),
        withheld=[
            *(f"flags: {p} / {b}" for p, b in band_gaps),
            *(f"decisions: {p} / {k}" for p, k in kind_gaps),
            *(f"flags: model version {v}" for _, v in version_gaps),
            *([] if enough else ["totals"]),
        ],
    )


@router.get(
    "/api/v1/aggregates",
    response_model=AggregatesOut,
    responses=ERRORS,
    summary="Counts of flags and decisions (no individual data)",
)
def aggregates_api(
    db: Db, state: State, _user: Annotated[UserInfo, Depends(api_roles(*ROLES))]
) -> AggregatesOut:
    """Flags by programme and band, decisions by programme and kind, flags by model version;
    cells of fewer than `min_people` distinct young people are withheld (listed in
    `withheld`)."""
    return counts(db, state.settings.aggregate_min_people)


@router.get("/aggregates", include_in_schema=False)
def aggregates_page(
    request: Request,
    state: State,
    db: Db,
    _user: Annotated[UserInfo, Depends(page_roles(*ROLES))],
) -> Response:
    min_people = state.settings.aggregate_min_people
    raw = aggregates(db, today=service_today(db))
    found = withheld_counts(raw, min_people)
    names = {p.id: p.name for p in state.programmes.programmes}
    known = [label for _, label in BANDS]
    seen = {b for bands in raw.flags_by_programme_band.values() for b in bands}
    order = [*known, *sorted(seen - set(known))]  # highest first; any other label after
    return render(
        request,
        "aggregates.html.j2",
        {
            "title": "Aggregates",
            "nav": "aggregates",
            "agg": found,
            "all_bands": raw.flags_by_programme_band,
            "all_kinds": raw.decisions_by_programme_kind,
            "all_versions": raw.flags_by_model_version,
            "names": names,
            "band_order": order,
            "decision_words": DECISION_WORDS,
            "min_people": min_people,
        },
    )
