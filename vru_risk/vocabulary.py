"""Words and bounds of the service that the command line names in its help: the users' roles,
the longest life of an API token, the longest reason for withdrawing a flag. Plain constants,
importable without the database (so that ``vru users add --help`` starts fast);
:mod:`~vru_risk.store.users`, :mod:`~vru_risk.serving.tokens` and the ``flags`` table's
column (:mod:`~vru_risk.store.models`) use them.

Example
-------
>>> "ethics_panel" in ROLES, MAX_TOKEN_DAYS, WITHDRAWAL_REASON_LENGTH
(True, 366, 300)
"""

from __future__ import annotations

from typing import Final, Literal

Role = Literal["practitioner", "data_scientist", "ethics_panel", "admin"]
ROLES: Final[tuple[Role, ...]] = ("practitioner", "data_scientist", "ethics_panel", "admin")
#: the longest an API token may be issued for (``--days``, ``VRU_TOKEN_DAYS``)
MAX_TOKEN_DAYS: Final = 366
#: the longest reason for withdrawing a flag (``flags.withdrawn_reason``'s length)
WITHDRAWAL_REASON_LENGTH: Final = 300
