"""The RiskModel: the one object that crosses from training to serving.

It holds the feature spec (names, order, dtypes, phrasing), the LightGBM booster, the calibrator,
a reference score distribution (so a score can be placed as a percentile of the population of
teachable moments it was calibrated on, never against whoever else triggered that day) and the
patterns of available sources it was trained on.

Every frame is checked against the spec before scoring: LightGBM silently mis-scores a frame
whose columns are reordered, missing or retyped. ``contributions`` returns LightGBM's
``pred_contrib`` values: SHAP values in log-odds of the *uncalibrated* booster, one column per
feature plus ``base_value``; a row sums to the raw score (before calibration).

Saved pickle-free as plain files (the booster's own text model, calibrator parameters, the spec,
the reference distribution, the patterns and a manifest with every file's sha256); the content
hash is the sha256 of that manifest.

The patterns of available sources are spelled by :mod:`vru_risk.models.source_patterns`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Final

import lightgbm as lgb
import numpy as np
import pandas as pd
from pydantic import ValidationError

from vru_risk.data.contract import AUDIT_ONLY_COLUMNS
from vru_risk.features.catalog import CatalogError, FeatureSpec
from vru_risk.models.calibration import Calibrator, calibrator_from
from vru_risk.models.source_patterns import distinct_patterns, listed_unavailable, source_columns

FORMAT_VERSION: Final = 2
MODEL_NAME: Final = "vru-risk"
FILES: Final = {
    "booster": "booster.txt",
    "calibration": "calibration.json",
    "spec": "feature_spec.json",
    "reference": "reference_scores.json",
    "patterns": "source_patterns.json",
    "medians": "feature_medians.json",
    "info": "info.json",
}
MANIFEST: Final = "risk_model.json"
REFERENCE_POINTS: Final = 1001
_FLOAT64: Final = np.dtype("float64")  # quantiles 0.0%, 0.1%, ..., 100.0%


class FrameMismatchError(ValueError):
    """A frame that does not match the model's feature spec; ``problems`` lists each way."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = tuple(problems)
        super().__init__(
            "the frame does not match the model's feature spec (LightGBM would silently "
            "mis-score it); build features with the model's spec:\n"
            + "\n".join(f"  - {p}" for p in problems)
        )


class ModelFileError(ValueError):
    """A saved RiskModel that cannot be loaded (missing, altered or unreadable files)."""


