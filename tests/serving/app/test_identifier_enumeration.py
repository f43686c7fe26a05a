"""No identifier reaches what its caller may not see, on any route: derived from the app's route
table (pages and API), so that a route added later is probed too, or fails here until its
parameters are classified (``routes.py``).

For every role, every practitioner and each of their programmes, each route that takes an
identifier (a path, query or body parameter naming a flag, a person, a moment's day or a
decision) is called with identifiers it must not reach: flags offered only to another
programme, offered to nobody or already supported, past their display period, unknown or
malformed ids; (person, day) pairs of those flags and of moments no flag was made for; the ids
of other programmes' decisions. A flag, person or moment is answered 403/404 revealing nothing
(no person id, flag id, band, probability or source detail); a decision id of another
programme gets exactly the answer a decision id that does not exist gets. The same routes are
called with what the caller may see, which must work (scoring a moment offered to them: 200).
Routes without identifiers return only the person and flag ids of the caller's own list.
"""

from __future__ import annotations

import datetime as dt
import re
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from tests.monitoring.cards import card_sources, documents
from tests.monitoring.reports import MonthReports, write_runs
from tests.serving.app.conftest import (
    FLAGS,
    PASSWORD,
    ROLE_USER,
    SOURCE_MARKERS,
    TODAY,
    UNFLAGGED_MOMENTS,
    Browser,
    Served,
)
from tests.serving.app.routes import ORDINARY, Route, app_routes, build, send, unclassified
from vru_risk.features.catalog import FeatureSpec
from vru_risk.jobs.card import card_dir
from vru_risk.monitoring.card_render import write_document
from vru_risk.serving.tokens import issue_token
from vru_risk.store.models import DecisionRow
from vru_risk.store.users import add_user

PRACTITIONERS: dict[str, tuple[str, ...]] = {
    "pat": ("jump_start",),
    "ed": ("early_intervention",),
    "amy": ("admit_ae",),
    "mo": ("jump_start", "admit_ae"),
}
VISIBLE_DAYS = 90
NO_SUCH_DECISION = 987654321
#: the decisions recorded before probing: (user, programme, flag key, its note)
DECISIONS = (
    ("pat", "jump_start", "A", "note-pat-on-A"),
    ("ed", "early_intervention", "A", "note-ed-on-A"),
    ("amy", "admit_ae", "A", "note-amy-on-A"),
    ("ed", "early_intervention", "B", "note-ed-on-B"),
    ("amy", "admit_ae", "C", "note-amy-on-C"),
    ("mo", "admit_ae", "MA", "note-mo-on-MA"),
)
#: the version the probes name (routes.ORDINARY) and when its monitoring runs were written
VERSION = ORDINARY["version"]
TIME = datetime(2026, 7, 1, 9, 0, tzinfo=UTC)
#: a person identifier in the county's format (the monitoring reports' young people)
COUNTY_ID = re.compile(r"P[0-9]{7}")
TOKENS = re.compile(r'(name="(?:csrf_token|idempotency_key)" value=")[^"]*"')


def shown(served: Served, programmes: tuple[str, ...]) -> set[str]:
    """The keys of the flags these programmes list (offered, within the display period)."""
    return {
        key
        for key, f in served.flags.items()
        if any(o.programme in programmes and o.status == "offered" for o in f.programmes)
        and TODAY - dt.timedelta(days=VISIBLE_DAYS) <= f.as_of <= TODAY
        and f.expires >= TODAY
    }


def secrets_of(served: Served) -> list[str]:
    """What no refusal may contain: every person and flag id, bands, probabilities, sources."""
    out = {f.person_id for f in served.flags.values()} | {f.flag_id for f in served.flags.values()}
    out |= {person for person, _ in UNFLAGGED_MOMENTS}
    out |= {"highest", "probability", "percentile", "P000"}
    out |= {m for markers in SOURCE_MARKERS.values() for m in markers}
    out |= {note for *_, note in DECISIONS}
    return sorted(out)


def prepare(served: Served) -> dict[tuple[str, str], int]:
    """A practitioner of two programmes, and the decisions of :data:`DECISIONS` (their ids)."""
    with served.state.write_sessions.begin() as s:
        add_user(
            s, username="mo", role="practitioner", password=PASSWORD, programmes=PRACTITIONERS["mo"]
        )
    with served.state.write_sessions.begin() as s:
        served.tokens["mo"] = issue_token(s, "mo")
    ids = {}
    for user, programme, key, note in DECISIONS:
        response = served.api(user).post(
            f"/api/v1/flags/{served.flags[key].flag_id}/decisions",
            json={
                "decision": "no_action",
                "reason_code": "other",
                "text": note,
                "programme": programme,
            },
        )
        assert response.status_code == 201, response.text
        ids[programme, key] = int(response.json()["id"])
    return ids


