"""The true effect of each programme's support on the hazards: thinning, none, or harm.

Each programme has a multiplier per hazard (:meth:`SyntheticConfig.effect_multipliers`): 0.6
means 40% fewer incidents while supported, 1.0 none, 1.3 30% more. On a day covered by several
programmes the **smallest** multiplier applies: support does not stack (a product would count a
young person supported twice as twice as protected), and when every programme has the same
multiplier, as by default, this is the county-wide effect the generator always had, so the
default county's bytes are unchanged.

- A multiplier ``m < 1`` thins: an incident on a supported day happens when its uniform draw
  ``u < m`` (a Poisson process thinned to ``m`` × its rate).
- A multiplier ``m > 1`` adds incidents. With ``M`` the largest
  serious-violence multiplier of any programme, the generator draws *extra candidates* as a
  second Poisson process of rate ``(M - 1)`` × the serious-violence hazard on every day, from
  a stream of their own (``serious_violence_extra``, drawn only when ``M > 1``); an extra
  candidate happens only on a supported day, when ``u < (m - 1) / (M - 1)``. On supported days
  the total rate is then ``hazard + (m - 1) × hazard = m × hazard``; on other days the extras
  never happen. The incidents multiplier works the same way, with its own largest value and
  the ``offending_extra``, ``stop_search_extra`` and ``school_extra`` streams.

Both rules are one threshold per involvement (:func:`support_threshold`): an ordinary
involvement's ``u``, an extra one's ``1 + u (M - 1)``. Supported at multiplier ``m`` an
involvement happens exactly when its threshold is below ``m``; without support the ordinary
ones happen and the extra ones do not. The potential outcomes
(:mod:`~vru_risk.data.synthetic.potential`) carry this threshold, so a counterfactual under any
programme needs no new draw.

Example
-------
>>> import numpy as np
>>> thin = np.array([1, 1, 3, 3])
>>> t = support_threshold(thin, np.array([0.3, 0.8, 0.2, 0.9]), top=1.5)
>>> t.tolist()
[0.3, 0.8, 1.1, 1.45]
>>> happens_with(thin, t, np.array([0.6, 0.6, 1.3, 1.3])).tolist()
[True, False, True, False]
"""

from __future__ import annotations

import numpy as np

from vru_risk.data.synthetic.config import SyntheticConfig
from vru_risk.data.synthetic.model import BoolArray, FloatArray, IntArray
from vru_risk.data.synthetic.store import THIN_INCIDENT_EXTRA, THIN_SV_EXTRA

#: the thinning classes of the extra candidates only harmful support causes
EXTRA_CLASSES = (THIN_SV_EXTRA, THIN_INCIDENT_EXTRA)

_BIG = 1 << 22


def extra_serious_violence_rate(config: SyntheticConfig) -> float:
    """``M - 1`` for the largest serious-violence multiplier ``M`` when it is above 1, else 0:
    the rate, relative to the hazard, of the extra candidates harmful support may cause."""
    top = max(sv for sv, _ in config.effect_multipliers())
    return top - 1.0 if top > 1.0 else 0.0


def extra_incident_rate(config: SyntheticConfig) -> float:
    """The same for the incidents multiplier (offending, street encounters, school incidents)."""
    top = max(inc for _, inc in config.effect_multipliers())
    return top - 1.0 if top > 1.0 else 0.0


def covered(
    iv_person: IntArray, iv_start: IntArray, iv_end: IntArray, person: IntArray, day: IntArray
) -> BoolArray:
    """Return whether each (person, day) falls inside one of the person's support intervals."""
    if iv_person.size == 0 or person.size == 0:
        return np.zeros(person.size, dtype=np.bool_)
    order = np.lexsort((iv_start, iv_person))
    p_sorted = iv_person[order]
    keys = p_sorted * _BIG + iv_start[order]
    reach = np.maximum.accumulate(p_sorted * _BIG + iv_end[order])
    pos = np.searchsorted(keys, person * _BIG + day, side="right") - 1
    found = pos >= 0
    pos = np.maximum(pos, 0)
    return np.asarray(found & (p_sorted[pos] == person) & (reach[pos] - person * _BIG >= day))


def day_multipliers(
    intervals: tuple[IntArray, IntArray, IntArray, IntArray],
    multipliers: FloatArray,
    person: IntArray,
    day: IntArray,
) -> FloatArray:
    """Per (person, day): the smallest multiplier of the programmes whose support covers it,
    ``inf`` when none does.

    Parameters
    ----------
    intervals
        ``(person, programme, start, end)`` of the support periods (programme: an index into
        ``multipliers``; start and end inclusive).
    multipliers
        One multiplier per programme.
    person, day
        The (person, day) pairs to look up.
    """
    iv_p, iv_g, iv_s, iv_e = intervals
    out = np.full(person.size, np.inf)
    for g in np.unique(iv_g):
        sel = iv_g == g
        cov = covered(iv_p[sel], iv_s[sel], iv_e[sel], person, day)
        out = np.where(cov, np.minimum(out, multipliers[g]), out)
    return out


def support_threshold(
    thin: IntArray, u: FloatArray, *, top: float, top_incidents: float = 1.0
) -> FloatArray:
    """Per involvement: the multiplier above which it happens while supported (see the module
    docstring): ``u`` for an ordinary one, ``1 + u (top - 1)`` for an extra serious-violence
    one (``top_incidents`` for an extra incident of the other hazards)."""
    out = np.where(thin == THIN_SV_EXTRA, 1.0 + u * max(top - 1.0, 0.0), u)
    return np.where(thin == THIN_INCIDENT_EXTRA, 1.0 + u * max(top_incidents - 1.0, 0.0), out)


def happens_with(thin: IntArray, threshold: FloatArray, multiplier: FloatArray) -> BoolArray:
    """Per involvement: it happens given the multiplier of its day (``inf`` = unsupported)."""
    extra = np.isin(thin, EXTRA_CLASSES)
    supported = np.isfinite(multiplier)
    return np.asarray(np.where(supported, threshold < multiplier, ~extra), dtype=np.bool_)
