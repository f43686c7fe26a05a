"""``vru audit``: the fairness audit of a registered model version, its report and gate (the job
is :mod:`vru_risk.jobs.audit`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vru_risk.cli.common import console, state
from vru_risk.cli.printing import narrated


def audit(
    version: Annotated[int, typer.Option("--version", help="Model version (vru models list)")],
    data: Annotated[
        Path, typer.Option("--data", help="The data folder the model was trained on (people)")
    ],
    resamples: Annotated[
        int, typer.Option("--resamples", min=100, help="Bootstrap resamples of people")
    ] = 1000,
) -> None:
    """Audit a model version: groups and intersections, intervals, proxy test, gate, report."""
    from vru_risk.fairness_reports.report import not_assessed_line
    from vru_risk.jobs.audit import audit_version

    with narrated() as (bars, narrator):
        outcome = audit_version(
            state.get_settings(),
            version,
            data,
            resamples=resamples,
            progress=bars,
            on_event=narrator,
        )
    gate = outcome.gate
    counts: dict[str, int] = {}
    for c in gate.criteria:
        counts[c.status] = counts.get(c.status, 0) + 1
    tally = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    console.print(f"fairness gate: [bold]{gate.status}[/] ({tally})")
    unassessed = not_assessed_line(outcome.report)
    if unassessed:
        console.print(unassessed)
    console.print(f"report: {outcome.html_path}\njson:   {outcome.json_path}")
