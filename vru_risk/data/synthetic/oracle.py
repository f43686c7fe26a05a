"""The oracle: true probabilities of the label given the latent state at an as-of date.

For a person and an as-of day ``t`` in month ``m0``, the serious-violence hazard on a day of
month ``m0 + k`` is ``w(day) × exp(a_k + β z_k)`` where ``a_k`` is the person's log-rate plus
the age curve, ``w`` the weekend weighting and ``z_k = mean_k + u_k`` the latent state. Given
``u_0`` (the state at ``t``), ``u_k`` is Gaussian with mean ``ρ^k u_0``, variance
``s²(1 - ρ^{2k})`` and covariance ``ρ^{|k-l|} s²(1 - ρ^{2 min(k,l)})``. The cumulative hazard
over the label window ``(t + gap, t + horizon]`` is ``Λ = Σ_k W_k exp(a_k + β z_k)`` with
``W_k`` the window's weighted days in month ``m0 + k``. The covariance of the future deviations
is split into its dominant factor ``f ~ N(0, 1)`` and a residual; ``f`` is integrated by
Gauss–Hermite quadrature and, given ``f``, the rest of ``Λ`` is approximated by a lognormal with
its exact first two moments (Fenton–Wilkinson), integrated by a second quadrature. Then

* ``p_involvement = 1 - E[exp(-Λ)]`` (at least one true involvement),
* ``p_label_recorded = 1 - E[exp(-r Λ)]`` (at least one recorded; each involvement is
  recorded independently with the person's probability ``r``),

which differ from a Monte Carlo of the future paths by less than 0.01. The probabilities are
*untreated*: they assume no new support after ``t`` (support lowers the hazard; see
``docs/synthetic-data.md``), and the person staying in the area and in data coverage through
the window (censoring is the label builder's business).

Example
-------
>>> import pandas as pd
>>> from vru_risk.data.synthetic.oracle import oracle_probabilities
>>> latent = pd.DataFrame({"person_id": ["P1"], "month": [pd.Timestamp("2024-03-01")],
...                        "latent": [0.0]})
>>> people = pd.DataFrame({"person_id": ["P1"], "birth_date": [pd.Timestamp("2008-05-01")],
...     "latent_static": [0.0], "primary_school_effect": [0.0],
...     "secondary_school_effect": [0.0], "sv_log_rate": [-10.0], "sv_record_prob": [0.5]})
>>> pairs = pd.DataFrame({"person_id": ["P1"], "as_of": [pd.Timestamp("2024-03-15")]})
>>> out = oracle_probabilities(latent, people, pairs)
>>> bool(0 < out.p_label_recorded[0] < out.p_involvement[0] < 1)
True
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from vru_risk.data.synthetic.model import (
    LATENT_RHO,
    LATENT_SD,
    SV_LATENT_COEF,
    WEEKEND_WEIGHTS,
    FloatArray,
    IntArray,
    cumulative_weight,
    latent_mean,
    month_of_day,
    month_start,
    school_year,
    sv_log_hazard,
)

#: Gauss–Hermite nodes: over the dominant factor of the future latent path (outer), and over
#: the lognormal approximation of the rest (inner).
OUTER_NODES = 8
INNER_NODES = 8
#: Pairs computed together (bounds memory: pairs × OUTER × INNER floats).
BATCH_PAIRS = 16_384

#: Columns of the truth ``people`` frame that the oracle reads.
ORACLE_PEOPLE_COLUMNS = (
    "person_id",
    "birth_date",
    "latent_static",
    "primary_school_effect",
    "secondary_school_effect",
    "sv_log_rate",
    "sv_record_prob",
)


def _covariance(months: int) -> FloatArray:
    """Covariance of the latent deviations of months 0..months-1 given month 0's."""
    k = np.arange(months)
    lo = np.minimum(k[:, None], k[None, :])
    lag = np.abs(k[:, None] - k[None, :])
    return np.asarray(
        LATENT_RHO**lag * LATENT_SD**2 * (1.0 - LATENT_RHO ** (2 * lo)), dtype=np.float64
    )


def _factor(months: int) -> tuple[FloatArray, FloatArray]:
    """Split the covariance into its dominant factor's loadings and the residual covariance."""
    cov = _covariance(months)
    values, vectors = np.linalg.eigh(cov)
    loading = vectors[:, -1] * np.sqrt(max(values[-1], 0.0))
    if loading.sum() < 0:
        loading = -loading
    return np.asarray(loading, dtype=np.float64), cov - np.outer(loading, loading)


