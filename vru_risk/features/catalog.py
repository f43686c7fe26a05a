"""The feature catalog: declarations in, a frozen, hashed :class:`FeatureSpec` out.

A feature is data: *what* is counted (a source table and a row filter) x *how* (an aggregate) x
*over which window*, with an imputation rule, a plain-English phrase and a family
(:mod:`vru_risk.features.definition`). The code that computes features
(:mod:`vru_risk.features.compile`, :mod:`vru_risk.features.build`) is generic over these
declarations.

This module reads ``catalog.yaml`` (with its phrases' windows said in words by
:mod:`vru_risk.features.phrases`) into a :class:`Catalog`, and makes the :class:`FeatureSpec`
that models are trained and served on. The guardrails of DESIGN.md
(:mod:`vru_risk.features.proxies`) are enforced when a catalog is loaded and again whenever a
:class:`FeatureSpec` is constructed (including from a registered model's JSON): no feature may
read an audit-only attribute or a declared proxy, and a field with its own knowledge date (police
``outcome``) needs that date in the data.

Example
-------
>>> catalog = load_catalog()
>>> spec = catalog.spec()
>>> spec.names[:2]
('att_rate_30d', 'att_rate_90d')
>>> len(spec.hash)
64
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any, Final, Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from vru_risk.features.definition import Aggregate, FeatureDef, structure_problems
from vru_risk.features.phrases import expand_phrase, phrase_problems
from vru_risk.features.proxies import Proxy, ProxyList, guardrail_problems, merge_proxies
from vru_risk.pydantic_errors import error_lines


class CatalogError(ValueError):
    """A catalog (or feature list) that breaks a rule; ``problems`` lists every one."""

    def __init__(self, problems: Iterable[str], *, origin: str = "feature catalog") -> None:
        self.problems = tuple(problems)
        listed = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{origin} refused ({len(self.problems)} problem(s)):\n{listed}")


class FeatureInfo(BaseModel):
    """What serving and explanations need to know of one model input."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    dtype: Literal["float64"] = "float64"
    source: str
    family: str
    window: int | Literal["all"]
    aggregate: Aggregate
    phrase: str
    missing_phrase: str | None = None
    actionable: bool
    definition: FeatureDef


class FeatureSpec(BaseModel):
    """The frozen, ordered list of model inputs; identity = sha256 of its canonical JSON.

    Constructing one re-runs the guardrails, so a spec holding an audit-only attribute or a
    declared proxy cannot exist, even when read back from a registered model.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    catalog_version: int
    features: tuple[FeatureInfo, ...]
    reporting_lag_days: dict[str, int]
    proxies: tuple[Proxy, ...]

    @model_validator(mode="after")
    def _guardrails(self) -> FeatureSpec:
        proxies = merge_proxies(load_proxies(), self.proxies)
        problems = guardrail_problems((f.definition for f in self.features), proxies)
        for f in self.features:
            d = f.definition
            problems += structure_problems(d)
            derived = (
                d.name,
                d.source,
                d.family,
                d.window,
                d.aggregate,
                d.phrase,
                d.missing_phrase,
                d.actionable,
            )
            shown = (
                f.name,
                f.source,
                f.family,
                f.window,
                f.aggregate,
                f.phrase,
                f.missing_phrase,
                f.actionable,
            )
            if derived != shown:
                problems.append(f"feature {f.name!r}: its description differs from its definition")
        names = [f.name for f in self.features]
        problems += [
            f"feature {n!r} is listed twice"
            for n in sorted({x for x in names if names.count(x) > 1})
        ]
        if problems:
            raise CatalogError(problems, origin="feature spec")
        return self

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.features)

    @property
    def sources(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(f.source for f in self.features))

    def canonical_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))

    @cached_property
    def hash(self) -> str:
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()

    def by_name(self, name: str) -> FeatureInfo:
        for f in self.features:
            if f.name == name:
                return f
        raise KeyError(name)


class Catalog(BaseModel):
    """A validated catalog: features with named sets resolved, and the proxies that apply."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    catalog_version: int
    features: tuple[FeatureDef, ...]
    proxies: tuple[Proxy, ...]

    def spec(self, reporting_lag_days: Mapping[str, int] | None = None) -> FeatureSpec:
        """The :class:`FeatureSpec` of this catalog under the given reporting lags."""
        lags = dict(DEFAULT_REPORTING_LAG_DAYS)
        lags.update(reporting_lag_days or {})
        return FeatureSpec(
            catalog_version=self.catalog_version,
            features=tuple(
                FeatureInfo(
                    name=f.name,
                    source=f.source,
                    family=f.family,
                    window=f.window,
                    aggregate=f.aggregate,
                    phrase=f.phrase,
                    missing_phrase=f.missing_phrase,
                    actionable=f.actionable,
                    definition=f,
                )
                for f in self.features
            ),
            reporting_lag_days=dict(sorted(lags.items())),
            proxies=self.proxies,
        )


#: Days between an event and the VRU learning of it, per source, used where the data has no
#: ``known_date`` column. Conservative defaults; override per experiment.
DEFAULT_REPORTING_LAG_DAYS: Final[dict[str, int]] = {
    "attendance": 7,
    "exclusions": 14,
    "police_contacts": 14,
    "ae_visits": 31,
    "interventions": 7,
}


