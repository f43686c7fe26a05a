"""Who a programme reached: flags offered, practitioners' decisions, support started and
completed, per programme and capacity period, optionally by age band, school or an audit group.

Why by distinct people: one young person with ten offers is one young person. Every count here
is of distinct people, and a cell counting fewer than ``min_people`` of them is suppressed (no
number is shown, its name is listed in ``suppressed``). Zero counts are suppressed too: "no one
in this school disagreed" is as telling as "one did".

**Complementary suppression.** Cells that add up to a figure shown elsewhere (the decisions of
the people offered, plus those still undecided; completed and not completed support among those
who started; the groups of a programme's period, whose total the programme table shows) could
give a suppressed cell away by subtraction. In each such set, whenever the cells not shown (the
suppressed ones and any remainder that is never shown, such as "undecided") together count
fewer than ``min_people`` people but more than none, or hide a suppressed cell behind a known
zero, the next smallest shown cell is suppressed too, until the hidden cells count at least
``min_people``. Shares and costs computed from a suppressed count are suppressed with it
(a share of a known capacity gives the count back).

Inputs (one row each; extra columns are ignored):

- ``offers``: ``person_id``, ``programme_id``, ``offered_on`` (date);
- ``decisions``: ``person_id``, ``programme_id``, ``decision`` (``referred``, ``no_action`` or
  ``disagree``) and optionally ``offered_on`` (the offer it answers); without it a decision
  answers the person's latest offer of that programme. A person's last decision row in a period
  counts;
- ``support``: ``person_id``, ``programme_id``, ``start_date``, ``end_date`` and optionally
  ``completed`` (bool); without it completion is "not recorded" (``completed_recorded`` False);
- ``people``: ``person_id``, ``age_band``, ``school`` and audit-only attributes (for
  ``by="group:<attribute>"``). A missing value, or a person not in ``people``, is ``unknown``.

Periods and capacity follow each programme's own rule when ``programmes`` is given
(:meth:`vru_risk.flags.programmes.Programme.period_start`, ``capacity`` places a period);
otherwise periods are calendar months and capacity is not known. ``costs`` (programme id → cost
of one period) gives the cost per young person who started support.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

import numpy as np
import pandas as pd

from vru_risk.flags.programmes import Programme
from vru_risk.models.groups import UNKNOWN, group_labels

DECISIONS = ("referred", "no_action", "disagree")
COUNTS = ("offered", *DECISIONS, "support_started", "support_completed")
_UNDECIDED, _NOT_COMPLETED = "_undecided", "_not_completed"
_KEY = ["programme_id", "period", "group"]


def _need(frame: pd.DataFrame, name: str, cols: Sequence[str]) -> None:
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise ValueError(f"{name} lacks column(s) {missing}; it needs {list(cols)}.")


def _period_of(
    days: pd.Series, programme_ids: pd.Series, programmes: Mapping[str, Programme]
) -> pd.Series:
    def start(day: object, pid: object) -> date:
        d = pd.Timestamp(day).date()  # type: ignore[arg-type]
        prog = programmes.get(str(pid))
        return prog.period_start(d) if prog is not None else d.replace(day=1)

    return pd.Series(
        [start(d, p) for d, p in zip(days, programme_ids, strict=True)],
        index=days.index,
        dtype=object,
    )


def _groups(people: pd.DataFrame, by: str) -> pd.Series:
    """Group label per person_id for ``by``."""
    if by == "programme":
        return pd.Series(dtype=object)
    column = by.removeprefix("group:") if by.startswith("group:") else by
    if by not in ("age_band", "school") and not by.startswith("group:"):
        raise ValueError(
            f"by must be 'programme', 'age_band', 'school' or 'group:<attribute>' (got {by!r})."
        )
    _need(people, "people", ["person_id", column])
    once = people.drop_duplicates("person_id", keep="last")
    return pd.Series(group_labels(once[column]), index=once["person_id"].to_numpy())


def _label(frame: pd.DataFrame, labels: pd.Series, by: str) -> pd.DataFrame:
    out = frame.copy()
    if by == "programme":
        out["group"] = "all"
    else:
        out["group"] = out["person_id"].map(labels).fillna(UNKNOWN).astype(str)
    return out


def _counts(
    offers: pd.DataFrame,
    decisions: pd.DataFrame,
    support: pd.DataFrame,
    programmes: Mapping[str, Programme],
) -> pd.DataFrame:
    """Distinct people per (programme_id, period, person_id-level) before grouping."""
    o = offers.assign(period=_period_of(offers["offered_on"], offers["programme_id"], programmes))
    d = decisions.copy()
    if "offered_on" in d.columns:
        d["period"] = _period_of(d["offered_on"], d["programme_id"], programmes)
    else:
        latest = o.groupby(["person_id", "programme_id"], as_index=False)["period"].max()
        d = d.merge(latest, on=["person_id", "programme_id"], how="inner")
    d = d.drop_duplicates(["person_id", "programme_id", "period"], keep="last")
    s = support.assign(
        period=_period_of(support["start_date"], support["programme_id"], programmes)
    )
    rows = o[["person_id", "programme_id", "period"]].drop_duplicates().assign(offered=True)
    dec = d[["person_id", "programme_id", "period", "decision"]]
    rows = rows.merge(dec, on=["person_id", "programme_id", "period"], how="left")
    sup = s[["person_id", "programme_id", "period"]].drop_duplicates().assign(started=True)
    if "completed" in s.columns:
        done = s.loc[s["completed"].fillna(False).astype(bool)]
        done_keys = done[["person_id", "programme_id", "period"]].drop_duplicates()
        sup = sup.merge(done_keys.assign(completed=True), how="left")
    rows = rows.merge(sup, on=["person_id", "programme_id", "period"], how="outer")
    for col in ("offered", "started", "completed"):
        if col in rows.columns:
            rows[col] = rows[col].fillna(False).astype(bool)
    return rows


Counts = dict[str, "np.ndarray[tuple[int], np.dtype[np.int64]]"]
Hidden = dict[str, "np.ndarray[tuple[int], np.dtype[np.bool_]]"]


def _hide_complements(
    counts: Counts, hidden: Hidden, sets: list[tuple[list[str], str]], min_people: int
) -> bool:
    """Within each row, each set of columns adding up to ``total`` (remainder = total − sum):
    hide the next smallest shown cell while the hidden ones are too few. True if any changed."""
    changed = False
    for members, total in sets:
        for i in range(len(counts[total])):
            if hidden[total][i]:
                continue
            shown_sum = sum(int(counts[m][i]) for m in members if not hidden[m][i])
            any_hidden = any(bool(hidden[m][i]) for m in members)
            while True:
                hidden_sum = int(counts[total][i]) - shown_sum
                too_few = 0 < hidden_sum < min_people or (hidden_sum == 0 and any_hidden)
                shown = [m for m in members if not hidden[m][i]]
                if not too_few or not shown:
                    break
                nxt = min(shown, key=lambda m: int(counts[m][i]))
                hidden[nxt][i], any_hidden, changed = True, True, True
                shown_sum -= int(counts[nxt][i])
    return changed


def _hide_across_groups(
    blocks: list[list[int]], counts: Counts, hidden: Hidden, min_people: int
) -> bool:
    """The groups of a programme's period add up to its total (shown in the programme table)."""
    changed = False
    for idx in blocks:
        for col in COUNTS:
            if col not in counts:
                continue
            hid = [i for i in idx if hidden[col][i]]
            hidden_sum = sum(int(counts[col][i]) for i in hid)
            while hid and hidden_sum < min_people:
                shown = [i for i in idx if not hidden[col][i]]
                if not shown:
                    break
                nxt = min(shown, key=lambda i: int(counts[col][i]))
                hidden[col][nxt], changed = True, True
                hid.append(nxt)
                hidden_sum += int(counts[col][nxt])
    return changed


