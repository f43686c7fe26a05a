"""``vru flags generate``: the daily job: score the moments known on a day, write explained flags.

Only a model the ethics panel approved is used (the review log must hold an approval or a
completed override of that version's content hash, and no suspension). Every moment is scored;
only those that become flags within a programme's capacity are explained (one batched
``pred_contrib`` call). The day's moments are also materialised under
``VRU_HOME/flags/moments-<date>/`` so that the server can explain any of them on demand without
scanning raw tables.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.table import Table

from vru_risk.cli.common import UserError, console, engine_options, parse_date, state
from vru_risk.data.load import InvalidDataError, open_folder
from vru_risk.features.catalog import CatalogError
from vru_risk.features.config import FeatureBuildConfig
from vru_risk.features.moments import MomentsError, build_moments, save_moments
from vru_risk.flags.explain import FlagOptions
from vru_risk.flags.flag import Flag, ModelRef
from vru_risk.flags.generate import FlagBatch, generate_flags
from vru_risk.flags.programmes import ProgrammeConfigError, Programmes, load_programmes
from vru_risk.models.registry import CHAMPION, Registry, RegistryError
from vru_risk.models.review_log import ReviewLog, ReviewLogError
from vru_risk.models.risk_model import RiskModel
from vru_risk.pydantic_errors import first_error_line


def read_flags_file(path: Path) -> list[Flag]:
    """Read a flags JSONL file, refusing it (naming the lines) if any line is not a Flag."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise UserError(f"{path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path} cannot be read as UTF-8 text: {exc}") from None
    flags: list[Flag] = []
    bad: list[str] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            flags.append(Flag.model_validate_json(line))
        except ValidationError as exc:
            bad.append(f"line {number}: {first_error_line(exc, default='line')}")
    if bad:
        shown = "\n".join(f"  - {b}" for b in bad[:5])
        raise UserError(
            f"{path}: {len(bad)} line(s) are not valid flags:\n{shown}\n"
            "Give the JSONL file written by `vru flags generate`."
        )
    return flags


