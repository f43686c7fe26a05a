"""The model registry: MLflow model versions of ``vru-risk``, their gate states and aliases.

Every trained RiskModel is registered as a version, whatever its gates say, so that it can be
audited; the only pointers serving follows are aliases (``candidate``, later ``champion``). The
state of a version is its tag ``vru.state`` (:mod:`~vru_risk.models.tags` holds the tag and
its values):

- ``candidate``: the performance gate passed and the leakage tripwire did not fire;
- ``not a candidate: performance gate failed``: it does not beat the rule baselines;
- ``blocked: suspected leakage``: the tripwire fired; no alias can point at it until the block
  is cleared through the review commands.

A version is loaded by downloading its plain-file artifact ``risk_model`` and reading it with
:meth:`RiskModel.load`; nothing is unpickled.

Example
-------
>>> VersionInfo(3, ("candidate",), {STATE_TAG: "candidate"}, "run", 0).blocked
False
"""

from __future__ import annotations

import tempfile
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Final

import mlflow
import pandas as pd

with warnings.catch_warnings():
    # importing mlflow.pyfunc infers schemas of MLflow's own agent types and warns about them
    warnings.filterwarnings("ignore", message=".*Any type hint", category=UserWarning)
    import mlflow.pyfunc
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature
from mlflow.tracking import MlflowClient

from vru_risk.models.review_log import ReviewLog, service_status
from vru_risk.models.risk_model import MODEL_NAME, RiskModel
from vru_risk.models.tags import (
    CONTENT_HASH_TAG,
    LEAKAGE_CLEARED_BY_TAG,
    PERFORMANCE_GATE_TAG,
    STATE_TAG,
    metric_tag,
)

CHAMPION: Final = "champion"
ARTIFACT: Final = "risk_model"
PYFUNC_FILE: Final = Path(__file__).with_name("pyfunc_model.py")
PACKAGE_DIR: Final = Path(__file__).resolve().parents[1]  # vru_risk/, shipped with the model
_REQUIREMENTS: Final = (
    "lightgbm",
    "numpy",
    "pandas",
    "pyarrow",
    "scikit-learn",
    "pydantic",
    "pyyaml",
    "duckdb",
    "sqlglot",
    "mlflow",
)


class RegistryError(ValueError):
    """A registry request that cannot be met (unknown version or alias, a blocked version)."""


@dataclass(frozen=True)
class VersionInfo:
    """One registered version: number, aliases, tags, the run that made it, creation time."""

    version: int
    aliases: tuple[str, ...]
    tags: Mapping[str, str]
    run_id: str
    created_ms: int

    @property
    def state(self) -> str:
        return self.tags.get(STATE_TAG, "")

    @property
    def blocked(self) -> bool:
        cleared = self.tags.get(LEAKAGE_CLEARED_BY_TAG, "")
        return self.state.startswith("blocked") and not cleared.strip()

    def metric(self, name: str) -> float | None:
        value = self.tags.get(metric_tag(name))
        return float(value) if value not in (None, "") else None


@contextmanager
def tracking(uri: str) -> Iterator[None]:
    """Point MLflow's fluent API at ``uri`` for the duration of a block."""
    before = mlflow.get_tracking_uri()
    before_registry = mlflow.get_registry_uri()
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    try:
        yield
    finally:
        mlflow.set_tracking_uri(before)
        mlflow.set_registry_uri(before_registry)


def ensure_experiment(name: str, artifact_root: str | None) -> str:
    """The id of MLflow experiment ``name``, created with artifacts under ``artifact_root``
    (None: the tracking server's default)."""
    found = mlflow.get_experiment_by_name(name)
    if found is not None:
        return str(found.experiment_id)
    location = None if artifact_root is None else f"{artifact_root.rstrip('/')}/{name}"
    return str(mlflow.create_experiment(name, artifact_location=location))


def _requirements() -> list[str]:
    out = []
    for dist in _REQUIREMENTS:
        try:
            out.append(f"{dist}=={metadata.version(dist)}")
        except metadata.PackageNotFoundError:  # pragma: no cover - all are dependencies
            out.append(dist)
    return out


