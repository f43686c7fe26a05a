"""The documented mapping from DfE register codes to the contract's attendance status."""

from __future__ import annotations

import pytest

from vru_risk.data.contract import ATTENDANCE_STATUS
from vru_risk.data.dfe_codes import (
    DFE_CODE_TO_STATUS,
    UnknownAttendanceCodeError,
    map_codes,
    status_for_code,
)


def test_every_code_maps_to_a_contract_status_and_every_status_is_reachable() -> None:
    assert set(DFE_CODE_TO_STATUS.values()) == set(ATTENDANCE_STATUS)


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("/", "present"),
        ("\\", "present"),
        ("L", "late"),
        ("U", "unauthorised_absence"),  # late after the register closed counts as absence
        ("N", "unauthorised_absence"),
        ("O", "unauthorised_absence"),
        ("G", "unauthorised_absence"),
        ("I", "authorised_absence"),
        ("M", "authorised_absence"),
        ("C2", "authorised_absence"),
        ("E", "excluded"),
        ("X", "not_required"),
        ("Y3", "not_required"),
        ("#", "not_required"),
        ("B", "present"),
        ("K", "present"),
        ("i", "authorised_absence"),  # letters in either case
    ],
)
def test_mapping(code: str, status: str) -> None:
    assert status_for_code(code) == status


def test_unknown_code_is_an_error_never_a_guess() -> None:
    with pytest.raises(UnknownAttendanceCodeError, match="'Q9' is not a DfE attendance code"):
        map_codes(["/", "Q9"])


def test_docstring_table_lists_every_code() -> None:
    import vru_risk.data.dfe_codes as module

    doc = module.__doc__ or ""
    for code in DFE_CODE_TO_STATUS:
        assert f"``{code}``" in doc.replace("``\\\\``", "``\\``"), code
