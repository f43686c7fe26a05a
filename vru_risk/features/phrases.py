"""A feature's plain-English phrase: its window said from the declaration, its value filled in.

A phrase is written once per feature in ``catalog.yaml`` with ``{window}`` where the window is
said (and, for a change, ``{baseline}`` for the period it is compared with); the words are made
from the feature's ``window`` and ``baseline_days`` (:func:`window_phrase`,
:func:`baseline_phrase`), so a phrase cannot say another window than the one computed. A phrase
that writes its window out in words is checked the same way (:func:`phrase_problems`).

:func:`render_phrase` puts a value into a feature's phrase for a reason shown to a person.

Example
-------
>>> expand_phrase("attended {pct} of school sessions {window}", window=30, baseline_days=None)
'attended {pct} of school sessions in the last 30 days'
>>> window_phrase(365), window_phrase("all")
('in the last year', 'on record')
"""

from __future__ import annotations

import math
import re
from typing import Final, Literal, Protocol

#: The placeholders a phrase may hold its value in.
VALUE_PLACEHOLDERS: Final = ("n", "pct", "pp", "days", "years", "value")

Window = int | Literal["all"]

_DAYS_PER_YEAR: Final = 365
#: A window said in words: "the last 90 days", "the last year", "the last 2 years", "on record".
_WINDOW_WORDS = re.compile(r"\bthe last (?:(\d+) days|year|(\d+) years)\b|\bon record\b")
#: A baseline said in words: "the year before", "the 2 years before", "the 180 days before".
_BASELINE_WORDS = re.compile(r"\bthe (?:(\d+) days|year|(\d+) years) before\b")


def _period(days: int) -> str:
    if days == _DAYS_PER_YEAR:
        return "year"
    if days % _DAYS_PER_YEAR == 0:
        return f"{days // _DAYS_PER_YEAR} years"
    return f"{days} days"


def window_phrase(window: Window) -> str:
    """How a phrase says a window: ``in the last 30 days``, ``in the last year``, ``on record``.

    >>> window_phrase(90), window_phrase(730)
    ('in the last 90 days', 'in the last 2 years')
    """
    return "on record" if window == "all" else f"in the last {_period(window)}"


def baseline_phrase(days: int) -> str:
    """How a change's phrase says the period it compares with: ``the year before``.

    >>> baseline_phrase(365), baseline_phrase(180)
    ('the year before', 'the 180 days before')
    """
    return f"the {_period(days)} before"


def expand_phrase(text: str, *, window: Window, baseline_days: int | None) -> str:
    """``text`` with ``{window}`` (and ``{baseline}``, given ``baseline_days``) said in words.

    Value placeholders such as ``{pct}`` are left for :func:`render_phrase`.
    """
    text = text.replace("{window}", window_phrase(window))
    if baseline_days is not None:
        text = text.replace("{baseline}", baseline_phrase(baseline_days))
    return text


def _said_windows(text: str) -> list[Window]:
    said: list[Window] = []
    for m in _WINDOW_WORDS.finditer(text):
        if m.group(0) == "on record":
            said.append("all")
        else:
            days, years = m.group(1), m.group(2)
            said.append(int(days) if days else _DAYS_PER_YEAR * int(years or 1))
    return said


def _said_baselines(text: str) -> list[int]:
    return [
        int(days) if days else _DAYS_PER_YEAR * int(years or 1)
        for days, years in _BASELINE_WORDS.findall(text)
    ]


def phrase_problems(
    name: str,
    *,
    window: Window,
    baseline_days: int | None,
    phrase: str,
    missing_phrase: str | None,
) -> list[str]:
    """Why a feature's (expanded) phrases disagree with its window or baseline.

    Any window or baseline a phrase or missing phrase says in words must be the feature's own.
    (A phrase need not say its window; every phrase of the packaged catalog does, as a test
    checks.)
    """
    where = f"feature {name!r}"
    problems: list[str] = []
    if "{baseline}" in phrase + (missing_phrase or ""):
        problems.append(f"{where}: {{baseline}} is only for a change with `baseline_days`")
    for label, text in (("phrase", phrase), ("missing_phrase", missing_phrase or "")):
        for said in _said_windows(text):
            if said != window:
                problems.append(
                    f"{where}: the {label} says {window_phrase(said)!r} but the window is "
                    f"{window_phrase(window)!r} (write {{window}} for it)"
                )
        for said_days in _said_baselines(text):
            if said_days != baseline_days:
                problems.append(
                    f"{where}: the {label} says {baseline_phrase(said_days)!r} but "
                    f"baseline_days is {baseline_days} (write {{baseline}} for it)"
                )
    return problems


class Phrased(Protocol):
    """What :func:`render_phrase` reads of a feature."""

    @property
    def name(self) -> str: ...
    @property
    def phrase(self) -> str: ...
    @property
    def missing_phrase(self) -> str | None: ...


def render_phrase(info: Phrased, value: float) -> str:
    """The feature's plain-English phrase with ``value`` in it.

    A count of exactly one is said in the singular ("1 suspension", "1 day ago").

    >>> from vru_risk.features.catalog import load_catalog
    >>> spec = load_catalog().spec()
    >>> render_phrase(spec.by_name("att_rate_90d"), 0.712)
    'attended 71% of school sessions in the last 90 days'
    >>> render_phrase(spec.by_name("pol_suspect_365d"), 1.0)
    '1 police contact as a suspect in the last year'
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return info.missing_phrase or f"{info.name}: not known"
    text = info.phrase.format(
        n=f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}",
        pct=f"{value:.0%}",
        pp=f"{value * 100:+.0f}",
        days=f"{value:,.0f}",
        years=f"{math.floor(value):d}",  # completed years, as everywhere else
        value=f"{value:g}",
    )
    if float(value) == 1.0 and re.search(r"{(n|days)}", info.phrase):
        text = _SINGULAR.sub(lambda m: m.group(1) + m.group(2)[:-1], text, count=1)
    return text


#: After a count of one: "1 police contacts" -> "1 police contact" (the first plural noun at most
#: three words after the number).
_SINGULAR = re.compile(
    r"(\b1 (?:[A-Za-z&-]+ ){0,3}?)(suspensions|contacts|exclusions|visits|sessions|episodes|"
    r"offences|days|kinds|times)\b"
)
