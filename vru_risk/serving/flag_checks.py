"""What a flag must be to be stored and shown: ids and texts that fit the database columns and
the audit log, ids that obey the identifier rule, no control characters, dates that make sense.

Every limit is read from the column definitions (:class:`FlagRow`, :class:`FlagProgramme`,
:class:`AuditRow`), so a migration that widens a column widens the check; integers that go into
an ``Integer`` column must fit its 32 bits (PostgreSQL's ``integer``). The ids of a flag (flag,
person, model, programme) obey the identifier rule of :mod:`vru_risk.data.ids`, which ``vru data
validate`` applies to the extract (no control or invisible formatting character, no whitespace
at either end); the flag id has the form every route accepts
(:data:`~vru_risk.serving.inputs.FLAG_ID_PATTERN`), and a flag offers each programme once. A
problem is described by the field it is in, never by quoting the value: a person id must not
reach a log or an error message printed on a shared screen.

Example
-------
>>> LIMITS["person_id"], LIMITS["flag_id"], INTEGER_LIMITS["programmes.rank"]
(128, 64, 2147483647)
>>> control_character({"a": ["ok", "bad\\x00"]})
('a.1', 'U+0000')
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any, Final

from sqlalchemy import BigInteger, Column, Integer, String

from vru_risk.data.ids import id_problem
from vru_risk.flags.flag import Flag
from vru_risk.serving.db.models import AuditRow, FlagProgramme, FlagRow
from vru_risk.serving.inputs import MAX_ID, is_flag_id
from vru_risk.serving.users import UserInputError


class FlagStoreError(UserInputError):
    """Flags or a decision that cannot be stored; the message says what is wrong."""


def _column_type(column: Any) -> Any:
    return column.type if isinstance(column, Column) else column.property.columns[0].type


def column_length(column: Any) -> int:
    """The declared length of a ``String`` column."""
    kind = _column_type(column)
    assert isinstance(kind, String), column
    assert kind.length is not None, column
    return int(kind.length)


def column_maximum(column: Any) -> int:
    """The largest value an ``Integer`` (32-bit) or ``BigInteger`` (64-bit) column holds."""
    kind = _column_type(column)
    assert isinstance(kind, Integer), column
    return MAX_ID if isinstance(kind, BigInteger) else 2**31 - 1


#: The longest value each stored string of a flag may have: its database column's length (the
#: person id also goes into every audit row, so the shorter of the two columns).
LIMITS: Final[dict[str, int]] = {
    "flag_id": column_length(FlagRow.flag_id),
    "person_id": min(column_length(FlagRow.person_id), column_length(AuditRow.person_id)),
    "band": column_length(FlagRow.band),
    "scoring_model.name": column_length(FlagRow.model_name),
    "scoring_model.content_hash": column_length(FlagRow.content_hash),
    "programmes.programme": column_length(FlagProgramme.programme_id),
}

#: The stored strings of a flag that are identifiers, compared exactly (the identifier rule).
IDS: Final = ("flag_id", "person_id", "scoring_model.name", "scoring_model.content_hash",
              "programmes.programme")  # fmt: skip

#: The largest magnitude each stored integer of a flag may have: its database column's.
INTEGER_LIMITS: Final[dict[str, int]] = {
    "scoring_model.version": column_maximum(FlagRow.model_version),
    "programmes.rank": column_maximum(FlagProgramme.rank),
}

#: C0 and C1 control characters (NUL included), line and paragraph separators, and the
#: bidirectional overrides and isolates that can make a text display differently from what it
#: holds. None has a place in a flag.
_CONTROL: Final = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def control_character(data: Any, path: str = "") -> tuple[str, str] | None:
    """The first string (or key) in ``data`` holding a control character: (where, which)."""
    if isinstance(data, str):
        found = _CONTROL.search(data)
        return None if found is None else (path or "value", f"U+{ord(found.group()):04X}")
    if isinstance(data, dict):
        for key, value in data.items():
            where = f"{path}.{key}" if path else str(key)
            found_key = control_character(str(key), where)
            hit = found_key or control_character(value, where)
            if hit is not None:
                return hit
    elif isinstance(data, list | tuple):
        for i, value in enumerate(data):
            hit = control_character(value, f"{path}.{i}" if path else str(i))
            if hit is not None:
                return hit
    return None


def _values(flag: Flag) -> dict[str, list[str]]:
    return {
        "flag_id": [flag.flag_id],
        "person_id": [flag.person_id],
        "band": [flag.band],
        "scoring_model.name": [flag.scoring_model.name],
        "scoring_model.content_hash": [flag.scoring_model.content_hash],
        "programmes.programme": [o.programme for o in flag.programmes],
    }


def _integers(flag: Flag) -> dict[str, list[int]]:
    return {
        "scoring_model.version": [flag.scoring_model.version],
        "programmes.rank": [o.rank for o in flag.programmes if o.rank is not None],
    }


def storage_problem(flag: Flag, raw: str | None = None) -> str | None:
    """Why ``flag`` cannot be stored or shown, or None: an empty or over-long id (longer than
    its column or the audit log accepts), an id breaking the identifier rule, a flag id not of
    the form the routes accept, a programme offered twice, an integer its column cannot hold,
    or a control character in any string. ``raw`` is the flag's JSON text when at hand (else
    it is serialised here)."""
    for field, values in _values(flag).items():
        limit = LIMITS[field]
        for value in values:
            if not value.strip():
                return f"{field} is empty"
            if len(value) > limit:
                return (
                    f"{field} has {len(value)} characters; the database and the audit log "
                    f"accept at most {limit}"
                )
            problem = id_problem(value) if field in IDS else None
            if problem is not None:
                return f"{field} {problem}; an id is compared exactly, so no id may"
    if not is_flag_id(flag.flag_id):
        return (
            "flag_id is not 20 lower-case hexadecimal digits (the form `vru flags generate` "
            "writes, and the only one the service's pages and API open)"
        )
    offered = [o.programme for o in flag.programmes]
    if len(set(offered)) < len(offered):
        return "programmes names a programme more than once; a flag offers each programme once"
    for field, numbers in _integers(flag).items():
        if any(not -INTEGER_LIMITS[field] - 1 <= n <= INTEGER_LIMITS[field] for n in numbers):
            return (
                f"{field} is beyond the range of its database column "
                f"({-INTEGER_LIMITS[field] - 1} to {INTEGER_LIMITS[field]})"
            )
    text = raw if raw is not None else flag.model_dump_json()
    # JSON writes a control character in a string escaped (a backslash) or, for the separators
    # and bidirectional marks, as itself: text with neither needs no walk through its strings
    if "\\" not in text and _CONTROL.search(text) is None:
        return None
    hit = control_character(json.loads(text))
    if hit is not None:
        where, which = hit
        return f"{where} holds a control character ({which}); no text of a flag may"
    return None


def date_problem(flag: Flag, today: dt.date) -> str | None:
    """Why the flag's dates cannot be right on ``today`` (the real date), or None: an as_of
    after today (the service's "today" must never run ahead of the clock), or an expiry before
    the as_of."""
    if flag.as_of > today:
        return (
            f"as_of {flag.as_of.isoformat()} is after today's date ({today.isoformat()}); a flag "
            "is dated the day the VRU knew of its trigger, never in the future"
        )
    if flag.expires < flag.as_of:
        return (
            f"expires {flag.expires.isoformat()} is before as_of {flag.as_of.isoformat()}; a "
            "flag expires on or after the day it was made"
        )
    return None
