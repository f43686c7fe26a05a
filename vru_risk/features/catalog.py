"""The feature catalog: declarations in, a frozen, hashed :class:`FeatureSpec` out.

A feature is data: *what* is counted (a source table and a row filter) x *how* (an aggregate) x
*over which window*, with an imputation rule, a plain-English phrase and a family. The code that
computes features (:mod:`vru_risk.features.build`) is generic over these declarations.

The guardrails of DESIGN.md are enforced here, when a catalog is loaded and again whenever a
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
import math
import re
from collections.abc import Iterable, Mapping
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Final, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from vru_risk.data.contract import AUDIT_ONLY_COLUMNS, DERIVED_COLUMNS, TABLES, Kind
from vru_risk.pydantic_errors import error_lines

Aggregate = Literal["count", "sum", "max", "distinct", "rate", "change", "days_since_last", "age"]
Impute = Literal["zero", "none"]
FilterValue = str | bool


#: Fields whose value changes after the event: usable only where their own knowledge date is
#: supplied, and then only once known (value column -> its knowledge-date column).
FIELD_KNOWLEDGE_DATES: Final[dict[tuple[str, str], str]] = {
    ("police_contacts", "outcome"): "outcome_known_date",
}

#: Tables that are never a source of risk features.
NOT_FEATURE_SOURCES: Final = ("interventions",)

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_PLACEHOLDERS: Final = ("n", "pct", "pp", "days", "years", "value")


class CatalogError(ValueError):
    """A catalog (or feature list) that breaks a rule; ``problems`` lists every one."""

    def __init__(self, problems: Iterable[str], *, origin: str = "feature catalog") -> None:
        self.problems = tuple(problems)
        listed = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{origin} refused ({len(self.problems)} problem(s)):\n{listed}")


class Proxy(BaseModel):
    """A declared proxy: an input the ethics panel has decided can never be a feature."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    source: str
    column: str
    values: tuple[str, ...] | None = None
    reason: str
    decided_by: str


