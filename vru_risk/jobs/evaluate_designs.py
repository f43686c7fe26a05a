"""The effect of one programme, by each design the data allow, as the evaluation's report shows
it: an estimate on the primary outcome (serious-violence involvement within the horizon) with
the harm-only outcome beside it, and the one statement each design may make
(:func:`vru_risk.evaluation.verdict.statement`).

- **Fair lottery** (only where the programme ran one, :mod:`vru_risk.flags.lottery`): winners
  against losers, stratified by programme and period, intention to treat, take-up reported;
  the sequential boundary of this look (Lan–DeMets, O'Brien–Fleming type) from the information
  gathered so far against the pre-registered sample size, with earlier looks kept in
  ``VRU_HOME/evaluation/looks.jsonl``. Only this design may say "helps".
- **Arrival order**: moments at or above the programme's floor in periods whose places ran out,
  offered against not offered, with trigger-kind and day-of-month effects.
- **Floor**: on days with places still spare after the day's offers, moments just above the
  floor against just below (regression discontinuity, rdrobust).
- **Weighted comparison**: moments the programme may be offered to, support taken up against
  not, weighted on the score, the permitted features and, here only, the audit-only attributes.

The three last are "consistent with" evidence at most. A frame too small for a design gives
"not estimable" with the reason, never a number.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import asdict
from datetime import date
from pathlib import Path
from statistics import NormalDist
from typing import Any, Final

import numpy as np
import pandas as pd

from vru_risk.data.contract import AUDIT_ONLY_COLUMNS
from vru_risk.evaluation.arrival import arrival_estimate
from vru_risk.evaluation.discontinuity import discontinuity_estimate
from vru_risk.evaluation.estimate import Estimate, as_dict, not_estimable
from vru_risk.evaluation.lottery_effect import itt_estimate
from vru_risk.evaluation.matched import weighted_estimate
from vru_risk.evaluation.power import boundary_z, months_to_detect, per_arm_needed
from vru_risk.evaluation.verdict import Verdict, statement
from vru_risk.file_lock import exclusive_lock
from vru_risk.flags.programmes import Programme
from vru_risk.jobs.evaluate_data import EvaluationInputs, took_up

#: the effect of interest when the programme pre-registered none: 3 percentage points fewer
DEFAULT_EFFECT: Final = -0.03
OUTCOMES: Final = (("label", "primary"), ("label_harm", "harm"))
#: the permitted features join the weighting only with this many young people in the smaller
#: group per column (else the score, which summarises them, and the audit-only attributes)
MIN_PER_COLUMN: Final = 10


def effect_sections(
    inputs: EvaluationInputs,
    programme: Programme,
    eligible: np.ndarray,
    *,
    effect: float,
    looks_path: Path,
    record_look: bool,
) -> list[dict[str, Any]]:
    """Every design's section for ``programme`` (``eligible``: per row of ``inputs.moments``,
    whether the programme may be offered it)."""
    moments = inputs.moments
    offered = _offered(moments, inputs.offers, programme.id)
    return [
        _lottery(inputs, programme, effect, looks_path, record_look),
        _arrival(inputs, programme, eligible, offered, effect),
        _floor(inputs, programme, eligible, effect),
        _weighted(inputs, programme, eligible, effect),
    ]


def _offered(moments: pd.DataFrame, offers: pd.DataFrame, programme: str) -> np.ndarray:
    mine = offers.loc[offers["programme_id"] == programme]
    keys = set(zip(mine["person_id"].astype(str), mine["offered_on"], strict=True))
    return np.array(
        [(p, d) in keys for p, d in zip(moments["person_id"], moments["as_of"], strict=True)],
        dtype=bool,
    )


def _per_month(n: int, inputs: EvaluationInputs) -> float:
    months = max(len(inputs.maturity.matured), 1)
    return n / months


def _months_more(estimate: Estimate, base: float, effect: float, inputs: EvaluationInputs) -> float:
    """More months at the current monthly numbers to detect ``effect`` (80% power, two-sided
    5%).

    With a standard error, from the design's own precision: a standard error shrinks as one
    over the square root of the months gathered, and detecting ``effect`` needs it at
    ``|effect| / (z_0.975 + z_0.8)``. A local design (the floor) or a weighted one learns less
    per young person than a two-group comparison of its sizes would, and this says so. Without
    one, the two-proportion sample size for the smaller group."""
    if not estimate.estimable:
        return math.nan
    months = len(inputs.maturity.matured)
    if estimate.se > 0 and math.isfinite(estimate.se) and months > 0:
        target = abs(effect) / (NormalDist().inv_cdf(0.975) + NormalDist().inv_cdf(0.8))
        return months * (estimate.se / target) ** 2 - months
    if not 0.0 < base < 1.0 or not 0.0 < base + effect < 1.0:
        return math.nan
    smaller = min(estimate.n_won, estimate.n_lost)
    total = months_to_detect(_per_month(smaller, inputs), base, effect)
    return total - months if math.isfinite(total) else total


def _section(
    design: str,
    primary: Estimate,
    harm: Estimate,
    *,
    effect: float,
    base: float,
    inputs: EvaluationInputs,
    boundary: float | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    months = _months_more(primary, base, effect, inputs)
    verdict = statement(
        primary,
        harm_estimate=harm,
        look_z_boundary=boundary,
        months_needed=None if math.isnan(months) else months,
        effect_of_interest=abs(effect),
        design=design,
    )
    return {
        "design": design,
        "primary": _estimate(primary),
        "harm": _estimate(harm),
        "base_rate": None if math.isnan(base) else base,
        "effect_of_interest": effect,
        "months_more": None if math.isnan(months) or math.isinf(months) else months,
        "boundary_z": boundary,
        "verdict": asdict(verdict),
        **(extra or {}),
    }


def _estimate(e: Estimate) -> dict[str, Any]:
    return as_dict(e)


def _outcomes(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows whose outcomes are both known (not censored)."""
    return frame.loc[frame["label"].notna() & frame["label_harm"].notna()]


