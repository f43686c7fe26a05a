"""What a flag must be to be stored and shown: ids and texts that fit the database columns and
the audit log, ids that obey the identifier rule, and no control characters (the rules of a
flags file, dates included, are in :mod:`vru_risk.flags.ledger`; the service adds these).

Every limit is read from the column definitions (:class:`FlagRow`, :class:`FlagProgramme`,
:class:`AuditRow`), so a migration that widens a column widens the check; integers that go into
an ``Integer`` column must fit its 32 bits (PostgreSQL's ``integer``). The ids of a flag (flag,
person, model, programme) obey the identifier rule of :mod:`vru_risk.data.ids`, which ``vru data
validate`` applies to the extract (no control or invisible formatting character, no whitespace
at either end); the flag id has the form every route accepts
(:data:`~vru_risk.store.inputs.FLAG_ID_PATTERN`), and a flag offers each programme once. A
problem is described by the field it is in, never by quoting the value: a person id must not
reach a log or an error message printed on a shared screen.

Example
-------
>>> LIMITS["person_id"], LIMITS["flag_id"], INTEGER_LIMITS["programmes.rank"]
(128, 64, 2147483647)
"""

from __future__ import annotations

from typing import Any, Final

from sqlalchemy import BigInteger, Column, Integer, String

from vru_risk.data.ids import id_problem
from vru_risk.flags.flag import Flag
from vru_risk.flags.ledger import control_character as control_character
from vru_risk.flags.ledger import text_problem
from vru_risk.store.inputs import MAX_ID, is_flag_id
from vru_risk.store.models import AuditRow, FlagProgramme, FlagRow
from vru_risk.store.users import UserInputError


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


def identity_problem(flag: Flag) -> str | None:
    """Why the ids and numbers of ``flag`` cannot be stored or opened, or None: an id breaking
    the identifier rule (:func:`~vru_risk.data.ids.id_problem`), a flag id not of the form the
    routes accept, a programme offered twice, an integer its column cannot hold."""
    for field, values in _values(flag).items():
        for value in values:
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
    return None


def column_problem(flag: Flag) -> str | None:
    """The service's own rule for a flag of a flags file (the ledger checks its texts and
    dates): :func:`length_problem`, then :func:`identity_problem`."""
    return length_problem(flag) or identity_problem(flag)


def storage_problem(flag: Flag, raw: str | None = None) -> str | None:
    """Why ``flag`` cannot be stored or shown, or None: :func:`column_problem`, or a control
    character in any string (:func:`~vru_risk.flags.ledger.text_problem`). ``raw`` is the
    flag's JSON text when at hand (else it is serialised here)."""
    return column_problem(flag) or text_problem(flag, raw)