@dataclass(frozen=True)
class ModelInputs:
    """Rows already checked against a model's feature spec: a float64 matrix whose columns are
    the spec's features in order. Made by :meth:`RiskModel.inputs` (which checks the frame), so
    that scoring one row at a time in the server costs no pandas; :meth:`take` keeps the check.
    A model refuses inputs checked against another spec.
    """

    spec_hash: str
    x: np.ndarray

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def take(self, rows: Sequence[int] | np.ndarray) -> ModelInputs:
        """The inputs of ``rows`` (positions), in that order."""
        return ModelInputs(self.spec_hash, self.x[np.asarray(rows, dtype=np.int64)])

    def row(self, position: int) -> ModelInputs:
        """One row's inputs (a view: no copy)."""
        return ModelInputs(self.spec_hash, self.x[position : position + 1])


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass
class RiskModel:
    """Feature spec + booster + calibrator + reference scores + seen source patterns."""

    spec: FeatureSpec
    booster: lgb.Booster
    calibrator: Calibrator
    reference_scores: np.ndarray
    source_patterns: dict[str, int]
    #: median of each feature over the reference population (null when never observed): the
    #: "cohort median" that "what could change it" moves an actionable family to
    feature_medians: dict[str, float | None] = field(default_factory=dict)
    info: dict[str, str] = field(default_factory=dict)
    threads: int = 1
    #: sha256 over the sha256 of each saved file; set by :meth:`save` and :meth:`load`
    content_hash: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        try:  # re-run the spec's guardrails: a spec edited in memory is checked again
            self.spec = FeatureSpec.model_validate(self.spec.model_dump(warnings=False))
        except ValidationError as exc:
            raise CatalogError([str(exc)], origin="RiskModel") from None
        names = list(self.spec.names)
        problems = [
            f"feature {n!r} is an audit-only attribute; protected characteristics can never be "
            "model features"
            for n in names
            if n in AUDIT_ONLY_COLUMNS
        ]
        if problems:
            raise CatalogError(problems, origin="RiskModel")
        if list(self.booster.feature_name()) != names:
            raise ModelFileError(
                "the booster's features differ from the feature spec: booster has "
                f"{self.booster.feature_name()[:5]}..., spec has {names[:5]}...; the model files "
                "do not belong together"
            )
        ref = np.asarray(self.reference_scores, dtype="float64")
        if ref.ndim != 1 or len(ref) < 2 or np.any(np.diff(ref) < 0) or np.isnan(ref).any():
            raise ModelFileError("the reference score distribution must be sorted quantiles")
        self.reference_scores = ref
        unknown = sorted(set(self.feature_medians) - set(names))
        if unknown:
            raise ModelFileError(f"feature medians name unknown features: {unknown[:5]}")

    # --- scoring ---------------------------------------------------------------------------

    def check_frame(self, frame: pd.DataFrame) -> None:
        """Raise :class:`FrameMismatchError` unless ``frame`` has exactly the spec's columns,
        in order, all float64."""
        names = list(self.spec.names)
        cols = [str(c) for c in frame.columns]
        if cols == names and all(d == _FLOAT64 for d in frame.dtypes):
            return  # the usual case, checked in one pass
        problems: list[str] = []
        duplicated = sorted({c for c in cols if cols.count(c) > 1})
        if duplicated:
            raise FrameMismatchError([f"duplicated column(s): {', '.join(duplicated)}"])
        missing = [n for n in names if n not in cols]
        extra = [c for c in cols if c not in names]
        if missing:
            problems.append(f"missing column(s): {', '.join(missing)}")
        if extra:
            problems.append(f"unexpected column(s): {', '.join(extra)}")
        if not missing and not extra and cols != names:
            first = next(i for i, (a, b) in enumerate(zip(cols, names, strict=True)) if a != b)
            problems.append(
                f"columns are in another order: position {first + 1} is {cols[first]!r}, the "
                f"spec has {names[first]!r} there"
            )
        wrong = [
            f"{c} is {frame[c].dtype}"
            for c in cols
            if c in names and str(frame[c].dtype) != "float64"
        ]
        if wrong:
            problems.append(f"column(s) not float64: {', '.join(wrong)}")
        if problems:
            raise FrameMismatchError(problems)

    def inputs(self, frame: pd.DataFrame) -> ModelInputs:
        """``frame`` checked against the spec (:meth:`check_frame`), as a matrix to score."""
        self.check_frame(frame)
        return ModelInputs(self.spec.hash, frame.to_numpy(dtype="float64", copy=False))

    def _matrix(self, data: pd.DataFrame | ModelInputs) -> np.ndarray:
        if not isinstance(data, ModelInputs):
            return self.inputs(data).x
        x = data.x
        width = len(self.spec.features)
        if data.spec_hash != self.spec.hash:
            raise FrameMismatchError(
                [f"the inputs were checked against another feature spec ({data.spec_hash[:12]})"]
            )
        if x.ndim != 2 or x.shape[1] != width or x.dtype != _FLOAT64:
            raise FrameMismatchError(
                [f"the inputs are {x.dtype} of shape {x.shape}, not float64 with {width} columns"]
            )
        return x

    def raw_score(self, data: pd.DataFrame | ModelInputs) -> np.ndarray:
        """The booster's raw log-odds (what the reasons explain)."""
        out = self.booster.predict(self._matrix(data), raw_score=True, num_threads=self.threads)
        return np.asarray(out, dtype="float64")

    def predict(self, data: pd.DataFrame | ModelInputs) -> np.ndarray:
        """Calibrated probability of the label for each row (checks the frame first)."""
        return self.calibrator.transform(self.raw_score(data))

    def contribution_values(self, data: pd.DataFrame | ModelInputs) -> np.ndarray:
        """:meth:`contributions` as a plain matrix (features in the spec's order, then the base
        value)."""
        values = self.booster.predict(
            self._matrix(data), pred_contrib=True, num_threads=self.threads
        )
        return np.asarray(values, dtype="float64")

    def contributions(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``pred_contrib`` values in log-odds of the uncalibrated booster.

        One column per feature then ``base_value``; each row sums to :meth:`raw_score`.
        """
        return pd.DataFrame(
            self.contribution_values(frame),
            index=frame.index,
            columns=[*self.spec.names, "base_value"],
        )

    def percentile(self, probability: np.ndarray) -> np.ndarray:
        """Percentile (0-100) of calibrated probabilities in the reference distribution."""
        return percentile_in(self.reference_scores, probability)

    @cached_property
    def _source_positions(self) -> dict[str, np.ndarray]:
        position = {name: i for i, name in enumerate(self.spec.names)}
        return {
            source: np.array([position[c] for c in cols], dtype=np.int64)
            for source, cols in source_columns(self.spec).items()
        }

    @cached_property
    def _seen_patterns(self) -> frozenset[str]:
        return frozenset(self.source_patterns)

    def _pattern_array(
        self, data: pd.DataFrame | ModelInputs, sources_unavailable: pd.Series | Sequence[str] | str
    ) -> tuple[np.ndarray, np.ndarray]:
        """The distinct patterns of the rows, and each row's position among them."""
        x = self._matrix(data)
        missing = {
            source: np.isnan(x[:, cols]).all(axis=1)
            for source, cols in self._source_positions.items()
        }
        return distinct_patterns(missing, listed_unavailable(sources_unavailable, len(x)))

    def patterns(
        self, data: pd.DataFrame | ModelInputs, sources_unavailable: pd.Series | Sequence[str] | str
    ) -> pd.Series:
        """Each row's pattern of sources the model could not see (see :mod:`.source_patterns`)."""
        spelled, inverse = self._pattern_array(data, sources_unavailable)
        index = data.index if isinstance(data, pd.DataFrame) else None
        return pd.Series(spelled[inverse], index=index, dtype=object)

    def unseen_pattern(
        self, data: pd.DataFrame | ModelInputs, sources_unavailable: pd.Series | Sequence[str] | str
    ) -> np.ndarray:
        """True where a row's pattern of available sources never occurred in training."""
        spelled, inverse = self._pattern_array(data, sources_unavailable)
        unseen = np.array([p not in self._seen_patterns for p in spelled], dtype=bool)
        result: np.ndarray = unseen[inverse]
        return result

    # --- persistence -----------------------------------------------------------------------

    def texts(self) -> dict[str, str]:
        """The texts of the model's files (keyed as :data:`FILES`): what :meth:`save` writes, and
        what a Spark job ships to its executors (no pickled booster)."""
        return {
            "booster": self.booster.model_to_string(),
            "calibration": json.dumps(self.calibrator.params(), sort_keys=True, indent=1),
            "spec": self.spec.canonical_json(),
            "reference": json.dumps([float(x) for x in self.reference_scores]),
            "patterns": json.dumps(self.source_patterns, sort_keys=True, indent=1),
            "medians": json.dumps(self.feature_medians, sort_keys=True, indent=1),
            "info": json.dumps(self.info, sort_keys=True, indent=1),
        }

    @classmethod
    def from_texts(
        cls,
        texts: Mapping[str, str],
        *,
        threads: int = 1,
        content_hash: str = "",
        origin: str = FILES["spec"],
    ) -> RiskModel:
        """The model :meth:`texts` gave (raises :class:`ModelFileError` for a refused spec)."""
        try:
            spec = FeatureSpec.model_validate_json(texts["spec"])
        except ValidationError as exc:
            raise ModelFileError(f"{origin}: the feature spec is refused: {exc}") from None
        return cls(
            spec=spec,
            booster=lgb.Booster(model_str=texts["booster"]),
            calibrator=calibrator_from(json.loads(texts["calibration"])),
            reference_scores=np.asarray(json.loads(texts["reference"]), dtype="float64"),
            source_patterns={str(k): int(v) for k, v in json.loads(texts["patterns"]).items()},
            feature_medians={
                str(k): None if v is None else float(v)
                for k, v in json.loads(texts["medians"]).items()
            },
            info={str(k): str(v) for k, v in json.loads(texts["info"]).items()},
            threads=threads,
            content_hash=content_hash,
        )

    def save(self, directory: Path) -> str:
        """Write the model's files into ``directory`` (created; must be empty); return the
        content hash."""
        directory.mkdir(parents=True, exist_ok=True)
        if any(directory.iterdir()):
            raise FileExistsError(f"{directory} is not empty; save a RiskModel to a new folder")
        texts = self.texts()
        for key, text in texts.items():
            (directory / FILES[key]).write_text(text, encoding="utf-8")
        files = {FILES[k]: _sha256(directory / FILES[k]) for k in texts}
        manifest = {"format_version": FORMAT_VERSION, "name": MODEL_NAME, "files": files}
        (directory / MANIFEST).write_text(json.dumps(manifest, sort_keys=True, indent=1))
        self.content_hash = content_hash(files)
        return self.content_hash

    @classmethod
    def load(cls, directory: Path, *, threads: int = 1) -> RiskModel:
        """Load a saved model, checking every file's sha256 (raises :class:`ModelFileError`)."""
        manifest_path = directory / MANIFEST
        try:
            manifest: dict[str, Any] = json.loads(manifest_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ModelFileError(
                f"{directory} holds no {MANIFEST}: not a saved RiskModel"
            ) from None
        except (OSError, ValueError) as exc:
            raise ModelFileError(f"{manifest_path} cannot be read: {exc}") from None
        if manifest.get("format_version") != FORMAT_VERSION:
            raise ModelFileError(
                f"{manifest_path}: format version {manifest.get('format_version')!r}; this "
                f"software reads version {FORMAT_VERSION}"
            )
        files: dict[str, str] = manifest.get("files", {})
        for key, name in FILES.items():
            path = directory / name
            if name not in files or not path.exists():
                raise ModelFileError(f"{directory}: {name} ({key}) is missing")
            if _sha256(path) != files[name]:
                raise ModelFileError(
                    f"{path} has changed since the model was saved (sha256 differs from "
                    f"{MANIFEST}); load the registered version again"
                )

        texts = {key: (directory / name).read_text(encoding="utf-8") for key, name in FILES.items()}
        return cls.from_texts(
            texts,
            threads=threads,
            content_hash=content_hash(files),
            origin=str(directory / FILES["spec"]),
        )


def content_hash(files: Mapping[str, str]) -> str:
    return hashlib.sha256(json.dumps(dict(files), sort_keys=True).encode()).hexdigest()


def feature_medians(features: pd.DataFrame) -> dict[str, float | None]:
    """Median of every column, ignoring missing values (None for a column never observed)."""
    out: dict[str, float | None] = {}
    for name in features.columns:
        values = features[name].to_numpy(dtype="float64")
        values = values[~np.isnan(values)]
        out[str(name)] = float(np.median(values)) if len(values) else None
    return out


def percentile_in(reference: np.ndarray, probability: np.ndarray) -> np.ndarray:
    """Percentile (0-100) of ``probability`` in a reference distribution made by
    :func:`reference_quantiles`: the share of the reference at or below each value.

    >>> reference = reference_quantiles(np.array([0.0, 0.0, 0.0, 1.0]))
    >>> percentile_in(reference, np.array([0.0, 1.0])).round(1).tolist()
    [66.6, 100.0]
    """
    pos = np.searchsorted(reference, np.asarray(probability, dtype="float64"), side="right")
    result: np.ndarray = 100.0 * pos / len(reference)
    return result


def reference_quantiles(probability: np.ndarray) -> np.ndarray:
    """The reference distribution stored in a model: 1,001 quantiles of calibrated scores."""
    values = np.asarray(probability, dtype="float64")
    values = values[~np.isnan(values)]
    if len(values) == 0:
        raise ValueError("no scores to make a reference distribution from")
    result: np.ndarray = np.quantile(values, np.linspace(0.0, 1.0, REFERENCE_POINTS))
    return result
