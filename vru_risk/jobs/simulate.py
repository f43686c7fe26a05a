"""The simulated service: a version put in service on a synthetic county, and what followed.

:func:`simulate_service` replays the daily job over a service period, a month at a time
(:mod:`vru_risk.simulation.service`): the moments of each month from the data folder's feature
table (features known by each moment's day, as the daily job builds them; built or reused under
``VRU_HOME/features/``), scored by the version, matched by the one allocation and explained as
flags; simulated practitioners decide on each offer and the support that is taken up starts.
Then it writes:

- ``out``: a new data folder, a valid extract of the same date, with the service's support in
  ``interventions`` and the label events its support prevented (by the county's potential
  outcomes, :mod:`vru_risk.data.synthetic.potential`, each programme at its true multiplier
  from ``truth.json``; a harmful programme is refused) removed; the manifest's row counts and
  hashes rewritten, and a ``provenance`` entry naming the service;
- ``record_dir`` (default ``<out>-service``, beside it, never inside a data folder): what the
  service did, person by person (``decisions.parquet``, ``support.parquet``,
  ``prevented.parquet``, its flags in ``flags.jsonl``, and for a lottery ``lottery.parquet``
  with each participant's ``y0``/``y1`` in ``lottery_outcomes.parquet``,
  :mod:`vru_risk.simulation.lottery_truth`) and ``summary.json``; like the truth
  folder, for tests and evaluation, never for a model;
- the application database of the settings: the version's flags, published, and the decisions
  of the simulated practitioner accounts (:mod:`vru_risk.jobs.simulate_store`), so that
  monitoring reads the service as it would read a real one.

Every refusal is a :class:`~vru_risk.jobs.common.JobError` raised before anything is written.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from vru_risk.data.contract import EVENT_TABLES, MANIFEST_NAME
from vru_risk.data.load import DataFolder
from vru_risk.data.synthetic.potential import (
    PotentialOutcomesError,
    read_potential,
    serious_violence_multipliers,
    support_effect,
    truth_config,
)
from vru_risk.data.synthetic.rewrite import RewriteError, read_table, rewrite_folder
from vru_risk.features.build import ID_COLUMNS
from vru_risk.features.config import FeatureBuildConfig
from vru_risk.features.context import MomentContext, moment_context
from vru_risk.features.moments import Moments
from vru_risk.flags.flag import ModelRef
from vru_risk.jobs.common import JobError, engine_options
from vru_risk.jobs.monitor_data import (
    build_config,
    connection_with_sources,
    last_known,
    load_version,
    model_feature_table,
    open_data,
    people_attributes,
    programmes_of,
)
from vru_risk.jobs.simulate_output import FLAGS_FILE, consequence, lottery_truth, write_record
from vru_risk.jobs.simulate_store import StoredService, store_service
from vru_risk.models.groups import group_labels
from vru_risk.models.registry import Registry
from vru_risk.models.risk_model import RiskModel
from vru_risk.models.tags import TRAIN_END_TAG
from vru_risk.settings import Settings
from vru_risk.simulation.config import ServiceConfig
from vru_risk.simulation.consequence import refuse_harmful
from vru_risk.simulation.lottery_truth import lottery_summary
from vru_risk.simulation.service import intervention_name, run_service

__all__ = ["FLAGS_FILE", "SimulateRequest", "SimulateResult", "simulate_service"]


@dataclass(frozen=True)
class SimulateRequest:
    """Simulate version ``version`` (default: the champion) in service on ``data_dir`` (a
    synthetic county, its truth in ``truth_dir``) from ``start`` (default: the version's
    training end) to ``end`` (default: the extract date); write the new extract to ``out``."""

    data_dir: Path
    truth_dir: Path
    out: Path
    version: int | None = None
    start: date | None = None
    end: date | None = None
    record_dir: Path | None = None
    config: ServiceConfig = field(default_factory=ServiceConfig)


@dataclass(frozen=True)
class SimulateResult:
    version: int
    start: date
    end: date
    out: Path
    record_dir: Path
    summary: dict[str, Any]
    stored: StoredService
    seconds: float


def _months(start: date, end: date) -> Iterator[tuple[date, date]]:
    """``[first, last]`` of each calendar month from ``start`` to ``end`` (cut at both)."""
    day = start
    while day <= end:
        following = date(day.year + day.month // 12, day.month % 12 + 1, 1)
        yield day, min(end, following - timedelta(days=1))
        day = following


def _check_paths(request: SimulateRequest, record: Path) -> None:
    problems = []
    inputs = (("data folder", request.data_dir), ("truth folder", request.truth_dir))
    for label, path in (("--out", request.out), ("the record folder", record)):
        target = path.resolve()
        if path.exists() and (not path.is_dir() or any(path.iterdir())):
            problems.append(f"{label} {path} exists and is not an empty folder: choose a new one")
        for what, folder in inputs:
            inside = target.is_relative_to(folder.resolve())
            if inside or folder.resolve().is_relative_to(target):
                problems.append(f"{label} {path} overlaps the {what} {folder}: write elsewhere")
    if request.out.resolve() == record.resolve():
        problems.append("the record folder must not be --out (the record is not data)")
    if problems:
        raise JobError("cannot simulate the service:\n- " + "\n- ".join(problems))


def _check_truth(folder: DataFolder, truth_dir: Path) -> None:
    try:
        config = truth_config(truth_dir)
    except PotentialOutcomesError as exc:
        raise JobError(str(exc)) from None
    manifest = json.loads((folder.path / MANIFEST_NAME).read_text(encoding="utf-8"))
    generator = manifest.get("generator") or {}
    ours = {k: generator.get(k) for k in ("seed", "people", "years")}
    theirs = {k: config.get(k) for k in ours}
    if not generator or ours != theirs or config.get("end_date") != str(folder.extract_date):
        raise JobError(
            f"{truth_dir} is not the truth of {folder.path} (the data folder's generator "
            f"{ours}, extract {folder.extract_date}; the truth's {theirs}, end "
            f"{config.get('end_date')}): give the truth folder generated with this data folder"
        )


def _dates(request: SimulateRequest, train_end: str, extract: date) -> tuple[date, date]:
    start = request.start or date.fromisoformat(train_end)
    end = request.end or extract
    if start < date.fromisoformat(train_end):
        raise JobError(
            f"--from {start} is before the version's training end ({train_end}): a service "
            "starts after its model was trained; give a later date"
        )
    if end > extract or end < start:
        raise JobError(f"--to {end} must lie from --from {start} to the extract date {extract}")
    return start, end


def _table(
    settings: Settings,
    folder: DataFolder,
    model: RiskModel,
    config: FeatureBuildConfig,
    start: date,
    end: date,
) -> pd.DataFrame:
    spec = model.spec
    table = model_feature_table(settings, folder, spec, config)
    frame = pd.read_parquet(
        table,
        columns=[*ID_COLUMNS, *spec.names],
        filters=[("as_of", ">=", start), ("as_of", "<=", end)],
    )
    frame["person_id"] = frame["person_id"].astype(str)
    frame["as_of"] = pd.to_datetime(frame["as_of"]).dt.date
    return frame.sort_values(["as_of", "person_id"], kind="stable").reset_index(drop=True)


def _month_moments(
    table: pd.DataFrame,
    context: MomentContext,
    folder: DataFolder,
    refreshed: dict[tuple[date, date], dict[str, date | None]],
) -> Iterator[Moments]:
    """Each month's moments as the daily job would hold them."""
    place = context.frame.assign(person_id=context.frame["person_id"].astype(str))
    unavailable = tuple(t for t in EVENT_TABLES if t not in folder.files and t != "interventions")
    for (first, last), sources in refreshed.items():
        rows = table[(table["as_of"] >= first) & (table["as_of"] <= last)]
        frame = rows.merge(
            place[["person_id", "as_of", "age_completed", "school_id"]],
            on=["person_id", "as_of"],
            how="left",
            validate="one_to_one",
        )
        keys = set(zip(frame["person_id"], frame["as_of"], strict=True))
        trig = context.triggers
        in_month = [
            (str(p), d) in keys for p, d in zip(trig["person_id"], trig["as_of"], strict=True)
        ]
        sup = context.supported
        days = [(str(p), d) in keys for p, d in zip(sup["person_id"], sup["day"], strict=True)]
        yield Moments(
            days=tuple(sorted(set(frame["as_of"]))),
            extract_date=folder.extract_date,
            frame=frame,
            triggers=trig[in_month].reset_index(drop=True),
            supported=sup[days].reset_index(drop=True),
            refreshed=sources,
            sources_unavailable=unavailable,
        )