class ProxyList(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    proxies_version: int
    proxies: tuple[Proxy, ...]


class FeatureDef(BaseModel):
    """One declared feature, with named value sets already resolved."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Annotated[str, Field(pattern=_NAME.pattern)]
    source: str
    family: Annotated[str, Field(pattern=_NAME.pattern)]
    aggregate: Aggregate
    where: dict[str, tuple[FilterValue, ...]] = Field(default_factory=dict)
    denominator: dict[str, tuple[FilterValue, ...]] | None = None
    value: str | None = None
    window: int | Literal["all"]
    baseline_days: int | None = None
    impute: Impute
    phrase: str
    #: what to say when the value is missing (impute: none), e.g. "no exclusion on record"
    missing_phrase: str | None = None
    actionable: bool = False

    @property
    def columns_read(self) -> frozenset[str]:
        cols = set(self.where) | set(self.denominator or {})
        if self.value is not None:
            cols.add(self.value)
        if self.aggregate == "age":
            cols.add("birth_date")
        return frozenset(cols)

    @property
    def lookback_days(self) -> int | None:
        """How far back event dates may matter (None = all history)."""
        if self.window == "all":
            return None
        return self.window + (self.baseline_days or 0)

    def describe_window(self) -> str:
        return "all history" if self.window == "all" else f"{self.window} days"


def _structure_problems(f: FeatureDef) -> list[str]:
    """Rules about one feature's shape (not about protected data)."""
    p: list[str] = []
    where = f"feature {f.name!r}"
    if f.source not in TABLES:
        return [f"{where}: unknown source {f.source!r}; sources: {', '.join(TABLES)}"]
    if f.source in NOT_FEATURE_SOURCES:
        return [f"{where}: {f.source} records support given (treatment), never a risk feature"]
    table = TABLES[f.source]
    derived = DERIVED_COLUMNS.get(f.source, {})
    for col in sorted(f.columns_read):
        if col not in table.column_names and col not in derived:
            p.append(f"{where}: {f.source} has no column {col!r}")
    for label, flt in (("where", f.where), ("denominator", f.denominator or {})):
        for col, values in flt.items():
            if col in table.column_names and table.column(col).categories:
                bad = [v for v in values if v not in table.column(col).categories]
                if bad:
                    p.append(f"{where}: {label} {col} has unknown values {bad}")
            if not values:
                p.append(f"{where}: {label} {col} lists no values")
    needs_value = f.aggregate in ("sum", "max", "distinct")
    if needs_value and f.value is None:
        p.append(f"{where}: aggregate {f.aggregate} needs `value`")
    numeric = (Kind.FLOAT, Kind.INT)
    if (
        f.aggregate in ("sum", "max")
        and f.value in table.column_names
        and table.column(f.value).kind not in numeric
    ):
        p.append(f"{where}: {f.aggregate} needs a numeric `value`; {f.value} is not")
    if not needs_value and f.value is not None:
        p.append(f"{where}: aggregate {f.aggregate} takes no `value`")
    if f.aggregate in ("rate", "change") and not f.denominator:
        p.append(f"{where}: aggregate {f.aggregate} needs a `denominator` filter")
    if f.aggregate not in ("rate", "change") and f.denominator:
        p.append(f"{where}: only rate and change take a `denominator`")
    if f.aggregate == "change" and (f.baseline_days is None or f.window == "all"):
        p.append(f"{where}: change needs a day window and `baseline_days`")
    if f.aggregate != "change" and f.baseline_days is not None:
        p.append(f"{where}: only change takes `baseline_days`")
    if (f.aggregate == "age") != (f.source == "people"):
        p.append(f"{where}: the only feature of people is the age aggregate")
    if isinstance(f.window, int) and f.window <= 0:
        p.append(f"{where}: window must be a positive number of days or 'all'")
    if f.missing_phrase is not None and f.impute == "zero":
        p.append(f"{where}: missing_phrase is only for impute: none (a zero is never missing)")
    if f.impute == "zero" and f.aggregate in ("rate", "change", "days_since_last", "age"):
        p.append(
            f"{where}: impute zero is wrong for {f.aggregate} (nothing found is not a true 0); "
            "use impute: none"
        )
    names = set(re.findall(r"{(\w+)}", f.phrase))
    if not names or not names <= set(_PLACEHOLDERS):
        p.append(
            f"{where}: phrase must hold the value as one of "
            f"{', '.join('{' + n + '}' for n in _PLACEHOLDERS)}"
        )
    return p


def guardrail_problems(
    features: Iterable[FeatureDef],
    proxies: Iterable[Proxy],
    *,
    available_columns: Mapping[str, Iterable[str]] | None = None,
) -> list[str]:
    """Every reason the features may not be used: audit-only attributes, proxies, unknown fields.

    Parameters
    ----------
    features
        Feature definitions to check.
    proxies
        Declared proxies (``features/proxies.yaml``).
    available_columns
        Columns present per source in the data; when given, a field with its own knowledge date
        (police ``outcome``) is refused unless that date's column is present.
    """
    problems: list[str] = []
    proxy_list = tuple(proxies)
    for f in features:
        where = f"feature {f.name!r}"
        audit = sorted(f.columns_read & set(AUDIT_ONLY_COLUMNS))
        if audit:
            problems.append(
                f"{where} uses audit-only attribute(s) {', '.join(audit)}: protected "
                "characteristics are for fairness audits only and can never be model features"
            )
        for proxy in proxy_list:
            if proxy.source != f.source:
                continue
            if proxy.values is None:
                if proxy.column in f.columns_read:
                    problems.append(
                        f"{where} uses {proxy.source}.{proxy.column}, declared proxy "
                        f"{proxy.name!r} in proxies.yaml: {proxy.reason}"
                    )
                continue
            selections = [f.where] + ([f.denominator] if f.denominator else [])
            for flt in selections:
                allowed = flt.get(proxy.column)
                if allowed is None or set(map(str, allowed)) & set(proxy.values):
                    problems.append(
                        f"{where} can count {proxy.source} rows with {proxy.column} in "
                        f"{list(proxy.values)}, declared proxy {proxy.name!r} in proxies.yaml "
                        f"(filter {proxy.column} to other values): {proxy.reason}"
                    )
                    break
        if available_columns is not None:
            present = set(available_columns.get(f.source, ()))
            for (source, column), known in FIELD_KNOWLEDGE_DATES.items():
                if source == f.source and column in f.columns_read and known not in present:
                    problems.append(
                        f"{where} uses {source}.{column}, which changes after the event; "
                        f"the data has no {known}, so it cannot be used (supply {known} or drop "
                        "the feature)"
                    )
    return problems


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
        proxies = _merge_proxies(load_proxies(), self.proxies)
        problems = guardrail_problems((f.definition for f in self.features), proxies)
        for f in self.features:
            d = f.definition
            problems += _structure_problems(d)
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
        return _merge_proxies(packaged, ProxyList.model_validate(doc).proxies)
    except ValidationError as exc:
        raise CatalogError(error_lines(exc), origin=origin) from None


def _merge_proxies(*lists: Iterable[Proxy]) -> tuple[Proxy, ...]:
    merged: dict[tuple[str, str, tuple[str, ...] | None], Proxy] = {}
    for proxy in (p for lst in lists for p in lst):
        merged.setdefault((proxy.source, proxy.column, proxy.values), proxy)
    return tuple(merged.values())


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


def load_catalog(
    path: Path | None = None,
    *,
    proxies_path: Path | None = None,
    available_columns: Mapping[str, Iterable[str]] | None = None,
) -> Catalog:
    """Load and check a feature catalog (the packaged ``catalog.yaml`` by default).

    Every problem is collected: unknown sources, columns or values, malformed aggregates, and the
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
            f = FeatureDef.model_validate(item)
        except ValidationError as exc:
            problems += error_lines(exc, prefix=f"{where}: ")
            continue
        problems += _structure_problems(f)
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


def render_phrase(info: FeatureInfo | FeatureDef, value: float) -> str:
    """The feature's plain-English phrase with ``value`` in it.

    A count of exactly one is said in the singular ("1 suspension", "1 day ago").

    >>> spec = load_catalog().spec()
    >>> render_phrase(spec.by_name("att_rate_90d"), 0.712)
    'attended 71% of school sessions in the last 90 days'
    >>> render_phrase(spec.by_name("pol_suspect_365d"), 1.0)
    '1 police contact as a suspect in the last year'
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return info.missing_phrase or f"{info.name}: not known"
    text = info.phrase.format(
        n=f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}",
        pct=f"{value:.0%}",
        pp=f"{value * 100:+.0f}",
        days=f"{value:,.0f}",
        years=f"{math.floor(value):d}",  # completed years, as everywhere else
        value=f"{value:g}",
    )
    if float(value) == 1.0 and re.search(r"{(n|days)}", info.phrase):
        text = _SINGULAR.sub(lambda m: m.group(1) + m.group(2)[:-1], text, count=1)
    return text


#: After a count of one: "1 police contacts" -> "1 police contact" (the first plural noun at most
#: three words after the number).
_SINGULAR = re.compile(
    r"(\b1 (?:[A-Za-z&-]+ ){0,3}?)(suspensions|contacts|exclusions|visits|sessions|episodes|"
    r"offences|days|kinds|times)\b"
)
