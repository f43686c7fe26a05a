"""A version's monitoring reference, made once from its calibration window.

:func:`create_reference` scores the version's calibration window (the feature table of the data
it was trained on, built or reused from ``VRU_HOME/features/``), replays the service's allocation
over it, takes the inputs' seasonal histograms and the sources' mix of recorded values from the
year up to the window's end, and stores the
:class:`~vru_risk.monitoring.reference.MonitoringReference` as a separate, hashed artifact of
the version (:mod:`vru_risk.jobs.monitor_data`); the RiskModel is untouched. The monthly runs
(:mod:`vru_risk.jobs.monitor`) compare what was known by their as-of date with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Final

import pandas as pd

from vru_risk.features.build import LABEL_PREFIX
from vru_risk.features.context import moment_context
from vru_risk.jobs.common import JobError, engine_options
from vru_risk.jobs.monitor_data import (
    build_config,
    calibration_window,
    category_counts,
    connection_with_sources,
    criteria_of,
    event_sources,
    known_days,
    load_version,
    model_feature_table,
    open_data,
    people_attributes,
    programmes_of,
    save_reference,
    weekly_rows,
)
from vru_risk.jobs.monitor_outcomes import score
from vru_risk.models.registry import Registry
from vru_risk.models.tags import DATA_FINGERPRINT_TAG
from vru_risk.monitoring.reference import MonitoringReference, ReferenceError, compute_reference
from vru_risk.settings import Settings

#: the sources' seasonal profile in a reference: the year up to the calibration window's end
SOURCE_PROFILE_DAYS: Final = 365
#: the inputs' bins and seasonal histograms in a reference: the year up to the same end
SEASON_DAYS: Final = 365


@dataclass(frozen=True)
class ReferenceResult:
    version: int
    reference: MonitoringReference
    path: Path
    #: how the calibration window was found (recorded by training, or inferred)
    window_note: str


def create_reference(settings: Settings, version: int, data_dir: Path) -> ReferenceResult:
    """Compute, store, upload and tag version ``version``'s monitoring reference."""
    registry = Registry(settings.tracking_uri)
    model, info = load_version(registry, version, settings.lightgbm_threads)
    config = build_config(model, version)
    start, end, note = calibration_window(model, info)
    folder = open_data(settings, data_dir)
    trained_on = info.tags.get(DATA_FINGERPRINT_TAG, "")
    if trained_on and folder.fingerprint != trained_on:
        raise JobError(
            f"{data_dir} is not the data version {version} was trained on (fingerprint "
            f"{folder.fingerprint[:16]}... vs {trained_on[:16]}...): its reference is computed "
            "on the moments it was calibrated on; give the same data folder"
        )
    programmes = programmes_of(settings)
    criteria = criteria_of(settings, registry, info)
    spec = model.spec
    table = model_feature_table(settings, folder, spec, config)
    season = pd.read_parquet(
        table,
        columns=["as_of", *spec.names],
        filters=[("as_of", ">=", end - timedelta(days=SEASON_DAYS)), ("as_of", "<", end)],
    )
    frame = pd.read_parquet(
        table,
        columns=["person_id", "as_of", *spec.names, LABEL_PREFIX],
        filters=[("as_of", ">=", start), ("as_of", "<", end)],
    )
    if frame.empty:
        raise JobError(
            f"{data_dir} has no moments in version {version}'s calibration window ({start} to "
            f"{end}); give the data folder it was trained on"
        )
    frame["person_id"] = frame["person_id"].astype(str)
    frame["as_of"] = pd.to_datetime(frame["as_of"])
    frame["probability"], frame["percentile"] = score(model, frame)
    last = end - timedelta(days=1)
    context = moment_context(folder, spec, config, start, last, **engine_options(settings))
    con = connection_with_sources(folder, spec.reporting_lag_days, settings)
    try:
        people = people_attributes(con)
        sources = event_sources(folder, spec.sources)
        profile_start = end - timedelta(days=SOURCE_PROFILE_DAYS)
        last_day = end - timedelta(days=1)
        weeks = weekly_rows(con, sources, profile_start, last_day)
        weeks = weeks[weeks["week_start"] <= last_day]
        days = {s: known_days(con, s, profile_start, last_day) for s in sources}
        codes = category_counts(con, sources, profile_start, last_day, last_day)
    finally:
        con.close()
    scored = frame.merge(people, on="person_id", how="left", validate="many_to_one")
    try:
        ref = compute_reference(
            scored,
            context,
            programmes,
            spec,
            label=LABEL_PREFIX,
            min_people_per_cell=criteria.groups.min_people_per_cell,
            source_weeks=weeks,
            source_days=days,
            season=season,
            category_counts=codes,
            valid_days=settings.flag_visible_days,
        )
    except ReferenceError as exc:
        raise JobError(str(exc)) from None
    path = save_reference(settings, registry, info, ref)
    return ReferenceResult(version=info.version, reference=ref, path=path, window_note=note)
