"""``vru monitor`` reads the practitioners' decisions, the flag views and the flags' main reasons
from the application database (the module's trained version, its own database here) and adds
the decisions and feedback sections to the report: agreement out of bounds for a programme, a
group referred less often, and a rise of flags resting mainly on a police record each ask for
review, with no young person named anywhere.

The service, within the packaged programmes' places (so that the capacity check stays quiet):
flags of the county's young people from January 2026, the feedback watch's baseline months (a
police record is the main reason of 1 in 5), to June (3 in 5). In the decisions window (the 91
days to 30 June) Jump Start Mentoring opens every flag and refers every one (rubber-stamping?);
Admit A&E refers girls and not boys, half the boys' decisions coming only in July (after the
as-of date); one young person holds the School Inclusion Project's fifteen June offers (one
person: withheld, and the Early Intervention Team's twelve undecided offers with it, the next
smallest programme); a flag withdrawn by an administrator is left out.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pandas as pd
from sqlalchemy import update

from tests.store.conftest import make_flag
from vru_risk.flags.flag import Flag, Reason
from vru_risk.jobs.monitor import MonitorRequest, run_monitor
from vru_risk.settings import Settings
from vru_risk.store import open_database, session_factory
from vru_risk.store.flag_store import load_flags
from vru_risk.store.flag_views import record_view
from vru_risk.store.models import DecisionRow, FlagRow
from vru_risk.store.users import UserInfo, add_user

AS_OF = date(2026, 6, 30)
#: a month's offers within the packaged places: 20 + 15 + 15
PLACES = ("jump_start",) * 20 + ("early_intervention",) * 15 + ("school_inclusion",) * 15
EXCLUSIONS = Reason(
    family="suspensions",
    source="exclusions",
    direction="raises",
    strength="strongly",
    text="3 suspensions in the last year",
    contribution=2.0,
    features=("exc_susp_365d",),
)


def flag(person: str, day: date, version: int, offers: tuple[str, ...], police: bool) -> Flag:
    made = make_flag(
        person,
        day,
        offers=tuple((p, k + 1, "offered") for k, p in enumerate(offers)),
        version=version,
        expires_days=28,
    )
    if police:  # make_flag's only reason for is a police record
        return made
    return made.model_copy(update={"reasons_for": (EXCLUSIONS, *made.reasons_for)})


def decision(
    f: Flag, programme: str, kind: str, user: UserInfo, at: datetime, **kw: object
) -> DecisionRow:
    return DecisionRow(
        flag_id=f.flag_id,
        programme_id=programme,
        user_id=user.id,
        username=user.username,
        decision=kind,
        referred_to=programme if kind == "referred" else None,
        reason_code="practitioner_concern" if kind == "referred" else "support_declined",
        text="",
        created_at=at,
        **kw,
    )


def after(f: Flag, days: int) -> datetime:
    """Nine in the morning ``days`` after the flag's date."""
    return datetime.combine(f.as_of + timedelta(days=days), time(9), tzinfo=UTC)