def _read_yaml(path: Path | None, package_file: str) -> tuple[str, Any]:
    if path is None:
        text = resources.files("vru_risk.features").joinpath(package_file).read_text("utf-8")
        return package_file, yaml.safe_load(text)
    try:
        return str(path), yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CatalogError([f"{path} does not exist"], origin=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogError(
            [f"{path} cannot be read as UTF-8 text: {exc}"], origin=str(path)
        ) from None
    except yaml.YAMLError as exc:
        raise CatalogError([f"{path} is not valid YAML: {exc}"], origin=str(path)) from None


def load_proxies(path: Path | None = None) -> tuple[Proxy, ...]:
    """Read the declared proxies: the packaged ``proxies.yaml`` plus, if given, ``path``.

    A file given here can only *add* proxies: the packaged, panel-approved list always applies.
    """
    origin, doc = _read_yaml(None, "proxies.yaml")
    try:
        packaged = ProxyList.model_validate(doc).proxies
    except ValidationError as exc:
        raise CatalogError(error_lines(exc), origin=origin) from None
    if path is None:
        return packaged
    origin, doc = _read_yaml(path, "proxies.yaml")
    try:
        return merge_proxies(packaged, ProxyList.model_validate(doc).proxies)
    except ValidationError as exc:
        raise CatalogError(error_lines(exc), origin=origin) from None


def _resolve(flt: Any, sets: Mapping[str, list[Any]], where: str, problems: list[str]) -> Any:
    if flt is None:
        return None
    if not isinstance(flt, dict):
        problems.append(f"{where}: a filter maps columns to lists of values")
        return {}
    out: dict[str, list[Any]] = {}
    for col, values in flt.items():
        if isinstance(values, str):
            if values not in sets:
                problems.append(f"{where}: {col} refers to unknown value set {values!r}")
                continue
            values = sets[values]
        out[str(col)] = list(values) if isinstance(values, list) else [values]
    return out


def _said(f: FeatureDef) -> FeatureDef:
    """``f`` with the window and baseline of its phrases said in words."""
    return f.model_copy(
        update={
            "phrase": expand_phrase(f.phrase, window=f.window, baseline_days=f.baseline_days),
            "missing_phrase": None
            if f.missing_phrase is None
            else expand_phrase(f.missing_phrase, window=f.window, baseline_days=f.baseline_days),
        }
    )


def load_catalog(
    path: Path | None = None,
    *,
    proxies_path: Path | None = None,
    available_columns: Mapping[str, Iterable[str]] | None = None,
) -> Catalog:
    """Load and check a feature catalog (the packaged ``catalog.yaml`` by default).

    A phrase's ``{window}`` (and ``{baseline}``) are said in words from the feature's window
    (:mod:`vru_risk.features.phrases`). Every problem is collected: unknown sources, columns or
    values, malformed aggregates, phrases that say another window than the feature's, and the
    guardrails (audit-only attributes, declared proxies, fields without their own knowledge date
    when ``available_columns`` is given). Raises :class:`CatalogError` listing them all.
    """
    origin, doc = _read_yaml(path, "catalog.yaml")
    proxies = load_proxies(proxies_path)
    problems: list[str] = []
    if not isinstance(doc, dict) or not isinstance(doc.get("features"), list):
        raise CatalogError(["expected a mapping with a `features` list"], origin=origin)
    sets = doc.get("sets") or {}
    if not isinstance(sets, dict) or not all(isinstance(v, list) for v in sets.values()):
        problems.append("`sets` must map names to lists of values")
        sets = {}
    version = doc.get("catalog_version")
    if not isinstance(version, int) or isinstance(version, bool):
        problems.append(f"catalog_version must be a whole number, not {version!r}")
        version = 0
    if not doc["features"]:
        problems.append("the catalog declares no features")
    features: list[FeatureDef] = []
    for i, raw in enumerate(doc["features"]):
        name = raw.get("name", f"#{i + 1}") if isinstance(raw, dict) else f"#{i + 1}"
        where = f"feature {name!r}"
        if not isinstance(raw, dict):
            problems.append(f"{where}: expected a mapping")
            continue
        item = dict(raw)
        item["where"] = _resolve(item.get("where") or {}, sets, where, problems)
        item["denominator"] = _resolve(item.get("denominator"), sets, where, problems)
        try:
            f = _said(FeatureDef.model_validate(item))
        except ValidationError as exc:
            problems += error_lines(exc, prefix=f"{where}: ")
            continue
        problems += structure_problems(f)
        problems += phrase_problems(
            f.name,
            window=f.window,
            baseline_days=f.baseline_days,
            phrase=f.phrase,
            missing_phrase=f.missing_phrase,
        )
        features.append(f)
    names = [f.name for f in features]
    problems += [
        f"feature {n!r} is declared twice" for n in sorted({n for n in names if names.count(n) > 1})
    ]
    problems += guardrail_problems(features, proxies, available_columns=available_columns)
    if problems:
        raise CatalogError(problems, origin=origin)
    return Catalog(
        catalog_version=version,
        features=tuple(features),
        proxies=proxies,
    )
