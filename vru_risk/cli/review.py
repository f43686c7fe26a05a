"""``vru review``: the ethics panel's recorded decisions about a model version, and its approval
of a programmes file's fair lotteries (``approve-lottery``, :mod:`vru_risk.jobs.lottery_gate`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from vru_risk.cli.admin import (
    PasswordStdin,
    app_engine,
    mirror_review_log,
    read_password,
    transaction,
)
from vru_risk.cli.common import UserError, console, state

if TYPE_CHECKING:
    from vru_risk.models.review_log import ReviewLog

app = typer.Typer(
    help="The ethics panel's decisions: approve, reject, override, suspend, clear-leakage, "
    "approve-lottery",
    no_args_is_help=True,
)

Version = Annotated[int, typer.Option("--version", help="Model version number (vru models list)")]
Reviewer = Annotated[
    str,
    typer.Option(
        "--reviewer",
        help="Username of the ethics-panel member deciding (their password is asked for)",
    ),
]
Reason = Annotated[str, typer.Option("--reason", help="The written reason, kept in the log")]


def review_log() -> ReviewLog:
    """The review log of the settings."""
    from vru_risk.models.review_log import ReviewLog

    return ReviewLog(state.get_settings().review_log_path)


def check_reviewer(reviewer: str, *, password_stdin: bool) -> None:
    """Refuse unless ``reviewer`` is an active ethics-panel user and gives their password."""
    from vru_risk.store.users import authenticate

    password = read_password(
        from_stdin=password_stdin, confirm=False, prompt=f"{reviewer}'s password"
    )
    engine = app_engine()
    try:
        with transaction(engine) as session:
            user = authenticate(session, reviewer, password)
    finally:
        engine.dispose()
    if user is None or user.role != "ethics_panel":
        raise UserError(
            f"{reviewer!r} is not an active ethics-panel user with that password; an admin adds "
            "panel members with `vru users add NAME --role ethics_panel`"
        )


def _decide(
    action: str,
    version: int,
    reviewer: str,
    reason: str,
    *,
    password_stdin: bool,
    demo: bool = False,
) -> None:
    from vru_risk.jobs.common import JobError
    from vru_risk.jobs.monitor_data import approval_criteria_hash
    from vru_risk.models.promotion import ReviewRefusedError, review
    from vru_risk.models.registry import Registry, RegistryError
    from vru_risk.models.review_log import ReviewLogError

    settings = state.get_settings()
    check_reviewer(reviewer, password_stdin=password_stdin)
    try:
        criteria = (
            approval_criteria_hash(settings, version) if action in ("approve", "override") else None
        )
        outcome = review(
            action,
            version=version,
            reviewer=reviewer,
            reason=reason,
            registry=Registry(settings.tracking_uri),
            log=review_log(),
            demo=demo,
            criteria_hash=criteria,
        )
    except (ReviewRefusedError, RegistryError, ReviewLogError, JobError) as exc:
        raise UserError(f"{action} refused: {exc}") from None
    console.print(
        f"review entry {outcome.entry.seq}: {action} of version {version} by {reviewer}; "
        f"{outcome.message}"
    )
    mirror_review_log()


#: each decision the panel records: (command and action, what it does)
DECISIONS = (
    ("approve", "Put a candidate whose gates pass into service as champion."),
    ("reject", "Record that a version must not go into service."),
    (
        "override",
        "Accept a version whose fairness gate fails (two different members must override).",
    ),
    ("suspend", "Take a version out of service at once."),
    (
        "clear-leakage",
        "Lift a 'suspected leakage' block (not by the person who trained the model).",
    ),
)


def _add_decision(action: str, summary: str) -> None:
    def decide(
        version: Version, reviewer: Reviewer, reason: Reason, password_stdin: PasswordStdin = False
    ) -> None:
        _decide(action, version, reviewer, reason, password_stdin=password_stdin)

    decide.__doc__ = summary
    app.command(action)(decide)


for _action, _summary in DECISIONS:
    _add_decision(_action, _summary)


@app.command("approve-lottery")
def approve_lottery(
    reviewer: Reviewer,
    reason: Reason,
    programmes: Annotated[
        Path | None,
        typer.Option(
            "--programmes",
            help="The programmes file whose lotteries are approved (default: the settings'); "
            "the approval is tied to its sha256, so any later edit needs a new approval",
        ),
    ] = None,
    password_stdin: PasswordStdin = False,
) -> None:
    """Approve the fair lotteries a programmes file enables (`lottery:` blocks), for this file."""
    from vru_risk.jobs.common import JobError
    from vru_risk.jobs.lottery_gate import approve_lottery as record_approval

    path = programmes or state.get_settings().programmes_path
    check_reviewer(reviewer, password_stdin=password_stdin)
    try:
        entry = record_approval(review_log(), path, reviewer=reviewer, reason=reason)
    except JobError as exc:
        raise UserError(str(exc)) from None
    console.print(
        f"review entry {entry.seq}: approve-lottery by {reviewer} for "
        f"{path or 'the packaged programmes file'} (sha256 {entry.programmes_hash})"
    )
    mirror_review_log()


@app.command("log")
def show_log() -> None:
    """Print the review log after checking its numbering and hash chain."""
    from vru_risk.models.review_log import ReviewLogError

    try:
        entries = review_log().entries()
    except ReviewLogError as exc:
        raise UserError(str(exc)) from None
    if not entries:
        console.print("the review log is empty")
        return
    view = Table(title="Review log (hash chain verified)")
    for col in ("#", "time", "version", "action", "reviewer", "reason", "hash"):
        view.add_column(col)
    for e in entries:
        view.add_row(
            str(e.seq),
            e.time,
            str(e.version)
            if e.programmes_hash is None
            else f"programmes file {e.programmes_hash[:12]}",
            e.action + (" (demo)" if e.demo else ""),
            e.reviewer,
            e.reason,
            e.hash[:12],
        )
    console.print(view)
