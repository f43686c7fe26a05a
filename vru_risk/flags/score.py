"""Scoring teachable moments: every moment with one ``predict`` call, and the same for a few
moments as plain arrays.

LightGBM's ``predict`` scores about 160k rows/s on 2 cores, so the daily job scores every moment
at once (:func:`score_moments`), before programmes choose among them
(:mod:`~vru_risk.flags.allocate`) and the chosen are explained (:mod:`~vru_risk.flags.explain`).
The server scores one moment per request from :class:`MomentRows` (the moments the daily job
materialised, as plain columns checked against the model's spec) with :func:`score_rows`: no
pandas per request, and the same figures as the batch.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Final

import numpy as np
import pandas as pd

from vru_risk.features.moments import Moments
from vru_risk.flags.flag import Trigger
from vru_risk.models.risk_model import FrameMismatchError, ModelInputs, RiskModel

#: the moments' columns :func:`score_moments` returns, before its :data:`SCORE_COLUMNS`
SCORED_ID_COLUMNS: Final = ("person_id", "as_of", "trigger_kinds", "age_completed", "school_id")
#: the columns scoring adds, with their dtypes
SCORE_COLUMNS: Final = {"probability": "float64", "percentile": "float64", "unseen_pattern": "bool"}


def score_moments(model: RiskModel, moments: Moments) -> pd.DataFrame:
    """Every moment scored with one ``predict`` call.

    Returns the moments' id columns with ``probability`` (calibrated), ``percentile`` (in the
    model's reference distribution) and ``unseen_pattern`` (the source pattern never occurred
    in training), in the order of ``moments.frame``.
    """
    return score_frame(model, moments.frame)


def score_frame(model: RiskModel, frame: pd.DataFrame) -> pd.DataFrame:
    """:func:`score_moments` of some rows of a moments frame (:data:`SCORED_ID_COLUMNS`,
    ``sources_unavailable`` and the model's features): the one home of what a score is, which
    the Spark engine (:mod:`~vru_risk.flags.spark_score`) runs on each batch of rows.

    Every figure of a row depends on that row alone (the percentile is placed in the model's
    stored reference distribution, never among the rows scored with it), so scoring in batches
    gives the figures of scoring at once.
    """
    x = _feature_frame(frame, model.spec.names)
    out = frame[list(SCORED_ID_COLUMNS)].copy()
    if len(frame) == 0:
        for name, dtype in SCORE_COLUMNS.items():
            out[name] = pd.Series(dtype=dtype)
        return out
    inputs = model.inputs(x)
    probability = model.predict(inputs)
    out["probability"] = probability
    out["percentile"] = model.percentile(probability)
    out["unseen_pattern"] = model.unseen_pattern(inputs, frame["sources_unavailable"].fillna(""))
    return out


@dataclass(frozen=True)
class MomentRows:
    """Some moments as plain columns (row k is one moment): what scoring and explaining need,
    without pandas, so that the server can explain one moment per request cheaply. Made by
    :meth:`of` from :class:`Moments` and a model (whose spec checks the inputs)."""

    inputs: ModelInputs
    person_id: tuple[str, ...]
    as_of: tuple[date, ...]
    age_years: tuple[int | None, ...]
    #: per row, the comma-joined sources the VRU lacked for it ('' = none)
    unavailable: tuple[str, ...]
    triggers: tuple[tuple[Trigger, ...], ...]
    #: the sources the VRU lacks for every moment (``Moments.sources_unavailable``)
    vru_unavailable: frozenset[str]
    refreshed: Mapping[str, date | None]

    def __len__(self) -> int:
        return len(self.person_id)

    @classmethod
    def of(
        cls, model: RiskModel, moments: Moments, positions: Sequence[int] | None = None
    ) -> MomentRows:
        """The rows at ``positions`` of ``moments.frame`` (all when None), checked against
        ``model``'s spec."""
        frame = moments.frame
        if positions is not None:
            frame = frame.iloc[np.asarray(positions, dtype=np.int64)].reset_index(drop=True)
        persons = tuple(str(p) for p in frame["person_id"])
        days: tuple[date, ...] = tuple(frame["as_of"])
        triggers = _triggers_of(moments, persons, days)
        return cls(
            inputs=model.inputs(_feature_frame(frame, model.spec.names)),
            person_id=persons,
            as_of=days,
            age_years=tuple(_optional_int(a) for a in frame["age_completed"]),
            unavailable=tuple("" if _missing(v) else str(v) for v in frame["sources_unavailable"]),
            triggers=tuple(tuple(triggers.get(k, ())) for k in range(len(persons))),
            vru_unavailable=frozenset(moments.sources_unavailable),
            refreshed=dict(moments.refreshed),
        )

    def take(self, positions: Sequence[int]) -> MomentRows:
        """The rows at ``positions``, in that order."""
        return replace(
            self,
            inputs=self.inputs.take(positions),
            person_id=tuple(self.person_id[k] for k in positions),
            as_of=tuple(self.as_of[k] for k in positions),
            age_years=tuple(self.age_years[k] for k in positions),
            unavailable=tuple(self.unavailable[k] for k in positions),
            triggers=tuple(self.triggers[k] for k in positions),
        )


def _feature_frame(frame: pd.DataFrame, names: Sequence[str]) -> pd.DataFrame:
    """The model's inputs from a moments frame, as float64; :class:`FrameMismatchError` when
    columns are missing or not numbers (a folder materialised for another feature spec)."""
    missing = [n for n in names if n not in frame.columns]
    if missing:
        raise FrameMismatchError([f"missing column(s): {', '.join(missing[:10])}"])
    try:
        return frame[list(names)].astype("float64")
    except (ValueError, TypeError) as exc:
        raise FrameMismatchError([f"column(s) that are not numbers: {exc}"]) from None


@dataclass(frozen=True)
class RowScores:
    """Calibrated probability, percentile and unseen-pattern warning of some moments."""

    probability: np.ndarray
    percentile: np.ndarray
    unseen_pattern: np.ndarray


def score_rows(model: RiskModel, rows: MomentRows) -> RowScores:
    """:func:`score_moments` for :class:`MomentRows` (no pandas)."""
    probability = model.predict(rows.inputs)
    return RowScores(
        probability=probability,
        percentile=model.percentile(probability),
        unseen_pattern=model.unseen_pattern(rows.inputs, rows.unavailable),
    )


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA


def _optional_int(value: object) -> int | None:
    if _missing(value):
        return None
    return int(str(value).split(".")[0]) if isinstance(value, str) else int(float(str(value)))


def _triggers_of(
    moments: Moments, persons: Sequence[str], days: Sequence[date]
) -> dict[int, list[Trigger]]:
    """The triggers of the moments (persons[k], days[k]), keyed by k."""
    trig = moments.triggers
    wanted: dict[tuple[str, date], list[int]] = defaultdict(list)
    for k, (p, d) in enumerate(zip(persons, days, strict=True)):
        wanted[(p, d)].append(k)  # a moment asked for twice gets its triggers twice
    person_col = trig["person_id"].astype(str).to_numpy(dtype=object)
    keep = np.flatnonzero(pd.Series(person_col).isin(set(persons)).to_numpy())
    out: dict[int, list[Trigger]] = defaultdict(list)
    cols = [
        trig[c].to_numpy(dtype=object)[keep]
        for c in ("as_of", "trigger_kind", "source", "trigger_date", "detail")
    ]
    for person, as_of, kind, source, day, detail in zip(person_col[keep], *cols, strict=True):
        positions = wanted.get((person, as_of), ())
        if positions:
            trigger = Trigger(
                kind=kind,
                source=source,
                date=day,
                detail=None if _missing(detail) else str(detail),
            )
            for k in positions:
                out[k].append(trigger)
    return out
