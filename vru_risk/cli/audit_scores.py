"""``vru audit-scores``: the fairness report for scores that did not come from vru-risk.

An incumbent rule, a questionnaire total or another vendor's tool can be audited the same way
as a candidate model: one CSV row per assessed person (or per event, with ``--person``
naming whose it is), a score column, an outcome column and the attributes to audit. The rules of
the file and of ``--threshold``/``--top-k``/``--top-frac`` are the input contract in
:mod:`vru_risk.fairness_reports.external_scores`; the job is :mod:`vru_risk.jobs.audit_scores`.
Every problem with the input exits 2 with a message naming the file, the column and the CSV
lines (the header is line 1), and nothing is written.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from vru_risk.cli.common import console, progress_bar
from vru_risk.cli.printing import Narrator

if TYPE_CHECKING:
    from vru_risk.fairness_reports.audit import AuditResult
    from vru_risk.fairness_reports.operating_points import OperatingPoint


def audit_scores(
    file: Annotated[Path, typer.Argument(help="CSV file: one row per scored person")],
    score: Annotated[str, typer.Option("--score", help="Column of the scores")],
    label: Annotated[str, typer.Option("--label", help="Column of the outcome (two values)")],
    group: Annotated[
        list[str],
        typer.Option("--group", help="Column of an attribute to audit (repeat for more)"),
    ],
    out: Annotated[Path, typer.Option("--out", help="New or empty folder for the report")],
    threshold: Annotated[
        float | None,
        typer.Option("--threshold", help="Flag scores at or above X (a score equal to X too)"),
    ] = None,
    top_k: Annotated[
        int | None,
        typer.Option("--top-k", help="Flag the N riskiest scores and every score tied with them"),
    ] = None,
    top_frac: Annotated[
        float | None,
        typer.Option("--top-frac", help="Flag the riskiest fraction F of rows (and ties)"),
    ] = None,
    positive_label: Annotated[
        str | None,
        typer.Option("--positive-label", help="The label value that means the outcome happened"),
    ] = None,
    lower_is_riskier: Annotated[
        bool, typer.Option("--lower-is-riskier", help="Lower scores are riskier")
    ] = False,
    person: Annotated[
        str | None,
        typer.Option("--person", help="Column naming whose row it is (default: one per row)"),
    ] = None,
    intersection: Annotated[
        list[str] | None,
        typer.Option("--intersection", help="Audit an intersection too, e.g. ethnicity*sex"),
    ] = None,
    resamples: Annotated[int, typer.Option("--resamples", help="Bootstrap replicates")] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the bootstrap")] = 0,
    title: Annotated[str | None, typer.Option("--title", help="Title of the report")] = None,
    gate_metric: Annotated[
        str,
        typer.Option(
            "--gate-metric",
            help="Parity the gate holds groups to: recall (equal opportunity: who is missed; "
            "for a supportive use), fpr (false-positive parity: who is wrongly flagged; for a "
            "punitive use) or precision (predictive parity)",
        ),
    ] = "recall",
    reference: Annotated[
        list[str] | None,
        typer.Option(
            "--reference",
            help="Reference group, COLUMN=GROUP or a GROUP only one column has (repeat per "
            "column; default: each column's largest group)",
        ),
    ] = None,
) -> None:
    """Fairness report for scores from any tool (a rule, a questionnaire, another vendor)."""
    from vru_risk.jobs.audit_scores import ScoresAuditRequest
    from vru_risk.jobs.audit_scores import audit_scores as audit_job

    request = ScoresAuditRequest(
        file=file,
        score=score,
        label=label,
        groups=group,
        out=out,
        threshold=threshold,
        top_k=top_k,
        top_frac=top_frac,
        positive_label=positive_label,
        lower_is_riskier=lower_is_riskier,
        person=person,
        intersections=intersection,
        resamples=resamples,
        seed=seed,
        title=title,
        gate_metric=gate_metric,
        references=reference,
    )
    with progress_bar() as bars:
        done = audit_job(request, on_event=Narrator(bars))
    _print_summary(done.result, done.operating_point, done.report, done.html_path)


def describe_flags(op: OperatingPoint, flagged: int, rows: int) -> str:
    """One line: how many rows were flagged, and how many of them only because of ties."""
    from vru_risk.fairness_reports.operating_points import (
        Threshold,
        TopFraction,
        TopK,
        fraction_to_k,
    )

    text = f"{flagged:,} of {rows:,} rows flagged"
    if isinstance(op, TopK | TopFraction):
        k = op.k if isinstance(op, TopK) else fraction_to_k(op.fraction, rows)
        wanted = f"--top-k {op.k}" if isinstance(op, TopK) else f"--top-frac {op.fraction:g}"
        if flagged > k:
            text += f" ({wanted} asked for {k:,}; {flagged - k:,} more tied with the last score)"
        else:
            text += f" ({wanted})"
    elif isinstance(op, Threshold):
        side = "at or below" if op.lower_is_riskier else "at or above"
        text += f" (scores {side} {op.value:g})"
    return text


def _print_summary(
    result: AuditResult, op: OperatingPoint, report: dict[str, Any], html: Path
) -> None:
    from vru_risk.fairness_reports.report import not_assessed_line

    flagged, rows = int(result.overall["flagged"]), int(result.overall["count"])
    gate = report["gate"]
    console.print(describe_flags(op, flagged, rows))
    counts = Counter(str(c["status"]) for c in gate["criteria"])
    if counts:
        console.print(
            "gate criteria: " + ", ".join(f"{n} {status}" for status, n in counts.most_common())
        )
    colour = {"pass": "green", "fail": "red"}.get(gate["status"], "yellow")
    console.print(f"fairness gate: [bold {colour}]{gate['status'].upper()}[/]")
    unassessed = not_assessed_line(report)
    if unassessed:
        console.print(unassessed)
    console.print(f"report: {html}")