def reach_table(
    offers: pd.DataFrame,
    decisions: pd.DataFrame,
    support: pd.DataFrame,
    people: pd.DataFrame,
    *,
    by: str,
    min_people: int,
    programmes: Sequence[Programme] = (),
    costs: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Reach per programme and period (and group), counted in distinct people, suppressed.

    Returns one row per ``programme_id``, ``period`` (start date) and ``group`` (``"all"``
    when ``by="programme"``): ``offered``, ``referred``, ``no_action``, ``disagree``,
    ``support_started``, ``support_completed`` (nullable integers; missing = suppressed, or
    completion not recorded), ``completed_recorded``, ``capacity`` (places in the period),
    ``capacity_used`` (support started ÷ capacity), ``cost_per_young_person`` and
    ``suppressed`` (the suppressed figures' names, comma-separated).
    """
    if min_people < 1:
        raise ValueError(f"min_people must be at least 1 (got {min_people}).")
    _need(offers, "offers", ["person_id", "programme_id", "offered_on"])
    _need(decisions, "decisions", ["person_id", "programme_id", "decision"])
    _need(support, "support", ["person_id", "programme_id", "start_date", "end_date"])
    unknown = set(decisions["decision"].dropna().astype(str)) - set(DECISIONS)
    if unknown:
        raise ValueError(f"decisions has unknown decision(s) {sorted(unknown)}; use {DECISIONS}.")
    progs = {p.id: p for p in programmes}
    labels = _groups(people, by)
    rows = _label(_counts(offers, decisions, support, progs), labels, by)
    recorded = "completed" in rows.columns
    agg = {
        "offered": rows.loc[rows["offered"]].groupby(_KEY)["person_id"].nunique(),
        **{
            dec: rows.loc[rows["offered"] & (rows["decision"] == dec)]
            .groupby(_KEY)["person_id"]
            .nunique()
            for dec in DECISIONS
        },
        _UNDECIDED: rows.loc[rows["offered"] & rows["decision"].isna()]
        .groupby(_KEY)["person_id"]
        .nunique(),
        "support_started": rows.loc[rows["started"]].groupby(_KEY)["person_id"].nunique(),
    }
    if recorded:
        agg["support_completed"] = (
            rows.loc[rows["started"] & rows["completed"]].groupby(_KEY)["person_id"].nunique()
        )
    index = pd.MultiIndex.from_frame(rows[_KEY].drop_duplicates().sort_values(_KEY))
    table = pd.DataFrame({k: v.reindex(index, fill_value=0) for k, v in agg.items()})
    table = table.fillna(0).astype(int).reset_index()
    if not recorded:
        table["support_completed"] = 0
    shown_counts = [c for c in COUNTS if recorded or c != "support_completed"]
    counts: Counts = {c: table[c].to_numpy(dtype=np.int64) for c in [*COUNTS, _UNDECIDED]}
    hidden: Hidden = {c: counts[c] < min_people for c in counts}
    hidden[_UNDECIDED][:] = True  # never shown: a remainder
    sets = [([*DECISIONS, _UNDECIDED], "offered")]
    if recorded:
        counts[_NOT_COMPLETED] = counts["support_started"] - counts["support_completed"]
        hidden[_NOT_COMPLETED] = np.ones(len(table), dtype=bool)
        sets.append((["support_completed", _NOT_COMPLETED], "support_started"))
    blocks = [list(v) for v in table.groupby(["programme_id", "period"]).indices.values()]
    while True:
        changed = _hide_complements(counts, hidden, sets, min_people)
        if by != "programme":
            changed = _hide_across_groups(blocks, counts, hidden, min_people) or changed
        if not changed:
            break
    mask = pd.DataFrame({c: hidden[c] for c in COUNTS}, index=table.index)
    # a programme's cost is the programme's: per young person only in the programme table
    return _finish(
        table, mask, shown_counts, recorded, progs, (costs or {}) if by == "programme" else {}
    )


def _finish(
    table: pd.DataFrame,
    hidden: pd.DataFrame,
    shown_counts: list[str],
    recorded: bool,
    progs: Mapping[str, Programme],
    costs: Mapping[str, float],
) -> pd.DataFrame:
    out = table[["programme_id", "period", "group"]].copy()
    for c in COUNTS:
        col = pd.array(table[c].to_numpy(), dtype="Int64")
        out[c] = col
        if c in shown_counts:
            out.loc[hidden[c].to_numpy(), c] = pd.NA
    if not recorded:
        out["support_completed"] = pd.array([pd.NA] * len(out), dtype="Int64")
    out["completed_recorded"] = recorded
    cap = table["programme_id"].map(lambda p: progs[p].capacity if p in progs else np.nan)
    out["capacity"] = pd.array(cap.to_numpy(dtype=float), dtype="Float64")
    started = out["support_started"].astype("Float64")
    out["capacity_used"] = (started / out["capacity"]).where(out["capacity"] > 0)
    cost = table["programme_id"].map(lambda p: costs.get(p, np.nan)).astype("Float64")
    out["cost_per_young_person"] = (cost / started).where(started > 0)
    flags = hidden[shown_counts].to_numpy()
    out["suppressed"] = [
        ", ".join(c for c, h in zip(shown_counts, row, strict=True) if h) for row in flags
    ]
    return out.reset_index(drop=True)
