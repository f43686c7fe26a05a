"""A feature's declaration: *what* is counted x *how* x *over which window*, and its shape rules.

A :class:`FeatureDef` is one entry of ``catalog.yaml`` with its named value sets resolved: a
source table and a row filter (``where``), an aggregate, a window of days (or ``all``), an
imputation rule, a phrase, a family and whether it is actionable. :func:`structure_problems`
lists what is wrong with its shape (unknown columns or values, an aggregate without what it
needs); the guardrails about protected data are in :mod:`vru_risk.features.proxies`.

Example
-------
>>> f = FeatureDef(name="ae_visits_90d", source="ae_visits", family="ae_visits",
...                aggregate="count", window=90, impute="zero",
...                phrase="{n} A&E visits in the last 90 days")
>>> structure_problems(f), f.lookback_days
([], 90)
"""

from __future__ import annotations

import re
from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from vru_risk.data.contract import DERIVED_COLUMNS, TABLES, Kind
from vru_risk.features.phrases import VALUE_PLACEHOLDERS

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


def structure_problems(f: FeatureDef) -> list[str]:
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
    if (
        f.aggregate == "sum"
        and f.value in table.column_names
        and table.column(f.value).kind is Kind.FLOAT
        and not table.column(f.value).sums_exactly
    ):
        p.append(
            f"{where}: a sum of {f.value}, a float, is inexact: it depends on the order rows are "
            "added, which differs between DuckDB and Spark (docs/portability.md); count rows "
            "(aggregate: count), sum a whole-number column, or declare the column's step in the "
            "data contract"
        )
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
    if not names or not names <= set(VALUE_PLACEHOLDERS):
        p.append(
            f"{where}: phrase must hold the value as one of "
            f"{', '.join('{' + n + '}' for n in VALUE_PLACEHOLDERS)}"
        )
    return p
