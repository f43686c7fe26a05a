"""What the flags tests build, shared with the serving and browser tests: moments known on a
day with realistic feature values, the packaged programmes opened to every score."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from tests.factories import frame_for
from vru_risk.features.moments import Moments
from vru_risk.flags.flag import ModelRef
from vru_risk.flags.programmes import Programmes, load_programmes
from vru_risk.models.risk_model import RiskModel

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
