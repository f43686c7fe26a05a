"""What an evaluation reads: a version's matured moments with both outcomes, the offers and
decisions its service recorded, the support the data folder records, the young people's
groups and the fair lottery's draws, over one period.

Every figure of the evaluation comes from these frames (:mod:`vru_risk.jobs.evaluate`), and
none of them leaves this process with a person identifier in it: the report holds aggregates
only (:mod:`vru_risk.evaluation.report`).

- **Moments and outcomes.** The moments the version scored in the period whose outcome windows
  have closed (:func:`~vru_risk.jobs.monitor_outcomes.matured_moments`: the same feature table,
  labels and maturity rule as monitoring), with the primary outcome (serious-violence
  involvement within the horizon) and the harm-only outcome beside it.
- **Offers and decisions** come from the application database (what practitioners were really
  shown and recorded); an evaluation without them refuses, because reach counts real offers.
- **Support** is the data folder's ``interventions`` (its ``completed`` column where the folder
  has it), matched to programmes by their ``intervention_names``; a moment's support "taken up"
  is support of that programme starting within :data:`TAKE_UP_DAYS` after it.
- **The lottery's draws**: winners and losers from the append-only lottery record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd

from vru_risk.data.contract import AUDIT_ONLY_COLUMNS
from vru_risk.data.load import DataFolder
from vru_risk.features.build import LABEL_PREFIX
from vru_risk.features.config import FeatureBuildConfig
from vru_risk.flags.lottery import LotteryRecord, LotteryRecordError, draws_frame
from vru_risk.flags.programmes import Programme, Programmes
from vru_risk.jobs.common import JobError
from vru_risk.jobs.monitor_data import app_engine, connection_with_sources
from vru_risk.jobs.monitor_outcomes import matured_moments
from vru_risk.models.risk_model import RiskModel
from vru_risk.monitoring.outcomes import Maturity
from vru_risk.settings import Settings
from vru_risk.store import session_factory
from vru_risk.store.service_rows import decisions_of_version, offers_of_version

#: support of a programme starting this many days after a moment counts as taken up from it
#: (a flag is valid for 90 days and a programme's panel may start support weeks after a
#: referral)
TAKE_UP_DAYS: Final = 120
HARM: Final = f"{LABEL_PREFIX}_harm"
#: age bands of the reach table (completed years at the period's end)
AGE_BANDS: Final = ((8, 11, "8-11"), (12, 14, "12-14"), (15, 16, "15-16"), (17, 18, "17-18"))


@dataclass(frozen=True)
class EvaluationInputs:
    """The frames of one evaluation (see the module docstring)."""

    start: date
    end: date
    as_of: date
    maturity: Maturity
    #: person_id, as_of, month, probability, percentile, label, label_harm, trigger_kinds, the
    #: permitted features; one row per matured moment of the period
    moments: pd.DataFrame
    #: person_id, programme_id, offered_on, flag_id
    offers: pd.DataFrame
    #: person_id, programme_id, decision, offered_on (the latest decision per flag last)
    decisions: pd.DataFrame
    #: person_id, programme_id, start_date, end_date (and completed where recorded)
    support: pd.DataFrame
    #: person_id, age_band, school and the audit-only attributes
    people: pd.DataFrame
    #: programme, day, person_id, score, won, ... (one row per lottery-band member)
    draws: pd.DataFrame
    #: the version's permitted features (columns of ``moments``)
    feature_names: tuple[str, ...] = ()


def first_maturity(maturity: Maturity) -> date | None:
    """The day the first still-pending month of ``maturity`` matures (None: none pending)."""
    if not maturity.pending:
        return None
    year, month = (int(x) for x in maturity.pending[0].split("-"))
    last = date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)
    return last + timedelta(days=maturity.horizon_days + maturity.lag_days)


def not_matured(start: date, end: date, maturity: Maturity) -> JobError:
    """The refusal of a period none of whose months has matured: when the first one will."""
    when = first_maturity(maturity)
    first = maturity.pending[0] if maturity.pending else "none"
    return JobError(
        f"no outcomes have matured yet for {start} to {end}: a moment's outcome is known "
        f"{maturity.horizon_days} days (the horizon) plus {maturity.lag_days} days (the "
        f"longest reporting lag) after it, so the first month ({first}) matures on {when}; "
        "evaluate again then, with data extracted on or after that day"
    )


def matured(
    settings: Settings,
    folder: DataFolder,
    model: RiskModel,
    config: FeatureBuildConfig,
    *,
    start: date,
    end: date,
) -> tuple[pd.DataFrame, Maturity]:
    """The period's matured moments with both outcomes; refuses (naming the day the first
    month matures) when none has matured."""
    extra = (HARM, "trigger_kinds", *model.spec.names)
    frame, maturity = matured_moments(
        settings,
        folder,
        model,
        config,
        since=start,
        as_of=folder.extract_date,
        until=end,
        extra=extra,
    )
    if not maturity.matured:
        raise not_matured(start, end, maturity)
    frame = frame.rename(columns={HARM: "label_harm"})
    frame["label_harm"] = frame["label_harm"].astype("float64")
    return frame, maturity


def service_record(
    settings: Settings, version: int, start: date, end: date
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The offers of ``version``'s published flags dated ``start`` to ``end`` (withdrawn ones
    too: those places were offered) and the decisions on them, from the application database."""
    engine = app_engine(settings)
    if engine is None:
        raise JobError(
            "there is no application database: an evaluation counts the offers practitioners "
            "were shown and what they recorded; set VRU_DATABASE_URL to the service's database"
        )
    try:
        with session_factory(engine)() as session:
            offers = offers_of_version(session, version, start, end, withdrawn=True)
            decisions = decisions_of_version(session, version, start, end)
    finally:
        engine.dispose()
    offer_frame = pd.DataFrame(
        {
            "flag_id": [o.flag_id for o in offers],
            "programme_id": [o.programme_id for o in offers],
            "person_id": [str(o.person_id) for o in offers],
            "offered_on": [o.as_of for o in offers],
        },
        columns=["flag_id", "programme_id", "person_id", "offered_on"],
    )
    keyed = {(o.flag_id, o.programme_id): (str(o.person_id), o.as_of) for o in offers}
    rows = []
    for d in decisions:  # oldest first: a person's last decision in a period counts
        found = keyed.get((d.flag_id, d.programme_id))
        if found is not None:
            rows.append((found[0], d.programme_id, d.decision, found[1]))
    decision_frame = pd.DataFrame(
        rows, columns=["person_id", "programme_id", "decision", "offered_on"]
    )
    return offer_frame, decision_frame


