"""Practitioners' pages: today's support opportunities, one flag, recording a decision.

Each page that shows a young person writes its audit rows before it is rendered (the list: one
row per person shown). Flags are redacted to the programme the practitioner acts for. Opening a
flag's page also records a flag view (:mod:`vru_risk.store.flag_views`), which the decisions
monitoring counts; a list does not.
"""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response

from vru_risk.data.contract import SOURCE_NAMES
from vru_risk.flags.flag import Flag
from vru_risk.flags.programmes import Programme
from vru_risk.flags.wording import (
    REASONS_PLAIN,
    TRIGGER_LABELS,
    age_in_words,
    estimate_sentence,
    flag_title,
    long_date,
    reason_sentence,
    stale_sources,
    trigger_sentence,
    what_if_sentence,
)
from vru_risk.serving.deps import AppState, Audit, Csrf, Db, State, page_roles
from vru_risk.serving.routes.common import (
    audit_views,
    flag_for,
    flag_or_withdrawn,
    record_flag_view,
    render,
    service_today,
)
from vru_risk.serving.routes.flags import save_decision
from vru_risk.serving.routes.limits import limited_page_roles
from vru_risk.serving.routes.programme_list import programme_list
from vru_risk.store.decisions import decisions_for
from vru_risk.store.inputs import (
    DECISION_LABELS,
    DECISIONS,
    MAX_ID,
    REASON_CODES,
    DecisionInputError,
    check_decision,
    is_idempotency_key,
    parse_decision_id,
)
from vru_risk.store.users import UserInfo

router = APIRouter(tags=["pages"], include_in_schema=False)

Practitioner = Annotated[UserInfo, Depends(page_roles("practitioner"))]
#: a practitioner whose request names an individual: counted against their rate limit
LimitedPractitioner = Annotated[UserInfo, Depends(limited_page_roles("practitioner"))]
#: reasons of the list page's "Main reasons" column
LIST_REASONS = 2


def label(code: str) -> str:
    """``context_model_cannot_see`` -> ``Context model cannot see``."""
    return code.replace("_", " ").capitalize()


def _programme_names(state: AppState, ids: tuple[str, ...]) -> list[tuple[str, str]]:
    out = []
    for pid in ids:
        prog = state.programme(pid)
        out.append((pid, prog.name if prog else pid))
    return out


@router.get("/flags")
def flags_page(
    request: Request,
    state: State,
    db: Db,
    user: Practitioner,
    audit: Audit,
    programme: str | None = None,
) -> Response:
    """Today's support opportunities for one of my programmes, with capacity used."""
    listed = programme_list(request, state, db, user, audit, programme)
    prog, today = listed.programme, listed.today
    rows = []
    for f in listed.flags:
        offer = next((o for o in f.programmes if o.programme == prog.id), None)
        actionable = [r for r in f.reasons_for if not r.background]
        rows.append(
            {
                "flag": f,
                "offer": offer,
                "title": flag_title(f),
                "this_period": listed.in_period(f),
                "age": age_in_words(f.as_of, today),
                "triggers": ", ".join(TRIGGER_LABELS.get(t.kind, t.kind) for t in f.triggers),
                "top_reasons": [reason_sentence(r, f.triggers) for r in actionable[:LIST_REASONS]],
            }
        )
    return render(
        request,
        "flags.html.j2",
        {
            "title": f"Today's support opportunities: {prog.name}",
            "nav": "flags",
            "programme": prog,
            "programmes": _programme_names(state, user.programmes),
            "today": today,
            "used": listed.used,
            "listed_this_period": listed.listed_this_period,
            "places_left": listed.places_left,
            "how_chosen": listed.how_chosen,
            "period_start": prog.period_start(today) if today else None,
            "period_end": prog.period_end(today) if today else None,
            "visible_days": state.settings.flag_visible_days,
            "rows": rows,
        },
    )