def _lottery(
    inputs: EvaluationInputs, programme: Programme, effect: float, looks: Path, record: bool
) -> dict[str, Any]:
    draws = inputs.draws
    mine = draws.loc[draws["programme"] == programme.id] if not draws.empty else draws
    method = "fair lottery: stratified randomisation inference, intention to treat"
    if mine.empty:
        reason = "No lottery has run for this programme in this period" + (
            ": its lottery is off. A lottery is the only design that can show the support "
            "helps; docs/evaluation.md says how to register one."
            if not programme.lottery.enabled
            else "."
        )
        none = not_estimable(method=method, evidence="randomised", reason=reason)
        section = _section("lottery", none, none, effect=effect, base=math.nan, inputs=inputs)
        section["verdict"] = asdict(
            Verdict(
                "no evidence either way yet",
                "no lottery has run" + ("" if programme.lottery.enabled else " (it is off)"),
                reason,
                "lottery",
            )
        )
        return section
    keyed = inputs.moments.set_index(["person_id", "as_of"])[["label", "label_harm"]]
    rows = mine.rename(columns={"day": "as_of"}).join(keyed, on=["person_id", "as_of"], how="left")
    rows = _outcomes(rows)
    rows = rows.assign(
        stratum=[f"{programme.id}:{programme.period_start(d)}" for d in rows["as_of"]],
        took_up=took_up(rows, inputs.support, programme.id),
    )
    estimates = [
        itt_estimate(rows.assign(outcome=rows[column].astype(int))) for column, _ in OUTCOMES
    ]
    lot = programme.lottery
    base = (
        lot.base_rate
        if lot.base_rate is not None
        else float(rows.loc[~rows["won"], "label"].mean())
    )
    pre = lot.effect if lot.effect is not None else effect
    boundary = None
    fraction = None
    if lot.base_rate is not None and lot.effect is not None and estimates[0].estimable:
        planned = 2 * per_arm_needed(lot.base_rate, lot.effect, lot.alpha, lot.power)
        fraction = min(1.0, (estimates[0].n_won + estimates[0].n_lost) / planned)
        earlier = _looks(looks, programme.id)
        fractions = [f for f in earlier if f < fraction] + [fraction]
        boundary = boundary_z(fractions, lot.alpha)[-1]
        if record:
            _add_look(looks, programme.id, fraction, inputs.end)
    return _section(
        "lottery",
        estimates[0],
        estimates[1],
        effect=pre,
        base=base,
        inputs=inputs,
        boundary=boundary,
        extra={
            "information_fraction": fraction,
            "draws": int(mine[["day"]].drop_duplicates().shape[0]),
        },
    )


def _looks(path: Path, programme: str) -> list[float]:
    if not path.is_file():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        body = json.loads(line)
        if body.get("programme") == programme:
            out.append(float(body["information_fraction"]))
    return sorted(set(out))


def _add_look(path: Path, programme: str, fraction: float, end: date) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(path.with_suffix(".lock")), path.open("a", encoding="utf-8") as f:
        f.write(
            json.dumps({"programme": programme, "information_fraction": fraction, "to": str(end)})
            + "\n"
        )