def values_for(
    route: Route, programme: str | None, flag_key: str, served: Served
) -> dict[str, Any]:
    flag = served.flags[flag_key]
    return {
        "flag_id": flag.flag_id,
        "person_id": flag.person_id,
        "as_of": flag.as_of,
        "programme": programme if "programme" in route.names() else None,
        "corrects": None,
        "recorded": None,
    }


def test_every_parameter_of_every_route_is_classified(in_service_on: Served) -> None:
    routes = app_routes(in_service_on.app)
    assert not unclassified(routes), (
        "classify these parameters in tests/serving/app/routes.py (an identifier of an "
        f"individual, or an ordinary input with a value to send): {unclassified(routes)}"
    )
    assert [r for r in routes if r.identifiers()], "no route takes an identifier?"


def test_no_identifier_reaches_what_its_caller_may_not_see(in_service_on: Served) -> None:
    served = in_service_on
    decision_ids = prepare(served)
    routes = [r for r in app_routes(served.app) if r.identifiers()]
    secrets = secrets_of(served)
    browsers = {who: served.browser(who) for who in (*PRACTITIONERS, "dana", "eve", "ada")}
    failures: list[str] = []
    checked = 0

    def refused(where: str, response: Any, statuses: tuple[int, ...] = (403, 404)) -> None:
        nonlocal checked
        checked += 1
        if response.status_code not in statuses:
            failures.append(f"{where}: {response.status_code} {response.text[:200]}")
            return
        leaked = [s for s in secrets if s in response.text]
        if leaked:
            failures.append(f"{where}: the refusal contains {leaked}")

    for who, programmes in PRACTITIONERS.items():
        for programme in programmes:
            for route in routes:
                acting = (programme,) if "programme" in route.names() else programmes
                mine = shown(served, acting)
                hidden = sorted(set(served.flags) - mine)
                kinds = set(route.identifiers().values())
                label = f"{route.method} {route.path} as {who} for {acting}"
                if "flag" in kinds or "person" in kinds:
                    probes = [values_for(route, programme, key, served) for key in hidden]
                    a = FLAGS["A"].flag_id
                    for bad in ("0" * 20, a.upper(), a + "\x00", a + "0", "zz") * ("flag" in kinds):
                        probes.append({**values_for(route, programme, "A", served), "flag_id": bad})
                    if "flag" not in kinds:  # keyed by a moment: pairs no flag shown makes
                        pairs = {(served.flags[k].person_id, served.flags[k].as_of) for k in mine}
                        extra = [*UNFLAGGED_MOMENTS, ("P00000", TODAY - dt.timedelta(days=1))]
                        extra += [(p, d - dt.timedelta(days=120)) for p, d in pairs]
                        probes += [
                            {"person_id": p, "as_of": d, "programme": programme}
                            for p, d in extra
                            if (p, d) not in pairs
                        ]
                    answers = set()
                    for values in probes:
                        request = build(route, values)
                        response = send(served, who, request, browsers[who])
                        refused(f"{label} with {values}", response)
                        answers.add(response.text if response.status_code == 404 else "")
                    if "flag" not in kinds and route.kind == "api" and len(answers) != 1:
                        failures.append(f"{label}: the refusals differ: {answers}")
                if "decision" in kinds:
                    failures += decision_probes(
                        served, route, who, programme, browsers[who], decision_ids
                    )
                # what they may see works: the probes above reached the route's own checks
                allowed = sorted(k for k in mine if "flag" in kinds or k.startswith("M"))
                if allowed:
                    values = values_for(route, programme, allowed[0], served)
                    response = send(served, who, build(route, values), browsers[who])
                    if response.status_code not in (200, 201, 303):
                        failures.append(f"{label} allowed {allowed[0]}: {response.status_code}")
    for role in ("data_scientist", "ethics_panel", "admin", None):
        who = None if role is None else ROLE_USER[role]
        for route in routes:
            for key in ("A", "MJ"):
                request = build(route, values_for(route, "jump_start", key, served))
                browser = browsers[who] if who else None
                expected = (403,) if who else ((401,) if route.kind == "api" else (303,))
                refused(
                    f"{route.method} {route.path} as {role}",
                    send(served, who, request, browser),
                    expected,
                )
    assert not failures, "\n".join(failures[:40])
    assert checked > 300