def _flag_context(
    state: AppState,
    db: Any,
    user: UserInfo,
    flag: Flag,
    prog: Programme,
) -> dict[str, Any]:
    history = decisions_for(db, flag.flag_id, programme_ids=user.programmes)
    today = service_today(db)
    every = (*flag.reasons_for, *flag.reasons_against)
    stale = stale_sources(
        flag.cannot_see.sources_refreshed, today, state.settings.stale_source_days
    )
    return {
        "title": flag_title(flag),
        "nav": "flags",
        "flag": flag,
        "programme": prog,
        "flag_age": age_in_words(flag.as_of, today),
        "today": today,
        "triggers": [trigger_sentence(t) for t in flag.triggers],
        "estimate": estimate_sentence(flag),
        "raises": [reason_sentence(r, flag.triggers) for r in flag.reasons_for if not r.background],
        "lowers": [
            reason_sentence(r, flag.triggers) for r in flag.reasons_against if not r.background
        ],
        "background": [reason_sentence(r, flag.triggers) for r in every if r.background],
        "reasons_plain": REASONS_PLAIN,
        "what_ifs": [
            what_if_sentence(w.inputs, w.probability, flag.probability)
            for w in flag.what_could_change
        ],
        "stale": [(SOURCE_NAMES.get(s, label(s)), days) for s, days in stale.items()],
        "stale_days": state.settings.stale_source_days,
        "long_date": long_date,
        "history": history,
        "decisions": [(d, DECISION_LABELS[d]) for d in DECISIONS],
        "reason_codes": {d: [(c, label(c)) for c in REASON_CODES[d]] for d in DECISIONS},
        "decision_labels": DECISION_LABELS,
        "label": label,
        "source_names": SOURCE_NAMES,
        "refer_to": [(o.programme, o.name) for o in flag.programmes],
        "names": dict(_programme_names(state, tuple(o.programme for o in flag.programmes))),
        "form": {"decision": "", "reason_code": "", "referred_to": "", "text": "", "corrects": ""},
        # a retried submission of this form (a double click, a resend after a lost answer)
        # records nothing new
        "idempotency_key": secrets.token_urlsafe(18),
        "error": "",
        "recorded": None,
        "withdrawal": None,
    }


@router.get("/flags/{flag_id}")
def flag_page(
    request: Request,
    state: State,
    db: Db,
    user: LimitedPractitioner,
    audit: Audit,
    flag_id: str,
    programme: str | None = None,
    recorded: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> Response:
    """One flag: band, reasons for and against, what the model cannot see, what could change
    it, eligible programmes, the decision form and the history. A withdrawn flag says when and
    why instead of offering the form."""
    flag, prog, withdrawal = flag_or_withdrawn(state, db, user, flag_id, programme)
    purpose = "view withdrawn flag" if withdrawal else "view flag"
    audit_views(audit, request, user, [flag], f"{purpose}: {prog.id}")
    record_flag_view(state, db, user, flag, prog)
    context = _flag_context(state, db, user, flag, prog)
    context["recorded"] = next((d for d in context["history"] if d.id == recorded), None)
    context["withdrawal"] = withdrawal
    return render(request, "flag.html.j2", context)


@router.post("/flags/{flag_id}/decisions")
def decide(
    request: Request,
    state: State,
    db: Db,
    user: LimitedPractitioner,
    _csrf: Csrf,
    audit: Audit,
    flag_id: str,
    programme: Annotated[str, Form(max_length=64)] = "",
    decision: Annotated[str, Form(max_length=32)] = "",
    reason_code: Annotated[str, Form(max_length=64)] = "",
    referred_to: Annotated[str, Form(max_length=64)] = "",
    text: Annotated[str, Form(max_length=4000)] = "",
    corrects: Annotated[str, Form(max_length=20)] = "",
    idempotency_key: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    """Record a decision (append-only), then show the flag with it in the history. The form's
    content is checked (by the API's rules) before the audit row is written; a form sent twice
    (its hidden key) records one decision."""
    flag, prog = flag_for(state, db, user, flag_id, programme or None)
    form = {
        "decision": decision,
        "reason_code": reason_code,
        "referred_to": referred_to,
        "text": text,
        "corrects": corrects,
    }

    def again(status: int, error: str, *, new_key: bool = False) -> Response:
        """The form shown again with the answers kept and what to change (a view: one row)."""
        context = {**_flag_context(state, db, user, flag, prog), "form": form, "error": error}
        if not new_key and is_idempotency_key(idempotency_key):
            context["idempotency_key"] = idempotency_key  # still the same decision
        return render(request, "flag.html.j2", context, status_code=status)

    try:
        if idempotency_key and not is_idempotency_key(idempotency_key):
            raise DecisionInputError("The form is out of date: reload the page and try again.")
        checked = check_decision(
            decision=decision,
            reason_code=reason_code,
            text=text,
            referred_to=referred_to or None,
            corrects=parse_decision_id(corrects),
            programmes=state.programmes,
        )
    except DecisionInputError as exc:
        audit_views(audit, request, user, [flag], f"view flag: {prog.id}")
        return again(422, str(exc))
    try:
        info = save_decision(
            request, state, db, audit, user, flag, prog, checked, idempotency_key or None
        )
    except HTTPException as exc:
        if exc.status_code == 409:
            return again(
                409,
                "This form was already sent with a different decision, which is recorded (see "
                "the history below). Nothing new was recorded; the form below is a new one: "
                "send it to record another decision.",
                new_key=True,
            )
        if exc.status_code != 422:
            raise
        return again(422, str(exc.detail))
    target = f"/flags/{flag.flag_id}?programme={prog.id}&recorded={info.id}#history"
    return RedirectResponse(target, status_code=303)
