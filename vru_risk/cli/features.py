"""``vru features``: list the catalog; build the as-of feature table of a data folder."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from vru_risk.cli.common import UserError, console, engine_options, parse_date, progress_bar
from vru_risk.data.load import InvalidDataError, open_folder
from vru_risk.features.build import BuildSummary, build_features
from vru_risk.features.catalog import CatalogError, FeatureSpec, load_catalog
from vru_risk.features.config import FeatureBuildConfig

app = typer.Typer(help="Features: the catalog and the as-of feature table.", no_args_is_help=True)

CatalogOption = Annotated[
    Path | None, typer.Option("--catalog", help="Feature catalog YAML (default: packaged)")
]
ProxiesOption = Annotated[
    Path | None, typer.Option("--proxies", help="Declared proxies YAML (default: packaged)")
]


def load_spec(
    catalog: Path | None, proxies: Path | None, config: FeatureBuildConfig
) -> FeatureSpec:
    try:
        return load_catalog(catalog, proxies_path=proxies).spec(config.reporting_lag_days)
    except CatalogError as exc:
        raise UserError(str(exc)) from None


@app.command("list")
def list_features(catalog: CatalogOption = None, proxies: ProxiesOption = None) -> None:
    """Show every feature: source, family, window, aggregate and phrasing; and the spec hash."""
    spec = load_spec(catalog, proxies, FeatureBuildConfig())
    table = Table(title=f"Feature catalog v{spec.catalog_version}: {len(spec.names)} features")
    for col in ("name", "source", "family", "window", "aggregate", "phrase"):
        table.add_column(col, overflow="fold")
    for f in spec.features:
        window = "all" if f.window == "all" else f"{f.window} d"
        table.add_row(f.name, f.source, f.family, window, f.aggregate, f.phrase)
    console.print(table)
    console.print(f"spec hash {spec.hash}")
    console.print(
        "refused by design: audit-only attributes and the declared proxies "
        + ", ".join(p.name for p in spec.proxies)
    )


def run_build(
    data_dir: Path,
    out: Path,
    *,
    as_of: list[date],
    triggers: bool,
    catalog: Path | None = None,
    proxies: Path | None = None,
    truth: Path | None = None,
    extract_date: date | None = None,
    config: FeatureBuildConfig | None = None,
) -> BuildSummary:
    config = config or FeatureBuildConfig()
    spec = load_spec(catalog, proxies, config)
    check_output(out, [("data folder", data_dir)] + ([("truth folder", truth)] if truth else []))
    if not triggers and not as_of:
        raise UserError(
            "no examples requested: --no-triggers needs at least one --as-of date (or leave "
            "--no-triggers out to build examples at teachable moments)"
        )
    truth_events = None
    if truth is not None:
        truth_events = truth / "outcomes.parquet"
        if not truth_events.exists():
            raise UserError(f"{truth_events} not found: --truth must be a generator truth folder")
    try:
        folder = open_folder(
            data_dir, extract_date=extract_date, today=date.today(), **engine_options()
        )
    except InvalidDataError as exc:
        raise UserError(str(exc)) from None
    except ValueError as exc:  # folder missing
        raise UserError(str(exc)) from None
    late = [d for d in as_of if d > folder.extract_date]
    if late:
        raise UserError(
            f"--as-of {', '.join(map(str, late))} is after the data's extract date "
            f"{folder.extract_date}: nothing is known about it yet"
        )
    try:
        with progress_bar() as progress:
            summary, _ = build_features(
                folder,
                spec,
                config,
                out=out,
                use_triggers=triggers,
                snapshot_dates=as_of,
                truth_events_path=truth_events,
                progress=progress,
                **engine_options(),
            )
    except CatalogError as exc:
        raise UserError(str(exc)) from None
    return summary


def check_output(out: Path, protected: list[tuple[str, Path]]) -> None:
    """Refuse an output path that would overwrite inputs or cannot be a Parquet file."""
    if out.suffix.lower() != ".parquet":
        raise UserError(f"--out {out} must end in .parquet")
    if out.is_dir():
        raise UserError(f"--out {out} is a folder; give a file name ending in .parquet")
    target = out.resolve()
    for what, folder in protected:
        if target.is_relative_to(folder.resolve()):
            raise UserError(
                f"--out {out} is inside the {what} {folder}; write the feature table elsewhere "
                "(the inputs are never overwritten)"
            )
    if set(str(out)) & set("*?[]{}"):
        raise UserError(f"--out {out}: use a path without * ? [ ] {{ }}")


def print_build(summary: BuildSummary) -> None:
    console.print(
        f"feature table {summary.out}: {summary.rows:,} examples of {summary.people:,} people"
    )
    console.print(
        f"  label (serious violence): {summary.positives:,} positive, "
        f"{summary.censored:,} censored, rate {summary.label_rate:.3f} among uncensored"
    )
    if summary.sources_unavailable:
        console.print(
            f"  sources unavailable (features NaN): {', '.join(summary.sources_unavailable)}"
        )
    if summary.label_sources_unavailable:
        console.print(
            "  [bold yellow]warning[/]: the label cannot see "
            f"{', '.join(summary.label_sources_unavailable)}"
        )
    console.print(f"  spec hash {summary.spec_hash}")
    console.print(f"  data fingerprint {summary.data_fingerprint}; {summary.seconds:.1f} s")


@app.command("build")
def build(
    data_dir: Annotated[Path, typer.Argument(help="Validated data folder")],
    out: Annotated[Path, typer.Option("--out", help="Feature table to write (.parquet)")],
    as_of: Annotated[
        list[str] | None,
        typer.Option("--as-of", help="Cohort snapshot date YYYY-MM-DD (repeatable)"),
    ] = None,
    triggers: Annotated[
        bool | None,
        typer.Option(
            "--triggers/--no-triggers",
            help="Examples at teachable moments (default on unless --as-of is given)",
        ),
    ] = None,
    catalog: CatalogOption = None,
    proxies: ProxiesOption = None,
    truth: Annotated[
        Path | None,
        typer.Option("--truth", help="Synthetic truth folder: adds label_true_involvement"),
    ] = None,
    extract_date: Annotated[
        str | None, typer.Option("--extract-date", help="Override the extract date")
    ] = None,
) -> None:
    """Build one row per (person_id, as_of) with features, the triggers, and label_* columns."""
    dates = [d for d in (parse_date(x, "--as-of") for x in as_of or []) if d is not None]
    use_triggers = triggers if triggers is not None else not dates
    summary = run_build(
        data_dir,
        out,
        as_of=dates,
        triggers=use_triggers,
        catalog=catalog,
        proxies=proxies,
        truth=truth,
        extract_date=parse_date(extract_date, "--extract-date"),
    )
    print_build(summary)