def simulate_service(settings: Settings, request: SimulateRequest) -> SimulateResult:
    """The simulated service (see the module docstring)."""
    started = time.perf_counter()
    config = request.config
    problems = config.problems(settings.flag_visible_days)
    if problems:
        raise JobError(
            "the simulated service's options cannot be used:\n- " + "\n- ".join(problems)
        )
    record = request.record_dir or request.out.with_name(f"{request.out.name}-service")
    _check_paths(request, record)
    try:
        potential = read_potential(request.truth_dir)
        effect = (
            config.support_effect
            if config.support_effect is not None
            else support_effect(request.truth_dir)
        )
        # --support-effect gives every programme the one effect; else each its true one
        multipliers = (
            {}
            if config.support_effect is not None
            else serious_violence_multipliers(request.truth_dir)
        )
    except PotentialOutcomesError as exc:
        raise JobError(str(exc)) from None
    used = {intervention_name(p) for p in programmes_of(settings).programmes}
    refusal = refuse_harmful({k: v for k, v in multipliers.items() if k in used})
    if refusal:
        raise JobError(refusal)
    registry = Registry(settings.tracking_uri)
    model, info = load_version(registry, request.version, settings.lightgbm_threads)
    build = build_config(model, info.version)
    programmes = programmes_of(settings)
    folder = open_data(settings, request.data_dir)
    if any(not str(p).endswith(".parquet") for p in folder.files.values()):
        raise JobError(
            f"{request.data_dir} is not all Parquet: the simulated service rewrites Parquet "
            "folders (`vru data generate` writes them by default)"
        )
    _check_truth(folder, request.truth_dir)
    train_end = info.tags.get(TRAIN_END_TAG) or str(model.info.get("train_end", ""))
    if not train_end:
        raise JobError(f"version {info.version} records no training end; retrain it")
    start, end = _dates(request, train_end, folder.extract_date)
    table = _table(settings, folder, model, build, start, end)
    engine = engine_options(settings)
    context = moment_context(folder, model.spec, build, start, end, **engine)
    con = connection_with_sources(folder, model.spec.reporting_lag_days, settings)
    try:
        people = people_attributes(con)
        left = con.execute(
            "SELECT CAST(person_id AS VARCHAR), left_area_date FROM src_people "
            "WHERE left_area_date IS NOT NULL"
        ).fetchall()
        sources = [s for s in model.spec.sources if s in folder.files and s in EVENT_TABLES]
        refreshed = {
            (first, last): {s: last_known(con, s, last) for s in sources}
            for first, last in _months(start, end)
        }
    finally:
        con.close()
    groups = people.set_index("person_id")
    for column in groups.columns:
        groups[column] = group_labels(groups[column])
    left_area = {str(p): pd.Timestamp(d).date() for p, d in left}
    ref = ModelRef(name=registry.name, version=info.version, content_hash=model.content_hash)
    run = run_service(
        model,
        ref,
        _month_moments(table, context, folder, refreshed),
        programmes,
        groups,
        config,
        valid_days=settings.flag_visible_days,
        extract_date=folder.extract_date,
        left_area=left_area,
        county_support=read_table(request.data_dir, "interventions"),
    )
    summary, tables, prevented = consequence(
        request.data_dir, run, potential, effect, folder, multipliers=multipliers
    )
    outcomes = lottery_truth(
        run, potential, programmes, config, build.label, multipliers=multipliers, effect=effect
    )
    if outcomes is not None:
        summary["lottery_truth"] = lottery_summary(outcomes)
    summary.update(
        {
            "version": info.version,
            "service": {"from": start.isoformat(), "to": end.isoformat()},
            "extract_date": folder.extract_date.isoformat(),
            "support_effect": effect,
            "serious_violence_multipliers": multipliers,
            "config": config.model_dump(mode="json"),
        }
    )
    provenance = {
        "made_by": "vru simulate service",
        "source_fingerprint": folder.fingerprint,
        "model_version": info.version,
        "service": summary["service"],
        "seed": config.seed,
    }
    try:
        rewrite_folder(request.data_dir, request.out, tables, provenance=provenance)
    except RewriteError as exc:
        raise JobError(str(exc)) from None
    try:
        write_record(record, run, prevented, summary, lottery_outcomes=outcomes)
        stored = store_service(settings.app_database_url, run, programmes, seed=config.seed)
    except BaseException:
        shutil.rmtree(request.out, ignore_errors=True)
        shutil.rmtree(record, ignore_errors=True)
        raise
    return SimulateResult(
        version=info.version,
        start=start,
        end=end,
        out=request.out,
        record_dir=record,
        summary=summary,
        stored=stored,
        seconds=time.perf_counter() - started,
    )
