"""``vru data``: generate a synthetic county; validate a data folder against the contract;
inject a fault into a copy of a folder (the jobs of :mod:`vru_risk.jobs.data`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, cast

import typer
from rich.console import Console

from vru_risk.cli.common import EXIT_INVALID, UserError, console, parse_date, progress_bar, state
from vru_risk.cli.printing import print_fault, print_generation, print_report

app = typer.Typer(help="Data: synthetic county and contract checks.", no_args_is_help=True)


@app.command("generate")
def generate(
    out: Annotated[Path, typer.Option("--out", help="Folder to create for the data files")],
    people: Annotated[int, typer.Option(help="Number of young people")] = 10_000,
    years: Annotated[int, typer.Option(help="School years of history")] = 6,
    end_date: Annotated[
        str | None,
        typer.Option("--end-date", help="Extract date YYYY-MM-DD (fixed default, never today)"),
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same bytes)")] = 0,
    fmt: Annotated[
        str, typer.Option("--format", help="parquet or csv", case_sensitive=False)
    ] = "parquet",
    truth_out: Annotated[
        Path | None,
        typer.Option("--truth-out", help="Folder for the known truth (default <OUT>-truth)"),
    ] = None,
    measurement_bias: Annotated[
        bool,
        typer.Option(
            "--measurement-bias/--no-measurement-bias",
            help="Record some groups' behaviour more often (on by default, as in real data)",
        ),
    ] = True,
    programme_effect: Annotated[
        list[str] | None,
        typer.Option(
            "--programme-effect",
            help="A programme's true effect on the serious-violence hazard while supported, "
            'PROGRAMME=MULTIPLIER (e.g. "Jump Start Mentoring=0.6": 40% fewer; 1 = none; '
            "1.3 = 30% more, harmful), or PROGRAMME=SV:INCIDENTS for both hazards (each at "
            "most 5). Repeatable; unlisted programmes keep the county-wide effect",
        ),
    ] = None,
    referral_latent_risk: Annotated[
        float,
        typer.Option(
            "--referral-latent-risk",
            help="Confounding by indication: referral probability × exp(VALUE × latent "
            "state); 0 (default) = referral independent of the latent state",
        ),
    ] = 0.0,
) -> None:
    """Generate a synthetic county with a known truth (kept apart from the data)."""
    from vru_risk.jobs.data import generate_county

    with progress_bar() as progress:
        summary = generate_county(
            out=out,
            people=people,
            years=years,
            end_date=parse_date(end_date, "--end-date"),
            seed=seed,
            fmt=fmt,
            truth_out=truth_out,
            measurement_bias=measurement_bias,
            programme_effects=programme_effect or (),
            referral_latent_risk=referral_latent_risk,
            progress=progress,
        )
    print_generation(summary)


@app.command("validate")
def validate(
    folder: Annotated[Path, typer.Argument(help="Data folder to check")],
    extract_date: Annotated[
        str | None,
        typer.Option(
            "--extract-date",
            help="Day the extract was taken, YYYY-MM-DD (default: manifest.json, else today)",
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the report as JSON on stdout")
    ] = False,
    engine: Annotated[
        str | None,
        typer.Option(
            "--engine",
            help="duckdb or spark (default VRU_ENGINE, else duckdb); spark checks the rows on "
            "VRU_SPARK_MASTER (default local[2]) and gives the same report",
            case_sensitive=False,
        ),
    ] = None,
    fingerprint: Annotated[
        str,
        typer.Option(
            "--fingerprint",
            help="content (hash every byte, the default) or metadata (names, sizes and "
            "modification times: for national-scale extracts); the report says which",
            case_sensitive=False,
        ),
    ] = "content",
) -> None:
    """Check a data folder against the data contract; exit 2 and list every problem."""
    from vru_risk.data.engine import engine_name
    from vru_risk.data.fingerprint import fingerprint_kind
    from vru_risk.jobs.data import validate as validate_folder

    try:
        chosen = None if engine is None else engine_name(engine, "--engine")
        kind = fingerprint_kind(fingerprint, "--fingerprint")
    except ValueError as exc:
        raise UserError(str(exc)) from None
    day = parse_date(extract_date, "--extract-date")
    with Console(stderr=True).status(f"checking {folder} against data contract v1 ..."):
        report = validate_folder(state.get_settings(), folder, day, engine=chosen, fingerprint=kind)
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2))
    else:
        print_report(report)
    if not report.ok:
        raise typer.Exit(EXIT_INVALID)


@app.command("fault")
def fault(
    kind: Annotated[
        str, typer.Option("--kind", help="stop | coding | shift", case_sensitive=False)
    ],
    start: Annotated[str, typer.Option("--from", help="Day the fault starts, YYYY-MM-DD")],
    data: Annotated[Path, typer.Option("--data", help="Data folder to copy")],
    out: Annotated[Path, typer.Option("--out", help="New folder for the faulted copy")],
    source: Annotated[
        str | None,
        typer.Option(
            help="stop: the source that stops; coding: attendance; shift: the records that "
            "pick the kind of young person duplicated (default police_contacts: as a suspect)"
        ),
    ] = None,
    size: Annotated[
        float | None,
        typer.Option(
            help="coding: share of unauthorised absences recoded (at most 1); shift: newcomers "
            "per young person of the kind (at most 3); stop: none"
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the rows or people chosen")] = 0,
) -> None:
    """Copy a data folder with a fault in it from a date: a source that stops while its
    manifest claims refreshes, an attendance coding change, or a population shift."""
    from vru_risk.data.faults import FAULT_KINDS, Fault, FaultKind
    from vru_risk.jobs.data import fault as inject

    chosen = kind.lower()
    if chosen not in FAULT_KINDS:
        raise UserError(f"--kind {kind!r} is not a fault; use one of {', '.join(FAULT_KINDS)}")
    day = parse_date(start, "--from")
    assert day is not None
    request = Fault(cast(FaultKind, chosen), day, source=source, size=size, seed=seed)
    with console.status(f"writing {out} ..."):
        result = inject(state.get_settings(), data, out, request)
    print_fault(result)
