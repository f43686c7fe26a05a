"""The inputs of an experiment: a feature table checked against the spec, and the oracle.

A feature table carries its provenance in Parquet metadata (spec hash, data fingerprint, extract
date, label lag); a table whose spec hash differs from the experiment's is refused, because the
model would be fitted on columns that mean something else.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from vru_risk.data.synthetic.oracle import oracle_probabilities
from vru_risk.features.build import LABEL_PREFIX
from vru_risk.features.catalog import FeatureSpec
from vru_risk.features.config import FeatureBuildConfig, LabelConfig
from vru_risk.features.table_metadata import (
    BUILD_CONFIG_KEY,
    DATA_FINGERPRINT_KEY,
    DATA_FINGERPRINT_KIND_KEY,
    EXTRACT_DATE_KEY,
    KNOWLEDGE_DATES_KEY,
    LABEL_LAG_DAYS_KEY,
    SOURCES_UNAVAILABLE_KEY,
    SPEC_HASH_KEY,
)


class FeatureTableError(ValueError):
    """A feature table that this experiment cannot use; the message says why and what to do."""


@dataclass(frozen=True)
class TrainingData:
    """The examples of one experiment with the provenance of the table they came from."""

    frame: pd.DataFrame
    spec: FeatureSpec
    extract_date: date
    label_lag_days: int
    data_fingerprint: str
    sources_unavailable: str
    knowledge_dates: str
    source: str
    #: how ``data_fingerprint`` was made: ``content`` or ``metadata``
    data_fingerprint_kind: str = "content"

    @property
    def label(self) -> str:
        return LABEL_PREFIX

    @property
    def has_truth(self) -> bool:
        return "label_true_involvement" in self.frame.columns

    @property
    def has_oracle(self) -> bool:
        return "oracle_p_label_recorded" in self.frame.columns

    def features(self, rows: pd.DataFrame | None = None) -> pd.DataFrame:
        """The model inputs of ``rows`` (default: all), in the spec's order, as float64."""
        part = self.frame if rows is None else rows
        return part[list(self.spec.names)].astype("float64")

    def between(self, start: date, end: date) -> pd.DataFrame:
        """The examples dated in ``[start, end)`` (a fold's slice), censored ones included."""
        as_of = self.frame["as_of"]
        return self.frame[(as_of >= pd.Timestamp(start)) & (as_of < pd.Timestamp(end))]

    def labelled(self, start: date, end: date) -> pd.DataFrame:
        """The examples dated in ``[start, end)`` whose label is known (censored ones dropped)."""
        rows = self.between(start, end)
        return rows[rows[self.label].notna()]


def load_feature_table(
    path: Path, spec: FeatureSpec, build: FeatureBuildConfig | None = None
) -> TrainingData:
    """Read a feature table written by ``vru features build``.

    Refuse one made with another feature spec or, when ``build`` is given, with other cohort,
    trigger or label settings (the labels would not be the experiment's).
    """
    try:
        meta = pq.read_metadata(path).metadata or {}
    except FileNotFoundError:
        raise FeatureTableError(
            f"{path} does not exist; build it with `vru features build`"
        ) from None
    except (OSError, ValueError) as exc:
        raise FeatureTableError(f"{path} is not a readable Parquet file: {exc}") from None

    def get(key: bytes) -> str | None:
        value = meta.get(key)
        return value.decode() if value is not None else None

    spec_hash = get(SPEC_HASH_KEY)
    if spec_hash is None:
        raise FeatureTableError(
            f"{path} carries no {SPEC_HASH_KEY.decode()} metadata: it was not written by "
            "`vru features build`"
        )
    if spec_hash != spec.hash:
        raise FeatureTableError(
            f"{path} was built with feature spec {spec_hash[:16]}..., but this experiment's spec "
            f"is {spec.hash[:16]}...; rebuild the table with this experiment's catalog "
            "(vru train --data DIR does it) rather than training on columns that mean something "
            "else"
        )
    missing_meta = [k for k in (EXTRACT_DATE_KEY, LABEL_LAG_DAYS_KEY) if not get(k)]
    if missing_meta:
        raise FeatureTableError(
            f"{path} lacks the metadata {', '.join(k.decode() for k in missing_meta)}; rebuild it "
            "with `vru features build`"
        )
    if (get(KNOWLEDGE_DATES_KEY) or "known") != "known":
        raise FeatureTableError(
            f"{path} was built counting records on their event dates, before the VRU knew of "
            "them: its features see the future; rebuild it with known dates"
        )
    if build is not None:
        _check_build(path, get(BUILD_CONFIG_KEY), build)
    frame = pd.read_parquet(path)
    missing = [c for c in (*spec.names, "person_id", "as_of", LABEL_PREFIX) if c not in frame]
    if missing:
        raise FeatureTableError(f"{path} lacks column(s) {', '.join(missing)}")
    frame["as_of"] = pd.to_datetime(frame["as_of"])
    frame["person_id"] = frame["person_id"].astype(str)
    return TrainingData(
        frame=frame,
        spec=spec,
        extract_date=date.fromisoformat(get(EXTRACT_DATE_KEY) or ""),
        label_lag_days=int(get(LABEL_LAG_DAYS_KEY) or 0),
        data_fingerprint=get(DATA_FINGERPRINT_KEY) or "",
        data_fingerprint_kind=get(DATA_FINGERPRINT_KIND_KEY) or "content",
        sources_unavailable=get(SOURCES_UNAVAILABLE_KEY) or "",
        knowledge_dates=get(KNOWLEDGE_DATES_KEY) or "known",
        source=str(path),
    )


def _check_build(path: Path, stored: str | None, build: FeatureBuildConfig) -> None:
    if stored is None:
        raise FeatureTableError(
            f"{path} carries no {BUILD_CONFIG_KEY.decode()} metadata; rebuild it"
        )
    theirs = json.loads(stored)
    ours = json.loads(build.model_dump_json())
    differ = sorted(k for k in set(theirs) | set(ours) if theirs.get(k) != ours.get(k))
    if differ:
        detail = "; ".join(
            f"{k}: table {theirs.get(k)} vs experiment {ours.get(k)}" for k in differ
        )
        raise FeatureTableError(
            f"{path} was built with other settings than this experiment's `features` section "
            f"({detail}); rebuild it with the experiment (vru train --data DIR does it)"
        )


def with_oracle(data: TrainingData, truth: Path, label: LabelConfig) -> TrainingData:
    """Add ``oracle_p_label_recorded`` and ``oracle_p_involvement`` from a synthetic truth folder.

    The oracle knows each young person's latent state: it is the best ranking possible, so the
    distance between it and the model is visible.
    """
    try:
        latent = pd.read_parquet(truth / "latent.parquet")
        people = pd.read_parquet(truth / "people.parquet")
    except (FileNotFoundError, OSError) as exc:
        raise FeatureTableError(
            f"{truth} is not a synthetic truth folder (latent.parquet and people.parquet): {exc}"
        ) from None
    try:
        oracle = oracle_probabilities(
            latent,
            people,
            data.frame[["person_id", "as_of"]],
            gap_days=label.gap_days,
            horizon_days=label.horizon_days,
        )
    except ValueError as exc:
        raise FeatureTableError(
            f"{truth} does not belong to the data of {data.source}: {exc}"
        ) from None
    frame = data.frame.assign(
        oracle_p_label_recorded=oracle["p_label_recorded"].to_numpy(dtype=np.float64),
        oracle_p_involvement=oracle["p_involvement"].to_numpy(dtype=np.float64),
    )
    return replace(data, frame=frame)
