"""``vru features``: list the catalog; build the as-of feature table of a data folder (the jobs
of :mod:`vru_risk.jobs.features`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from vru_risk.cli.common import UserError, console, parse_date, progress_bar, state
from vru_risk.cli.printing import print_build

app = typer.Typer(help="Features: the catalog and the as-of feature table.", no_args_is_help=True)

CatalogOption = Annotated[
    Path | None, typer.Option("--catalog", help="Feature catalog YAML (default: packaged)")
]
ProxiesOption = Annotated[
    Path | None, typer.Option("--proxies", help="Declared proxies YAML (default: packaged)")
]


@app.command("list")
def list_features(catalog: CatalogOption = None, proxies: ProxiesOption = None) -> None:
    """Show every feature: source, family, window, aggregate and phrasing; and the spec hash."""
    from vru_risk.features.config import FeatureBuildConfig
    from vru_risk.jobs.features import feature_spec

    spec = feature_spec(catalog, proxies, FeatureBuildConfig())
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
    engine: Annotated[
        str | None,
        typer.Option(
            "--engine",
            help="duckdb or spark (default VRU_ENGINE, else duckdb); spark runs on "
            "VRU_SPARK_MASTER (default local[2]) and writes the same table",
            case_sensitive=False,
        ),
    ] = None,
    fingerprint: Annotated[
        str,
        typer.Option(
            "--fingerprint",
            help="content (hash every byte of the data, the default) or metadata (names, "
            "sizes, modification times); the table records which",
            case_sensitive=False,
        ),
    ] = "content",
) -> None:
    """Build one row per (person_id, as_of) with features, the triggers, and label_* columns."""
    from vru_risk.data.engine import engine_name
    from vru_risk.data.fingerprint import fingerprint_kind
    from vru_risk.jobs.features import build_table

    try:
        chosen = None if engine is None else engine_name(engine, "--engine")
        kind = fingerprint_kind(fingerprint, "--fingerprint")
    except ValueError as exc:
        raise UserError(str(exc)) from None
    dates = [d for d in (parse_date(x, "--as-of") for x in as_of or []) if d is not None]
    use_triggers = triggers if triggers is not None else not dates
    day = parse_date(extract_date, "--extract-date")
    with progress_bar() as progress:
        summary = build_table(
            state.get_settings(),
            data_dir,
            out,
            as_of=dates,
            triggers=use_triggers,
            catalog=catalog,
            proxies=proxies,
            truth=truth,
            extract_date=day,
            progress=progress,
            engine=chosen,
            fingerprint=kind,
        )
    print_build(summary)