def service(url: str, version: int, people: pd.DataFrame) -> dict[str, int]:
    """Load the service described in the module docstring; return the window's figures."""
    ids = people["person_id"].tolist()
    sex = dict(zip(people["person_id"], people["sex"], strict=True))
    girls = [p for p in ids[:400] if sex[p] == "female"][:30]
    boys = [p for p in ids[:400] if sex[p] == "male"][:30]

    def day(month: int, k: int) -> date:
        return date(2026, month, 2 + k % 25)

    baseline = [  # January to March, 1 in 5 a police record
        flag(p, day(1 + k // 50, k), version, (PLACES[k % 50],), police=k % 5 == 0)
        for k, p in enumerate(ids[1000:1150])
    ]
    jump = [  # April to June, 20 a month
        flag(p, day(4 + k // 20, k), version, ("jump_start",), police=k % 5 < 3)
        for k, p in enumerate(ids[400:460])
    ]
    admit = [  # 5 a week from 6 April: girls first
        flag(p, date(2026, 4, 6) + timedelta(days=7 * (k // 5) + k % 5), version, ("admit_ae",),
             police=k % 5 < 3)
        for k, p in enumerate([*girls, *boys])
    ]  # fmt: skip
    solo = [
        flag(ids[600], day(6, k), version, ("school_inclusion",), police=True) for k in range(15)
    ]
    early = [
        flag(p, date(2026, 6, 10), version, ("early_intervention",), police=False)
        for p in ids[700:712]
    ]
    withdrawn = flag(ids[601], date(2026, 6, 24), version, ("admit_ae",), police=True)
    engine = open_database(url)
    sessions = session_factory(engine)
    with sessions.begin() as s:
        load_flags(s, [*baseline, *jump, *admit, *solo, *early, withdrawn])
        pat = add_user(
            s,
            username="pat",
            role="practitioner",
            password="a long enough password",
            programmes=("jump_start", "admit_ae", "school_inclusion"),
        )
        s.execute(
            update(FlagRow)
            .where(FlagRow.flag_id == withdrawn.flag_id)
            .values(withdrawn_at=datetime(2026, 6, 21, tzinfo=UTC), withdrawn_reason="error")
        )
    july = datetime(2026, 7, 2, 9, tzinfo=UTC)
    with sessions.begin() as s:
        for f in jump:
            record_view(
                s, flag_id=f.flag_id, programme_id="jump_start", user_id=pat.id, at=after(f, 1)
            )
            s.add(decision(f, "jump_start", "referred", pat, after(f, 2)))
        for k, f in enumerate(admit):  # girls referred; boys no action, half of them in July
            kind = "referred" if k < len(girls) else "no_action"
            late = k >= len(girls) and k % 2 == 0
            s.add(decision(f, "admit_ae", kind, pat, july if late else after(f, 3)))
        for f in solo:
            s.add(decision(f, "school_inclusion", "referred", pat, after(f, 1)))
        s.add(decision(withdrawn, "admit_ae", "no_action", pat, after(withdrawn, 1)))
    engine.dispose()
    in_july = sum(1 for k in range(len(girls), len(admit)) if k % 2 == 0)
    return {
        "offers": len(jump) + len(admit) + len(solo) + len(early),
        "decided": len(jump) + len(admit) - in_july + len(solo),
        "admit_undecided": in_july,
    }


def test_decisions_and_feedback_sections_with_their_findings_name_no_young_person(
    monitored: tuple[Settings, int], county: Path, tmp_path: Path
) -> None:
    trained, version = monitored
    people = pd.read_parquet(county / "data" / "people.parquet", columns=["person_id", "sex"])
    people = people[people["sex"].isin(["female", "male"])].astype({"person_id": str})
    url = f"sqlite:///{tmp_path / 'app.db'}"
    expected = service(url, version, people)
    settings = Settings(home=trained.home, database_url=url, lightgbm_threads=1, duckdb_threads=1)
    result = run_monitor(settings, MonitorRequest(county / "data", version=version, as_of=AS_OF))
    report = result.report
    assert result.verdict.level == "review" and report["not_checked"] == []
    found = result.verdict.findings
    assert {f.criterion for f in found} == {"agreement", "referral_ratio", "police_feedback"}
    (agreement,) = [f for f in found if f.criterion == "agreement"]
    assert agreement.subject == "Jump Start Mentoring" and "60 of 60" in agreement.sentence
    assert [f for f in found if f.criterion == "referral_ratio" and f.subject.startswith("sex=")]
    decisions = report["checks"]["decisions"]
    overall = decisions["overall"]
    assert (overall["offered"], overall["decided"]) == (expected["offers"], expected["decided"])
    programmes = {c["label"]: c for c in decisions["by_programme"]}
    assert programmes["jump_start"]["opened"] == 1.0 and programmes["admit_ae"]["opened"] == 0.0
    undecided = round(expected["admit_undecided"] / 60, 3)  # July's decisions not yet known
    assert programmes["admit_ae"]["undecided"] == undecided
    assert programmes["school_inclusion"]["suppressed"]  # one young person, fifteen offers
    assert programmes["early_intervention"]["suppressed"]  # the next smallest
    feedback = report["checks"]["feedback"]
    assert feedback["judged"] and feedback["baseline"]["police_share"] == 0.2
    assert (
        feedback["window"]["police_share"] > 0.5
        and "2026-01 to 2026-03" in (feedback["baseline_note"])
    )
    text = json.dumps(report) + result.html_path.read_text(encoding="utf-8")
    assert "What did practitioners do with the flags?" in text and "feeding back" in text
    everyone = pd.read_parquet(county / "data" / "people.parquet", columns=["person_id"])
    assert not [p for p in everyone["person_id"].astype(str) if p in text]