def write_jsonl(flags: list[Flag], out: Path) -> None:
    """Write one JSON object per line, atomically (a reader never sees half a file)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        with tmp.open("w", encoding="utf-8") as fh:
            for flag in flags:
                fh.write(flag.model_dump_json() + "\n")
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)


def issued_before(ledger: Path, days: tuple[date, ...], extra: list[Path]) -> list[Flag]:
    """Flags issued earlier (they use capacity up and are not offered again while valid): the
    ledger that every run of ``vru flags generate`` keeps under VRU_HOME/flags/issued/, except
    the days being (re)generated, plus any ``--issued`` files. Each flag counts once."""
    found: dict[str, Flag] = {}
    regenerated = {f"issued-{d}.jsonl" for d in days}
    files = sorted(p for p in ledger.glob("issued-*.jsonl") if p.name not in regenerated)
    for path in [*files, *extra]:
        for flag in read_flags_file(path):
            if path in extra or flag.as_of < days[0]:
                found.setdefault(flag.flag_id, flag)
    return list(found.values())


@dataclass(frozen=True)
class GenerateResult:
    batch: FlagBatch
    model_ref: ModelRef
    days: tuple[date, ...]
    out: Path
    seconds: float
    programmes: Programmes
    unmatched_support: tuple[str, ...] = ()


def load_approved(alias: str) -> tuple[RiskModel, ModelRef]:
    settings = state.get_settings()
    registry = Registry(settings.tracking_uri)
    try:
        model, info = registry.load_champion(
            ReviewLog(settings.home / "review_log.jsonl"),
            alias=alias,
            threads=settings.lightgbm_threads,
        )
    except (RegistryError, ReviewLogError) as exc:
        raise UserError(f"no model may score young people: {exc}") from None
    return model, ModelRef(
        name=registry.name, version=info.version, content_hash=model.content_hash
    )


def run_generate(
    data_dir: Path,
    day: date,
    out: Path,
    *,
    days: int = 1,
    alias: str = CHAMPION,
    programmes_path: Path | None = None,
    issued_paths: list[Path] | None = None,
) -> GenerateResult:
    start = time.perf_counter()
    settings = state.get_settings()
    if out.suffix.lower() != ".jsonl":
        raise UserError(f"--out {out} must end in .jsonl (one flag per line)")
    if out.resolve().is_relative_to(data_dir.resolve()):
        raise UserError(f"--out {out} is inside the data folder; write flags elsewhere")
    if days < 1:
        raise UserError("--days must be at least 1")
    try:
        programmes = load_programmes(programmes_path or settings.programmes_path)
    except ProgrammeConfigError as exc:
        raise UserError(str(exc)) from None
    model, ref = load_approved(alias)
    try:
        config = FeatureBuildConfig.model_validate_json(model.info["build_config"])
    except (KeyError, ValidationError):
        raise UserError(
            f"version {ref.version} does not record the feature build settings it was trained "
            "with; retrain it with this version of vru-risk"
        ) from None
    try:
        folder = open_folder(data_dir, today=date.today(), **engine_options())
    except InvalidDataError as exc:
        raise UserError(str(exc)) from None
    except ValueError as exc:
        raise UserError(str(exc)) from None
    wanted = tuple(day - timedelta(days=k) for k in range(days - 1, -1, -1))
    ledger = settings.issued_dir
    issued = issued_before(ledger, wanted, issued_paths or [])
    try:
        moments = build_moments(folder, model.spec, config, wanted, **engine_options())
    except (MomentsError, CatalogError) as exc:
        raise UserError(str(exc)) from None
    batch = generate_flags(
        model,
        moments,
        programmes,
        model_ref=ref,
        issued=issued,
        options=FlagOptions(valid_days=settings.flag_visible_days),
    )
    write_jsonl(batch.flags, out)
    for d in wanted:  # the ledger of offers made, one file per day (a re-run replaces its days)
        write_jsonl([f for f in batch.flags if f.as_of == d], ledger / f"issued-{d}.jsonl")
    save_moments(moments, settings.flags_dir / f"moments-{day.isoformat()}")
    names = {str(n) for n in moments.supported["programme"]}
    unmatched = tuple(
        sorted(n for n in names if not any(p.supports(n) for p in programmes.programmes))
    )
    return GenerateResult(
        unmatched_support=unmatched,
        batch=batch,
        model_ref=ref,
        days=wanted,
        out=out,
        seconds=time.perf_counter() - start,
        programmes=programmes,
    )


def print_top(flags: list[Flag], n: int = 3) -> None:
    """The top ``n`` flags by probability, with their reasons (what the demo shows)."""
    for flag in sorted(flags, key=lambda f: -f.probability)[:n]:
        offered = ", ".join(p.name for p in flag.programmes if p.status == "offered")
        console.print(
            f"[bold]{flag.person_id}[/], aged {flag.age_years}, known {flag.as_of}: "
            f"{', '.join(t.kind.replace('_', ' ') for t in flag.triggers)}; "
            f"model score {flag.probability:.0%} ({flag.band} of teachable moments); offered: "
            f"{offered}"
        )
        for r in flag.reasons_for:
            console.print(f"    + {r.sentence}")
        for r in flag.reasons_against:
            console.print(f"    - {r.sentence}")
        for w in flag.what_could_change[:1]:
            console.print(f"    what could change it: {w.text}")
        if flag.warnings:
            console.print(f"    [yellow]warning:[/] {flag.warnings[0]}")


def print_generate(result: GenerateResult) -> None:
    flags = result.batch.flags
    first, last = result.days[0], result.days[-1]
    span = str(last) if first == last else f"{first} to {last}"
    console.print(
        f"scored {result.batch.moments:,} teachable moment(s) known on {span} with "
        f"{result.model_ref.name} version {result.model_ref.version}; {len(flags)} flag(s) "
        f"written to {result.out} in {result.seconds:.1f} s"
    )
    table = Table(title="offers by programme (capacity per period)")
    for col in ("programme", "offered", "already supported", "capacity"):
        table.add_column(col, justify="left" if col == "programme" else "right")
    for p in result.programmes.programmes:
        offered = sum(
            1 for f in flags for o in f.programmes if o.programme == p.id and o.status == "offered"
        )
        already = sum(
            1
            for f in flags
            for o in f.programmes
            if o.programme == p.id and o.status == "already_supported"
        )
        table.add_row(p.name, str(offered), str(already), f"{p.capacity} per {p.period}")
    console.print(table)
    if result.unmatched_support:
        console.print(
            "[yellow]warning:[/] interventions name programme(s) that match no configured "
            f"programme: {', '.join(result.unmatched_support)}; such support is not recognised "
            "(the young person could be offered it again): add the names to the programme's "
            "intervention_names"
        )
    console.print(
        "Flags are offers of support, decision support and not a decision: never for enforcement."
    )


def generate(
    data_dir: Annotated[Path, typer.Argument(help="Validated data folder (the daily extract)")],
    day: Annotated[str, typer.Option("--date", help="Score the moments known on this day")],
    out: Annotated[Path, typer.Option("--out", help="Flags file to write (.jsonl)")],
    days: Annotated[
        int, typer.Option("--days", help="Replay this many days ending at --date, in order")
    ] = 1,
    alias: Annotated[
        str, typer.Option("--model-alias", help="Registry alias of an approved model")
    ] = CHAMPION,
    programmes: Annotated[
        Path | None, typer.Option("--programmes", help="Programmes file (default: settings)")
    ] = None,
    issued: Annotated[
        list[Path] | None,
        typer.Option("--issued", help="Flags already issued this period (uses up capacity)"),
    ] = None,
    top: Annotated[int, typer.Option("--top", help="Print this many flags with reasons")] = 0,
) -> None:
    """Score the teachable moments known on a day and write explained flags, one per line."""
    parsed = parse_date(day, "--date")
    assert parsed is not None
    result = run_generate(
        data_dir,
        parsed,
        out,
        days=days,
        alias=alias,
        programmes_path=programmes,
        issued_paths=issued,
    )
    print_generate(result)
    if top:
        print_top(result.batch.flags, top)
