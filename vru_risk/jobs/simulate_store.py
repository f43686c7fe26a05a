"""The simulated service in the application database, as the service would hold it: the
version's flags published, and each decision recorded by the programme's simulated practitioner
account (``sim-<programme>``) at the time it was made.

The accounts are practitioners bound to one programme each, with a random password that is
never shown or stored anywhere but its hash: nobody signs in as them. Everything is written in
one transaction, and is idempotent: flags are stored by id (the same flag again is counted as
present; a flag stored with other content refuses the whole write), and each decision carries
an idempotency key made of the seed, the flag and the programme, so a second run of the same
service stores nothing new.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

import pandas as pd
from sqlalchemy.exc import OperationalError

from vru_risk.flags.programmes import Programmes
from vru_risk.jobs.common import JobError
from vru_risk.simulation.practitioners import practitioner
from vru_risk.simulation.service import ServiceRun
from vru_risk.store import open_database, session_factory
from vru_risk.store.decisions import record_checked
from vru_risk.store.engine import DatabaseError
from vru_risk.store.flag_checks import FlagStoreError
from vru_risk.store.flag_loader import load_flags
from vru_risk.store.inputs import check_decision
from vru_risk.store.users import UserInfo, UserInputError, ensure_user


def utc_time(value: object) -> dt.datetime:
    """A decision's time (a datetime, or pandas' Timestamp of one) as an aware datetime."""
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value
    raise ValueError(f"a decision time must be a timezone-aware datetime, not {value!r}")


@dataclass(frozen=True)
class StoredService:
    """What the database holds of the service after the write."""

    accounts: tuple[str, ...]
    accounts_added: int
    flags_inserted: int
    flags_present: int
    decisions_recorded: int


def store_service(
    database_url: str, run: ServiceRun, programmes: Programmes, *, seed: int
) -> StoredService:
    """Write the service's flags and decisions (see the module docstring)."""
    try:
        engine = open_database(database_url)
    except (DatabaseError, OperationalError) as exc:
        raise JobError(
            f"cannot open the application database ({str(exc)[:160]}); check VRU_DATABASE_URL"
        ) from None
    decided = run.decisions[run.decisions["decision"].notna()] if len(run.decisions) else None
    try:
        with session_factory(engine, write=True).begin() as session:
            users: dict[str, UserInfo] = {}
            added = 0
            for programme in programmes.programmes:
                user, new = ensure_user(
                    session,
                    username=practitioner(programme.id),
                    role="practitioner",
                    password=secrets.token_urlsafe(32),
                    programmes=(programme.id,),
                    known_programmes=programmes,
                )
                users[programme.id] = user
                added += new
            loaded = load_flags(session, run.flags, today=dt.date.today()) if run.flags else None
            recorded = 0
            for row in [] if decided is None else decided.itertuples(index=False):
                checked = check_decision(
                    decision=str(row.decision),
                    reason_code=str(row.reason_code),
                    text=str(row.text),
                    referred_to=str(row.programme) if row.decision == "referred" else None,
                    corrects=None,
                    programmes=programmes,
                )
                info = record_checked(
                    session,
                    checked,
                    flag_id=str(row.flag_id),
                    user=users[str(row.programme)],
                    programme_id=str(row.programme),
                    idempotency_key=f"sim-{seed}-{row.flag_id}-{row.programme}",
                    at=utc_time(row.decided_at),
                )
                recorded += not info.replayed
    except (FlagStoreError, UserInputError) as exc:
        raise JobError(
            f"the application database cannot take this simulated service: {exc}. Simulate into "
            "a VRU_HOME (or VRU_DATABASE_URL) of its own"
        ) from None
    finally:
        engine.dispose()
    return StoredService(
        accounts=tuple(users[p.id].username for p in programmes.programmes),
        accounts_added=added,
        flags_inserted=loaded.inserted if loaded else 0,
        flags_present=loaded.already_present if loaded else 0,
        decisions_recorded=recorded,
    )
