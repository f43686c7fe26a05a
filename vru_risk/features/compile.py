"""Compile the feature catalog to relational queries, one grouped query per source.

For every source, one query joins the examples to the source's rows *known on or before as_of*
and computes all of that source's features at once with filtered aggregates: each distinct row
filter and window is evaluated once per joined row as a boolean column, then every feature is a
filtered aggregate over those columns. Where all of a source's windows are bounded, the join is on
(person, calendar month), so an example meets only the months its windows reach.

All SQL is DuckDB dialect written to be engine-portable (filtered aggregates, explicit casts to
DOUBLE for every ratio, no engine-specific date functions); :func:`portable_sql` transpiles it to
Spark SQL with the pinned SQLGlot, and the tests check that every query does. Every query is
checked as it is compiled (:mod:`vru_risk.data.portable`): a form that DuckDB and Spark answer
differently raises :class:`~vru_risk.data.portable.NonPortableSQLError` naming the feature.

Example
-------
>>> from vru_risk.features.catalog import load_catalog
>>> sql = feature_sql(load_catalog().spec(), "exclusions", "examples")
>>> "count(*) FILTER" in sql
True
"""

from __future__ import annotations

from collections.abc import Mapping

import sqlglot

from vru_risk.data.portable import NonPortableSQLError, check_portable
from vru_risk.data.sql import quote_ident, sql_value
from vru_risk.features.catalog import CatalogError, FeatureSpec
from vru_risk.features.definition import FIELD_KNOWLEDGE_DATES, FeatureDef

_DAYS_AGO = "date_diff('day', s.event_date, e.as_of)"
_MONTH = "(year({0}) * 12 + month({0}))"


class _Compiler:
    """Compiles the features of one source into a two-level query.

    The inner level joins each example to the source rows known on or before its as_of and
    evaluates every distinct row filter and window *once* per joined row as a boolean column;
    the outer level is one filtered aggregate per feature over those columns.
    """

    def __init__(self, source: str) -> None:
        self.source = source
        self.columns: dict[str, str] = {}  # SQL -> alias

    def column(self, sql: str, prefix: str) -> str:
        if sql not in self.columns:
            self.columns[sql] = f"{prefix}{len(self.columns)}"
        return self.columns[sql]

    def where(self, flt: Mapping[str, tuple[str | bool, ...]] | None) -> str:
        """A row filter; a field with its own knowledge date counts only once known."""
        terms = []
        for col, values in sorted((flt or {}).items()):
            term = f"s.{quote_ident(col)} IN ({', '.join(sql_value(v) for v in values)})"
            known = FIELD_KNOWLEDGE_DATES.get((self.source, col))
            if known is not None:
                term = f"({term} AND s.{known} <= e.as_of)"
            terms.append(term)
        return self.column(" AND ".join(terms), "f_") if terms else "TRUE"

    def window(self, days: int | str, offset: int = 0) -> str:
        """Events dated in (as_of - offset - days, as_of - offset]; days_ago = as_of - date."""
        if days == "all":
            return "TRUE" if offset == 0 else self.column(f"{_DAYS_AGO} >= {offset}", "w_")
        lower = f"{_DAYS_AGO} >= {offset} AND " if offset else ""
        return self.column(f"{lower}{_DAYS_AGO} < {offset + int(days)}", "w_")

    @staticmethod
    def rate(num: str, den: str) -> str:
        return (
            f"CAST(count(*) FILTER (WHERE {num}) AS DOUBLE) / "
            f"CAST(nullif(count(*) FILTER (WHERE {den}), 0) AS DOUBLE)"
        )

    def aggregate(self, f: FeatureDef) -> str:
        """The aggregate expression of one feature over the inner query's columns."""
        win = self.window(f.window)
        cond = f"{self.where(f.where)} AND {win}"
        value = f"v_{f.value}"
        match f.aggregate:
            case "count":
                return f"CAST(count(*) FILTER (WHERE {cond}) AS DOUBLE)"
            case "sum":
                return f"CAST(sum({value}) FILTER (WHERE {cond}) AS DOUBLE)"
            case "max":
                return f"CAST(max({value}) FILTER (WHERE {cond}) AS DOUBLE)"
            case "distinct":
                return f"CAST(count(DISTINCT {value}) FILTER (WHERE {cond}) AS DOUBLE)"
            case "rate":
                return self.rate(cond, f"{self.where(f.denominator)} AND {win}")
            case "change":
                assert isinstance(f.window, int)
                assert f.baseline_days is not None
                base = self.window(f.baseline_days, offset=f.window)
                num, den = self.where(f.where), self.where(f.denominator)
                now = self.rate(cond, f"{den} AND {win}")
                before = self.rate(f"{num} AND {base}", f"{den} AND {base}")
                return f"({now}) - ({before})"
            case "days_since_last":
                return f"CAST(min(days_ago) FILTER (WHERE {cond}) AS DOUBLE)"
            case "age":
                raise ValueError("age is computed from people, not from an event source")


