"""Labels, kept apart from features, by event date, with censoring (never a false negative).

Default label: involvement in serious violence (a police contact as suspect or victim with an
offence in the serious set, or an A&E visit for assault) dated in ``(as_of + gap, as_of +
horizon]``. The harm-only outcome (an A&E assault visit, or being the victim of a serious offence)
is always built beside it.

An example is **censored** (label NULL, never 0, never used for training or evaluation) when its
window plus the longest reporting lag of the label sources runs past the extract date, or the
person left the area (``left_area_date``) or reached the coverage age on or before the window's
end. ``label_censored_reason`` says which.

The same SQL labels any events relation with columns (person_id, event_date, harm), so the
synthetic truth's true outcome events can be labelled exactly as recorded ones.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import date

from vru_risk.data.sql import sql_list
from vru_risk.features.config import CohortConfig, LabelConfig


def recorded_events_sql(available: Mapping[str, Collection[str]], label: LabelConfig) -> str:
    """Recorded label events (person_id, event_date, harm) from police contacts and A&E."""
    parts = []
    if "police_contacts" in available:
        parts.append(
            "SELECT person_id, event_date, role = 'victim' AS harm FROM src_police_contacts "
            f"WHERE role IN ('suspect', 'victim') AND offence IN {sql_list(label.serious_offences)}"
        )
    if "ae_visits" in available:
        parts.append(
            "SELECT person_id, event_date, TRUE AS harm FROM src_ae_visits WHERE reason = 'assault'"
        )
    if not parts:
        return (
            "SELECT CAST(NULL AS VARCHAR) AS person_id, CAST(NULL AS DATE) AS event_date, "
            "CAST(NULL AS BOOLEAN) AS harm LIMIT 0"
        )
    return "\nUNION ALL\n".join(f"({p})" for p in parts)


def label_event_filters(label: LabelConfig) -> dict[str, str]:
    """Per label source, the SQL condition that makes a row a label event."""
    return {
        "police_contacts": "role IN ('suspect', 'victim') AND offence IN "
        + sql_list(label.serious_offences),
        "ae_visits": "reason = 'assault'",
    }


def label_sources_unavailable(available: Mapping[str, Collection[str]]) -> tuple[str, ...]:
    return tuple(t for t in ("police_contacts", "ae_visits") if t not in available)


def censoring_sql(
    examples: str,
    available: Mapping[str, Collection[str]],
    label: LabelConfig,
    cohort: CohortConfig,
    *,
    extract_date: date,
    label_lag_days: int,
    sources_refreshed: date | None = None,
) -> str:
    """Per example: window bounds and the reason it is censored (NULL when it is not).

    Reasons, first match wins: ``no_label_source`` (neither police contacts nor A&E visits are
    in the data), ``extract_date`` (window plus lag runs past the extract date),
    ``source_refreshed`` (past the last refresh of a label source, when earlier), ``left_area``,
    ``age_limit``.
    """
    if not any(t in available for t in ("police_contacts", "ae_visits")):
        return f"""
        SELECT person_id, as_of,
               CAST(as_of + INTERVAL {label.gap_days} DAY AS DATE) AS label_window_start,
               CAST(as_of + INTERVAL {label.horizon_days} DAY AS DATE) AS label_window_end,
               'no_label_source' AS label_censored_reason
        FROM {examples}
        """
    refreshed_rule = (
        f"WHEN CAST(e.label_window_end + INTERVAL {label_lag_days} DAY AS DATE) "
        f"> DATE '{sources_refreshed.isoformat()}' THEN 'source_refreshed' "
        if sources_refreshed is not None and sources_refreshed < extract_date
        else ""
    )
    left = "left_area_date" in available.get("people", ())
    left_rule = (
        "WHEN p.left_area_date IS NOT NULL AND p.left_area_date <= e.label_window_end "
        "THEN 'left_area' "
        if left
        else ""
    )
    return f"""
    SELECT e.person_id, e.as_of, e.label_window_start, e.label_window_end,
      CASE
        WHEN CAST(e.label_window_end + INTERVAL {label_lag_days} DAY AS DATE)
             > DATE '{extract_date.isoformat()}' THEN 'extract_date'
        {refreshed_rule}
        {left_rule}
        WHEN CAST(p.birth_date + INTERVAL {cohort.coverage_end_age} YEAR AS DATE)
             <= e.label_window_end THEN 'age_limit'
      END AS label_censored_reason
    FROM (
      SELECT person_id, as_of,
             CAST(as_of + INTERVAL {label.gap_days} DAY AS DATE) AS label_window_start,
             CAST(as_of + INTERVAL {label.horizon_days} DAY AS DATE) AS label_window_end
      FROM {examples}
    ) e JOIN src_people p ON p.person_id = e.person_id
    """


def labels_sql(
    examples: str,
    events: str,
    label: LabelConfig,
    *,
    prefix: str,
    censoring: str,
) -> str:
    """Label columns for ``examples`` from ``events`` (person_id, event_date, harm).

    Columns: ``{prefix}`` (serious violence), ``{prefix}_harm`` and one ``{prefix}_gap{g}`` per
    extra gap; all DOUBLE 1/0, NULL when censored.
    """
    gaps = [label.gap_days, *(g for g in label.extra_gaps if g != label.gap_days)]
    earliest = min(gaps)
    hits = ", ".join(
        f"max(CASE WHEN l.event_date > CAST(e.as_of + INTERVAL {g} DAY AS DATE) "
        f"THEN 1 ELSE 0 END) AS hit_gap{g}"
        for g in gaps
    )
    harm = (
        f"max(CASE WHEN l.harm AND l.event_date > CAST(e.as_of + INTERVAL {label.gap_days} DAY "
        "AS DATE) THEN 1 ELSE 0 END) AS hit_harm"
    )
    extra_cols = "".join(
        f", CASE WHEN c.label_censored_reason IS NULL THEN CAST(coalesce(h.hit_gap{g}, 0) "
        f"AS DOUBLE) END AS {prefix}_gap{g}"
        for g in gaps
        if g != label.gap_days
    )
    return f"""
    SELECT c.person_id, c.as_of,
      CASE WHEN c.label_censored_reason IS NULL
           THEN CAST(coalesce(h.hit_gap{label.gap_days}, 0) AS DOUBLE) END AS {prefix},
      CASE WHEN c.label_censored_reason IS NULL
           THEN CAST(coalesce(h.hit_harm, 0) AS DOUBLE) END AS {prefix}_harm
      {extra_cols}
    FROM ({censoring}) c
    LEFT JOIN (
      SELECT e.person_id, e.as_of, {hits}, {harm}
      FROM {examples} e
      JOIN ({events}) l ON l.person_id = e.person_id
       AND l.event_date > CAST(e.as_of + INTERVAL {earliest} DAY AS DATE)
       AND l.event_date <= CAST(e.as_of + INTERVAL {label.horizon_days} DAY AS DATE)
      GROUP BY e.person_id, e.as_of
    ) h ON h.person_id = c.person_id AND h.as_of = c.as_of
    """
