"""The oracle: true probabilities of the label given the latent state at an as-of date.

For a person and an as-of day ``t`` in month ``m0``, the serious-violence hazard on a day of
month ``m0 + k`` is ``w(day) × exp(a_k + β z_k)`` where ``a_k`` is the person's log-rate plus
the age curve, ``w`` the weekend weighting and ``z_k = mean_k + u_k`` the latent state. Given
``u_0`` (the state at ``t``), ``u_k`` is Gaussian with mean ``ρ^k u_0``, variance
``s²(1 - ρ^{2k})`` and covariance ``ρ^{|k-l|} s²(1 - ρ^{2 min(k,l)})``. The cumulative hazard
over the label window ``(t + gap, t + horizon]`` is ``Λ = Σ_k W_k exp(a_k + β z_k)`` with
``W_k`` the window's weighted days in month ``m0 + k``. Its first two moments are exact
(lognormal moments); ``Λ`` is then approximated by a lognormal with those moments
(Fenton–Wilkinson) and

* ``p_involvement = 1 - E[exp(-Λ)]`` (at least one true involvement),
* ``p_label_recorded = 1 - E[exp(-r Λ)]`` (at least one recorded; each involvement is
  recorded independently with the person's probability ``r``),

computed by Gauss–Hermite quadrature. The probabilities are *untreated*: they assume no new
support after ``t`` (support lowers the hazard; see ``docs/synthetic-data.md``), and the person
staying in the area and in data coverage through the window (censoring is the label builder's
business).

Example
-------
>>> import pandas as pd
>>> from vru_risk.features.synthetic.oracle import oracle_probabilities
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

from vru_risk.features.synthetic.model import (
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

#: Gauss–Hermite nodes used to integrate over the lognormal cumulative hazard.
QUADRATURE_NODES = 32
_NODES, _WEIGHTS = np.polynomial.hermite.hermgauss(QUADRATURE_NODES)

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
    k = np.arange(months)
    lo = np.minimum(k[:, None], k[None, :])
    lag = np.abs(k[:, None] - k[None, :])
    return np.asarray(
        LATENT_RHO**lag * LATENT_SD**2 * (1.0 - LATENT_RHO ** (2 * lo)), dtype=np.float64
    )


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
    k = np.arange(n_months)
    m0 = month_of_day(as_of)
    months = m0[:, None] + k[None, :]
    first = np.maximum(month_start(months), (as_of + gap_days + 1)[:, None])
    last = np.minimum(month_start(months + 1) - 1, (as_of + horizon_days)[:, None])
    weight = np.where(
        last >= first,
        cumulative_weight(last + 1, WEEKEND_WEIGHTS) - cumulative_weight(first, WEEKEND_WEIGHTS),
        0.0,
    )
    aby = school_year(month_of_day(birth_day))
    mean = latent_mean(
        months,
        static=latent_static[:, None],
        primary_effect=primary_effect[:, None],
        secondary_effect=secondary_effect[:, None],
        birth_day=birth_day[:, None],
        academic_birth_year=aby[:, None],
    )
    u0 = latent - mean[:, 0]
    cov = _covariance(n_months)
    expected_z = mean + (LATENT_RHO**k)[None, :] * u0[:, None]
    log_a = sv_log_hazard(
        months, expected_z, sv_log_rate=sv_log_rate[:, None], birth_day=birth_day[:, None]
    )
    a = weight * np.exp(log_a + 0.5 * SV_LATENT_COEF**2 * np.diag(cov)[None, :])
    m1 = a.sum(axis=1)
    m2 = np.einsum("pk,kl,pl->p", a, np.exp(SV_LATENT_COEF**2 * cov), a)
    positive = m1 > 0
    safe_m1 = np.where(positive, m1, 1.0)
    sigma2 = np.where(positive, np.log(np.maximum(m2 / safe_m1**2, 1.0)), 0.0)
    mu = np.log(safe_m1) - sigma2 / 2
    log_l = mu[:, None] + np.sqrt(2.0 * sigma2)[:, None] * _NODES[None, :]
    w = _WEIGHTS / np.sqrt(np.pi)
    p_inv = 1.0 - (np.exp(-np.exp(log_l)) * w).sum(axis=1)
    p_rec = 1.0 - (np.exp(-np.exp(log_l + np.log(record_prob)[:, None])) * w).sum(axis=1)
    p_inv = np.where(positive, np.clip(p_inv, 0.0, 1.0), 0.0)
    p_rec = np.where(positive, np.clip(p_rec, 0.0, 1.0), 0.0)
    return np.asarray(p_rec, dtype=np.float64), np.asarray(p_inv, dtype=np.float64)


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
    >>> truth = "truth"  # the folder given to ``vru data generate --truth-out``
    >>> def at_triggers(triggers: pd.DataFrame) -> pd.DataFrame:  # doctest: +SKIP
    ...     return oracle_probabilities(pd.read_parquet(f"{truth}/latent.parquet"),
    ...                                 pd.read_parquet(f"{truth}/people.parquet"), triggers)
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
