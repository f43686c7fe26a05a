"""Flags already in the database that must not break the service: one dated in the future
(the service's "today" never runs ahead of the clock), and flags stored in a form that can no
longer be shown (left out of lists with a warning naming the flag id, never the person id)."""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

import pytest

from tests.serving.app.conftest import Served, make_flag
from vru_risk.flags.flag import Flag
from vru_risk.store.models import FlagProgramme, FlagRow

REAL_TODAY = dt.date.today()
JUMP = (("jump_start", 1, "offered"),)


def store_raw(served: Served, flag: Flag, body: str | None = None, person_id: str = "") -> None:
    """Put a flag row into the database directly, bypassing the loader's checks (as an older
    version, or someone with database access, could have)."""
    with served.state.write_sessions.begin() as s:
        s.add(
            FlagRow(
                flag_id=flag.flag_id,
                person_id=(person_id or flag.person_id)[:128],
                as_of=flag.as_of,
                expires=flag.expires,
                band=flag.band,
                model_name=flag.scoring_model.name,
                model_version=flag.scoring_model.version,
                content_hash=flag.scoring_model.content_hash,
                body=body if body is not None else flag.model_dump_json(),
            )
        )
        s.flush()
        for o in flag.programmes:
            s.add(
                FlagProgramme(
                    flag_id=flag.flag_id, programme_id=o.programme, status=o.status, rank=o.rank
                )
            )


def test_a_flag_dated_in_the_future_never_empties_the_lists(served_on: Served) -> None:
    """A flag dated 2099 once made the service's "today" 2099: every list emptied and real
    flags answered 404."""
    fresh = make_flag("PF-0001", REAL_TODAY - dt.timedelta(days=1), JUMP)
    future = make_flag("PF-2099", dt.date(2099, 1, 1), (("jump_start", 2, "offered"),))
    store_raw(served_on, fresh)
    store_raw(served_on, future)
    pat = served_on.api("pat")
    listed = pat.get("/api/v1/flags").json()
    assert listed["today"] == REAL_TODAY.isoformat()
    assert [f["person_id"] for f in listed["flags"]] == ["PF-0001"]
    assert pat.get(f"/api/v1/flags/{fresh.flag_id}").status_code == 200
    assert pat.get(f"/api/v1/flags/{future.flag_id}").status_code == 404
    page = served_on.browser("pat").get("/flags")
    assert page.status_code == 200
    assert fresh.flag_id in page.text and future.flag_id not in page.text


def infinity_stored_as_null(flag: Flag) -> tuple[str, str]:
    data = json.loads(flag.model_dump_json())
    data["raw_score"] = None  # how pydantic wrote a loaded Infinity back
    return json.dumps(data), "raw_score (float_type)"


def person_id_too_long(flag: Flag) -> tuple[str, str]:
    data = json.loads(flag.model_dump_json())
    data["person_id"] = flag.person_id + "x" * 150
    return json.dumps(data), f"person_id has {len(data['person_id'])} characters"


def not_a_flag(flag: Flag) -> tuple[str, str]:
    return json.dumps({"flag_id": flag.flag_id}), "does not parse as a flag"


def flag_id_no_route_opens(flag: Flag) -> tuple[str, str]:
    """Security re-review F2: listed on every list, but no page, API or decision opened it."""
    data = json.loads(flag.model_dump_json())
    data["flag_id"] = "ABCDEF0123456789ABCD"
    return json.dumps(data), "flag_id is not 20 lower-case hexadecimal digits"


def person_id_with_a_zero_width_space(flag: Flag) -> tuple[str, str]:
    """Security re-review F8: displays as another young person, but is not them."""
    data = json.loads(flag.model_dump_json())
    data["person_id"] = flag.person_id + "\u200b"
    return json.dumps(data), "person_id holds an invisible formatting character (U+200B)"


@pytest.mark.parametrize(
    "spoil",
    [
        infinity_stored_as_null,
        person_id_too_long,
        not_a_flag,
        flag_id_no_route_opens,
        person_id_with_a_zero_width_space,
    ],
)
def test_a_stored_flag_that_cannot_be_shown_is_left_out_with_a_warning(
    served_on: Served, caplog: pytest.LogCaptureFixture, spoil: Any
) -> None:
    """Such a flag made every list holding it answer 500 (or 503: an audit row it could not
    write)."""
    day = REAL_TODAY - dt.timedelta(days=1)
    good = make_flag("PG-0001", day, JUMP)
    bad = make_flag("PB-SECRET-77", day, (("jump_start", 2, "offered"),))
    body, why = spoil(bad)
    store_raw(served_on, good)
    store_raw(served_on, bad, body)
    pat = served_on.api("pat")
    with caplog.at_level(logging.WARNING, logger="vru_risk.serving.flags"):
        listed = pat.get("/api/v1/flags")
        assert listed.status_code == 200, listed.text
        assert [f["person_id"] for f in listed.json()["flags"]] == ["PG-0001"]
        assert served_on.browser("pat").get("/flags").status_code == 200
        assert pat.get(f"/api/v1/flags/{bad.flag_id}").status_code == 404
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings and all(bad.flag_id in w and why in w for w in warnings)
    assert not any("PB-SECRET" in w for w in warnings)
    assert "PB-SECRET" not in " ".join(r.person_id or "" for r in served_on.audit_rows())
