"""Practitioners' pages: today's support opportunities, one flag, recording a decision.

Each page that shows a young person writes its audit rows before it is rendered (the list: one
row per person shown). Flags are redacted to the programme the practitioner acts for.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from vru_risk.models.flag import Flag
from vru_risk.models.programmes import Programme
from vru_risk.serving.deps import AppState, Audit, Csrf, Db, State, page_roles
from vru_risk.serving.flag_store import (
    DECISIONS,
    REASON_CODES,
    decisions_for,
)
from vru_risk.serving.routes.common import (
    audit_views,
    flag_for,
    flag_or_withdrawn,
    programme_list,
    render,
)
from vru_risk.serving.routes.flags import save_decision
from vru_risk.serving.users import UserInfo

router = APIRouter(tags=["pages"], include_in_schema=False)

Practitioner = Annotated[UserInfo, Depends(page_roles("practitioner"))]

DECISION_LABELS = {
    "referred": "Refer to a programme",
    "no_action": "No action",
    "disagree": "Disagree with the flag",
}
SOURCE_NAMES = {
    "attendance": "School attendance",
    "exclusions": "School exclusions",
    "police_contacts": "Police contacts",
    "ae_visits": "A&E visits",
    "interventions": "Support already under way",
    "people": "Age and school",
}
TRIGGER_LABELS = {
    "ae_visit": "A&E visit",
    "exclusion": "School exclusion",
    "police_contact": "Police contact",
    "attendance_drop": "Drop in school attendance",
    "snapshot": "Periodic review",
    "another_service": "A record from another service",
}


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
    prog, today, shown, used = programme_list(request, state, db, user, audit, programme)
    rows = []
    for f in shown:
        offer = next((o for o in f.programmes if o.programme == prog.id), None)
        rows.append(
            {
                "flag": f,
                "offer": offer,
                "triggers": ", ".join(TRIGGER_LABELS.get(t.kind, t.kind) for t in f.triggers),
                "top_reasons": [r.sentence for r in f.reasons_for[:2]],
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
            "used": used,
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
    return {
        "title": f"Support opportunity {flag.flag_id}",
        "nav": "flags",
        "flag": flag,
        "programme": prog,
        "trigger_labels": TRIGGER_LABELS,
        "history": history,
        "decisions": [(d, DECISION_LABELS[d]) for d in DECISIONS],
        "reason_codes": {d: [(c, label(c)) for c in REASON_CODES[d]] for d in DECISIONS},
        "decision_labels": DECISION_LABELS,
        "label": label,
        "source_names": SOURCE_NAMES,
        "refer_to": [(o.programme, o.name) for o in flag.programmes],
        "names": dict(_programme_names(state, tuple(o.programme for o in flag.programmes))),
        "form": {"decision": "", "reason_code": "", "referred_to": "", "text": "", "corrects": ""},
        "error": "",
        "recorded": None,
        "withdrawal": None,
    }


@router.get("/flags/{flag_id}")
def flag_page(
    request: Request,
    state: State,
    db: Db,
    user: Practitioner,
    audit: Audit,
    flag_id: str,
    programme: str | None = None,
    recorded: int | None = None,
) -> Response:
    """One flag: band, reasons for and against, what the model cannot see, what could change
    it, eligible programmes, the decision form and the history. A withdrawn flag says when and
    why instead of offering the form."""
    flag, prog, withdrawal = flag_or_withdrawn(state, db, user, flag_id, programme)
    purpose = "view withdrawn flag" if withdrawal else "view flag"
    audit_views(audit, request, user, [flag], f"{purpose}: {prog.id}")
    context = _flag_context(state, db, user, flag, prog)
    context["recorded"] = next((d for d in context["history"] if d.id == recorded), None)
    context["withdrawal"] = withdrawal
    return render(request, "flag.html.j2", context)


@router.post("/flags/{flag_id}/decisions")
def decide(
    request: Request,
    state: State,
    db: Db,
    user: Practitioner,
    _csrf: Csrf,
    audit: Audit,
    flag_id: str,
    programme: Annotated[str, Form(max_length=64)] = "",
    decision: Annotated[str, Form(max_length=32)] = "",
    reason_code: Annotated[str, Form(max_length=64)] = "",
    referred_to: Annotated[str, Form(max_length=64)] = "",
    text: Annotated[str, Form(max_length=4000)] = "",
    corrects: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Record a decision (append-only), then show the flag with it in the history."""
    flag, prog = flag_for(state, db, user, flag_id, programme or None)
    form = {
        "decision": decision,
        "reason_code": reason_code,
        "referred_to": referred_to,
        "text": text,
        "corrects": corrects,
    }
    problem = _check_form(decision, reason_code, referred_to, corrects)
    if problem:
        audit_views(audit, request, user, [flag], f"view flag: {prog.id}")
        context = {**_flag_context(state, db, user, flag, prog), "form": form, "error": problem}
        return render(request, "flag.html.j2", context, status_code=422)
    db.rollback()  # end the read transaction before writing (SQLite: one writer at a time)
    audit_views(audit, request, user, [flag], f"record decision: {prog.id}")
    try:
        info = save_decision(
            state,
            flag_id=flag.flag_id,
            user=user,
            programme_id=prog.id,
            decision=decision,
            reason_code=reason_code,
            text=text.strip(),
            referred_to=referred_to or None,
            corrects=int(corrects) if corrects else None,
        )
    except HTTPException as exc:
        if exc.status_code != 422:
            raise
        context = {**_flag_context(state, db, user, flag, prog), "form": form}
        context["error"] = str(exc.detail)
        return render(request, "flag.html.j2", context, status_code=422)
    target = f"/flags/{flag.flag_id}?programme={prog.id}&recorded={info.id}#history"
    return RedirectResponse(target, status_code=303)


def _check_form(decision: str, reason_code: str, referred_to: str, corrects: str) -> str:
    if decision not in DECISIONS:
        return "Choose a decision: refer to a programme, no action, or disagree with the flag."
    codes = REASON_CODES[decision]
    if reason_code not in codes:
        return (
            f"Choose a reason listed under '{DECISION_LABELS[decision]}' (the reason you chose "
            "belongs to another decision)."
        )
    if decision == "referred" and not referred_to:
        return "Choose the programme you referred the young person to."
    if corrects and not corrects.isdigit():
        return "The decision this corrects must be chosen from the list."
    return ""
