"""The daily flags job: score the moments known on a day, write explained flags.

Only a model the ethics panel approved is used (:func:`load_approved`: the review log must hold
an approval or a completed override of that version's content hash, and no suspension). Every
moment is scored; only those that become flags within a programme's capacity are explained
(one batched ``pred_contrib`` call). Capacity already used comes from the issued-flags ledger
(:mod:`vru_risk.flags.ledger`) and any ``issued`` files; the day's offers are added to the
ledger. The day's moments are also materialised under ``VRU_HOME/flags/moments-<date>/`` so
that the server can explain any of them on demand without scanning raw tables. A programmes
file that enables a fair lottery is used only when it passes :mod:`vru_risk.jobs.lottery_gate`;
the day's draws are appended to the lottery record before the flags are written.

The engine (``FlagsRequest.engine``, default ``VRU_ENGINE``): ``duckdb`` builds and scores the
moments in this process; ``spark`` builds them with the same catalog-compiled SQL on a Spark
session (:class:`~vru_risk.data.engine.SparkEngine`, ``VRU_SPARK_MASTER``) and scores every one
with ``mapInPandas`` (:mod:`vru_risk.flags.spark_score`). Allocation and explaining (reasons
for the flags only) run on the driver either way, and the flags are the same.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Final

from pydantic import ValidationError

from vru_risk.data.load import InvalidDataError, open_folder
from vru_risk.features.catalog import CatalogError
from vru_risk.features.config import FeatureBuildConfig
from vru_risk.features.moments import Moments, MomentsError, build_moments, save_moments
from vru_risk.flags.explain import FlagOptions
from vru_risk.flags.flag import ModelRef
from vru_risk.flags.generate import FlagBatch, generate_flags
from vru_risk.flags.ledger import (
    FlagsFileError,
    issued_before,
    pacing_file,
    record_issued,
    write_flags,
    write_lines,
)
from vru_risk.flags.lottery import LotteryBook, LotteryRecord, LotteryRecordError
from vru_risk.flags.pacing import PacingHistory, PacingHistoryError
from vru_risk.flags.programmes import ProgrammeConfigError, Programmes, load_programmes
from vru_risk.jobs.common import JobError, engine_options
from vru_risk.jobs.lottery_gate import LotteryClearance, check_lotteries
from vru_risk.models.registry import CHAMPION, Registry, RegistryError
from vru_risk.models.review_log import ReviewLog, ReviewLogError
from vru_risk.models.risk_model import RiskModel
from vru_risk.settings import Settings

if TYPE_CHECKING:
    import pandas as pd
    from pyspark.sql import SparkSession

    from vru_risk.data.engine import SparkEngine

#: the engines that can score the moments
ENGINES: Final = ("duckdb", "spark")


@dataclass(frozen=True)
class FlagsRequest:
    """Score the moments known on ``day`` (and the ``days - 1`` days before it, in order) and
    write the flags to ``out`` (``.jsonl``, outside the data folder)."""

    data_dir: Path
    day: date
    out: Path
    days: int = 1
    alias: str = CHAMPION
    programmes_path: Path | None = None
    issued_paths: list[Path] = field(default_factory=list)
    #: where the moments are scored (:data:`ENGINES`; see the module docstring)
    #: ``duckdb`` or ``spark``; None: the settings' ``engine`` (VRU_ENGINE)
    engine: str | None = None


@dataclass(frozen=True)
class FlagsResult:
    """The flags made (and how many moments were scored), by which model, for which days;
    ``unmatched_support``: interventions naming no configured programme."""

    batch: FlagBatch
    model_ref: ModelRef
    days: tuple[date, ...]
    out: Path
    seconds: float
    programmes: Programmes
    unmatched_support: tuple[str, ...] = ()
    #: the lotteries' clearance (None: no programme enables one) and the draws made this run
    lottery: LotteryClearance | None = None
    draws: int = 0


def load_approved(settings: Settings, alias: str = CHAMPION) -> tuple[RiskModel, ModelRef]:
    """The model behind ``alias`` if the ethics panel's review log lets it score."""
    registry = Registry(settings.tracking_uri)
    try:
        model, info = registry.load_champion(
            ReviewLog(settings.review_log_path),
            alias=alias,
            threads=settings.lightgbm_threads,
        )
    except (RegistryError, ReviewLogError) as exc:
        raise JobError(f"no model may score young people: {exc}") from None
    return model, ModelRef(
        name=registry.name, version=info.version, content_hash=model.content_hash
    )


