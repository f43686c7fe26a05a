"""The decisions and feedback sections of a monitoring run, from the application database.

Reads (:mod:`vru_risk.store.service_rows`) the offers of the version's flags dated in the
decisions window (the criteria's ``decisions.window_days`` up to the as-of date), the
practitioners' decisions on them and the views of them, and every flag of the
version up to the as-of date with its main reason; joins the audit-only attributes of people
(:func:`~vru_risk.jobs.monitor_data.people_attributes`) by person, for monitoring only; and hands
them to :func:`~vru_risk.monitoring.decisions.decision_section` and
:func:`~vru_risk.monitoring.feedback.feedback_section`. Only what was recorded by the end of the
as-of day counts (the sections apply that rule). No person identifier leaves this module: the
sections hold counts, shares and bands of people.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Final

import pandas as pd

from vru_risk.flags.programmes import Programmes
from vru_risk.jobs.monitor_data import NO_DATABASE, app_engine
from vru_risk.jobs.monitor_groups import audit_attributes, reference_group
from vru_risk.monitoring.criteria import MonitoringCriteria
from vru_risk.monitoring.decisions import (
    DECISION_COLUMNS,
    OFFER_COLUMNS,
    VIEW_COLUMNS,
    decision_section,
    offer_outcomes,
)
from vru_risk.monitoring.feedback import FLAG_COLUMNS, feedback_section, main_reason_source
from vru_risk.monitoring.verdict import Finding
from vru_risk.settings import Settings
from vru_risk.store import session_factory
from vru_risk.store.service_rows import (
    decisions_of_version,
    flags_of_version,
    offers_of_version,
    views_of_version,
)

#: what the decisions section counts, said once in the report
DECISIONS_NOTE: Final = (
    "Offers of this version's flags dated from {start} to {end} (the last {days} days; flags an "
    "administrator withdrew are left out), with what practitioners recorded by the end of {end}."
)


@dataclass(frozen=True)
class ServiceRecord:
    """What the application database holds of a version's service (frames of the columns of
    :mod:`vru_risk.monitoring.decisions` and :mod:`vru_risk.monitoring.feedback`)."""

    offers: pd.DataFrame
    decisions: pd.DataFrame
    views: pd.DataFrame
    flags: pd.DataFrame


def _frame(rows: list[Any], columns: tuple[str, ...]) -> pd.DataFrame:
    return pd.DataFrame([[getattr(r, c) for c in columns] for r in rows], columns=list(columns))


def main_source(body: str) -> str | None:
    """The source of a stored flag's main reason (None: no reason, or a body that is not a
    flag's JSON)."""
    try:
        reasons = json.loads(body).get("reasons_for", [])
    except (ValueError, AttributeError):
        return None
    return main_reason_source(reasons) if isinstance(reasons, list) else None


def read_service(
    settings: Settings, version: int, start: date, as_of: date
) -> ServiceRecord | None:
    """The version's offers, decisions and views of the window ``start`` to ``as_of`` and its
    flags up to ``as_of``; None when there is no application database yet."""
    engine = app_engine(settings)
    if engine is None:
        return None
    try:
        with session_factory(engine)() as session:
            offers = offers_of_version(session, version, start, as_of)
            decisions = decisions_of_version(session, version, start, as_of)
            views = views_of_version(session, version, start, as_of)
            flags = flags_of_version(session, version, as_of)
    finally:
        engine.dispose()
    flag_frame = pd.DataFrame(
        {
            "flag_id": [f.flag_id for f in flags],
            "person_id": [f.person_id for f in flags],
            "as_of": [f.as_of for f in flags],
            "main_source": [main_source(f.body) for f in flags],
        },
        columns=list(FLAG_COLUMNS),
    )
    return ServiceRecord(
        offers=_frame(offers, OFFER_COLUMNS),
        decisions=_frame(decisions, DECISION_COLUMNS),
        views=_frame(views, VIEW_COLUMNS),
        flags=flag_frame,
    )


def decision_sections(
    settings: Settings,
    version: int,
    as_of: date,
    people: pd.DataFrame,
    criteria: MonitoringCriteria,
    programmes: Programmes,
) -> tuple[dict[str, Any], dict[str, Any], list[Finding]]:
    """The report's decisions and feedback sections and their findings as of ``as_of``."""
    days = criteria.decisions.window_days
    start = as_of - timedelta(days=days - 1)
    record = read_service(settings, version, start, as_of)
    if record is None:
        return {"note": NO_DATABASE}, {"note": NO_DATABASE}, []
    attributes = audit_attributes(people)
    outcomes = offer_outcomes(record.offers, record.decisions, record.views, as_of=as_of)
    decisions, decided = decision_section(
        outcomes,
        people,
        attributes=attributes,
        reference_of=reference_group,
        criteria=criteria,
        programme_names={p.id: p.name for p in programmes.programmes},
    )
    decisions["window"] = {"start": start.isoformat(), "end": as_of.isoformat(), "days": days}
    decisions["note"] = (
        DECISIONS_NOTE.format(start=start, end=as_of, days=days)
        if len(outcomes)
        else f"No offer of version {version}'s flags dated {start} to {as_of} is in the "
        "application database: there is nothing to judge."
    )
    feedback, fed = feedback_section(
        record.flags,
        people,
        as_of=as_of,
        attributes=attributes,
        reference_of=reference_group,
        criteria=criteria,
    )
    feedback["note"] = None
    return decisions, feedback, [*decided, *fed]
