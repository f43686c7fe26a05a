"""The cache of as-of feature tables: one table per feature spec and data folder, reused while
it was built the same way.

``vru train --data`` and ``vru audit`` keep a data folder's table in a cache folder (under
``VRU_HOME/features/``) named ``<spec hash>-<data fingerprint>.parquet`` (16 characters of
each). A cached table is reused only when the spec hash and the build settings recorded in it are
this build's and, when a truth folder is given, it carries the true-involvement labels; anything
else (a damaged file included) is rebuilt.

Example
-------
>>> table_path(Path("/cache"), "ab" * 32, "cd" * 32).name
'abababababababab-cdcdcdcdcdcdcdcd.parquet'
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

from vru_risk.data.load import DataFolder
from vru_risk.features.build import BuildSummary, Progress, build_features
from vru_risk.features.catalog import FeatureSpec
from vru_risk.features.config import FeatureBuildConfig
from vru_risk.features.table_metadata import BUILD_CONFIG_KEY, SPEC_HASH_KEY

#: the column only a table built with a truth folder has
TRUE_LABEL = "label_true_involvement"


class FeatureCacheError(ValueError):
    """A cached table that cannot be built where asked; the message says why."""


@dataclass(frozen=True)
class CachedTable:
    """Where a data folder's table is cached, and whether the file there can be reused
    (``stale``: a file is there but was built otherwise, or cannot be read)."""

    path: Path
    reusable: bool
    stale: bool


def table_path(cache_dir: Path, spec_hash: str, fingerprint: str) -> Path:
    """The cached table of a feature spec and a data folder."""
    return cache_dir / f"{spec_hash[:16]}-{fingerprint[:16]}.parquet"


def find_table(
    cache_dir: Path,
    folder: DataFolder,
    spec: FeatureSpec,
    config: FeatureBuildConfig,
    *,
    with_truth: bool,
) -> CachedTable:
    """The cache entry of ``folder``'s table under ``spec`` and ``config``."""
    path = table_path(cache_dir, spec.hash, folder.fingerprint)
    if not path.exists():
        return CachedTable(path, reusable=False, stale=False)
    try:
        meta = pq.read_metadata(path).metadata or {}
        names = pq.read_schema(path).names
    except (OSError, ValueError):  # a damaged cache file: rebuild it
        meta, names = {}, []
    stored = meta.get(BUILD_CONFIG_KEY, b"").decode()
    same_build = bool(stored) and json.loads(stored) == json.loads(config.model_dump_json())
    reusable = (
        meta.get(SPEC_HASH_KEY, b"").decode() == spec.hash
        and same_build
        and (not with_truth or TRUE_LABEL in names)
    )
    return CachedTable(path, reusable=reusable, stale=not reusable)


def build_table(
    entry: CachedTable,
    folder: DataFolder,
    spec: FeatureSpec,
    config: FeatureBuildConfig,
    *,
    truth: Path | None = None,
    threads: int = 2,
    memory_limit: str = "2GB",
    scratch_dir: Path | None = None,
    progress: Progress | None = None,
) -> BuildSummary:
    """(Re)build the table of ``entry`` from ``folder``: examples at every teachable moment,
    with the true-involvement labels of ``truth`` (a synthetic truth folder) when given."""
    target = entry.path.resolve()
    for what, inputs in (("data folder", folder.path), ("truth folder", truth)):
        if inputs is not None and target.is_relative_to(inputs.resolve()):
            raise FeatureCacheError(
                f"the feature cache {entry.path.parent} is inside the {what} {inputs}; the "
                "inputs are never overwritten: set VRU_HOME outside it"
            )
    truth_events = None
    if truth is not None:
        truth_events = truth / "outcomes.parquet"
        if not truth_events.exists():
            raise FeatureCacheError(
                f"{truth_events} not found: --truth must be a generator truth folder"
            )
    entry.path.unlink(missing_ok=True)
    entry.path.parent.mkdir(parents=True, exist_ok=True)
    summary, _ = build_features(
        folder,
        spec,
        config,
        out=entry.path,
        use_triggers=True,
        truth_events_path=truth_events,
        threads=threads,
        memory_limit=memory_limit,
        scratch_dir=scratch_dir,
        progress=progress,
    )
    return summary