def _arrival(
    inputs: EvaluationInputs,
    programme: Programme,
    eligible: np.ndarray,
    offered: np.ndarray,
    effect: float,
) -> dict[str, Any]:
    moments = inputs.moments
    periods = np.array([programme.period_start(d) for d in moments["as_of"]], dtype=object)
    mine = inputs.offers.loc[inputs.offers["programme_id"] == programme.id]
    used = pd.Series([programme.period_start(d) for d in mine["offered_on"]]).value_counts()
    full = {p for p, n in used.items() if n >= programme.capacity}
    keep = eligible & (moments["percentile"].to_numpy() >= programme.min_percentile)
    keep &= np.array([p in full for p in periods], dtype=bool)
    frame = moments.loc[keep].assign(offered=offered[keep])
    frame = _outcomes(frame).assign(
        trigger_kind=lambda f: f["trigger_kinds"].astype(str).str.split(",").str[0],
        arrival_day=lambda f: [d.day for d in f["as_of"]],
    )
    estimates = [arrival_estimate(frame.assign(outcome=frame[c].astype(int))) for c, _ in OUTCOMES]
    base = float(frame.loc[~frame["offered"], "label"].mean()) if len(frame) else math.nan
    note = (
        "This programme spreads its places over the period (paced), so who was offered also "
        "depends on the score, not on arrival day alone: read this comparison with extra care."
        if programme.policy == "paced"
        else None
    )
    return _section(
        "arrival",
        estimates[0],
        estimates[1],
        effect=effect,
        base=base,
        inputs=inputs,
        extra={"periods_full": len(full), "note": note},
    )


def _floor(
    inputs: EvaluationInputs, programme: Programme, eligible: np.ndarray, effect: float
) -> dict[str, Any]:
    moments = inputs.moments
    mine = inputs.offers.loc[inputs.offers["programme_id"] == programme.id]
    by_period: dict[date, list[tuple[date, int]]] = {}
    for day, n in Counter(mine["offered_on"]).items():
        by_period.setdefault(programme.period_start(day), []).append((day, n))
    days = sorted(set(moments["as_of"]))
    spare = {  # the period's offers up to and including the day left places unused
        day
        for day in days
        if sum(n for d, n in by_period.get(programme.period_start(day), []) if d <= day)
        < programme.capacity
    }
    frame = moments.loc[eligible].assign(
        score=lambda f: f["percentile"].astype(float),
        spare_places=lambda f: [d in spare for d in f["as_of"]],
    )
    frame = _outcomes(frame)
    estimates = [
        discontinuity_estimate(
            frame.assign(outcome=frame[c].astype(int)), floor=float(programme.min_percentile)
        )
        for c, _ in OUTCOMES
    ]
    below = frame.loc[frame["spare_places"] & (frame["score"] < programme.min_percentile), "label"]
    note = (
        "On most days this programme's threshold sits above its floor (its places are spread "
        "over the period), so the jump at the floor is that of being eligible for a place on "
        "a day with places left, not of every offer."
        if programme.policy == "paced"
        else None
    )
    return _section(
        "discontinuity",
        estimates[0],
        estimates[1],
        effect=effect,
        base=float(below.mean()) if len(below) else math.nan,
        inputs=inputs,
        extra={"days_with_spare_places": len(spare & set(days)), "note": note},
    )


def _weighted(
    inputs: EvaluationInputs, programme: Programme, eligible: np.ndarray, effect: float
) -> dict[str, Any]:
    moments = _outcomes(inputs.moments.loc[eligible])
    supported = took_up(moments, inputs.support, programme.id)
    people = inputs.people.set_index("person_id")
    audit = [c for c in AUDIT_ONLY_COLUMNS if c in people.columns]
    frame = moments[["person_id", "as_of", "label", "label_harm", "probability"]].copy()
    frame["supported"] = supported
    for column in audit:  # evaluation only: never a feature of any model
        values = people[column].reindex(frame["person_id"]).astype("object")
        frame[f"audit_{column}"] = values.where(values.notna(), "unknown").astype(str).to_numpy()
    covariates = ["probability", *(f"audit_{c}" for c in audit)]
    features = [n for n in inputs.feature_names if n in moments.columns]
    n_small = int(min(supported.sum(), (~supported).sum()))
    with_features = n_small >= MIN_PER_COLUMN * (len(covariates) + 2 * len(features))
    if with_features:  # a missing feature is its median plus an indicator that it was missing
        for name in features:
            values = moments[name].astype("float64")
            frame[f"feature_{name}"] = values.fillna(values.median()).fillna(0.0).to_numpy()
            frame[f"missing_{name}"] = values.isna().astype(float).to_numpy()
            covariates += [f"feature_{name}", f"missing_{name}"]
    estimates = []
    comparison = None
    for column, _ in OUTCOMES:
        found = weighted_estimate(
            frame.assign(outcome=frame[column].astype(int)),
            covariates=covariates,
            treatment="supported",
        )
        estimates.append(found.estimate)
        comparison = comparison or found
    assert comparison is not None
    table = comparison.balance
    balance = [
        {"column": str(c), "before": float(b), "after": float(a)}
        for c, b, a in zip(
            table.get("column", []),
            table.get("smd_before", []),
            table.get("smd_after", []),
            strict=True,
        )
    ]
    base = float(frame.loc[~frame["supported"], "label"].mean()) if len(frame) else math.nan
    return _section(
        "matched",
        estimates[0],
        estimates[1],
        effect=effect,
        base=base,
        inputs=inputs,
        extra={
            "balance": balance,
            "e_value": _finite(comparison.e_value),
            "e_value_limit": _finite(comparison.e_value_limit),
            "covariates": covariates,
            "with_features": with_features,
        },
    )


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None
