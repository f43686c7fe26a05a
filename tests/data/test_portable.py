"""The portability check refuses the forms DuckDB and Spark answer differently, and accepts the
portable form written instead (docs/portability.md)."""

from __future__ import annotations

import duckdb
import pytest

from vru_risk.data.portable import (
    FORMS,
    NonPortableSQLError,
    check_portable,
    portability_findings,
)

REFUSED = [
    # (form, statement, the fragment named)
    ("calendar_diff", "SELECT date_diff('month', a, b) AS m FROM t", "DATE_DIFF('MONTH', a, b)"),
    ("calendar_diff", "SELECT datediff('year', a, b) AS m FROM t", "DATE_DIFF('YEAR', a, b)"),
    ("calendar_diff", "SELECT date_sub('quarter', a, b) AS m FROM t", "DATE_SUB('quarter', a, b)"),
    ("ordered_aggregate", "SELECT list(x ORDER BY d) AS m FROM t", "ARRAY_AGG(x ORDER BY d)"),
    ("ordered_aggregate", "SELECT array_agg(x ORDER BY d) AS m FROM t", "ARRAY_AGG(x ORDER BY d)"),
    (
        "ordered_aggregate",
        "SELECT string_agg(DISTINCT k, ',' ORDER BY k) AS m FROM t",
        "LISTAGG(DISTINCT k, ',' ORDER BY k)",
    ),
    ("interval_arithmetic", "SELECT d - INTERVAL 3 DAY AS m FROM t", "d - INTERVAL '3' DAY"),
    (
        "interval_arithmetic",
        "SELECT x AS m FROM t WHERE w > d + INTERVAL 56 DAY",
        "d + INTERVAL '56' DAY",
    ),
    ("interval_arithmetic", "SELECT date_add(d, INTERVAL 1 MONTH) AS m", "d + INTERVAL '1' MONTH"),
    ("unguarded_division", "SELECT 1 / 0 AS m", "1 / 0"),
    ("unguarded_division", "SELECT a / sum(b) OVER w AS m FROM t", "a / SUM(b) OVER w"),
    ("unguarded_division", "SELECT a / CAST(0.5 AS INTEGER) AS m", "a / CAST(0.5 AS INT)"),
    (
        "unguarded_division",
        "SELECT a / CASE WHEN c THEN b ELSE 1 END AS m FROM t",
        "a / CASE WHEN c THEN b ELSE 1 END",
    ),
    ("float_sum", "SELECT sum(CAST(x AS DOUBLE)) AS m FROM t", "SUM(CAST(x AS DOUBLE))"),
    ("float_sum", "SELECT avg(x * 0.5) AS m FROM t", "AVG(x * 0.5)"),
    ("float_sum", "SELECT sum(a / nullif(b, 0)) AS m FROM t", "SUM(a / NULLIF(b, 0))"),
    ("day_of_week", "SELECT isodow(d) AS m FROM t", "ISODOW(d)"),
    ("day_of_week", "SELECT dayofweek(d) AS m FROM t", "DAYOFWEEK(d)"),
    ("day_of_week", "SELECT extract(dow FROM d) AS m FROM t", "EXTRACT(DAYOFWEEK FROM d)"),
    ("day_of_week", "SELECT date_part('isodow', d) AS m FROM t", "DATE_PART('isodow', d)"),
    ("day_of_week", "SELECT weekday(d) AS m FROM t", "WEEKDAY(d)"),
    ("unparsable", "SELECT FROM WHERE (", None),
]