def _no_event(
    a0: FloatArray, record_prob: FloatArray, loading: FloatArray, residual: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """``E[exp(-Λ)]`` and ``E[exp(-rΛ)]`` for ``Λ = Σ_k a0_k exp(β l_k f + β r_k)``."""
    beta = SV_LATENT_COEF
    outer_x, outer_w = np.polynomial.hermite.hermgauss(OUTER_NODES)
    inner_x, inner_w = np.polynomial.hermite.hermgauss(INNER_NODES)
    g = np.exp(beta * loading[None, :] * np.sqrt(2.0) * outer_x[:, None])  # (outer, months)
    b = a0[:, None, :] * g[None, :, :]  # (pairs, outer, months)
    m1 = b.sum(axis=2)
    m2 = ((b @ np.exp(beta**2 * residual)) * b).sum(axis=2)
    positive = m1 > 0
    safe = np.where(positive, m1, 1.0)
    sigma2 = np.where(positive, np.log(np.maximum(m2 / safe**2, 1.0)), 0.0)
    log_l = (np.log(safe) - sigma2 / 2)[:, :, None] + np.sqrt(2.0 * sigma2)[:, :, None] * inner_x
    weights = (outer_w[:, None] * inner_w[None, :]) / np.pi  # (outer, inner)
    lam = np.where(positive[:, :, None], np.exp(log_l), 0.0)
    none_inv = (np.exp(-lam) * weights).sum(axis=(1, 2))
    none_rec = (np.exp(-lam * record_prob[:, None, None]) * weights).sum(axis=(1, 2))
    return np.asarray(none_rec, dtype=np.float64), np.asarray(none_inv, dtype=np.float64)


def oracle_arrays(
    as_of: IntArray,
    latent: FloatArray,
    *,
    birth_day: IntArray,
    latent_static: FloatArray,
    primary_effect: FloatArray,
    secondary_effect: FloatArray,
    sv_log_rate: FloatArray,
    record_prob: FloatArray,
    gap_days: int = 7,
    horizon_days: int = 365,
) -> tuple[FloatArray, FloatArray]:
    """Compute the oracle on arrays (one entry per (person, as-of) pair).

    Parameters
    ----------
    as_of
        As-of days (day numbers).
    latent
        The latent state in the as-of day's month.
    birth_day, latent_static, primary_effect, secondary_effect, sv_log_rate, record_prob
        The person's truth (see ``truth/people.parquet``).
    gap_days, horizon_days
        The label window is ``(as_of + gap_days, as_of + horizon_days]``.

    Returns
    -------
    tuple of numpy.ndarray
        ``(p_label_recorded, p_involvement)``.
    """
    if not 0 <= gap_days < horizon_days:
        raise ValueError(f"need 0 <= gap_days < horizon_days, got {gap_days} and {horizon_days}")
    n_months = horizon_days // 28 + 2
    loading, residual = _factor(n_months)
    k = np.arange(n_months)
    p_rec = np.empty(as_of.size, dtype=np.float64)
    p_inv = np.empty(as_of.size, dtype=np.float64)
    for lo in range(0, as_of.size, BATCH_PAIRS):
        sl = slice(lo, lo + BATCH_PAIRS)
        day = as_of[sl]
        birth = birth_day[sl]
        months = month_of_day(day)[:, None] + k[None, :]
        first = np.maximum(month_start(months), (day + gap_days + 1)[:, None])
        last = np.minimum(month_start(months + 1) - 1, (day + horizon_days)[:, None])
        weight = np.where(
            last >= first,
            cumulative_weight(last + 1, WEEKEND_WEIGHTS)
            - cumulative_weight(first, WEEKEND_WEIGHTS),
            0.0,
        )
        mean = latent_mean(
            months,
            static=latent_static[sl, None],
            primary_effect=primary_effect[sl, None],
            secondary_effect=secondary_effect[sl, None],
            birth_day=birth[:, None],
            academic_birth_year=school_year(month_of_day(birth))[:, None],
        )
        u0 = latent[sl] - mean[:, 0]
        expected_z = mean + (LATENT_RHO**k)[None, :] * u0[:, None]
        log_a = sv_log_hazard(
            months, expected_z, sv_log_rate=sv_log_rate[sl, None], birth_day=birth[:, None]
        )
        a0 = weight * np.exp(log_a + 0.5 * SV_LATENT_COEF**2 * np.diag(residual)[None, :])
        none_rec, none_inv = _no_event(a0, record_prob[sl], loading, residual)
        p_rec[sl] = np.clip(1.0 - none_rec, 0.0, 1.0)
        p_inv[sl] = np.clip(1.0 - none_inv, 0.0, 1.0)
    return p_rec, p_inv


def _days(values: pd.Series) -> IntArray:
    dt = pd.to_datetime(values).to_numpy(dtype="datetime64[D]")
    return np.asarray(dt.astype(np.int64), dtype=np.int64)


def oracle_probabilities(
    latent: pd.DataFrame,
    people: pd.DataFrame,
    pairs: pd.DataFrame,
    *,
    gap_days: int = 7,
    horizon_days: int = 365,
) -> pd.DataFrame:
    """Return the true probabilities of the label for arbitrary (person_id, as_of) pairs.

    ``p_label_recorded`` is the probability of a *recorded* label (police contact as suspect
    or victim of a serious-violence offence, or A&E visit for assault) with event date in
    ``(as_of + gap_days, as_of + horizon_days]``, given the latent state of the as-of month;
    ``p_involvement`` is the same for true involvement. Future latent noise is integrated out
    (see the module docstring); no new support after ``as_of`` is assumed.

    Parameters
    ----------
    latent
        ``truth/latent.parquet``: ``person_id``, ``month`` (first of the month), ``latent``.
    people
        ``truth/people.parquet`` (at least :data:`ORACLE_PEOPLE_COLUMNS`).
    pairs
        ``person_id`` and ``as_of`` (dates); any other columns are ignored.
    gap_days, horizon_days
        The label window, as in the label builder (defaults 7 and 365).

    Returns
    -------
    pandas.DataFrame
        ``person_id``, ``as_of``, ``p_label_recorded``, ``p_involvement``, in the order of
        ``pairs``.

    Raises
    ------
    ValueError
        When a pair's person or as-of month is not in ``people`` / ``latent``.

    Examples
    --------
    >>> import pandas as pd
    >>> def oracle_at(triggers: pd.DataFrame, truth: str) -> pd.DataFrame:
    ...     latent = pd.read_parquet(f"{truth}/latent.parquet")
    ...     people = pd.read_parquet(f"{truth}/people.parquet")
    ...     return oracle_probabilities(latent, people, triggers[["person_id", "as_of"]])
    """
    missing = [c for c in ORACLE_PEOPLE_COLUMNS if c not in people.columns]
    if missing:
        raise ValueError(f"people is missing columns {missing}; pass truth/people.parquet")
    as_of = _days(pairs["as_of"])
    frame = pd.DataFrame(
        {
            "person_id": pairs["person_id"].astype(str).to_numpy(),
            "month_day": month_start(month_of_day(as_of)),
        }
    )
    lat = pd.DataFrame(
        {
            "person_id": latent["person_id"].astype(str).to_numpy(),
            "month_day": _days(latent["month"]),
            "latent": latent["latent"].to_numpy(dtype=np.float64),
        }
    )
    merged = frame.merge(lat, on=["person_id", "month_day"], how="left", validate="many_to_one")
    if merged["latent"].isna().any():
        bad = int(merged["latent"].isna().sum())
        raise ValueError(
            f"{bad} pair(s) have no latent state for their as-of month; as_of must fall in a "
            "month of truth/latent.parquet for a person in it"
        )
    person = people[list(ORACLE_PEOPLE_COLUMNS)].copy()
    person["person_id"] = person["person_id"].astype(str)
    merged = merged.merge(person, on="person_id", how="left", validate="many_to_one")
    if merged["sv_log_rate"].isna().any():
        raise ValueError("some pairs name a person_id that is not in people")
    p_rec, p_inv = oracle_arrays(
        as_of,
        merged["latent"].to_numpy(dtype=np.float64),
        birth_day=_days(merged["birth_date"]),
        latent_static=merged["latent_static"].to_numpy(dtype=np.float64),
        primary_effect=merged["primary_school_effect"].to_numpy(dtype=np.float64),
        secondary_effect=merged["secondary_school_effect"].to_numpy(dtype=np.float64),
        sv_log_rate=merged["sv_log_rate"].to_numpy(dtype=np.float64),
        record_prob=merged["sv_record_prob"].to_numpy(dtype=np.float64),
        gap_days=gap_days,
        horizon_days=horizon_days,
    )
    return pd.DataFrame(
        {
            "person_id": frame["person_id"].to_numpy(),
            "as_of": pd.to_datetime(pairs["as_of"]).to_numpy(),
            "p_label_recorded": p_rec,
            "p_involvement": p_inv,
        }
    )
