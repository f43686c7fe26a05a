"""Potential outcomes of serious violence: for every involvement the generator drew (before
support thinned it), whether support on its day would have prevented it, and which recorded
label events that would remove from an extract.

Support thins serious violence (:mod:`~vru_risk.data.synthetic.support`): an incident on a day
the young person is supported is kept only when its uniform draw ``u_prevent`` is below
``1 - support_effect_serious_violence``. That draw is made for *every* incident, supported or
not, from the serious-violence stream before support is simulated, so each incident has both
potential outcomes: it happens without support, and with support it is prevented exactly when
``u_prevent >= 1 - effect``. Writing them adds no random draw: the extract and the other truth
files are byte-identical to what the generator wrote before this file existed.

``potential_outcomes.parquet`` (truth folder) has one row per drawn involvement:

- ``person_id``, ``date``, ``kind`` (perpetrator / victim), ``offence``;
- ``u_prevent`` and ``prevented_if_supported`` (``u_prevent >= 1 - effect`` at the county's
  ``support_effect_serious_violence``);
- ``supported`` (the county's own support covered its day) and ``happened`` (it is in the
  generated world: ``not (supported and prevented_if_supported)``);
- the label events it left in the extract: ``police_recorded`` (a police contact of the person
  on ``date`` as ``police_role`` with ``offence``) and ``ae_arrival`` (the arrival of an A&E
  assault visit; null when none is in the extract);
- ``caused_if_supported``: an *extra* involvement that only a harmful programme's support
  causes (a serious-violence multiplier above 1, :mod:`~vru_risk.data.synthetic.effects`); it
  does not happen without support, and ``prevented_if_supported`` is false for it;
- ``support_threshold``: with support of multiplier ``m`` on its day the involvement happens
  exactly when ``support_threshold < m`` (``u_prevent`` for an ordinary one); this is how a
  counterfactual under any programme's true effect is read (:func:`happens_with_support`).

With per-programme effects (``programme_effects``) ``prevented_if_supported`` and
:func:`would_prevent` still describe the county-wide ``support_effect_serious_violence``; the
per-programme truth is :func:`happens_with_support` with :func:`serious_violence_multipliers`.

:func:`would_prevent` says which involvements extra support periods would prevent, and
:func:`prevented_records` which extract rows (police contacts and A&E visits, the label
sources of :func:`vru_risk.data.synthetic.truth.label_events`) would then not exist.

Example
-------
>>> import pandas as pd
>>> from datetime import date
>>> potential = pd.DataFrame({"person_id": ["a", "a", "b"],
...     "date": [date(2025, 3, 1), date(2025, 9, 1), date(2025, 3, 1)],
...     "u_prevent": [0.9, 0.9, 0.1], "happened": [True, True, True]})
>>> support = pd.DataFrame({"person_id": ["a", "b"], "start_date": [date(2025, 2, 1)] * 2,
...     "end_date": [date(2025, 6, 30)] * 2})
>>> would_prevent(potential, support, effect=0.4).tolist()  # b's draw is kept at 0.4
[True, False, False]
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd
import pyarrow as pa

from vru_risk.data.synthetic.arrays import date_array, person_ids, sort_order
from vru_risk.data.synthetic.context import ChunkContext
from vru_risk.data.synthetic.effects import (
    covered,
    day_multipliers,
    extra_serious_violence_rate,
    support_threshold,
)
from vru_risk.data.synthetic.model import SV_IS_PERPETRATOR, SV_KINDS, BoolArray, day_number
from vru_risk.data.synthetic.programmes import PROGRAMME_NAMES
from vru_risk.data.synthetic.store import AE, POLICE, PROC_SV, THIN_SV_EXTRA, Cols

POTENTIAL_FILE: Final = "potential_outcomes.parquet"
TRUTH_FILE: Final = "truth.json"
#: the police role each kind of involvement is recorded with
POLICE_ROLE_OF: Final = {"perpetrator": "suspect", "victim": "victim"}

POTENTIAL_SCHEMA = pa.schema(
    [
        ("person_id", pa.string()),
        ("date", pa.date32()),
        ("kind", pa.string()),
        ("offence", pa.string()),
        ("u_prevent", pa.float64()),
        ("prevented_if_supported", pa.bool_()),
        ("supported", pa.bool_()),
        ("happened", pa.bool_()),
        ("police_recorded", pa.bool_()),
        ("police_role", pa.string()),
        ("ae_arrival", pa.timestamp("us")),
        ("caused_if_supported", pa.bool_()),
        ("support_threshold", pa.float64()),
    ]
)


#: the day number of an open end date (9999-12-31; :func:`covered` needs days below 2**22)
_OPEN_END: Final = 2_932_896


class PotentialOutcomesError(ValueError):
    """A truth folder without usable potential outcomes; the message says what to do."""


def potential_table(
    ctx: ChunkContext,
    inc: Cols,
    accepted: BoolArray,
    supported: BoolArray,
    rec: Cols,
    ae_known_by: int,
) -> pa.Table:
    """The chunk's rows of ``potential_outcomes.parquet`` (see the module docstring).

    ``inc`` are the drawn incidents, ``accepted``/``supported`` what support did to them,
    ``rec`` the records that exist; a police record is in the extract when known by the
    extract date, an A&E visit when known by ``ae_known_by`` (the feed's last refresh).
    """
    index = np.flatnonzero(inc["process"] == PROC_SV)
    n = accepted.size
    police = (rec["source"] == POLICE) & (rec["known"] <= ctx.window.end_day)
    in_police = np.zeros(n, dtype=np.bool_)
    in_police[rec["incident"][police]] = True
    ae = (rec["source"] == AE) & (rec["known"] <= ae_known_by)
    arrival = np.full(n, -1, dtype=np.int64)
    arrival[rec["incident"][ae]] = rec["day"][ae] * 86_400 + rec["arrival"][ae]
    person, day, kind = inc["person"][index], inc["day"][index], inc["kind"][index]
    u = inc["u_thin"][index]
    order = sort_order([person, day, kind])
    index, person, day, kind, u = index[order], person[order], day[order], kind[order], u[order]
    keep = 1.0 - ctx.config.support_effect_serious_violence
    thin = inc["thin"][index]
    caused = thin == THIN_SV_EXTRA
    prevent = (u >= keep) & ~caused
    top = 1.0 + extra_serious_violence_rate(ctx.config)
    threshold = support_threshold(thin, u, top=top)
    kinds = np.array([k for k, _ in SV_KINDS])
    offences = np.array([o for _, o in SV_KINDS])
    roles = np.where(SV_IS_PERPETRATOR[kind], "suspect", "victim")
    seconds = arrival[index]
    micros = pa.array(np.where(seconds < 0, 0, seconds) * 1_000_000, mask=seconds < 0)
    return pa.Table.from_arrays(
        [
            person_ids(ctx, person),
            date_array(day),
            pa.array(kinds[kind].tolist(), type=pa.string()),
            pa.array(offences[kind].tolist(), type=pa.string()),
            pa.array(u),
            pa.array(prevent),
            pa.array(supported[index]),
            pa.array(accepted[index]),
            pa.array(in_police[index]),
            pa.array(roles.tolist(), type=pa.string()),
            micros.cast(pa.int64()).view(pa.timestamp("us")),
            pa.array(caused),
            pa.array(threshold),
        ],
        schema=POTENTIAL_SCHEMA,
    )


def read_potential(truth_dir: Path) -> pd.DataFrame:
    """The potential outcomes of a truth folder (dates as :class:`datetime.date`)."""
    path = truth_dir / POTENTIAL_FILE
    if not path.is_file():
        raise PotentialOutcomesError(
            f"{truth_dir} has no {POTENTIAL_FILE}: give the truth folder `vru data generate` "
            "wrote beside the data folder (a county generated by an older vru-risk has none; "
            "generate it again with the same options)"
        )
    frame = pd.read_parquet(path)
    frame["date"] = pd.to_datetime(frame["date"]).dt.date
    return frame


def truth_config(truth_dir: Path) -> dict[str, object]:
    """The generator options recorded in ``truth.json``."""
    try:
        doc = json.loads((truth_dir / TRUTH_FILE).read_text(encoding="utf-8"))
        config = doc["config"]
    except (OSError, ValueError, KeyError, TypeError):
        raise PotentialOutcomesError(
            f"{truth_dir / TRUTH_FILE} cannot be read: give the truth folder `vru data "
            "generate` wrote"
        ) from None
    if not isinstance(config, dict):
        raise PotentialOutcomesError(f"{truth_dir / TRUTH_FILE} has no generator options")
    return config


def support_effect(truth_dir: Path) -> float:
    """The county's ``support_effect_serious_violence`` (``truth.json``)."""
    value = truth_config(truth_dir).get("support_effect_serious_violence")
    if not isinstance(value, int | float):
        raise PotentialOutcomesError(
            f"{truth_dir / TRUTH_FILE} does not record support_effect_serious_violence"
        )
    return float(value)


def _days(values: pd.Series, missing: int) -> np.ndarray:
    return np.array(
        [missing if v is None or v != v else day_number(v) for v in values], dtype=np.int64
    )


def would_prevent(potential: pd.DataFrame, support: pd.DataFrame, *, effect: float) -> np.ndarray:
    """Per row of ``potential``: support in ``support`` (person_id, start_date, end_date; an
    empty end date is open) covers its day and its draw is one support prevents at
    ``effect`` (``u_prevent >= 1 - effect``). Whether it happened is not looked at: with the
    county's own interventions this gives back ``not happened``."""
    if not 0.0 <= effect <= 1.0:
        raise ValueError(f"a support effect is a share between 0 and 1, not {effect}")
    if potential.empty or support.empty:
        return np.zeros(len(potential), dtype=bool)
    codes, _ = pd.factorize(
        pd.concat([potential["person_id"], support["person_id"]]).astype(str), sort=False
    )
    n = len(potential)
    start = _days(support["start_date"], 0)
    end = _days(support["end_date"], _OPEN_END)
    cov = covered(
        codes[n:].astype(np.int64),
        start,
        end,
        codes[:n].astype(np.int64),
        _days(potential["date"], 0),
    )
    caused = _caused(potential)
    return np.asarray(
        cov & (potential["u_prevent"].to_numpy() >= 1.0 - effect) & ~caused, dtype=bool
    )


def _caused(potential: pd.DataFrame) -> np.ndarray:
    """Per row: an involvement only harmful support causes (none in an older truth folder)."""
    if "caused_if_supported" not in potential.columns:
        return np.zeros(len(potential), dtype=bool)
    return np.asarray(potential["caused_if_supported"].to_numpy(dtype=bool), dtype=bool)


def serious_violence_multipliers(truth_dir: Path) -> dict[str, float]:
    """Each county programme's true serious-violence multiplier (``truth.json``'s
    ``programme_effects``; for a truth folder written before it, ``1 -
    support_effect_serious_violence`` for every programme)."""
    try:
        doc = json.loads((truth_dir / TRUTH_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise PotentialOutcomesError(
            f"{truth_dir / TRUTH_FILE} cannot be read: give the truth folder `vru data "
            "generate` wrote"
        ) from None
    effects = doc.get("programme_effects") if isinstance(doc, dict) else None
    if not isinstance(effects, dict):
        keep = 1.0 - support_effect(truth_dir)
        return dict.fromkeys(PROGRAMME_NAMES, keep)
    out: dict[str, float] = {}
    for name, effect in effects.items():
        value = effect.get("serious_violence") if isinstance(effect, dict) else None
        if not isinstance(value, int | float):
            raise PotentialOutcomesError(
                f"{truth_dir / TRUTH_FILE}: programme_effects[{name!r}] has no serious_violence "
                "multiplier; give the truth folder `vru data generate` wrote"
            )
        out[str(name)] = float(value)
    return out


def support_multiplier(
    potential: pd.DataFrame,
    support: pd.DataFrame,
    multipliers: Mapping[str, float],
    *,
    default: float,
) -> np.ndarray:
    """Per row of ``potential``: the multiplier of the ``support`` (person_id, programme,
    start_date, end_date; an empty end is open) covering its day, the smallest of several
    (``multipliers`` by programme name, ``default`` for a programme not in it); ``inf`` where
    none covers it."""
    n = len(potential)
    if n == 0 or support.empty:
        return np.full(n, np.inf)
    codes, _ = pd.factorize(
        pd.concat([potential["person_id"], support["person_id"]]).astype(str), sort=False
    )
    programme_codes, uniques = pd.factorize(support["programme"].astype(str), sort=False)
    values = np.array([multipliers.get(str(u), default) for u in uniques], dtype=np.float64)
    intervals = (
        codes[n:].astype(np.int64),
        np.asarray(programme_codes, dtype=np.int64),
        _days(support["start_date"], 0),
        _days(support["end_date"], _OPEN_END),
    )
    return day_multipliers(
        intervals, values, codes[:n].astype(np.int64), _days(potential["date"], 0)
    )


def thresholds(potential: pd.DataFrame) -> np.ndarray:
    """Per row: ``support_threshold`` (``u_prevent`` for a truth folder written before it)."""
    column = "support_threshold" if "support_threshold" in potential.columns else "u_prevent"
    return np.asarray(potential[column].to_numpy(dtype=np.float64), dtype=np.float64)


def happens_with_support(
    potential: pd.DataFrame,
    support: pd.DataFrame,
    multipliers: Mapping[str, float],
    *,
    default: float,
) -> np.ndarray:
    """Per row of ``potential``: the involvement happens when ``support`` is *all* the support
    there is (:func:`support_multiplier`): an ordinary involvement unless its day is covered
    with a multiplier at most its threshold, an extra one (``caused_if_supported``) only when
    its day is covered with a multiplier above its threshold
    (:mod:`~vru_risk.data.synthetic.effects`)."""
    multiplier = support_multiplier(potential, support, multipliers, default=default)
    covered_day = np.isfinite(multiplier)
    caused = _caused(potential)
    return np.asarray(
        np.where(covered_day, thresholds(potential) < multiplier, ~caused), dtype=bool
    )


def prevented_records(
    potential: pd.DataFrame, prevented: np.ndarray
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The extract rows that would not exist once the involvements marked ``prevented`` do not
    happen: police contacts (person_id, date, role, offence) and A&E visits (person_id,
    arrival). A row goes only when every involvement behind it that happened is prevented (two
    involvements of a person on a day with the same offence share one police row)."""
    rows = potential.assign(gone=np.asarray(prevented, dtype=bool))
    rows = rows[rows["happened"].to_numpy(dtype=bool)]
    police = rows[rows["police_recorded"].to_numpy(dtype=bool)]
    keys = ["person_id", "date", "police_role", "offence"]
    by_row = police.groupby(keys, sort=True)["gone"].all()
    police_gone = by_row[by_row].reset_index()[keys].rename(columns={"police_role": "role"})
    ae = rows[rows["ae_arrival"].notna()]
    by_visit = ae.groupby(["person_id", "ae_arrival"], sort=True)["gone"].all()
    ae_gone = by_visit[by_visit].reset_index()[["person_id", "ae_arrival"]]
    return police_gone, ae_gone.rename(columns={"ae_arrival": "arrival"})
