"""How a flag is said to a practitioner: plain words for triggers, reasons, what-ifs, the
estimate, the flag's age and the page title (the pages' one home for them; no data code, no
"median", no "log-odds" or "SHAP").

Example
-------
>>> in_words(0.6), in_words(0.083), in_words(0.004)
('about 6 in 10', 'about 1 in 12', 'fewer than 1 in 100')
>>> age_in_words(dt.date(2026, 3, 10), dt.date(2026, 4, 4))
'flagged 25 days ago'
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Final

from vru_risk.flags.flag import REDACTED, Flag, Reason, Trigger

TRIGGER_LABELS: Final = {
    "ae_visit": "A&E visit",
    "exclusion": "School exclusion",
    "police_contact": "Police contact",
    "attendance_drop": "Drop in school attendance",
    "snapshot": "Periodic review",
    REDACTED: "A record from a service your programme does not see",
}
#: Who else is at such a moment, by trigger kind: what a reason that lowers the score is
#: compared with ("compared with others seen at A&E, ...").
OTHERS_AT: Final = {
    "ae_visit": "others seen at A&E",
    "exclusion": "others excluded from school",
    "police_contact": "others in contact with the police",
    "attendance_drop": "others whose school attendance dropped",
    "snapshot": "others at such moments",
    REDACTED: "others at such moments",
}
#: The words for each police contact role and exclusion reason a trigger's detail may hold.
POLICE_ROLES: Final = {
    "suspect": "as a suspect",
    "victim": "as a victim",
    "witness": "as a witness",
    "missing_person": "reported missing",
    "stop_search": "stopped and searched",
    "other": "other contact",
}
EXCLUSION_REASONS: Final = {
    "physical_assault": "physical assault",
    "verbal_abuse": "verbal abuse",
    "bullying": "bullying",
    "discriminatory_abuse": "discriminatory abuse",
    "sexual_misconduct": "sexual misconduct",
    "drugs_alcohol": "drugs or alcohol",
    "damage": "damage",
    "theft": "theft",
    "persistent_disruption": "persistent disruption",
    "weapon": "a weapon",
    "other": "another reason",
}
#: The plain footnote under the reasons (the API's ``reasons_explain`` says it technically).
REASONS_PLAIN: Final = (
    "Each reason groups related records. 'Strongly', 'moderately' and 'slightly' say how much "
    "each moved the model's estimate; together with factors too small to list they make it up. "
    "A reason explains the estimate; it is not a judgement of the young person."
)


def trigger_detail(trigger: Trigger) -> str | None:
    """A trigger's detail in words (never a data code), or None when there is nothing to say.

    >>> trigger_detail(Trigger(kind="exclusion", source="exclusions", date=None,
    ...                        detail="suspension: physical_assault"))
    'suspension for physical assault'
    >>> trigger_detail(Trigger(kind="police_contact", source="police_contacts", date=None,
    ...                        detail="missing_person"))
    'reported missing'
    """
    detail = trigger.detail
    if detail is None or trigger.kind == REDACTED:
        return None
    if trigger.kind == "police_contact":
        return POLICE_ROLES.get(detail, detail.replace("_", " "))
    if trigger.kind == "exclusion":
        kind, _, reason = detail.partition(": ")
        kind = kind.replace("_", " ")
        if not reason:
            return kind
        return f"{kind} for {EXCLUSION_REASONS.get(reason, reason.replace('_', ' '))}"
    return detail.replace("_", " ")


def trigger_sentence(trigger: Trigger) -> str:
    """``Police contact as a suspect on 8 March 2026``."""
    text = TRIGGER_LABELS.get(trigger.kind, trigger.kind.replace("_", " "))
    detail = trigger_detail(trigger)
    if detail:
        text += f" ({detail})" if trigger.kind in ("ae_visit", "attendance_drop") else f" {detail}"
    if trigger.date is not None:
        text += f" on {long_date(trigger.date)}"
    return text


def long_date(day: dt.date) -> str:
    """``10 March 2026``."""
    return f"{day.day} {day.strftime('%B %Y')}"


def others_at(triggers: Sequence[Trigger]) -> str:
    """Whom a reason that lowers the score is compared with: those at the same kind of moment."""
    kinds: list[str] = [t.kind for t in triggers if t.kind != REDACTED] or [REDACTED]
    return OTHERS_AT.get(kinds[0], "others at such moments")


def reason_sentence(reason: Reason, triggers: Sequence[Trigger]) -> str:
    """A reason as a practitioner reads it: what raises the score as it is; what lowers it framed
    against other young people at the same kind of teachable moment.

    >>> r = Reason(family="ae_any", source="ae_visits", direction="lowers", strength="slightly",
    ...            text="1 A&E visit in the last year", contribution=-0.1, features=())
    >>> t = Trigger(kind="ae_visit", source="ae_visits", date=None, detail="Musgrove Park")
    >>> reason_sentence(r, [t])
    'Compared with others seen at A&E, 1 A&E visit in the last year slightly lowers the score'
    """
    if reason.direction == "raises":
        return reason.sentence
    subject = reason.text
    verb = "lower" if reason.family == REDACTED else "lowers"
    return f"Compared with {others_at(triggers)}, {subject} {reason.strength} {verb} the score"


def in_words(p: float) -> str:
    """A probability as "about N in M" (M 10, 20, 50 or 100; fewer than 1 in 100 below)."""
    if p < 0.01:
        return "fewer than 1 in 100"
    if p >= 0.15:
        return f"about {round(p * 10):d} in 10"
    # 1 in N for the smaller rates: 1 in 12 says 8% better than 1 in 10
    return f"about 1 in {round(1 / p):d}"


def estimate_sentence(flag: Flag) -> str:
    """The estimate framed against the model's reference population."""
    text = (
        f"{in_words(flag.probability).capitalize()} young people with scores like this were "
        "later recorded by services in serious violence, as a victim or otherwise, within a year"
    )
    if flag.reference_rate is not None:
        text += f", against {in_words(flag.reference_rate)} of all young people at such moments"
    return text + "."


