"""``vru evaluate``: who the flags reached and whether the support helped (the job is
:mod:`vru_risk.jobs.evaluate`; docs/evaluation.md).

``vru evaluate --data DIR [--programme P] [--from D --to D] [--version N] [--effect X]`` writes
``report.html`` and ``report.json`` under ``VRU_HOME/evaluation/``, logs them to the version's
MLflow run and exits 0, or 2 with what to do (nothing written).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vru_risk.cli.common import UserError, console, parse_date, state


def evaluate(
    data: Annotated[
        Path | None, typer.Option("--data", help="The data folder (an extract under the contract)")
    ] = None,
    programme: Annotated[
        str | None,
        typer.Option("--programme", help="One programme, by id or name (default: every one)"),
    ] = None,
    start: Annotated[
        str | None,
        typer.Option("--from", help="First day, YYYY-MM-DD (default: a year before --to)"),
    ] = None,
    end: Annotated[
        str | None, typer.Option("--to", help="Last day, YYYY-MM-DD (default: the extract date)")
    ] = None,
    version: Annotated[
        int | None,
        typer.Option("--version", help="Model version (default: the champion)", show_default=False),
    ] = None,
    effect: Annotated[
        float | None,
        typer.Option(
            "--effect",
            help="Effect of interest where a programme pre-registered none: a risk difference, "
            "e.g. -0.03 for 3 percentage points fewer (default -0.03)",
        ),
    ] = None,
) -> None:
    """Programme reach and effect: who the flags reached, and whether the support helped, by
    every design the data allow (report.html and report.json; exit 0, or 2 on bad input)."""
    if data is None:
        raise UserError("give the data folder to evaluate on: `vru evaluate --data DIR`")
    from vru_risk.jobs.evaluate import EvaluateRequest, run_evaluation

    request = EvaluateRequest(
        data_dir=data,
        programme=programme,
        start=parse_date(start, "--from"),
        end=parse_date(end, "--to"),
        version=version,
        effect=effect,
    )
    result = run_evaluation(state.get_settings(), request)
    report = result.report
    console.print(
        f"version {result.version}, {report['period']['from']} to {report['period']['to']}: "
        f"{report['counts']['offers']:,} offers, {report['counts']['moments']:,} matured moments"
    )
    for e in report["effects"]:
        console.print(f"[bold]{e['programme']}[/]")
        for d in e["designs"]:
            name = report["designs"][d["design"]]["name"]
            console.print(f"  - {name}: {d['verdict']['headline']}", markup=False)
    console.print(f"report: {result.html_path}\njson:   {result.json_path}")
