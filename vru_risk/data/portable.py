"""Portable by construction: refuse SQL forms that run on DuckDB and Spark but answer differently.

Every statement this project writes is DuckDB SQL that SQLGlot transpiles for Spark. Most forms
transpile faithfully; these run on both engines and give *different answers*, so they are refused
here, at the moment a statement is compiled, rather than discovered in a comparison of results:

``calendar_diff``
    ``date_diff`` (``datediff``, DuckDB's 3-argument ``date_sub``) in any unit but days: DuckDB
    counts calendar boundaries crossed, Spark whole units (``date_diff('month', DATE '2010-05-31',
    DATE '2024-03-01')`` is 166 on DuckDB, 165 on Spark).
``ordered_aggregate``
    an aggregate with its own ``ORDER BY`` (``list(x ORDER BY d)``, ``array_agg``,
    ``string_agg``, ``first``...): SQLGlot writes ``list(x ORDER BY d)`` as Spark's
    ``collect_list(x)``, which keeps no order.
``interval_arithmetic``
    ``d ± INTERVAL ...`` (or ``date_add(d, INTERVAL ...)``) not inside an explicit ``CAST``: on a
    DATE it is a TIMESTAMP on DuckDB and a DATE on Spark.
``unguarded_division``
    ``a / b`` where ``b`` may be zero: ``1/0`` is ``inf`` on DuckDB and an error under Spark 4's
    ANSI mode. A divisor is guarded when it is a non-zero literal, ``nullif(b, 0)``, or a
    ``CASE`` whose every answer is NULL, guarded, or ``b`` under a ``b <> 0`` (``b > 0``) test.
``float_sum``
    ``sum``/``avg`` of an expression that is evidently not whole numbers (a division, a cast to
    a floating type, a decimal literal): a floating-point sum depends on the order rows are
    added, which differs between engines (and between runs). The types of columns are not in
    the SQL: the feature catalog's own rule refuses a ``sum`` of a float column
    (:func:`vru_risk.features.definition.structure_problems`).

``day_of_week``
    ``isodow``, ``dayofweek`` (``dow``), ``weekday``: SQLGlot writes DuckDB's ``isodow(d)`` as
    Spark's ``(dayofweek(d) % 7) + 1`` (Monday is 3, not 1) and ``dayofweek(d)`` unchanged
    (Sunday is 0 on DuckDB, 1 on Spark).

A statement SQLGlot cannot parse at all is refused too (``unparsable``): it cannot be transpiled.

:func:`portability_findings` parses a statement once (results are cached by its text) and
lists :class:`Finding` s; :func:`check_portable` raises :class:`NonPortableSQLError` naming each,
with what to write instead.

Example
-------
>>> [f.form for f in portability_findings("SELECT a / b AS r FROM t", "example")]
['unguarded_division']
>>> check_portable("SELECT a / nullif(b, 0) AS r FROM t", "example")
'SELECT a / nullif(b, 0) AS r FROM t'
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Final

import duckdb
import sqlglot
from sqlglot import exp

#: form -> (what it is, why it is not portable, what to write instead)
FORMS: Final[dict[str, tuple[str, str, str]]] = {
    "calendar_diff": (
        "a date difference in calendar units",
        "DuckDB counts the calendar boundaries crossed, Spark whole units: "
        "date_diff('month', DATE '2010-05-31', DATE '2024-03-01') is 166 on DuckDB, 165 on Spark",
        "count days with date_diff('day', a, b), or months explicitly as "
        "(year(b) * 12 + month(b)) - (year(a) * 12 + month(a))",
    ),
    "ordered_aggregate": (
        "an aggregate with its own ORDER BY",
        "Spark's collect_list (what list/array_agg become) keeps no order",
        "aggregate without ORDER BY and sort the result: list_sort(list(x)), or "
        "array_to_string(list_sort(list(DISTINCT x)), ',') for a string (Spark: "
        "array_sort(collect_list(...)), array_join); to order by another column, sort a list "
        "of (key, value) structs",
    ),
    "interval_arithmetic": (
        "date/time arithmetic with an INTERVAL and no explicit type",
        "DATE ± INTERVAL is a TIMESTAMP on DuckDB and a DATE on Spark",
        "state the type: CAST(d + INTERVAL n DAY AS DATE)",
    ),
    "unguarded_division": (
        "a division whose divisor may be zero",
        "x / 0 is inf on DuckDB and an error under Spark 4's ANSI mode",
        "divide by nullif(divisor, 0) (NULL on both engines), or by a non-zero literal",
    ),
    "day_of_week": (
        "a day of the week",
        "SQLGlot transpiles isodow and dayofweek to Spark with other numbers "
        "(isodow(d) becomes (dayofweek(d) % 7) + 1: Monday is 3)",
        "count days from a Monday: date_diff('day', DATE '0001-01-01', d) % 7 is 0 on a Monday "
        "and 6 on a Sunday",
    ),
    "unparsable": (
        "a statement SQLGlot cannot read",
        "it cannot be transpiled for Spark",
        "write SQL that sqlglot.parse(sql, read='duckdb') reads",
    ),
    "float_sum": (
        "a floating-point SUM or AVG",
        "a sum of floating-point values depends on the order rows are added, which differs "
        "between engines and runs",
        "sum whole numbers (counts, 1/0 indicators) and divide once, after the aggregate",
    ),
}

_T = exp.DataType.Type
_FLOAT_TYPES: Final = frozenset({_T.DOUBLE, _T.FLOAT})
_TYPED: Final = frozenset(
    {_T.DATE, _T.DATETIME, _T.TIMESTAMP, _T.TIMESTAMPNTZ, _T.TIMESTAMPTZ, _T.TIMESTAMPLTZ}
)
#: names of a day of the week (functions SQLGlot leaves anonymous, EXTRACT and date_part parts)
_WEEKDAYS: Final = frozenset(
    {"isodow", "dayofweek", "dow", "weekday", "dayofweekiso", "dayofweek_iso"}
)
#: the aggregates that collect values into a list or a string
_LISTS: Final = (exp.ArrayAgg, exp.GroupConcat)


@dataclass(frozen=True)
class Finding:
    """One non-portable form in one statement."""

    statement: str
    #: the output column (a feature's name in a feature query) holding it, when there is one
    column: str | None
    form: str
    #: the offending SQL, as DuckDB writes it
    fragment: str

    @property
    def why(self) -> str:
        return FORMS[self.form][1]

    @property
    def instead(self) -> str:
        return FORMS[self.form][2]

    def render(self) -> str:
        where = self.statement + (f", column {self.column!r}" if self.column else "")
        return (
            f"{where}: {FORMS[self.form][0]}, `{self.fragment}`: {self.why}; "
            f"write instead: {self.instead}"
        )


class NonPortableSQLError(ValueError):
    """A statement uses a form that DuckDB and Spark answer differently."""

    def __init__(self, findings: tuple[Finding, ...]) -> None:
        self.findings = findings
        listed = "\n".join(f"  - {f.render()}" for f in findings)
        super().__init__(
            f"SQL refused: {len(findings)} form(s) that DuckDB and Spark answer differently "
            f"(docs/portability.md):\n{listed}"
        )


def _strip(node: exp.Expr) -> exp.Expr:
    while isinstance(node, exp.Paren | exp.Cast):
        node = node.this
    return node


def _is_zero(node: exp.Expr) -> bool:
    node = _strip(node)
    return isinstance(node, exp.Literal) and not node.is_string and float(node.this) == 0.0


def _compares_to_zero(cond: exp.Expr, value: exp.Expr, ops: tuple[type, ...]) -> bool:
    """``cond`` is ``value <op> 0`` (or ``0 <op'> value``) for one of ``ops``."""
    cond = _strip(cond)
    if isinstance(cond, ops):
        left, right = _strip(cond.this), _strip(cond.expression)
        target = _strip(value)
        return (left == target and _is_zero(right)) or (
            isinstance(cond, exp.NEQ | exp.EQ) and right == target and _is_zero(left)
        )
    return False


def _guarded(node: exp.Expr) -> bool:
    """True when the divisor ``node`` can never be zero (it may be NULL)."""
    cast = any(isinstance(n, exp.Cast) for n in (node, *node.find_all(exp.Cast)))
    node = _strip(node)
    if isinstance(node, exp.Null):
        return True
    if isinstance(node, exp.Neg):
        return _guarded(node.this)
    if isinstance(node, exp.Literal):
        # a cast may truncate a fraction to 0 (CAST(0.5 AS INTEGER)); a whole number it cannot
        value = 0.0 if node.is_string else abs(float(node.this))
        return value >= 1.0 or (value > 0.0 and not cast)
    if isinstance(node, exp.Nullif):
        return _is_zero(node.expression)
    if isinstance(node, exp.Case):
        zero_tested = [
            _strip(i.this).this
            for i in node.args.get("ifs") or []
            if isinstance(_strip(i.this), exp.EQ)
            and _is_zero(_strip(i.this).expression)
            and isinstance(_strip(i.args["true"]), exp.Null)
        ]
        for branch in node.args.get("ifs") or []:
            value = branch.args["true"]
            if not (_guarded(value) or _compares_to_zero(branch.this, value, (exp.NEQ, exp.GT))):
                return False
        default = node.args.get("default")
        return default is None or _guarded(default) or _strip(default) in map(_strip, zero_tested)
    return False


def _column_of(node: exp.Expr) -> str | None:
    """The alias of the nearest SELECT projection holding ``node`` (None in WHERE, ON...)."""
    found = None
    while node.parent is not None:
        if isinstance(node, exp.Alias) and isinstance(node.parent, exp.Select):
            found = node.alias
            break
        node = node.parent
    return found


def _interval_owner(node: exp.Interval) -> exp.Expr | None:
    """The arithmetic an INTERVAL takes part in, when no explicit cast states its type."""
    owner = node.parent
    if not isinstance(owner, exp.Add | exp.Sub | exp.DateAdd | exp.DateSub):
        return None
    up = owner.parent
    while isinstance(up, exp.Paren):
        up = up.parent
    if isinstance(up, exp.Cast) and up.to.this in _TYPED:
        return None
    return owner


def _evidently_fractional(node: exp.Expr) -> bool:
    for sub in node.walk():
        if isinstance(sub, exp.Div):
            return True
        if isinstance(sub, exp.Cast) and sub.to.this in _FLOAT_TYPES:
            return True
        if isinstance(sub, exp.Literal) and not sub.is_string and not sub.this.isdigit():
            return True
    return False


def _unit(node: exp.Expr) -> str:
    unit = node.args.get("unit")
    return "DAY" if unit is None else unit.name.upper()


def _day_of_week(node: exp.Expr) -> bool:
    if isinstance(node, exp.DayOfWeek | exp.DayOfWeekIso):
        return True
    if isinstance(node, exp.Extract):
        return node.this.name.lower() in _WEEKDAYS
    if isinstance(node, exp.Anonymous):
        name = node.name.lower()
        if name in ("date_part", "datepart") and node.expressions:
            return node.expressions[0].name.lower() in _WEEKDAYS
        return name in _WEEKDAYS
    return False


def _forms(tree: exp.Expr) -> list[tuple[str, exp.Expr]]:
    found: list[tuple[str, exp.Expr]] = []
    for node in tree.walk():
        if isinstance(node, exp.DateDiff | exp.TimestampDiff | exp.DatetimeDiff):
            if _unit(node) not in ("DAY", "DAYS"):
                found.append(("calendar_diff", node))
        elif isinstance(node, exp.Anonymous) and node.name.lower() in ("date_sub", "datesub"):
            if len(node.expressions) == 3:
                found.append(("calendar_diff", node))
        elif _day_of_week(node):
            found.append(("day_of_week", node))
        elif isinstance(node, exp.Order) and isinstance(node.parent, exp.Func):
            found.append(("ordered_aggregate", node.parent))
        elif isinstance(node, exp.WithinGroup) and (
            isinstance(node.this, _LISTS) or node.this.name.lower() in ("listagg", "string_agg")
        ):
            found.append(("ordered_aggregate", node))
        elif isinstance(node, exp.Interval):
            owner = _interval_owner(node)
            if owner is not None:
                found.append(("interval_arithmetic", owner))
        elif isinstance(node, exp.Div):
            if not _guarded(node.expression):
                found.append(("unguarded_division", node))
        elif isinstance(node, exp.Sum | exp.Avg) and _evidently_fractional(node.this):
            found.append(("float_sum", node))
    return found


@lru_cache(maxsize=512)
def portability_findings(sql: str, statement: str) -> tuple[Finding, ...]:
    """Every non-portable form in ``sql`` (DuckDB dialect; one or more statements)."""
    findings: list[Finding] = []
    try:
        trees = sqlglot.parse(sql, read="duckdb")
    except sqlglot.errors.SqlglotError as exc:
        return (Finding(statement, None, "unparsable", str(exc).splitlines()[0][:200]),)
    for tree in trees:
        if tree is None:
            continue
        for form, node in _forms(tree):
            findings.append(Finding(statement, _column_of(node), form, node.sql("duckdb")))
    return tuple(findings)


def execute_portable(
    con: duckdb.DuckDBPyConnection, sql: str, statement: str
) -> duckdb.DuckDBPyConnection:
    """Execute ``sql`` on ``con`` once it has passed :func:`check_portable`."""
    return con.execute(check_portable(sql, statement))


def check_portable(sql: str, statement: str) -> str:
    """``sql`` itself when it is portable; raise :class:`NonPortableSQLError` otherwise."""
    findings = portability_findings(sql, statement)
    if findings:
        raise NonPortableSQLError(findings)
    return sql