def run(
    settings: Settings, request: FlagsRequest, *, spark: SparkSession | None = None
) -> FlagsResult:
    """The daily job: flags of the approved model for the request's days, written to
    ``request.out`` and recorded in the ledger, the moments materialised.

    With the Spark engine the moments are built and scored on ``spark`` (a session on
    ``VRU_SPARK_MASTER`` when None)."""
    start = time.perf_counter()
    data_dir, day, out = request.data_dir, request.day, request.out
    chosen = request.engine or settings.engine
    if chosen not in ENGINES:
        raise JobError(f"unknown engine {chosen!r}: use one of {', '.join(ENGINES)}")
    if out.suffix.lower() != ".jsonl":
        raise JobError(f"--out {out} must end in .jsonl (one flag per line)")
    if out.resolve().is_relative_to(data_dir.resolve()):
        raise JobError(f"--out {out} is inside the data folder; write flags elsewhere")
    if request.days < 1:
        raise JobError("--days must be at least 1")
    try:
        programmes = load_programmes(request.programmes_path or settings.programmes_path)
    except ProgrammeConfigError as exc:
        raise JobError(str(exc)) from None
    record = LotteryRecord(settings.lottery_record_path)
    clearance = check_lotteries(
        programmes,
        request.programmes_path or settings.programmes_path,
        ReviewLog(settings.review_log_path),
        record,
    )
    try:  # the days already drawn are replayed from the record, never drawn again
        book = LotteryBook.of(record.draws() if clearance is not None else ())
    except LotteryRecordError as exc:
        raise JobError(str(exc)) from None
    model, ref = load_approved(settings, request.alias)
    try:
        config = FeatureBuildConfig.model_validate_json(model.info["build_config"])
    except (KeyError, ValidationError):
        raise JobError(
            f"version {ref.version} does not record the feature build settings it was trained "
            "with; retrain it with this version of vru-risk"
        ) from None
    engine = engine_options(settings)
    try:
        folder = open_folder(data_dir, today=date.today(), **engine)
    except InvalidDataError as exc:
        raise JobError(str(exc)) from None
    except ValueError as exc:
        raise JobError(str(exc)) from None
    wanted = tuple(day - timedelta(days=k) for k in range(request.days - 1, -1, -1))
    try:
        issued = issued_before(
            settings.issued_dir, wanted, request.issued_paths, today=date.today()
        )
        pacing = PacingHistory.read(pacing_file(settings.issued_dir))
    except (FlagsFileError, PacingHistoryError) as exc:
        raise JobError(str(exc)) from None
    on_spark = _spark_engine(settings, spark) if chosen == "spark" else None
    try:
        try:
            moments = build_moments(folder, model.spec, config, wanted, engine=on_spark, **engine)
        except (MomentsError, CatalogError) as exc:
            raise JobError(str(exc)) from None
        batch = generate_flags(
            model,
            moments,
            programmes,
            model_ref=ref,
            issued=issued,
            options=FlagOptions(valid_days=settings.flag_visible_days),
            pacing=pacing,
            lottery=book,
            scored=None if on_spark is None else _scored_on(on_spark, moments, model),
        )
    finally:
        if on_spark is not None:
            on_spark.close()
    try:  # recorded before any flag is written: a winner's offer always has its draw
        drawn = record.append(book.drawn)
    except LotteryRecordError as exc:
        raise JobError(str(exc)) from None
    write_flags(batch.flags, out)
    record_issued(settings.issued_dir, wanted, batch.flags)
    pacing.prune()
    write_lines(pacing_file(settings.issued_dir), [pacing.to_json()])
    save_moments(moments, settings.flags_dir / f"moments-{day.isoformat()}")
    names = {str(n) for n in moments.supported["programme"]}
    unmatched = tuple(
        sorted(n for n in names if not any(p.supports(n) for p in programmes.programmes))
    )
    return FlagsResult(
        unmatched_support=unmatched,
        batch=batch,
        model_ref=ref,
        days=wanted,
        out=out,
        seconds=time.perf_counter() - start,
        programmes=programmes,
        lottery=clearance,
        draws=drawn,
    )


def _scored_on(engine: SparkEngine, moments: Moments, model: RiskModel) -> pd.DataFrame:
    """The moments scored on the engine's session with ``mapInPandas``."""
    from vru_risk.flags.spark_score import score_moments_on_spark

    return score_moments_on_spark(engine.session, moments, model)


def _spark_engine(settings: Settings, spark: SparkSession | None) -> SparkEngine:
    """The Spark engine of the run: on ``spark`` when given, else on ``VRU_SPARK_MASTER``."""
    from vru_risk.data.engine import SparkEngine, spark_engine
    from vru_risk.data.spark_session import SparkOptions, SparkUnavailableError, adopt_session

    if spark is not None:
        return SparkEngine(adopt_session(spark))
    try:
        return spark_engine(
            SparkOptions(master=settings.spark_master, scratch_dir=str(settings.cache_dir))
        )
    except SparkUnavailableError as exc:
        raise JobError(str(exc)) from None
