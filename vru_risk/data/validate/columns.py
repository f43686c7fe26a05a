"""How each column of a table is read and which columns a table must and may have.

:func:`typed_column` gives, for a contract column stored as a given DuckDB type, the SQL of its
typed value (NULL where the raw value is invalid) and of the test for an invalid value, with the
message and hint a problem shows. The loader of a validated folder (:mod:`vru_risk.data.load`)
uses the same expressions, so validation and feature building read every value the same way.

:func:`column_problems` reports missing required columns and columns the contract does not have
(an audit-only attribute outside ``people`` with its own message).

Example
-------
>>> from vru_risk.data.contract import TABLES
>>> typed_column(TABLES["people"].column("fsm"), "VARCHAR").invalid_message
'not a boolean; accepted: true, false, 1, 0 (any case)'
"""

from __future__ import annotations

from dataclasses import dataclass

from vru_risk.data.contract import AUDIT_ONLY_COLUMNS, BOOL_FALSE, BOOL_TRUE, Column, Kind, Table
from vru_risk.data.sql import quote_ident, quote_literal
from vru_risk.data.validate.problems import Problem

_INT_TYPES = frozenset(
    {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT"}
    | {"UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT"}
)
_FLOAT_TYPES = frozenset(("FLOAT", "DOUBLE", "REAL"))


def _is_int_type(t: str) -> bool:
    return t in _INT_TYPES


def _is_numeric_type(t: str) -> bool:
    return t in _INT_TYPES or t in _FLOAT_TYPES or t.startswith("DECIMAL")


@dataclass(frozen=True)
class TypedColumn:
    """How one column is read: the typed expression (NULL when invalid) and its checks."""

    typed: str
    invalid: str | None  # raw present but not a valid value of the kind
    invalid_message: str
    invalid_hint: str
    wrong_type: bool = False  # the stored type can never hold this kind


#: ISO dates and local date-times as the contract writes them (RE2). The year 0000 is refused
#: (DuckDB would read it as 1 BC), and so are hours past 23 (DuckDB reads 24:00 as the next
#: day's midnight), minutes and seconds past 59; impossible days fail the parse that follows.
DATE_PATTERN = "(000[1-9]|00[1-9]\\d|0[1-9]\\d{2}|[1-9]\\d{3})-\\d{2}-\\d{2}"
DATETIME_PATTERN = DATE_PATTERN + "[T ]([01]\\d|2[0-3]):[0-5]\\d(:[0-5]\\d(\\.\\d{1,6})?)?"


WHOLE_PATTERN = "[+-]?\\d{1,9}"


def full_match(column: str, pattern: str) -> str:
    """SQL true where the whole of ``column`` matches ``pattern`` (RE2 and Java regex alike).

    ``regexp_matches`` anchored at both ends (Spark's ``RLIKE`` once transpiled):
    ``regexp_full_match`` has no Spark counterpart. ``\\z`` (the very end) and not ``$``, which
    in Java also matches before a final line break.
    """
    return f"regexp_matches({column}, '^(?:{pattern})\\z')"


def finite(value: str) -> str:
    """SQL true where the number ``value`` is neither infinite nor NaN, on DuckDB and Spark:
    NaN sorts above infinity on both (and ``isfinite`` does not exist on Spark)."""
    return f"abs({value}) < CAST('Infinity' AS DOUBLE)"


def _expected(col: Column) -> str:
    return {
        Kind.STRING: "text",
        Kind.DATE: "an ISO date (YYYY-MM-DD)",
        Kind.DATETIME: "an ISO date and time (YYYY-MM-DDTHH:MM:SS)",
        Kind.CATEGORY: "one of " + ", ".join(col.categories),
        Kind.BOOL: "true or false",
        Kind.FLOAT: "a number",
        Kind.INT: "a whole number",
    }[col.kind]


def typed_column(col: Column, stored: str) -> TypedColumn:
    """How to read ``col`` stored as DuckDB type ``stored``: SQL for the typed value and checks.

    The typed expression is NULL where the raw value is not valid; the loader of a validated
    folder (:mod:`vru_risk.data.load`) uses the same expressions, so validation and feature
    building read every value the same way.
    """
    c = quote_ident(col.name)
    text = stored == "VARCHAR"
    wrong = TypedColumn(
        "NULL",
        None,
        f"is stored as {stored}, expected {_expected(col)}",
        "store the column as text or the matching Parquet type (see docs/data-contract.md)",
        wrong_type=True,
    )
    if col.kind is Kind.STRING:
        return TypedColumn(c, None, "", "") if text else wrong
    if col.kind is Kind.CATEGORY:
        if not text:
            return wrong
        allowed = ", ".join(quote_literal(v) for v in col.categories)
        return TypedColumn(
            f"CASE WHEN {c} IN ({allowed}) THEN {c} END",
            f"{c} NOT IN ({allowed})",
            "unknown category value; allowed: " + ", ".join(col.categories),
            "map the source's codes to the contract's values (docs/data-contract.md); values "
            "are lower case and exact",
        )
    # Year 0 and earlier (DuckDB reads '0000-01-01' as 1 BC), years after 9999 and infinities
    # are out of range. Every test here is written so that DuckDB and Spark (where SQLGlot
    # transpiles it, vru_risk.data.engine) give the same answer: no isfinite (Spark lacks it),
    # no TIME type, anchored regexp_matches (Spark's RLIKE) rather than regexp_full_match.
    ts = f"CAST({c} AS TIMESTAMP)"
    in_range = f"{c} >= DATE '0001-01-01' AND {c} <= DATE '9999-12-31'"
    first, last = "TIMESTAMP '0001-01-01 00:00:00'", "TIMESTAMP '9999-12-31 23:59:59.999999'"
    ts_in_range = f"{ts} >= {first} AND {ts} <= {last}"
    out_of_range = (
        "out of range date (before the year 1, after 9999, or infinite)",
        "check the source's dates",
    )
    if col.kind is Kind.DATE:
        if stored == "DATE":
            return TypedColumn(
                f"CASE WHEN {in_range} THEN {c} END", f"NOT ({in_range})", *out_of_range
            )
        if stored.startswith("TIMESTAMP") and "TIME ZONE" not in stored:
            midnight = f"CAST(CAST({c} AS DATE) AS TIMESTAMP) = {ts}"
            return TypedColumn(
                f"CASE WHEN {midnight} AND {ts_in_range} THEN CAST({c} AS DATE) END",
                f"NOT ({midnight}) OR NOT ({ts_in_range})",
                "holds a time of day, or is out of range; expected a date",
                "store the column as a date",
            )
        if not text:
            return wrong
        parsed = f"try_cast({c} AS DATE)"
        valid = f"{full_match(c, DATE_PATTERN)} AND {parsed} IS NOT NULL"
        return TypedColumn(
            f"CASE WHEN {valid} THEN {parsed} END",
            f"NOT ({valid})",
            "unparsable date; expected an ISO date YYYY-MM-DD",
            "write dates as YYYY-MM-DD (e.g. 2024-03-01), not 01/03/2024",
        )
    if col.kind is Kind.DATETIME:
        if stored.startswith("TIMESTAMP") and "TIME ZONE" not in stored:
            return TypedColumn(
                f"CASE WHEN {ts_in_range} THEN {ts} END", f"NOT ({ts_in_range})", *out_of_range
            )
        if not text:
            return wrong
        parsed = f"try_cast(replace({c}, 'T', ' ') AS TIMESTAMP)"
        valid = f"{full_match(c, DATETIME_PATTERN)} AND {parsed} IS NOT NULL"
        return TypedColumn(
            f"CASE WHEN {valid} THEN {parsed} END",
            f"NOT ({valid})",
            "unparsable date and time; expected YYYY-MM-DDTHH:MM[:SS] with hours 00 to 23 "
            "(midnight is 00:00 of the next day)",
            "write local date and time as ISO 8601, e.g. 2024-03-01T22:15:00",
        )
    if col.kind is Kind.BOOL:
        if stored == "BOOLEAN":
            return TypedColumn(c, None, "", "")
        if _is_int_type(stored):
            return TypedColumn(
                f"CASE WHEN {c} IN (0, 1) THEN {c} = 1 END",
                f"{c} NOT IN (0, 1)",
                "not a boolean; expected 0 or 1",
                "use true/false (or 1/0)",
            )
        if not text:
            return wrong
        trues = ", ".join(quote_literal(v) for v in sorted(BOOL_TRUE))
        falses = ", ".join(quote_literal(v) for v in sorted(BOOL_FALSE))
        low = f"lower({c})"
        return TypedColumn(
            f"CASE WHEN {low} IN ({trues}) THEN true WHEN {low} IN ({falses}) THEN false END",
            f"{low} NOT IN ({trues}, {falses})",
            "not a boolean; accepted: true, false, 1, 0 (any case)",
            "write true or false; values such as 'yes', 'Y' or 'maybe' are never guessed",
        )
    if col.kind is Kind.FLOAT:
        if _is_numeric_type(stored):
            return TypedColumn(
                f"CASE WHEN {finite(f'CAST({c} AS DOUBLE)')} THEN CAST({c} AS DOUBLE) END",
                f"NOT ({finite(f'CAST({c} AS DOUBLE)')})",
                "not a finite number",
                "write a plain decimal number",
            )
        if not text:
            return wrong
        parsed = f"try_cast({c} AS DOUBLE)"
        pattern = "[+-]?(\\d+\\.?\\d*|\\.\\d+)([eE][+-]?\\d+)?"
        return TypedColumn(
            f"CASE WHEN {full_match(c, pattern)} THEN {parsed} END",
            f"NOT {full_match(c, pattern)}",
            "not a number",
            "write a plain decimal number with a point, e.g. 2.5",
        )
    # Kind.INT
    if _is_int_type(stored):
        return TypedColumn(
            f"try_cast({c} AS BIGINT)",
            f"try_cast({c} AS BIGINT) IS NULL",
            "not a whole number in range",
            "write a whole number",
        )
    if stored in _FLOAT_TYPES:
        return TypedColumn(
            f"CASE WHEN {finite(c)} AND {c} = round({c}) THEN try_cast({c} AS BIGINT) END",
            f"NOT ({finite(c)}) OR {c} <> round({c}) OR try_cast({c} AS BIGINT) IS NULL",
            "not a whole number",
            "write a whole number",
        )
    if not text:
        return wrong
    return TypedColumn(
        f"CASE WHEN {full_match(c, WHOLE_PATTERN)} THEN CAST({c} AS BIGINT) END",
        f"NOT {full_match(c, WHOLE_PATTERN)}",
        "not a whole number",
        "write a whole number",
    )


def null_condition(stored: str, column: str) -> str:
    """SQL true where ``column`` (stored as ``stored``) is empty: NULL, or '' in a text file."""
    c = quote_ident(column)
    return f"({c} IS NULL OR {c} = '')" if stored == "VARCHAR" else f"{c} IS NULL"


def column_problems(table: Table, name: str, present: set[str]) -> list[Problem]:
    """Required columns missing from file ``name``, and columns the contract does not have."""
    problems: list[Problem] = []
    for col in table.columns:
        if col.required and col.name not in present:
            problems.append(
                Problem(
                    name,
                    col.name,
                    "missing_column",
                    f"required column is missing ({col.doc})",
                    f"add the column; {table.name} needs: {', '.join(table.required_columns)}",
                )
            )
    for extra in sorted(present - set(table.column_names)):
        if extra in AUDIT_ONLY_COLUMNS and table.name != "people":
            problems.append(
                Problem(
                    name,
                    extra,
                    "audit_column_outside_people",
                    f"{extra!r} is an audit-only attribute and may appear only in people",
                    f"remove {extra!r} from {table.name}; it is joined from people for "
                    "fairness audits only",
                )
            )
        else:
            problems.append(
                Problem(
                    name,
                    extra,
                    "unexpected_column",
                    "is not in the data contract (data minimisation); allowed: "
                    + ", ".join(table.column_names),
                    "remove the column from the extract",
                )
            )
    return problems
