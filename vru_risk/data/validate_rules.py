"""Row rules of the validator, and the rules for identifier and code columns.

A :class:`Rule` is a SQL condition over a table's rows: the rows where it holds are counted and
the first few shown. The string columns of the contract (``person_id``, ``school_id``,
``hospital``, ``programme``) are identifiers or codes compared exactly, so

* whitespace at either end is refused: ``" P1"`` and ``"P1"`` would be two people;
* a control character (NUL, tab, line break, escape...: Unicode category Cc, which is C0, DEL
  and C1) is refused: it is never part of an identifier, and is a sign of a corrupt or binary
  export. The contract has no free-text column, so no control character is allowed anywhere;
  in the other columns it makes the value invalid for its type and that type's check reports it;
* an invisible formatting character (Cf: a zero-width space, a byte-order mark...) or a line or
  paragraph separator is refused: ``"P1\u200b"`` displays as ``"P1"`` but is another person;
* a value longer than its column's ``max_length`` (the person id's: what the service stores).

These are the rules of :mod:`vru_risk.data.ids` (which ``vru flags load`` applies too), as SQL.

An attendance file holds tens of millions of rows and a few thousand distinct ids, so the
identifier rules first look at the column's distinct values, and only a column where they find
something gets a row rule that names the rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import duckdb

from vru_risk.data.ids import CONTROL_RE2, EDGE_SPACE_RE2, INVISIBLE_RE2

#: RE2 classes (DuckDB's regular expressions).
CONTROL_CHARACTER: Final = CONTROL_RE2
EDGE_WHITESPACE: Final = EDGE_SPACE_RE2


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
    con: duckdb.DuckDBPyConnection,
    relation: str,
    column: str,
    quoted: str,
    max_length: int | None = None,
) -> list[Rule]:
    """The rules that some value of an identifier column breaks (``quoted``: the column in SQL;
    ``max_length``: its longest value, if it has one)."""
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
        Rule(
            column,
            "invisible_character",
            f"regexp_matches({quoted}, '{INVISIBLE_RE2}')",
            "contains an invisible formatting character (such as a zero-width space or a "
            "byte-order mark), which no identifier or code holds: 'P1' and 'P1' followed by one "
            "would look alike but be two different values",
            "remove the characters in the extract (the character is shown as its Unicode code "
            "point; they are often pasted in from a web page or a word processor)",
            (
                column,
                f"=printf('U+%04X', unicode(regexp_extract({quoted}, '{INVISIBLE_RE2}'))) "
                "AS character",
            ),
        ),
    ]
    if max_length is not None:
        rules.append(
            Rule(
                column,
                "too_long",
                f"length({quoted}) > {max_length}",
                f"is longer than {max_length} characters, the longest {column} the service and "
                "its audit log store",
                f"shorten the identifiers in the extract to at most {max_length} characters "
                "(pseudonymous ids are usually far shorter)",
                (f"=length({quoted}) AS characters",),
            )
        )
    probe = ", ".join(f"coalesce(bool_or({r.condition}), false)" for r in rules)
    found = con.execute(f"SELECT {probe} FROM (SELECT DISTINCT {quoted} FROM {relation})")
    hits = found.fetchone() or (False,) * len(rules)
    return [r for r, hit in zip(rules, hits, strict=True) if hit]
