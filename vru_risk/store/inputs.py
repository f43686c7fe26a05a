"""What a request may carry: the form of identifiers and free text, and the one validation of a
practitioner's decision (API and pages alike).

Everything here is checked before a route writes an audit row or touches the database, so that
no request is audited and then fails: a flag id is 20 lower-case hexadecimal characters, an
integer id fits a signed 64-bit column, and no string that reaches the database or the audit
log carries a NUL or another control character (PostgreSQL refuses NUL in text; the others have
no place in an identifier and only hide text in free text).

Example
-------
>>> is_flag_id("0123456789abcdef0123"), is_flag_id("../etc/passwd")
(True, False)
>>> parse_decision_id("12"), parse_decision_id("")
(12, None)
>>> control_character("line one\\nline two", multiline=True) is None
True
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

from vru_risk.data.ids import PERSON_ID_MAX_LENGTH
from vru_risk.flags.programmes import Programmes
from vru_risk.store.users import UserInputError

Decision = Literal["referred", "no_action", "disagree"]
DECISIONS: Final[tuple[Decision, ...]] = ("referred", "no_action", "disagree")
DECISION_LABELS: Final[dict[Decision, str]] = {
    "referred": "Refer to a programme",
    "no_action": "No action",
    "disagree": "Disagree with the flag",
}
MAX_TEXT: Final = 4000
#: The largest id a signed 64-bit column holds (SQLite and PostgreSQL BIGINT).
MAX_ID: Final = 2**63 - 1

#: The reason codes a decision may carry, by decision (free text is kept beside them).
REASON_CODES: Final[dict[Decision, tuple[str, ...]]] = {
    "referred": (
        "meets_programme_criteria",
        "practitioner_concern",
        "family_or_young_person_request",
        "other",
    ),
    "no_action": (
        "already_supported",
        "support_declined",
        "not_eligible",
        "no_capacity",
        "moved_away",
        "other",
    ),
    "disagree": (
        "information_out_of_date",
        "information_wrong",
        "context_model_cannot_see",
        "score_not_credible",
        "other",
    ),
}

#: ``vru_risk.flags.flag.flag_id``: the first 20 hex digits of a SHA-256.
FLAG_ID_PATTERN: Final = "^[0-9a-f]{20}$"
#: An ``Idempotency-Key``: 1-128 visible ASCII characters (no space).
IDEMPOTENCY_KEY_PATTERN: Final = "^[\\x21-\\x7e]{1,128}$"
#: A pseudonymous person id: 1-128 characters, none of them a control character.
PERSON_ID_PATTERN: Final = f"^[^\\x00-\\x1f\\x7f]{{1,{PERSON_ID_MAX_LENGTH}}}$"

_FLAG_ID: Final = re.compile(FLAG_ID_PATTERN)
_IDEMPOTENCY_KEY: Final = re.compile(IDEMPOTENCY_KEY_PATTERN)
_DECIMAL: Final = re.compile("^[1-9][0-9]{0,18}$")  # ASCII digits only ("²".isdigit() is True)
_CONTROL: Final = re.compile("[\\x00-\\x1f\\x7f]")
_CONTROL_MULTILINE: Final = re.compile("[\\x00-\\x08\\x0b-\\x1f\\x7f]")  # tab, newline allowed


class DecisionInputError(UserInputError):
    """A decision that cannot be recorded as given; the message says what to change."""


def is_flag_id(text: str) -> bool:
    """Whether ``text`` has the form of a flag id (checked before any database lookup)."""
    return _FLAG_ID.fullmatch(text) is not None


def is_idempotency_key(text: str) -> bool:
    return _IDEMPOTENCY_KEY.fullmatch(text) is not None


def control_character(text: str, *, multiline: bool = False) -> str | None:
    """The first control character in ``text`` as an escape (``'\\x00'``), or None; with
    ``multiline`` newline and tab are allowed (carriage returns are normalised away first by
    :func:`normalise_text`)."""
    found = (_CONTROL_MULTILINE if multiline else _CONTROL).search(text)
    return None if found is None else repr(found.group())[1:-1]


def normalise_text(text: str) -> str:
    """Free text as stored: line breaks as ``\\n`` (a browser sends ``\\r\\n``), trimmed."""
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()


def parse_decision_id(text: str) -> int | None:
    """A decision id from a form field: empty -> None; ASCII digits 1 to :data:`MAX_ID`, or
    :class:`DecisionInputError`."""
    if text == "":
        return None
    if _DECIMAL.fullmatch(text) is None or int(text) > MAX_ID:
        raise DecisionInputError("The decision this corrects must be chosen from the list.")
    return int(text)


@dataclass(frozen=True)
class DecisionInput:
    """A decision as checked, ready to be stored (``text`` normalised)."""

    decision: Decision
    reason_code: str
    text: str
    referred_to: str | None
    corrects: int | None


def check_decision(
    *,
    decision: str,
    reason_code: str,
    text: str,
    referred_to: str | None,
    corrects: int | None,
    programmes: Programmes,
) -> DecisionInput:
    """The one validation of a decision's content (the API, the pages and the store call it).

    Refused: a decision or reason code not in :data:`REASON_CODES`; ``referred`` without
    ``referred_to`` (a programme of ``programmes``, the configured ``VRU_PROGRAMMES_PATH``) or
    ``referred_to`` with another decision; free text over :data:`MAX_TEXT` characters or with a
    control character other than newline and tab; no free text for ``disagree`` or reason
    ``other``; ``corrects`` outside 1 to :data:`MAX_ID`. Whether the flag, programme and
    corrected decision exist is the store's check (:func:`~vru_risk.store.decisions.
    record_checked`).

    >>> from vru_risk.flags.programmes import load_programmes
    >>> check_decision(decision="no_action", reason_code="moved_away", text=" left\\r\\n",
    ...                referred_to=None, corrects=None, programmes=load_programmes()).text
    'left'
    """
    if decision not in DECISIONS:
        unknown = f"unknown decision {decision[:40]!r}. " if decision else ""
        raise DecisionInputError(
            f"{unknown}Choose a decision: refer to a programme (referred), no action "
            "(no_action), or disagree with the flag (disagree)."
        )
    kind: Decision = decision
    if reason_code not in REASON_CODES[kind]:
        choose = (
            f"Choose a reason listed under '{DECISION_LABELS[kind]}' "
            f"({', '.join(REASON_CODES[kind])})."
        )
        if reason_code:
            choose = f"reason code {reason_code[:64]!r} is not one for {kind!r}. {choose}"
        raise DecisionInputError(choose)
    note = normalise_text(text)
    bad = control_character(note, multiline=True)
    if bad is not None:
        raise DecisionInputError(
            f"the free text contains the control character {bad}: remove it (only line breaks "
            "and tabs are kept)."
        )
    if len(note) > MAX_TEXT:
        raise DecisionInputError(f"the free text has {len(note)} characters; at most {MAX_TEXT}.")
    if not note and (kind == "disagree" or reason_code == "other"):
        raise DecisionInputError(
            "say why in the free text: it is required when you disagree or choose 'other'."
        )
    if kind == "referred":
        if not referred_to:
            raise DecisionInputError(
                "A referral names the programme referred to (referred_to). Choose the programme "
                "you referred the young person to."
            )
        ids = [p.id for p in programmes.programmes]
        if referred_to not in ids:
            raise DecisionInputError(
                f"cannot refer to {referred_to[:64]!r}: not a configured programme "
                f"({', '.join(ids)})."
            )
    elif referred_to is not None:
        raise DecisionInputError(f"referred_to is only given with 'referred', not with {kind!r}.")
    if corrects is not None and not 1 <= corrects <= MAX_ID:
        raise DecisionInputError(
            f"corrects must be the id of an earlier decision (1 to {MAX_ID}), not {corrects}."
        )
    return DecisionInput(kind, reason_code, note, referred_to, corrects)
