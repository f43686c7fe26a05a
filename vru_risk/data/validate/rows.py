"""The rows of a registered table checked inside the engine (DuckDB or Spark), in bounded memory.

One aggregate pass over the table counts every row rule at once (the rules are made by
:mod:`vru_risk.data.validate.rules`); only for a rule that some rows break are the first few of
them brought into Python. Duplicate keys are found in two passes: a 64-bit hash per key keeps
the group-by small on 80M rows, and the exact key confirms the candidates, so a hash collision
is never reported. Every statement is DuckDB SQL run through the
:class:`~vru_risk.data.engine.Engine` protocol: one definition of each rule on both engines
(Spark runs it transpiled), and no rule can fail on a value (every typed value is a
``TRY_CAST``), so no exception raised in Spark, and no log of one, carries a row's values.

Example
-------
>>> shown_label("=__p_birth_date AS birth_date"), shown_label("person_id")
('birth_date', 'person_id')
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import TYPE_CHECKING

from vru_risk.data.contract import TABLES
from vru_risk.data.sql import quote_ident
from vru_risk.data.validate.columns import TypedColumn, typed_column
from vru_risk.data.validate.problems import MAX_EXAMPLES, Example, Problem
from vru_risk.data.validate.rules import Rule, column_rules, date_rules, person_rules
from vru_risk.data.validate.tables import Source

if TYPE_CHECKING:
    from vru_risk.data.engine import Engine

PEOPLE_BIRTH = TABLES["people"].column("birth_date")


def check_rows(
    engine: Engine,
    source: Source,
    people: Source | None,
    *,
    extract_date: date,
) -> Iterator[Problem]:
    """Every row problem of ``source``: its rules (against ``people`` too), then duplicate keys.

    Problems are yielded as they are found, so that those found before a reader fails (a
    corrupt page, the memory limit) are still reported.
    """
    table = source.table
    typed = {
        c.name: typed_column(c, source.types[c.name])
        for c in table.columns
        if c.name in source.types
    }
    rules = column_rules(engine, source, typed) + date_rules(source, typed, extract_date)
    join = _people_join(source, people)
    if join:
        rules += person_rules(table, typed)
    yield from _rule_problems(engine, source, typed, rules, join)
    yield from _duplicate_problems(engine, source, typed)


def _typed_relation(source: Source, typed: dict[str, TypedColumn]) -> str:
    parts = [f"{t.typed} AS {quote_ident('__t_' + n)}" for n, t in typed.items()]
    return f"(SELECT s.*, {', '.join(parts)} FROM {source.relation} s)"


def _people_join(source: Source, people: Source | None) -> str:
    """The join of an event table's rows to people, or ``""`` where ids cannot be compared."""
    if (
        source.table.name == "people"
        or source.types.get("person_id") != "VARCHAR"
        or people is None
        or people.types.get("person_id") != "VARCHAR"
    ):
        return ""
    return (
        "LEFT JOIN (SELECT person_id AS __p_person_id, max(__t_birth) AS __p_birth_date "
        f"FROM (SELECT person_id, {_birth_expr(people)} AS __t_birth "
        f"FROM {people.relation}) GROUP BY person_id) pp "
        "ON x.person_id = pp.__p_person_id"
    )


def _birth_expr(people: Source) -> str:
    stored = people.types.get("birth_date")
    if stored is None:
        return "NULL"
    t = typed_column(PEOPLE_BIRTH, stored)
    return "NULL" if t.wrong_type else t.typed


def shown_expr(spec: str) -> str:
    """The SQL of a value an example shows: a column as text, or ``=SQL AS label``'s SQL."""
    if spec.startswith("="):
        return spec[1:]
    return f"CAST({quote_ident(spec)} AS VARCHAR)"


def shown_label(spec: str) -> str:
    """The label of a value an example shows."""
    return spec.rsplit(" AS ", 1)[1] if spec.startswith("=") else spec


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _rule_problems(
    engine: Engine,
    source: Source,
    typed: dict[str, TypedColumn],
    rules: list[Rule],
    join: str,
) -> Iterator[Problem]:
    base = _typed_relation(source, typed)
    extra = ", pp.__p_person_id, pp.__p_birth_date" if join else ""
    relation = f"(SELECT x.*{extra} FROM {base} x {join})"
    if not rules:
        return
    counts_sql = ", ".join(
        f"count(*) FILTER (WHERE ({r.condition})) AS c{i}" for i, r in enumerate(rules)
    )
    found = engine.rows(f"SELECT {counts_sql} FROM {relation}", "the row rules")
    counts = [int(v) for v in found[0]] if found else [0] * len(rules)
    for rule, count in zip(rules, counts, strict=True):
        if count == 0:
            continue
        labels = [shown_label(s) for s in rule.show]
        select = ", ".join(shown_expr(s) for s in rule.show)
        examples = engine.rows(
            f"SELECT __row, {select} FROM {relation} WHERE ({rule.condition}) "
            f"ORDER BY __row LIMIT {MAX_EXAMPLES}",
            f"the examples of {rule.check}",
        )
        yield Problem(
            source.path.name,
            rule.column,
            rule.check,
            rule.message,
            rule.hint,
            count,
            tuple(
                Example(
                    int(e[0]),
                    tuple((label, _text(v)) for label, v in zip(labels, e[1:], strict=True)),
                )
                for e in examples
            ),
        )


def _duplicate_problems(
    engine: Engine, source: Source, typed: dict[str, TypedColumn]
) -> Iterator[Problem]:
    key = source.table.key
    if any(k not in typed or typed[k].wrong_type for k in key):
        return
    base = _typed_relation(source, typed)
    tkey = [f"__t_{k}" for k in key]
    not_null = " AND ".join(f"{k} IS NOT NULL" for k in tkey)
    hashed = f"hash({', '.join(tkey)})"
    engine.execute(
        f"CREATE OR REPLACE TEMP TABLE dup_hash AS SELECT {hashed} AS __h FROM {base} "
        f"WHERE {not_null} GROUP BY __h HAVING count(*) > 1",
        "duplicate keys",
    )
    candidates = (
        f"(SELECT * FROM {base} WHERE {not_null} AND {hashed} IN (SELECT __h FROM dup_hash))"
    )
    ordered = (
        f"(SELECT *, row_number() OVER (PARTITION BY {', '.join(tkey)} ORDER BY __row) AS __k, "
        f"min(__row) OVER (PARTITION BY {', '.join(tkey)}) AS __first_row FROM {candidates})"
    )
    counted = engine.rows(f"SELECT count(*) FROM {ordered} WHERE __k > 1", "duplicate keys")
    count = int(counted[0][0]) if counted else 0
    if count == 0:
        return
    shown = ", ".join(f"CAST({quote_ident(k)} AS VARCHAR)" for k in key)
    examples = engine.rows(
        f"SELECT __row, __first_row, {shown} FROM {ordered} WHERE __k > 1 ORDER BY __row "
        f"LIMIT {MAX_EXAMPLES}",
        "the examples of duplicate keys",
    )
    yield Problem(
        source.path.name,
        ", ".join(key),
        "duplicate_key",
        f"duplicate key ({', '.join(key)}): rows repeat a key of an earlier row",
        f"remove the repeated rows; each ({', '.join(key)}) may appear once in {source.table.name}",
        count,
        tuple(
            Example(
                int(e[0]),
                (
                    *((k, _text(v)) for k, v in zip(key, e[2:], strict=True)),
                    ("same key as row", str(e[1])),
                ),
            )
            for e in examples
        ),
    )