ACCEPTED = [
    "SELECT date_diff('day', a, b) AS m FROM t",
    "SELECT (year(b) * 12 + month(b)) - (year(a) * 12 + month(a)) AS m FROM t",
    "SELECT array_to_string(list_sort(list(DISTINCT k)), ',') AS m FROM t",
    "SELECT list_sort(list(x)) AS m FROM t",
    "SELECT sum(x) OVER (PARTITION BY p ORDER BY d) AS m FROM t",
    "SELECT x AS m FROM t ORDER BY d",
    "SELECT CAST(d + INTERVAL 3 DAY AS DATE) AS m FROM t",
    "SELECT CAST((d - INTERVAL 1 YEAR) AS TIMESTAMP) AS m FROM t",
    "SELECT d + 3 AS m FROM t",
    "SELECT a / nullif(b, 0) AS m FROM t",
    "SELECT CAST(count(*) AS DOUBLE) / CAST(nullif(count(*), 0) AS DOUBLE) AS m FROM t",
    "SELECT CAST(n AS DOUBLE) / 365.25 AS m FROM t",
    "SELECT n / CAST(7 AS DOUBLE) AS m, n / -0.5 AS h FROM t",
    "SELECT a / CASE WHEN b <> 0 THEN b END AS m FROM t",
    "SELECT a / CASE WHEN b = 0 THEN NULL ELSE b END AS m FROM t",
    "SELECT sum(n) AS m, avg(CASE WHEN y THEN 1 ELSE 0 END) AS r FROM t",
    "SELECT CAST(sum(n) AS DOUBLE) / nullif(count(*), 0) AS m FROM t",
    "SELECT date_diff('day', DATE '0001-01-01', d) % 7 >= 5 AS m, hour(d) AS h FROM t",
    "SELECT extract(year FROM d) AS m, date_part('month', d) AS h FROM t",
]


@pytest.mark.parametrize(("form", "sql", "fragment"), REFUSED)
def test_each_form_is_refused_naming_the_fragment(
    form: str, sql: str, fragment: str | None
) -> None:
    findings = portability_findings(sql, "a test query")
    assert [f.form for f in findings] == [form]
    if fragment is not None:
        assert findings[0].fragment == fragment
        # named by the output column holding it; a WHERE clause is in none
        assert findings[0].column == (None if "WHERE" in sql else "m")
    with pytest.raises(NonPortableSQLError) as refused:
        check_portable(sql, "a test query")
    message = str(refused.value)
    assert "a test query" in message
    assert FORMS[form][1] in message and FORMS[form][2] in message


@pytest.mark.parametrize("sql", ACCEPTED)
def test_the_portable_forms_are_accepted(sql: str) -> None:
    assert portability_findings(sql, "a test query") == ()
    assert check_portable(sql, "a test query") == sql


def test_the_refused_forms_answer_as_the_docs_say_on_duckdb() -> None:
    """The DuckDB half of each figure the refusals quote (Spark's half is docs/portability.md)."""
    con = duckdb.connect()
    months, inf, kind = con.execute(
        "SELECT date_diff('month', DATE '2010-05-31', DATE '2024-03-01'), 1 / 0, "
        "typeof(DATE '2020-01-01' - INTERVAL 1 DAY)"
    ).fetchone() or (None, None, None)
    assert (months, inf, kind) == (166, float("inf"), "TIMESTAMP")
    assert "166 on DuckDB, 165 on Spark" in FORMS["calendar_diff"][1]
    # the portable replacements give the same answers as the forms they replace, on DuckDB
    same = con.execute(
        "SELECT string_agg(DISTINCT k, ',' ORDER BY k) = "
        "array_to_string(list_sort(list(DISTINCT k)), ','), "
        "typeof(CAST(DATE '2020-01-01' - INTERVAL 1 DAY AS DATE)) "
        "FROM (VALUES ('police_contact'), ('ae_visit'), ('police_contact')) v(k)"
    ).fetchone()
    assert same == (True, "DATE")
    # the portable day of the week: 0 on a Monday (4 March 2024) to 6 on a Sunday, as isodow - 1
    weekdays = con.execute(
        "SELECT list(date_diff('day', DATE '0001-01-01', d) % 7 = isodow(d) - 1) "
        "FROM (SELECT unnest(range(DATE '1900-01-01', DATE '2100-01-01', INTERVAL 1 DAY)) d)"
    ).fetchone()
    assert weekdays is not None and all(weekdays[0]) and len(weekdays[0]) > 73_000


def test_every_statement_of_several_is_checked_and_a_finding_says_where() -> None:
    findings = portability_findings(
        "SELECT 1 AS ok; SELECT p, list(x ORDER BY d) AS xs FROM t GROUP BY p", "two statements"
    )
    assert len(findings) == 1
    text = findings[0].render()
    assert text.startswith("two statements, column 'xs': an aggregate with its own ORDER BY")
    assert "collect_list" in text and "list_sort" in text
