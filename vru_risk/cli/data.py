"""``vru data``: generate a synthetic county; validate a data folder against the contract."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer
from rich.console import Console
from rich.table import Table

from vru_risk.cli.common import (
    EXIT_INVALID,
    UserError,
    console,
    engine_options,
    parse_date,
    progress_bar,
)
from vru_risk.data.validate import FolderNotFoundError, ValidationReport, validate_folder

if TYPE_CHECKING:
    from vru_risk.data.synthetic import GenerationSummary

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
) -> None:
    """Generate a synthetic county with a known truth (kept apart from the data)."""
    summary = run_generate(
        out=out,
        people=people,
        years=years,
        end_date=parse_date(end_date, "--end-date"),
        seed=seed,
        fmt=fmt,
        truth_out=truth_out,
        measurement_bias=measurement_bias,
    )
    print_generation(summary)


def run_generate(
    *,
    out: Path,
    people: int,
    years: int,
    end_date: date | None,
    seed: int,
    fmt: str,
    truth_out: Path | None,
    measurement_bias: bool,
) -> GenerationSummary:
    """Validate the options and run the generator with a progress bar."""
    from vru_risk.data.synthetic import SyntheticConfig, SyntheticConfigError, generate_county

    fmt = fmt.lower()
    if fmt not in ("parquet", "csv"):
        raise UserError(f"--format {fmt!r} is not supported; use parquet or csv")
    file_format: Literal["parquet", "csv"] = "csv" if fmt == "csv" else "parquet"
    truth = truth_out if truth_out is not None else out.with_name(out.name + "-truth")
    fields: dict[str, object] = {
        "people": people,
        "years": years,
        "seed": seed,
        "measurement_bias": measurement_bias,
    }
    if end_date is not None:
        if end_date > date.today():
            raise UserError(
                f"--end-date {end_date} is in the future; the end date is the extract date of "
                "the synthetic data and cannot be after today"
            )
        fields["end_date"] = end_date
    try:
        config = SyntheticConfig.model_validate(fields)
    except ValueError as exc:
        raise UserError(f"invalid generator options: {exc}") from None
    try:
        with progress_bar() as progress:
            return generate_county(
                config, out_dir=out, truth_dir=truth, fmt=file_format, progress=progress
            )
    except SyntheticConfigError as exc:
        raise UserError(str(exc)) from None
    except OSError as exc:
        raise UserError(f"cannot write the county to {out}: {exc}") from None


def print_generation(summary: GenerationSummary) -> None:
    table = Table(title=f"Synthetic county in {summary.out_dir}")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, rows in summary.rows.items():
        table.add_row(name, f"{rows:,}")
    console.print(table)
    for label, value in summary.rates.items():
        console.print(f"  {label}: {value:.4g}")
    console.print(
        f"extract date {summary.extract_date}; truth (kept apart) in {summary.truth_dir}; "
        f"{summary.seconds:.1f} s"
    )


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
) -> None:
    """Check a data folder against the data contract; exit 2 and list every problem."""
    report = run_validate(folder, parse_date(extract_date, "--extract-date"))
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2))
    else:
        print_report(report)
    if not report.ok:
        raise typer.Exit(EXIT_INVALID)


def run_validate(folder: Path, extract_date: date | None) -> ValidationReport:
    try:
        with Console(stderr=True).status(f"checking {folder} against data contract v1 ..."):
            return validate_folder(
                folder, extract_date=extract_date, today=date.today(), **engine_options()
            )
    except FolderNotFoundError as exc:
        raise UserError(str(exc)) from None


def print_report(report: ValidationReport) -> None:
    table = Table(title=f"Data folder {report.folder}")
    table.add_column("table")
    table.add_column("file")
    table.add_column("rows", justify="right")
    for info in report.tables.values():
        table.add_row(info.name, info.file, "?" if info.rows is None else f"{info.rows:,}")
    for name in report.missing_sources:
        table.add_row(name, "(not supplied: its features will be absent)", "")
    console.print(table)
    console.print(
        f"extract date {report.extract_date} (from {report.extract_date_source}); "
        f"fingerprint {report.fingerprint[:16]}"
    )
    if report.ok:
        console.print("[bold green]valid[/]: the folder meets data contract v1")
        return
    console.print(
        f"[bold red]invalid[/]: {len(report.problems)} problem(s); nothing was written",
    )
    for problem in report.problems:
        console.print(problem.render(), soft_wrap=True)
