"""Declared proxies and the guardrails that keep protected data out of every feature.

A proxy (``proxies.yaml``) is an input the ethics panel has decided can never be a feature: a
column, or some of its values, that stands in for a protected or audit-only attribute or encodes
biased recording. :func:`guardrail_problems` refuses a feature that reads an audit-only attribute,
a declared proxy, or a field whose value changes after the event when the data cannot date it.
These rules run when a catalog is loaded, whenever a feature spec is constructed (including from
a registered model) and against the columns of the data a build reads.

Example
-------
>>> from vru_risk.features.definition import FeatureDef
>>> stops = FeatureDef(name="pol_all_365d", source="police_contacts", family="police",
...                    aggregate="count", window=365, impute="zero",
...                    phrase="{n} police contacts in the last year")
>>> stop_search = Proxy(name="stop_and_search", source="police_contacts", column="role",
...                     values=("stop_search",), reason="biased recording", decided_by="panel")
>>> len(guardrail_problems([stops], [stop_search]))
1
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from pydantic import BaseModel, ConfigDict

from vru_risk.data.contract import AUDIT_ONLY_COLUMNS
from vru_risk.features.definition import FIELD_KNOWLEDGE_DATES, FeatureDef


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


def merge_proxies(*lists: Iterable[Proxy]) -> tuple[Proxy, ...]:
    merged: dict[tuple[str, str, tuple[str, ...] | None], Proxy] = {}
    for proxy in (p for lst in lists for p in lst):
        merged.setdefault((proxy.source, proxy.column, proxy.values), proxy)
    return tuple(merged.values())


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
