"""``vru monitor``: how a model in service is doing against its monitoring reference (the job is
:mod:`vru_risk.jobs.monitor`; the reference's, :mod:`vru_risk.jobs.monitor_reference`).

``vru monitor [--version N] --data DIR [--as-of D]`` runs one check and exits 0 (nothing to
report), 4 (review: the ethics panel should look), 3 (suspension recommended: each criterion is
printed with its figures) or 2 (bad input: nothing written). It never suspends anything.
``vru monitor reference --version N --data DIR`` fixes a version's reference first.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vru_risk.cli.common import UserError, console, parse_date, state

app = typer.Typer(
    help="Monitor a model in service against its reference: sources, inputs, scores, flags. "
    "Exit 0 nothing, 4 review, 3 suspension recommended, 2 bad input; it never suspends.",
)

Version = Annotated[
    int | None,
    typer.Option("--version", help="Model version (default: the champion)", show_default=False),
]
Data = Annotated[
    Path | None,
    typer.Option("--data", help="The data folder (an extract under the data contract)"),
]
AsOf = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        help="Judge on what was known by this day, YYYY-MM-DD (default: the extract date)",
    ),
]


@app.callback(invoke_without_command=True)
def monitor(
    ctx: typer.Context, version: Version = None, data: Data = None, as_of: AsOf = None
) -> None:
    """Check the model against its reference as of a day; write report.html and report.json."""
    if ctx.invoked_subcommand is not None:
        if version is not None or data is not None or as_of is not None:
            raise UserError(
                f"give --version, --data and --as-of after `vru monitor {ctx.invoked_subcommand}`"
            )
        return
    if data is None:
        raise UserError("give the data folder to monitor on: `vru monitor --data DIR`")
    from vru_risk.jobs.monitor import MonitorRequest, run_monitor

    day = parse_date(as_of, "--as-of")
    result = run_monitor(
        state.get_settings(), MonitorRequest(data_dir=data, version=version, as_of=day)
    )
    verdict = result.verdict
    colour = {"nothing": "green", "review": "yellow", "suspension_recommended": "red"}
    console.print(
        f"version {result.version}, as of {result.as_of}: "
        f"[bold {colour[verdict.level]}]{result.report['verdict']['headline']}[/]"
    )
    for f in verdict.findings:
        label = "suspension recommended" if f.level == "suspension_recommended" else "review"
        console.print(f"  - {label} ({f.criterion}): {f.sentence}", markup=False)
    console.print(result.report["verdict"]["what_to_do"])
    if result.notify:
        console.print("to be told: " + "; ".join(result.notify))
    else:
        console.print(result.notify_note, style="yellow", markup=False)
    console.print(f"report: {result.html_path}\njson:   {result.json_path}")
    raise typer.Exit(verdict.exit_code)


@app.command("reference")
def reference(
    version: Annotated[int, typer.Option("--version", help="Model version (vru models list)")],
    data: Annotated[
        Path, typer.Option("--data", help="The data folder the version was trained on")
    ],
) -> None:
    """Fix a version's monitoring reference from its calibration window (hashed, kept with it)."""
    from vru_risk.jobs.monitor_reference import create_reference

    result = create_reference(state.get_settings(), version, data)
    ref = result.reference
    a = ref.allocation
    console.print(
        f"monitoring reference of version {result.version}: {ref.moments:,} moments of "
        f"{ref.people:,} young people, {ref.window_start} to {ref.window_end} "
        f"({result.window_note})"
    )
    precision = "n/a" if a.precision is None else f"{a.precision:.3f}"
    recall = "n/a" if a.recall is None else f"{a.recall:.3f}"
    console.print(
        f"the service's allocation replayed: {a.offered:,} moments offered a place, expected "
        f"precision {precision}, recall {recall}"
    )
    console.print(f"hash: {ref.hash}\nfile: {result.path}")