def decision_probes(
    served: Served,
    route: Route,
    who: str,
    programme: str,
    browser: Browser,
    decision_ids: dict[tuple[str, str], int],
) -> list[str]:
    """Each decision id the practitioner may not reach gets the answer an id that does not
    exist gets (on flag A, which every programme sees), and nothing is stored."""
    failures = []
    theirs = set(PRACTITIONERS[who])
    foreign = [
        (f"{p} on {k}", i) for (p, k), i in decision_ids.items() if k != "A" or p not in theirs
    ]
    (name,) = [n for n, kind in route.identifiers().items() if kind == "decision"]
    notes = [note for *_, note in DECISIONS]
    reachable = {note for _, p, k, note in DECISIONS if k == "A" and p in theirs}
    base = values_for(route, programme, "A", served)

    def answer(decision_id: int) -> tuple[int, str]:
        response = send(served, who, build(route, {**base, name: decision_id}), browser)
        return response.status_code, TOKENS.sub(r'\1"', response.text)

    with served.state.sessions() as s:
        before = s.scalar(select(func.count()).select_from(DecisionRow))
    reference = answer(NO_SUCH_DECISION)
    for label, decision_id in foreign:
        got = answer(decision_id)
        if got != reference:
            failures.append(
                f"{route.method} {route.path} as {who} for {programme}: {name}={decision_id} "
                f"({label}) is answered {got[0]}, an unknown id {reference[0]}"
            )
        leaked = [note for note in notes if note in got[1] and note not in reachable]
        if leaked:
            failures.append(
                f"{route.method} {route.path} as {who}: {name}={decision_id} shows {leaked}"
            )
    with served.state.sessions() as s:
        after = s.scalar(select(func.count()).select_from(DecisionRow))
    if after != before:
        failures.append(f"{route.method} {route.path} as {who}: a foreign {name} stored a decision")
    return failures


def test_routes_without_identifiers_show_only_the_callers_own_list(
    in_service_on: Served, spec: FeatureSpec, month_reports: MonthReports
) -> None:
    served = in_service_on
    prepare(served)
    # monitoring runs and model cards of the version the probes name, made from the moments of
    # young people in the county's identifier format: none of them may appear either
    settings = served.state.settings
    write_runs(settings.home, month_reports.reports, version=VERSION, latest_written=TIME)
    card, record = documents(card_sources(1, spec, month_reports.reference))
    write_document(card, card_dir(settings, VERSION), "card")
    write_document(record, card_dir(settings, VERSION), "transparency")
    routes = [r for r in app_routes(served.app) if not r.identifiers()]
    everyone = {f.person_id: k for k, f in served.flags.items()} | {
        f.flag_id: k for k, f in served.flags.items()
    }
    failures = []
    callers: list[tuple[str | None, tuple[str, ...]]] = [
        (who, (p,)) for who, programmes in PRACTITIONERS.items() for p in programmes
    ]
    callers += [(u, ()) for u in ("dana", "eve", "ada")] + [(None, ())]
    pages_shown = 0
    for who, programmes in callers:
        browser = served.browser(who) if who else None
        for route in routes:
            programme = programmes[0] if programmes else None
            acting = (
                programmes if "programme" in route.names() else PRACTITIONERS.get(who or "", ())
            )
            allowed = shown(served, acting)
            request = build(
                route, {"programme": programme if "programme" in route.names() else None}
            )
            page = browser
            if route.method == "POST" and route.kind == "page":
                page = served.browser(who) if who else None  # sign-out, sign-in: a browser each
            response = send(served, who, request, page)
            seen = {k for ident, k in everyone.items() if ident in response.text}
            where = f"{route.method} {route.path} as {who} for {programmes}"
            if not seen <= allowed:
                failures.append(f"{where}: {sorted(seen - allowed)}")
            county = COUNTY_ID.search(response.text)
            if county:
                failures.append(f"{where}: a young person of the monitoring reports: {county[0]}")
            if route.path.startswith(("/monitoring", "/models/{version}/")) and who in (
                "dana",
                "eve",
            ):
                pages_shown += response.status_code == 200
    assert not failures, "\n".join(failures)
    assert pages_shown == 10  # the monitoring, run, card and record pages were shown to both