def _value_column(source: str, value: str) -> str:
    """A value read by an aggregate; a field with its own knowledge date only once known."""
    known = FIELD_KNOWLEDGE_DATES.get((source, value))
    column = f"s.{quote_ident(value)}"
    if known is None:
        return column
    return f"CASE WHEN s.{known} <= e.as_of THEN {column} END"


def aggregate_sql(f: FeatureDef) -> str:
    """The aggregate of one feature alone (for documentation and tests)."""
    compiler = _Compiler(f.source)
    return compiler.aggregate(f)


def feature_sql(spec: FeatureSpec, source: str, examples: str) -> str:
    """One grouped query computing every feature of ``source`` for the examples."""
    defs = [f.definition for f in spec.features if f.source == source]
    compiler = _Compiler(source)
    aggregates = [f"{compiler.aggregate(f)} AS {quote_ident(f.name)}" for f in defs]
    lookbacks = [f.lookback_days for f in defs]
    values = sorted({f.value for f in defs if f.value is not None})
    inner = ",\n    ".join(
        [
            "e.person_id",
            "e.as_of",
            f"{_DAYS_AGO} AS days_ago",
            *(f"{_value_column(source, v)} AS v_{v}" for v in values),
            *(f"{sql} AS {alias}" for sql, alias in compiler.columns.items()),
        ]
    )
    if all(lb is not None for lb in lookbacks):
        # Bounded windows: join on (person, calendar month) so that each example meets only
        # the rows of the months its windows can reach, not the person's whole history.
        lookback = max(lb or 0 for lb in lookbacks)
        since = f"CAST(as_of - INTERVAL {lookback} DAY AS DATE)"
        examples_side = (
            f"(SELECT person_id, as_of, since, month FROM (SELECT person_id, as_of, since, "
            f"unnest(generate_series({_MONTH.format('since')}, {_MONTH.format('as_of')})) "
            f"AS month FROM (SELECT person_id, as_of, {since} AS since FROM {examples})))"
        )
        source_side = f"(SELECT *, {_MONTH.format('event_date')} AS month FROM src_{source})"
        on = "s.person_id = e.person_id AND s.month = e.month AND s.event_date > e.since"
    else:
        examples_side = examples
        source_side = f"src_{source}"
        on = "s.person_id = e.person_id"
    outer = ",\n  ".join(aggregates)
    sql = f"""
SELECT person_id, as_of,
  {outer}
FROM (
  SELECT
    {inner}
  FROM {examples_side} e
  JOIN {source_side} s ON {on}
   AND s.known_date <= e.as_of AND s.event_date <= e.as_of
) j
GROUP BY person_id, as_of
"""
    return check_portable(sql, f"the features of {source}")


def age_sql(spec: FeatureSpec, examples: str) -> str:
    """The age features (completed years as a fraction) of the examples, from people."""
    defs = [f.definition for f in spec.features if f.aggregate == "age"]
    cols = "".join(
        f", CAST(date_diff('day', p.birth_date, e.as_of) AS DOUBLE) / 365.25 AS "
        f"{quote_ident(f.name)}"
        for f in defs
    )
    sql = (
        f"SELECT e.person_id, e.as_of{cols} FROM {examples} e "
        "JOIN src_people p ON p.person_id = e.person_id"
    )
    return check_portable(sql, "the features of people")


def compile_features(spec: FeatureSpec) -> dict[str, str]:
    """Per source, the query of its features, checked portable before any data is read.

    A feature whose SQL DuckDB and Spark would answer differently (:mod:`vru_risk.data.portable`)
    is refused as a :class:`CatalogError` naming it, the form and what to write instead.
    """
    try:
        return {
            source: age_sql(spec, "examples")
            if source == "people"
            else feature_sql(spec, source, "examples")
            for source in spec.sources
        }
    except NonPortableSQLError as exc:
        raise CatalogError(
            [f.render() for f in exc.findings], origin="feature spec (not portable to Spark)"
        ) from None


def portable_sql(sql: str, dialect: str = "spark") -> str:
    """Transpile one of these DuckDB queries to another engine's dialect with SQLGlot."""
    return ";\n".join(sqlglot.transpile(sql, read="duckdb", write=dialect))
