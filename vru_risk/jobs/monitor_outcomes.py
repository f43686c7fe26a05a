"""The moments a version scored since its training end whose outcomes have matured by an as-of
date, with their recorded outcome, for the monitoring run's outcomes and calibration section.

A moment on day ``d`` has matured by ``as_of`` when ``d + horizon + label lag <= as_of``
(:func:`~vru_risk.monitoring.outcomes.maturity_for`, the build config's label horizon and the
longest reporting lag of the label sources: the rule the labels' censoring uses). The moments and
their outcome come from the data folder's feature table (``VRU_HOME/features/``, built or reused
as ``vru monitor reference`` does), so the outcome is the one training defines
(:mod:`vru_risk.features.labels`). The table counts outcome records whatever their known date;
for matured months every record dated inside the window was due by ``as_of`` (window end plus
the longest reporting lag), so a record reported later than its source's stated lag is the only
difference from an extract cut at ``as_of``. :data:`OUTCOME_NOTE` says so in the report.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd

from vru_risk.data.load import DataFolder
from vru_risk.data.sql import quote_literal
from vru_risk.features.build import LABEL_PREFIX
from vru_risk.features.config import FeatureBuildConfig
from vru_risk.features.context import MomentContext, moment_context
from vru_risk.flags.programmes import Programmes
from vru_risk.flags.replay import replay_window
from vru_risk.jobs.common import engine_options
from vru_risk.jobs.monitor_data import connection_with_sources, model_feature_table
from vru_risk.models.risk_model import RiskModel
from vru_risk.monitoring.outcomes import Maturity, maturity_for
from vru_risk.settings import Settings

OUTCOME_NOTE: Final = (
    "Outcomes are counted from the data folder's records for months whose outcome window plus "
    "the longest reporting lag ended on or before the as-of date; a record reported later than "
    "its source's stated lag would be counted although it was not yet known then."
)


#: the columns of :func:`matured_moments`'s frame
MOMENT_COLUMNS: Final = ("month", "as_of", "probability", "percentile", "label", "person_id")


def months_from(start: date, end: date) -> list[str]:
    """``YYYY-MM`` of every month from ``start``'s to ``end``'s (empty when ``end < start``).

    >>> months_from(date(2025, 11, 15), date(2026, 1, 2))
    ['2025-11', '2025-12', '2026-01']
    """
    out = []
    index, last = start.year * 12 + start.month - 1, end.year * 12 + end.month - 1
    while index <= last:
        out.append(f"{index // 12:04d}-{index % 12 + 1:02d}")
        index += 1
    return out


def score(model: RiskModel, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The model's probability and percentile for each row of ``frame`` (its inputs' columns)."""
    if frame.empty:
        return np.zeros(0), np.zeros(0)
    probability = model.predict(frame[list(model.spec.names)].astype("float64"))
    return probability, model.percentile(probability)


def matured_moments(
    settings: Settings,
    folder: DataFolder,
    model: RiskModel,
    config: FeatureBuildConfig,
    *,
    since: date,
    as_of: date,
    until: date | None = None,
    extra: Sequence[str] = (),
) -> tuple[pd.DataFrame, Maturity]:
    """The scored moments from ``since`` (the training end) of the months matured by ``as_of``:
    :data:`MOMENT_COLUMNS` (``label`` NaN when censored), then the feature table's ``extra``
    columns as stored; and the maturity of every month from ``since`` to ``as_of`` (to
    ``until``'s month when given: the moments then stop at ``until``). Nothing is built while
    no month has matured."""
    last_day = as_of if until is None else min(until, as_of)
    months = maturity_for(months_from(since, last_day), as_of, config)
    empty = pd.DataFrame({c: [] for c in (*MOMENT_COLUMNS, *extra)})
    if not months.matured:
        return empty, months
    spec = model.spec
    table = model_feature_table(settings, folder, spec, config)
    last = months.matured[-1]
    year, mon = (int(x) for x in last.split("-"))
    end = date(year + mon // 12, mon % 12 + 1, 1)
    if until is not None:
        end = min(end, until + timedelta(days=1))
    stored = [c for c in extra if c not in ("person_id", "as_of", *spec.names, LABEL_PREFIX)]
    frame = pd.read_parquet(
        Path(table),
        columns=["person_id", "as_of", *spec.names, LABEL_PREFIX, *stored],
        filters=[("as_of", ">=", since), ("as_of", "<", end)],
    )
    if frame.empty:
        return empty, months
    probability, percentile = score(model, frame)
    day = pd.to_datetime(frame["as_of"])
    return (
        pd.DataFrame(
            {
                "month": day.dt.strftime("%Y-%m").to_numpy(),
                "as_of": day.dt.date.to_numpy(),
                "probability": probability,
                "percentile": percentile,
                "label": frame[LABEL_PREFIX].astype("float64").to_numpy(),
                "person_id": frame["person_id"].astype(str).to_numpy(),
                **{c: frame[c].to_numpy() for c in extra},
            }
        ),
        months,
    )


def replayed(
    settings: Settings,
    folder: DataFolder,
    model: RiskModel,
    config: FeatureBuildConfig,
    moments: pd.DataFrame,
    programmes: Programmes,
    *,
    as_of: date,
    context: MomentContext | None = None,
) -> pd.DataFrame:
    """``moments`` (of :func:`matured_moments`) with ``offered`` (the service's allocation
    replayed over them, day by day, from a fresh start), ``supported`` (an intervention known by
    ``as_of`` under way for the person between the moment and the end of a flag's validity) and
    ``above_floor`` (at or above the lowest programme floor). ``context``: the moments' context
    over a range that holds theirs (read from the folder when not given)."""
    out = moments.reset_index(drop=True).copy()
    if out.empty:
        return out.assign(offered=[], supported=[], above_floor=[])
    first, last = min(out["as_of"]), max(out["as_of"])
    if context is None:
        context = moment_context(
            folder, model.spec, config, first, last, **engine_options(settings)
        )
    else:
        context = context.between(first, last)
    rows = out[["person_id", "as_of", "probability", "percentile"]]
    result = replay_window(rows, context, programmes, seed=0, valid_days=settings.flag_visible_days)
    out["offered"] = result.offered
    floor = min(p.min_percentile for p in programmes.programmes)
    out["above_floor"] = out["percentile"].to_numpy() >= floor
    out["supported"] = False
    con = connection_with_sources(folder, model.spec.reporting_lag_days, settings)
    try:
        if "interventions" in folder.files:
            keyed = pd.DataFrame(
                {"person_id": out["person_id"], "as_of": pd.to_datetime(out["as_of"])}
            )
            con.register("matured_moments", keyed)
            found = con.execute(
                "SELECT DISTINCT m.person_id, m.as_of FROM matured_moments m "
                "JOIN src_interventions i ON CAST(i.person_id AS VARCHAR) = m.person_id "
                f"AND i.known_date <= DATE {quote_literal(as_of.isoformat())} "
                f"AND i.start_date <= CAST(m.as_of + INTERVAL {settings.flag_visible_days} DAY "
                "AS DATE) AND (i.end_date IS NULL OR i.end_date >= m.as_of)"
            ).df()
            days = pd.to_datetime(found["as_of"]).dt.date
            keys = set(zip(found["person_id"].astype(str), days, strict=True))
            out["supported"] = [
                (p, d) in keys for p, d in zip(out["person_id"], out["as_of"], strict=True)
            ]
    finally:
        con.close()
    return out
