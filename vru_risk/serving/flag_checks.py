"""What a flag must be to be stored and shown: ids and texts that fit the database columns and
the audit log, and no control characters (the rules of a flags file, dates included, are in
:mod:`vru_risk.flags.ledger`; the service adds these limits).

Every limit is read from the column definitions (:class:`FlagRow`, :class:`FlagProgramme`,
:class:`AuditRow`), so a migration that widens a column widens the check. A problem is described
by the field it is in, never by quoting the value: a person id must not reach a log or an error
message printed on a shared screen.

Example
-------
>>> LIMITS["person_id"], LIMITS["flag_id"]
(128, 64)
"""

from __future__ import annotations

from typing import Any, Final

from sqlalchemy import Column, String

from vru_risk.flags.flag import Flag
from vru_risk.flags.ledger import control_character as control_character
from vru_risk.flags.ledger import text_problem
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


def _values(flag: Flag) -> dict[str, list[str]]:
    return {
        "flag_id": [flag.flag_id],
        "person_id": [flag.person_id],
        "band": [flag.band],
        "scoring_model.name": [flag.scoring_model.name],
        "scoring_model.content_hash": [flag.scoring_model.content_hash],
        "programmes.programme": [o.programme for o in flag.programmes],
    }


def length_problem(flag: Flag) -> str | None:
    """Why an id or text of ``flag`` cannot be stored, or None: empty, or longer than its column
    or the audit log accepts."""
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
    return None


def storage_problem(flag: Flag, raw: str | None = None) -> str | None:
    """Why ``flag`` cannot be stored or shown, or None: an empty or over-long id
    (:func:`length_problem`), or a control character in any string
    (:func:`~vru_risk.flags.ledger.text_problem`). ``raw`` is the flag's JSON text when at hand
    (else it is serialised here)."""
    return length_problem(flag) or text_problem(flag, raw)
