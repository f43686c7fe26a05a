"""Data jobs: generate a synthetic county; check a data folder against the contract; inject a
fault into a copy of a folder (to test monitoring)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from vru_risk.data.engine import EngineName, spark_engine
from vru_risk.data.faults import Fault, FaultError, FaultResult, inject_fault
from vru_risk.data.fingerprint import FingerprintKind
from vru_risk.data.load import InvalidDataError, open_folder
from vru_risk.data.spark_session import SparkOptions, SparkUnavailableError
from vru_risk.data.validate import FolderNotFoundError, ValidationReport, validate_folder
from vru_risk.jobs.common import JobError, Progress, engine_options
from vru_risk.settings import Settings

if TYPE_CHECKING:
    from vru_risk.data.synthetic import GenerationSummary


def generate_county(
    *,
    out: Path,
    people: int,
    years: int,
    end_date: date | None,
    seed: int,
    fmt: str,
    truth_out: Path | None,
    measurement_bias: bool,
    programme_effects: Sequence[str] = (),
    referral_latent_risk: float = 0.0,
    progress: Progress | None = None,
) -> GenerationSummary:
    """Check the options and generate a synthetic county into ``out`` with its known truth
    (default ``<out>-truth``): the same options and seed give the same bytes.
    ``programme_effects``: ``PROGRAMME=SV`` or ``PROGRAMME=SV:INCIDENTS`` texts (each
    programme's true multipliers); ``referral_latent_risk``: confounding by indication."""
    from vru_risk.data.synthetic import SyntheticConfig, SyntheticConfigError, generate_county
    from vru_risk.data.synthetic.config import ProgrammeEffect, parse_programme_effect

    fmt = fmt.lower()
    if fmt not in ("parquet", "csv"):
        raise JobError(f"--format {fmt!r} is not supported; use parquet or csv")
    file_format: Literal["parquet", "csv"] = "csv" if fmt == "csv" else "parquet"
    truth = truth_out if truth_out is not None else out.with_name(out.name + "-truth")
    fields: dict[str, object] = {
        "people": people,
        "years": years,
        "seed": seed,
        "measurement_bias": measurement_bias,
    }
    effects: dict[str, ProgrammeEffect] = {}
    for text in programme_effects:
        try:
            name, effect = parse_programme_effect(text)
        except ValueError as exc:
            raise JobError(f"--programme-effect {exc}") from None
        if name in effects:
            raise JobError(f"--programme-effect gives {name!r} twice; give each programme once")
        effects[name] = effect
    if not 0.0 <= referral_latent_risk <= 3.0:
        raise JobError(
            f"--referral-latent-risk {referral_latent_risk} is out of range: give 0 (referral "
            "independent of the latent state) up to 3"
        )
    if effects:
        fields["programme_effects"] = effects
    fields["referral_latent_risk"] = referral_latent_risk
    if end_date is not None:
        if end_date > date.today():
            raise JobError(
                f"--end-date {end_date} is in the future; the end date is the extract date of "
                "the synthetic data and cannot be after today"
            )
        fields["end_date"] = end_date
    try:
        config = SyntheticConfig.model_validate(fields)
    except ValueError as exc:
        raise JobError(f"invalid generator options: {exc}") from None
    try:
        return generate_county(
            config, out_dir=out, truth_dir=truth, fmt=file_format, progress=progress
        )
    except SyntheticConfigError as exc:
        raise JobError(str(exc)) from None
    except OSError as exc:
        raise JobError(f"cannot write the county to {out}: {exc}") from None


def validate(
    settings: Settings,
    folder: Path,
    extract_date: date | None,
    *,
    engine: EngineName | None = None,
    fingerprint: FingerprintKind = "content",
) -> ValidationReport:
    """Check ``folder`` against the data contract: every problem is in the report.

    ``engine`` (default: VRU_ENGINE) checks the rows: DuckDB, or Spark on VRU_SPARK_MASTER
    (the same report); ``fingerprint`` is how the folder is identified (content or metadata)."""
    limits = engine_options(settings)
    spark = None
    try:
        if (engine or settings.engine) == "spark":
            spark = spark_engine(
                SparkOptions(master=settings.spark_master, scratch_dir=str(limits["scratch_dir"]))
            )
        return validate_folder(
            folder,
            extract_date=extract_date,
            today=date.today(),
            engine=spark,
            fingerprint=fingerprint,
            **limits,
        )
    except (FolderNotFoundError, SparkUnavailableError) as exc:
        raise JobError(str(exc)) from None
    finally:
        if spark is not None:
            spark.close()


def fault(settings: Settings, data: Path, out: Path, request: Fault) -> FaultResult:
    """Write ``data`` with the fault ``request`` in it to the new folder ``out`` (see
    :mod:`vru_risk.data.faults`): the folder is validated first, and nothing is written when
    the fault cannot be injected as asked."""
    if out.exists() or out.is_symlink():
        raise JobError(f"--out {out} already exists: give a new folder (nothing is overwritten)")
    try:
        folder = open_folder(data, today=date.today(), **engine_options(settings))
    except (InvalidDataError, FolderNotFoundError) as exc:
        raise JobError(str(exc)) from None
    options = engine_options(settings)
    try:
        return inject_fault(
            folder,
            out,
            request,
            threads=options["threads"],
            memory_limit=options["memory_limit"],
            scratch_dir=options["scratch_dir"],
        )
    except FaultError as exc:
        raise JobError(str(exc)) from None
