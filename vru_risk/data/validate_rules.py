"""Row rules of the validator, and the rules for identifier and code columns.

A :class:`Rule` is a SQL condition over a table's rows: the rows where it holds are counted and
the first few shown. The string columns of the contract (``person_id``, ``school_id``,
``hospital``, ``programme``) are identifiers or codes compared exactly, so

* whitespace at either end is refused: ``" P1"`` and ``"P1"`` would be two people;
* a control character (NUL, tab, line break, escape...: Unicode category Cc, which is C0, DEL
  and C1) is refused: it is never part of an identifier, and is a sign of a corrupt or binary
  export. The contract has no free-text column, so no control character is allowed anywhere;
  in the other columns it makes the value invalid for its type and that type's check reports it.

An attendance file holds tens of millions of rows and a few thousand distinct ids, so the
identifier rules first look at the column's distinct values, and only a column where they find
something gets a row rule that names the rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import duckdb

#: RE2 classes (DuckDB's regular expressions).
CONTROL_CHARACTER: Final = r"[\x00-\x1f\x7f-\x9f]"
EDGE_WHITESPACE: Final = r"^[\s\p{Z}]|[\s\p{Z}]$"


@dataclass(frozen=True)
class Rule:
    """A row-level rule: rows where ``condition`` holds are reported."""

    column: str
    check: str
    condition: str
    message: str
    hint: str
    #: What an example shows: column names, or ``"=SQL AS label"``.
    show: tuple[str, ...]


def identifier_rules(
    con: duckdb.DuckDBPyConnection, relation: str, column: str, quoted: str
) -> list[Rule]:
    """The rules that some value of an identifier column breaks (``quoted``: the column in SQL)."""
    rules = [
        Rule(
            column,
            "control_character",
            f"regexp_matches({quoted}, '{CONTROL_CHARACTER}')",
            "contains a control character (such as NUL, a tab or a line break), which no "
            "identifier or code holds",
            "remove the control characters in the extract (often the sign of a binary or "
            "corrupted export; the character is shown as its Unicode code point)",
            (
                column,
                f"=printf('U+%04X', unicode(regexp_extract({quoted}, '{CONTROL_CHARACTER}'))) "
                "AS character",
            ),
        ),
        Rule(
            column,
            "untrimmed_value",
            f"regexp_matches({quoted}, '{EDGE_WHITESPACE}')",
            "has whitespace at the start or end; identifiers and codes are compared exactly, "
            "so 'P1' and ' P1' would be two different values",
            "trim the values in the extract (SQL: TRIM(column); Excel: =TRIM(A2))",
            (column,),
        ),
    ]
    probe = ", ".join(f"coalesce(bool_or({r.condition}), false)" for r in rules)
    found = con.execute(f"SELECT {probe} FROM (SELECT DISTINCT {quoted} FROM {relation})")
    hits = found.fetchone() or (False,) * len(rules)
    return [r for r, hit in zip(rules, hits, strict=True) if hit]
