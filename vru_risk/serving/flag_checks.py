"""What a flag must be to be stored and shown: ids and texts that fit the database columns and
the audit log, no control characters, dates that make sense.

Every limit is read from the column definitions (:class:`FlagRow`, :class:`FlagProgramme`,
:class:`AuditRow`), so a migration that widens a column widens the check. A problem is described
by the field it is in, never by quoting the value: a person id must not reach a log or an error
message printed on a shared screen.

Example
-------
>>> LIMITS["person_id"], LIMITS["flag_id"]
(128, 64)
>>> control_character({"a": ["ok", "bad\\x00"]})
('a.1', 'U+0000')
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any, Final

from sqlalchemy import Column, String

from vru_risk.flags.flag import Flag
from vru_risk.serving.db.models import AuditRow, FlagProgramme, FlagRow
from vru_risk.serving.users import UserInputError


class FlagStoreError(UserInputError):
    """Flags or a decision that cannot be stored; the message says what is wrong."""


def column_length(column: Any) -> int:
    """The declared length of a ``String`` column."""
    kind = column.type if isinstance(column, Column) else column.property.columns[0].type
    assert isinstance(kind, String), column
    assert kind.length is not None, column
    return int(kind.length)


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


def storage_problem(flag: Flag, raw: str | None = None) -> str | None:
    """Why ``flag`` cannot be stored or shown, or None: an empty or over-long id (longer than
    its column or the audit log accepts), or a control character in any string. ``raw`` is the
    flag's JSON text when at hand (else it is serialised here)."""
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
