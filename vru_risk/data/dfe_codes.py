"""Mapping from DfE attendance register codes to the contract's attendance ``status``.

Schools record each morning and afternoon session with a code from the Department for
Education's national set (*Working together to improve school attendance*, statutory guidance
from August 2024, and the School Attendance (Pupil Registration) (England) Regulations 2024).
The data contract keeps only six statuses; this table says which code becomes which, so that a
VRU can convert a register extract before loading it.

==========================  ==========================================================
status                      DfE codes
==========================  ==========================================================
present                     ``/`` ``\\`` (present am/pm), ``K`` (education arranged by the
                            local authority), ``V`` (educational visit or trip), ``P``
                            (approved sporting activity), ``W`` (work experience), ``B``
                            (other approved educational activity), ``J`` (interview;
                            pre-2024 code counted as approved educational activity)
late                        ``L`` (late, arrived before the register closed)
authorised_absence          ``C`` ``C1`` ``C2`` (leave of absence; regulated performance;
                            part-time timetable), ``H`` (holiday authorised; pre-2024),
                            ``I`` (illness), ``J1`` (interview), ``M`` (medical or dental
                            appointment), ``R`` (religious observance), ``S`` (study
                            leave), ``T`` (mobile child / Traveller absence)
unauthorised_absence        ``G`` (holiday not authorised), ``N`` (reason not yet
                            provided), ``O`` (other unauthorised), ``U`` (arrived after
                            the register closed)
excluded                    ``E`` (suspended or permanently excluded, no alternative
                            provision made)
not_required                ``X`` (not of compulsory school age), ``Y``, ``Y1`` ``Y2``
                            ``Y3`` ``Y4`` ``Y5`` ``Y6`` ``Y7`` (unable to attend because of
                            exceptional circumstances),
                            ``Z`` (not yet on roll), ``#`` (planned whole-school closure),
                            ``D`` (dual registered, attending the other school), ``Q``
                            (lack of access arrangements)
==========================  ==========================================================

``U`` is late *after* the register closed, which the DfE counts as an unauthorised absence;
``L`` is counted as present, so the contract keeps it as ``late``. A code not in this table is
an error, never guessed.

Example
-------
>>> status_for_code("U")
'unauthorised_absence'
>>> map_codes(["/", "L", "I"])
['present', 'late', 'authorised_absence']
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

DFE_CODE_TO_STATUS: Final[dict[str, str]] = {
    **dict.fromkeys(["/", "\\", "K", "V", "P", "W", "B", "J"], "present"),
    "L": "late",
    **dict.fromkeys(
        ["C", "C1", "C2", "H", "I", "J1", "M", "R", "S", "T"],
        "authorised_absence",
    ),
    **dict.fromkeys(["G", "N", "O", "U"], "unauthorised_absence"),
    "E": "excluded",
    **dict.fromkeys(
        ["X", "Y", "Y1", "Y2", "Y3", "Y4", "Y5", "Y6", "Y7", "Z", "#", "D", "Q"],
        "not_required",
    ),
}


class UnknownAttendanceCodeError(ValueError):
    """A register code that is not in the DfE national set."""


def status_for_code(code: str) -> str:
    """Return the contract ``status`` of one DfE register code.

    Parameters
    ----------
    code
        The register code as written in the school's management information system
        (case-sensitive for ``/`` and ``\\``; letters are accepted in either case).

    Raises
    ------
    UnknownAttendanceCodeError
        If the code is not in the national set.
    """
    key = code.strip()
    key = key.upper() if key not in ("/", "\\") else key
    try:
        return DFE_CODE_TO_STATUS[key]
    except KeyError:
        raise UnknownAttendanceCodeError(
            f"{code!r} is not a DfE attendance code; known codes: "
            f"{' '.join(sorted(DFE_CODE_TO_STATUS))}. Check the register extract."
        ) from None


def map_codes(codes: Iterable[str]) -> list[str]:
    """Map many register codes; an unknown code raises :class:`UnknownAttendanceCodeError`."""
    return [status_for_code(c) for c in codes]
