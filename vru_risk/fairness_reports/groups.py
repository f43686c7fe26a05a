"""Group labels of the sensitive attributes, and the reference group each is compared with.

Group labels are strings. A missing sensitive value becomes the explicit group ``"unknown"``
(never dropped); booleans become ``"true"``/``"false"``, integral floats their integer
(``3.0`` → ``"3"``), anything else ``str(value)``. An intersection of attributes ``("ethnicity",
"sex")`` is the attribute ``"ethnicity*sex"`` with groups such as ``"black*male"``.

Each attribute has a reference group: the one asked for (``reference_groups``), or by default its
largest group with no ``"unknown"`` part; ties go to the first label in sorted order.

Example
-------
>>> import pandas as pd
>>> group_labels(pd.Series([True, None, 3.0, "a"])).tolist()
['true', 'unknown', '3', 'a']
>>> default_reference(pd.Series({"unknown*f": 9, "b*f": 4, "a*f": 4}))
'a*f'
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from vru_risk.models.groups import INTERSECTION_SEP, UNKNOWN, group_labels

# the labels' rule is shared with monitoring: one home in vru_risk.models.groups
__all__ = ["INTERSECTION_SEP", "UNKNOWN", "choose_references", "default_reference", "group_labels"]


def default_reference(counts: pd.Series) -> str:
    """The largest group without an ``unknown`` part (ties: the first label in sorted order)."""
    known = counts[[UNKNOWN not in str(label).split(INTERSECTION_SEP) for label in counts.index]]
    pool = known if len(known) else counts
    return str(pool.sort_index().idxmax())


def choose_references(
    counts: Mapping[str, pd.Series], reference_groups: Mapping[str, str] | None
) -> dict[str, str]:
    """Reference group per attribute: the requested one (checked to exist) or the default."""
    requested = dict(reference_groups or {})
    unknown = sorted(set(requested) - set(counts))
    if unknown:
        raise ValueError(
            f"reference_groups names {unknown}, which are not audited attributes "
            f"({list(counts)}); intersections are named like 'ethnicity*sex'"
        )
    chosen: dict[str, str] = {}
    for attribute, group_counts in counts.items():
        if attribute in requested:
            group = requested[attribute]
            if group not in group_counts.index:
                raise ValueError(
                    f"reference group {group!r} of {attribute!r} is not among its groups "
                    f"{sorted(group_counts.index)}"
                )
            chosen[attribute] = group
        else:
            chosen[attribute] = default_reference(group_counts)
    return chosen