def what_if_sentence(inputs: str, probability: float, now: float) -> str:
    """A what-if in plain English (the inputs as most young people at such moments have them)."""
    return (
        f"If these records were like those of most young people at such moments ({inputs}), "
        f"the model's estimate would be {round(probability * 100):d} in 100 rather than "
        f"{round(now * 100):d} in 100. This shows how the model works; it is not a forecast of "
        "what support would do."
    )


def age_in_words(as_of: dt.date, today: dt.date | None) -> str:
    """How long ago the flag's moment was known, from the service's today."""
    if today is None:
        return f"flagged on {long_date(as_of)}"
    days = (today - as_of).days
    if days <= 0:
        return "flagged today"
    if days == 1:
        return "flagged yesterday"
    return f"flagged {days} days ago"


def stale_sources(
    refreshed: Mapping[str, dt.date | None], today: dt.date | None, max_days: int
) -> dict[str, int]:
    """The sources last refreshed more than ``max_days`` before ``today``: days since refresh."""
    if today is None:
        return {}
    return {
        source: (today - day).days
        for source, day in refreshed.items()
        if day is not None and (today - day).days > max_days
    }


def flag_title(flag: Flag) -> str:
    """A readable page title: trigger, age band and date (never the flag's id)."""
    kinds: list[str] = [t.kind for t in flag.triggers] or [REDACTED]
    what = (
        "Record from another service"  # short: the list and the section say the rest
        if kinds[0] == REDACTED
        else TRIGGER_LABELS.get(kinds[0], kinds[0].replace("_", " "))
    )
    if flag.age_years is None:
        who = "age not known"
    else:
        low = flag.age_years - flag.age_years % 2
        who = f"aged {low}-{low + 1}"
    return f"{what}, {who}, known on {long_date(flag.as_of)}"