def _unusable(uri: str, exc: Exception) -> RegistryError:
    return RegistryError(
        f"the MLflow store at {uri} cannot be used ({type(exc).__name__}: {str(exc)[:200]}); "
        "check VRU_MLFLOW_TRACKING_URI"
    )


class Registry:
    """Versions and aliases of one registered model, through an explicit tracking URI."""

    def __init__(self, tracking_uri: str, name: str = MODEL_NAME) -> None:
        self.uri = tracking_uri
        self.name = name
        try:
            self.client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
        except Exception as exc:  # an unsupported scheme, an unreadable store
            raise _unusable(tracking_uri, exc) from None

    def check(self) -> None:
        """Raise :class:`RegistryError` (naming the URI) unless the store answers."""
        try:
            self.client.search_registered_models(max_results=1)
        except Exception as exc:  # MLflow raises many types for a bad URI
            raise _unusable(self.uri, exc) from None

    # --- reading ---------------------------------------------------------------------------

    def versions(self) -> list[VersionInfo]:
        """Every version, oldest first (empty when nothing is registered)."""
        try:
            found = self.client.search_model_versions(f"name='{self.name}'")
        except Exception as exc:  # MLflow raises many types for a bad URI
            raise RegistryError(
                f"cannot read the versions of {self.name} from {self.uri} "
                f"({type(exc).__name__}: {str(exc)[:200]}); check VRU_MLFLOW_TRACKING_URI"
            ) from None
        if not found:
            return []
        aliases: dict[int, list[str]] = {}
        model = self.client.get_registered_model(self.name)
        for alias, version in model.aliases.items():
            aliases.setdefault(int(version), []).append(alias)
        out = [
            VersionInfo(
                version=int(v.version),
                aliases=tuple(sorted(aliases.get(int(v.version), []))),
                tags=dict(v.tags),
                run_id=str(v.run_id),
                created_ms=int(v.creation_timestamp or 0),
            )
            for v in found
        ]
        return sorted(out, key=lambda v: v.version)

    def version(self, version: int) -> VersionInfo:
        for v in self.versions():
            if v.version == version:
                return v
        raise RegistryError(
            f"{self.name} has no version {version}; `vru models list` shows the versions"
        )

    def alias(self, alias: str) -> VersionInfo | None:
        for v in self.versions():
            if alias in v.aliases:
                return v
        return None

    def previous(
        self, before: int | None = None, *, like: Mapping[str, str] | None = None
    ) -> VersionInfo | None:
        """The tripwire's yardstick: the latest version (before ``before``) that is not blocked,
        passed its performance gate and has the same values of the tags in ``like`` (e.g. spec
        hash, capacity, label timespan: a model judged on other terms is no yardstick)."""
        eligible = [
            v
            for v in self.versions()
            if not v.blocked
            and v.tags.get(PERFORMANCE_GATE_TAG) == "pass"
            and (before is None or v.version < before)
            and all(v.tags.get(k) == val for k, val in (like or {}).items())
        ]
        return eligible[-1] if eligible else None

    def load(self, ref: str | int, *, threads: int = 1) -> tuple[RiskModel, VersionInfo]:
        """Load a version by number or alias (pickle-free) with its registry record."""
        if isinstance(ref, int) or str(ref).isdigit():
            info = self.version(int(ref))
        else:
            found = self.alias(str(ref))
            if found is None:
                raise RegistryError(
                    f"no version of {self.name} has the alias {ref!r}; `vru models list` shows "
                    "the versions and their aliases"
                )
            info = found
        with tempfile.TemporaryDirectory(prefix="vru-model-") as tmp, tracking(self.uri):
            path = mlflow.artifacts.download_artifacts(
                artifact_uri=f"models:/{self.name}/{info.version}", dst_path=tmp
            )
            model = RiskModel.load(Path(path) / "artifacts" / ARTIFACT, threads=threads)
        return model, info

    # --- writing ---------------------------------------------------------------------------

    def log_and_register(
        self,
        model: RiskModel,
        *,
        sample: pd.DataFrame,
        tags: Mapping[str, str],
        state: str,
    ) -> VersionInfo:
        """Log ``model`` in the active MLflow run and register it as a new version.

        The RiskModel's plain files go in the run's ``risk_model`` artifact folder; a pyfunc
        ("models from code", nothing pickled) with an explicit signature goes beside it.
        """
        run = mlflow.active_run()
        if run is None:
            raise RuntimeError("log_and_register needs an active MLflow run")
        with tempfile.TemporaryDirectory(prefix="vru-model-") as tmp:
            folder = Path(tmp) / ARTIFACT
            model.save(folder)
            signature = infer_signature(sample, model.predict(sample))
            with warnings.catch_warnings():
                # MLflow 3.17 compares the example's column labels with a range when saving it
                warnings.filterwarnings("ignore", message="Operation with range is deprecated")
                logged = mlflow.pyfunc.log_model(
                    name="risk_model",
                    python_model=str(PYFUNC_FILE),
                    artifacts={ARTIFACT: str(folder)},
                    signature=signature,
                    input_example=sample.head(5),
                    pip_requirements=_requirements(),
                    code_paths=[str(PACKAGE_DIR)],
                )
        with suppress(MlflowException):  # already registered: fine
            self.client.create_registered_model(self.name)
        all_tags = {**tags, STATE_TAG: state, CONTENT_HASH_TAG: model.content_hash}
        # one call: a version never exists without its gate state
        created = self.client.create_model_version(
            self.name,
            logged.model_uri,
            run_id=run.info.run_id,
            tags=all_tags,
            model_id=logged.model_id,
        )
        return self.version(int(created.version))

    def describe(self, version: int, text: str) -> None:
        """Set ``version``'s description (shown by the MLflow UI's model page)."""
        try:
            self.client.update_model_version(self.name, str(version), description=text)
        except MlflowException as exc:
            raise _unusable(self.uri, exc) from exc

    def set_alias(self, alias: str, version: int) -> None:
        """Point ``alias`` at ``version``; refused for a version blocked as suspected leakage."""
        info = self.version(version)
        if info.blocked:
            raise RegistryError(
                f"{self.name} version {version} is '{info.state}' and can get no alias until the "
                "block is cleared through the ethics panel's review commands"
            )
        self.client.set_registered_model_alias(self.name, alias, str(version))

    def set_tag(self, version: int, key: str, value: str) -> None:
        self.client.set_model_version_tag(self.name, str(version), key, value)

    def download(self, run_id: str, path: str, dst: Path) -> Path:
        """Download one artifact (file or folder) of a run into ``dst``."""
        return Path(self.client.download_artifacts(run_id, path, str(dst)))

    def upload(self, run_id: str, local_dir: Path, artifact_path: str) -> None:
        """Log the files of ``local_dir`` as artifacts of a finished run."""
        self.client.log_artifacts(run_id, str(local_dir), artifact_path)

    def remove_alias(self, alias: str) -> None:
        with suppress(MlflowException):  # no such alias: nothing to remove
            self.client.delete_registered_model_alias(self.name, alias)

    def load_champion(
        self, log: ReviewLog, *, threads: int = 1, alias: str = CHAMPION
    ) -> tuple[RiskModel, VersionInfo]:
        """Load the ``champion`` (or another alias) for scoring, only if the review log
        approves that version.

        Refused (RegistryError) when no version has the alias, when the version's content hash
        has no approval or completed override in the review log (an alias set by hand), or when
        it was suspended after its approval.
        """
        info = self.alias(alias)
        if info is None:
            if alias != CHAMPION:
                raise RegistryError(
                    f"{self.name} has no version with the alias {alias!r}; see `vru models list`"
                )
            raise RegistryError(
                f"{self.name} has no champion: the ethics panel approves a candidate with "
                "`vru review approve --version N`"
            )
        status = service_status(log.entries(), info.version, info.tags.get(CONTENT_HASH_TAG, ""))
        if not status.usable:
            raise RegistryError(
                f"the {alias} (version {info.version}) cannot be used for scoring: {status.reason}"
            )
        model, info = self.load(info.version, threads=threads)
        if model.content_hash != info.tags.get(CONTENT_HASH_TAG):
            raise RegistryError(
                f"version {info.version}'s files do not match the content hash it was "
                "registered and approved with; re-register the model"
            )
        return model, info