def support_of(
    folder: DataFolder, lags: dict[str, int], settings: Settings, programmes: Programmes
) -> pd.DataFrame:
    """The folder's support periods by programme id (a programme name no programme claims is
    left out); ``completed`` only where the folder records it."""
    columns = ["person_id", "programme_id", "start_date", "end_date"]
    if "interventions" not in folder.files:
        return pd.DataFrame(columns=columns)
    con = connection_with_sources(folder, lags, settings)
    try:
        cols = [r[0] for r in con.execute("DESCRIBE src_interventions").fetchall()]
        wanted = ["person_id", "programme", "start_date", "end_date"]
        if "completed" in cols:
            wanted.append("completed")
        raw = con.execute(f"SELECT {', '.join(wanted)} FROM src_interventions").df()
    finally:
        con.close()
    names = {
        value: p.id
        for p in programmes.programmes
        for value in set(raw["programme"])
        if p.supports(value)
    }
    raw["programme_id"] = raw["programme"].map(names)
    out = raw.loc[raw["programme_id"].notna()].drop(columns=["programme"])
    out["person_id"] = out["person_id"].astype(str)
    for c in ("start_date", "end_date"):
        out[c] = pd.to_datetime(out[c]).dt.date
    return out.reset_index(drop=True)


def people_of(
    folder: DataFolder, lags: dict[str, int], settings: Settings, at: date
) -> pd.DataFrame:
    """person_id, ``age_band`` (completed years on ``at``), ``school`` and the audit-only
    attributes the people table has."""
    con = connection_with_sources(folder, lags, settings)
    try:
        cols = [r[0] for r in con.execute("DESCRIBE src_people").fetchall()]
        audit = [c for c in AUDIT_ONLY_COLUMNS if c in cols]
        school = "school_id" if "school_id" in cols else "CAST(NULL AS VARCHAR)"
        frame = con.execute(
            f"SELECT person_id, birth_date, {school} AS school"
            + "".join(f", {c}" for c in audit)
            + " FROM src_people"
        ).df()
    finally:
        con.close()
    frame["person_id"] = frame["person_id"].astype(str)
    births = pd.to_datetime(frame.pop("birth_date"))
    ages = (
        at.year
        - births.dt.year
        - ((births.dt.month * 100 + births.dt.day) > at.month * 100 + at.day)
    )
    frame.insert(1, "age_band", [_band(a) for a in ages])
    return frame


def _band(age: float) -> str:
    if np.isnan(age):
        return "unknown"
    for low, high, label in AGE_BANDS:
        if low <= age <= high:
            return label
    return "other"


def draws_of(
    settings: Settings, programmes: list[Programme], start: date, end: date
) -> pd.DataFrame:
    """The lottery record's draws of ``programmes`` dated ``start`` to ``end`` (an altered
    record is refused, as the daily job refuses it)."""
    path = settings.lottery_record_path
    record = LotteryRecord(path)
    try:
        draws = record.draws() if Path(path).is_file() else []
    except LotteryRecordError as exc:
        raise JobError(str(exc)) from None
    frame = draws_frame(draws)
    if frame.empty:
        return frame
    ids = {p.id for p in programmes}
    keep = frame["programme"].isin(ids) & (frame["day"] >= start) & (frame["day"] <= end)
    return frame.loc[keep].reset_index(drop=True)


def took_up(
    rows: pd.DataFrame, support: pd.DataFrame, programme: str, *, day_column: str = "as_of"
) -> np.ndarray:
    """Per row (person_id, ``day_column``): support of ``programme`` started within
    :data:`TAKE_UP_DAYS` on or after the day."""
    mine = support.loc[support["programme_id"] == programme, ["person_id", "start_date"]]
    if mine.empty or rows.empty:
        return np.zeros(len(rows), dtype=bool)
    starts: dict[str, list[date]] = {}
    for person, start in zip(mine["person_id"], mine["start_date"], strict=True):
        starts.setdefault(str(person), []).append(start)
    window = timedelta(days=TAKE_UP_DAYS)
    return np.array(
        [
            any(day <= s <= day + window for s in starts.get(str(p), ()))
            for p, day in zip(rows["person_id"], rows[day_column], strict=True)
        ],
        dtype=bool,
    )
