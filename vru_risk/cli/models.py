"""``vru models``: the registered versions of vru-risk, their aliases, metrics and gate states."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from vru_risk.cli.common import UserError, console, state

app = typer.Typer(help="Registered model versions, aliases and gate states", no_args_is_help=True)


@app.command("list")
def list_versions() -> None:
    """Show every version: aliases, state, gates, training window and key metrics."""
    from vru_risk.models.registry import Registry, RegistryError
    from vru_risk.models.review_log import ReviewLog, ReviewLogError, review_state
    from vru_risk.models.tags import (
        ALLOCATION_RULE,
        FAIRNESS_TAG,
        LEAKAGE_GATE_TAG,
        PERFORMANCE_GATE_TAG,
        TRAIN_END_TAG,
        TRAINING_ALLOCATION_TAG,
    )

    uri = state.get_settings().tracking_uri
    if uri.startswith("sqlite:///") and not Path(uri.removeprefix("sqlite:///")).exists():
        console.print(
            f"no model is registered yet (no MLflow store at {uri}); train one with "
            "`vru train --data DIR` (or `make demo`)"
        )
        return
    try:
        versions = Registry(uri).versions()
    except RegistryError as exc:
        raise UserError(str(exc)) from None
    if not versions:
        console.print(
            "no model is registered yet; train one with `vru train --data DIR` (or `make demo`)"
        )
        return
    try:
        entries = ReviewLog(state.get_settings().review_log_path).entries()
    except ReviewLogError as exc:
        raise UserError(str(exc)) from None
    view = Table(title="vru-risk model versions (test folds pooled)")
    for col in (
        "version",
        "aliases",
        "state",
        "performance",
        "leakage",
        "trained to",
        "AUC",
        "precision@cap",
        "recall@cap",
        "registered",
    ):
        view.add_column(col)
    for v in reversed(versions):
        created = datetime.fromtimestamp(v.created_ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M")
        # a version not judged on the replayed allocation shows its hindsight lists' figures
        # (older versions logged them as precision_at_capacity), marked as such
        replayed = v.tags.get(TRAINING_ALLOCATION_TAG) == ALLOCATION_RULE
        mark = "" if replayed else " (hindsight)"
        auc = v.metric("auc")
        prec, rec = (
            v.metric(f"{m}_at_capacity")
            if replayed
            else v.metric(f"hindsight_{m}_at_capacity") or v.metric(f"{m}_at_capacity")
            for m in ("precision", "recall")
        )
        view.add_row(
            str(v.version),
            ", ".join(v.aliases) or "-",
            v.state or "-",
            v.tags.get(PERFORMANCE_GATE_TAG, "-"),
            v.tags.get(LEAKAGE_GATE_TAG, "-"),
            v.tags.get(TRAIN_END_TAG, "-"),
            f"{auc:.3f}" if auc is not None else "-",
            f"{prec:.3f}{mark}" if prec is not None else "-",
            f"{rec:.3f}{mark}" if rec is not None else "-",
            created,
        )
    console.print(view)
    panel = Table(title="fairness audit and the ethics panel's review (the review log)")
    for col in ("version", "fairness gate", "review", "reviewed by"):
        panel.add_column(col)
    for v in reversed(versions):
        reviewed = review_state(entries, v.version)
        panel.add_row(
            str(v.version),
            v.tags.get(FAIRNESS_TAG, "not audited"),
            reviewed.state,
            ", ".join(reviewed.reviewers) or "-",
        )
    console.print(panel)


@app.command("card")
def card(
    version: Annotated[int, typer.Option("--version", help="Model version (vru models list)")],
) -> None:
    """Write a version's model card and UK algorithmic transparency record (HTML and JSON)."""
    from vru_risk.jobs.card import make_card

    result = make_card(state.get_settings(), version)
    record = result.transparency
    console.print(f"model card of version {result.version}: {result.folder / 'card.html'}")
    console.print(
        f"transparency record ({record['status']}): {result.folder / 'transparency.html'}",
        markup=False,
    )
    if record["missing_fields"]:
        console.print(
            "fill in VRU_HOME/governance.yaml to publish it: "
            + ", ".join(record["missing_fields"]),
            style="yellow",
            markup=False,
        )
    console.print(f"json: {result.folder / 'card.json'}, {result.folder / 'transparency.json'}")
