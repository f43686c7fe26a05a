"""Teachable moments (triggers) and the training examples they open, as relational queries.

A trigger is an event that opens a teachable moment: an A&E visit, an exclusion, a police contact
(not a stop and search, by default) or attendance crossing below a threshold. Its ``as_of`` is the
trigger row's *known* date: the day the VRU could have acted. Several triggers of one person on one
day become one example listing them all. Only people aged ``min_age``..``max_age`` (completed
years) on ``as_of`` and still in the area are examples.

The functions here return DuckDB SQL over the views made by :mod:`vru_risk.data.load`; they
are plain strings so that the same queries can be transpiled for another engine.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import date

from vru_risk.data.contract import ATTENDANCE_STATUS
from vru_risk.data.sql import sql_list
from vru_risk.features.config import AttendanceTrigger, CohortConfig

ATTENDED = ("present", "late")
POSSIBLE = tuple(s for s in ATTENDANCE_STATUS if s != "not_required")


def completed_years(birth: str, day: str) -> str:
    """SQL for age in completed years on ``day`` (portable: no engine-specific date_sub)."""
    return (
        f"((year({day}) - year({birth})) - CASE WHEN month({day}) < month({birth}) OR "
        f"(month({day}) = month({birth}) AND day({day}) < day({birth})) THEN 1 ELSE 0 END)"
    )


def attendance_drop_sql(cfg: AttendanceTrigger) -> str:
    """Weeks in which trailing attendance crosses below the threshold, one row per crossing.

    Written portable (docs/portability.md): a week on roll has a session, so the ``nullif``
    guard never fires, and the interval sum is cast back to a date.
    """
    n = cfg.trailing_weeks
    return f"""
    SELECT person_id, known_date AS as_of, 'attendance_drop' AS trigger_kind,
           week AS trigger_date
    FROM (
        SELECT *, lag(week) OVER (PARTITION BY person_id ORDER BY week) AS previous_crossing
        FROM (
            SELECT *, lag(rate) OVER (PARTITION BY person_id ORDER BY week) AS previous_rate
            FROM (
                SELECT person_id, week,
                       max(known_date) OVER w_known AS known_date,
                       CAST(sum(attended) OVER w AS DOUBLE)
                         / nullif(sum(possible) OVER w, 0) AS rate,
                       sum(possible) OVER w AS sessions,
                       count(*) OVER w AS weeks
                FROM (
                    SELECT person_id, CAST(date_trunc('week', event_date) AS DATE) AS week,
                           max(known_date) AS known_date,
                           count(*) FILTER (WHERE status IN {sql_list(ATTENDED)}) AS attended,
                           count(*) AS possible
                    FROM src_attendance WHERE status IN {sql_list(POSSIBLE)}
                    GROUP BY person_id, CAST(date_trunc('week', event_date) AS DATE)
                )
                WINDOW w AS (PARTITION BY person_id ORDER BY week
                             ROWS BETWEEN {n - 1} PRECEDING AND CURRENT ROW),
                       w_known AS (PARTITION BY person_id ORDER BY week
                                   ROWS BETWEEN {n} PRECEDING AND CURRENT ROW)
            )
        )
        WHERE weeks = {n} AND sessions >= {cfg.min_sessions}
          AND rate < {cfg.threshold!r} AND previous_rate >= {cfg.threshold!r}
    )
    WHERE previous_crossing IS NULL
       OR week > CAST(previous_crossing + INTERVAL {cfg.min_days_between} DAY AS DATE)
    """


def triggers_sql(
    available: Mapping[str, Collection[str]],
    cohort: CohortConfig,
    attendance: AttendanceTrigger,
    *,
    details: bool = False,
) -> str | None:
    """Every trigger row (person_id, as_of, trigger_kind, trigger_date); None if no source.

    ``available`` maps each table present in the data to its columns. With ``details`` two more
    columns say where each trigger came from: ``source`` (the table) and ``detail`` (the
    hospital of an A&E visit, the kind and reason of an exclusion, the role of a police contact).
    """
    parts: list[str] = []
    kinds = set(cohort.trigger_kinds)

    def extra(source: str, detail: str) -> str:
        return f", '{source}' AS source, {detail} AS detail" if details else ""

    if "ae_visit" in kinds and "ae_visits" in available:
        parts.append(
            "SELECT person_id, known_date AS as_of, 'ae_visit' AS trigger_kind, "
            "event_date AS trigger_date"
            + extra("ae_visits", "CAST(hospital AS VARCHAR)")
            + " FROM src_ae_visits"
        )
    if "exclusion" in kinds and "exclusions" in available:
        parts.append(
            "SELECT person_id, known_date AS as_of, 'exclusion' AS trigger_kind, "
            "event_date AS trigger_date"
            + extra("exclusions", "CAST(kind AS VARCHAR) || ': ' || CAST(reason AS VARCHAR)")
            + " FROM src_exclusions"
        )
    if "police_contact" in kinds and "police_contacts" in available:
        parts.append(
            "SELECT person_id, known_date AS as_of, 'police_contact' AS trigger_kind, "
            "event_date AS trigger_date"
            + extra("police_contacts", "CAST(role AS VARCHAR)")
            + f" FROM src_police_contacts WHERE role IN {sql_list(cohort.police_trigger_roles)}"
        )
    if "attendance_drop" in kinds and "attendance" in available:
        drop = attendance_drop_sql(attendance)
        if details:
            drop = (
                "SELECT *, 'attendance' AS source, "
                f"'below {attendance.threshold:.0%} over {attendance.trailing_weeks} weeks' "
                f"AS detail FROM ({drop})"
            )
        parts.append(drop)
    if not parts:
        return None
    return "\nUNION ALL\n".join(f"({p})" for p in parts)


def examples_sql(
    available: Mapping[str, Collection[str]],
    cohort: CohortConfig,
    attendance: AttendanceTrigger,
    *,
    use_triggers: bool,
    snapshot_dates: Collection[date],
    extract_date: date,
    as_of_dates: Collection[date] = (),
) -> str:
    """One row per (person_id, as_of): the triggers listed, cohort rules applied.

    ``as_of_dates`` keeps only the moments known on those days (the daily scoring job).
    """
    sources: list[str] = []
    if use_triggers:
        trig = triggers_sql(available, cohort, attendance)
        if trig is not None:
            sources.append(trig)
    for day in sorted(snapshot_dates):
        sources.append(
            f"SELECT person_id, DATE '{day.isoformat()}' AS as_of, 'snapshot' AS trigger_kind, "
            f"DATE '{day.isoformat()}' AS trigger_date FROM src_people"
        )
    if not sources:
        return (
            "SELECT CAST(NULL AS VARCHAR) AS person_id, CAST(NULL AS DATE) AS as_of, "
            "CAST(NULL AS VARCHAR) AS trigger_kinds, CAST(0 AS BIGINT) AS n_triggers, "
            "CAST(NULL AS DATE) AS first_trigger_date LIMIT 0"
        )
    union = "\nUNION ALL\n".join(f"({s})" for s in sources)
    left = (
        "(p.left_area_date IS NULL OR t.as_of < p.left_area_date)"
        if "left_area_date" in available.get("people", ())
        else "TRUE"
    )
    age = completed_years("p.birth_date", "t.as_of")
    days = ""
    if as_of_dates:
        listed = ", ".join(f"DATE '{d.isoformat()}'" for d in sorted(as_of_dates))
        days = f"AND t.as_of IN ({listed})"
    return f"""
    SELECT t.person_id, t.as_of,
           array_to_string(list_sort(list(DISTINCT t.trigger_kind)), ',') AS trigger_kinds,
           count(*) AS n_triggers,
           min(t.trigger_date) AS first_trigger_date
    FROM ({union}) t
    JOIN src_people p ON p.person_id = t.person_id
    WHERE t.as_of <= DATE '{extract_date.isoformat()}'
      AND t.as_of >= p.birth_date
      AND {age} BETWEEN {cohort.min_age} AND {cohort.max_age}
      AND {left}
      {days}
    GROUP BY t.person_id, t.as_of
    """
