"""The row rules of the validator: per column, between dates, against people, for identifiers.

A :class:`Rule` is a SQL condition over a table's rows: the rows where it holds are counted and
the first few shown (by :mod:`vru_risk.data.validate.rows`). Conditions read the stored columns
by name and their typed values as ``__t_<column>`` (see :mod:`vru_risk.data.validate.columns`).

The string columns of the contract (``person_id``, ``school_id``,
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
from datetime import date
from typing import TYPE_CHECKING, Final

from vru_risk.data.contract import MAX_AGE_AT_EXTRACT_YEARS, MIN_AGE_AT_EXTRACT_YEARS, Kind, Table
from vru_risk.data.ids import CONTROL_RE2, EDGE_SPACE_RE2, INVISIBLE_RE2
from vru_risk.data.sql import quote_ident
from vru_risk.data.validate.columns import TypedColumn, null_condition
from vru_risk.data.validate.tables import Source

if TYPE_CHECKING:
    from vru_risk.data.engine import Engine

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
    engine: Engine,
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
    found = engine.rows(
        f"SELECT {probe} FROM (SELECT DISTINCT {quoted} FROM {relation})", "identifier rules"
    )
    hits = found[0] if found else (False,) * len(rules)
    return [r for r, hit in zip(rules, hits, strict=True) if hit]


def _as_date(table: Table, name: str) -> str:
    """The typed value of date column ``name`` as a DATE (a date-time loses its time of day)."""
    kind = table.column(name).kind
    return f"CAST(__t_{name} AS DATE)" if kind is Kind.DATETIME else f"__t_{name}"


def years_before(day: date, years: int) -> date:
    """The same day ``years`` earlier (28 February for a 29 February)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def column_rules(engine: Engine, source: Source, typed: dict[str, TypedColumn]) -> list[Rule]:
    """The rules of each column present: stored type, empty required value, invalid value,
    identifier (probed on ``engine``) and allowed range."""
    table = source.table
    cols = [c for c in table.columns if c.name in source.types]
    rules: list[Rule] = []
    for col in cols:
        t = typed[col.name]
        stored = source.types[col.name]
        null = null_condition(stored, col.name)
        if t.wrong_type:
            rules.append(
                Rule(
                    col.name,
                    "wrong_type",
                    f"NOT {null}",
                    t.invalid_message,
                    t.invalid_hint,
                    (col.name,),
                )
            )
            continue
        if not col.nullable:
            rules.append(
                Rule(
                    col.name,
                    "null_value",
                    null,
                    "is empty in a required field",
                    f"every {table.name} row needs {col.name} ({col.doc})",
                    (col.name,),
                )
            )
        if t.invalid is not None:
            check = {
                Kind.CATEGORY: "unknown_category",
                Kind.BOOL: "bad_boolean",
                Kind.DATE: "bad_date",
                Kind.DATETIME: "bad_date",
            }.get(col.kind, "wrong_type")
            rules.append(
                Rule(
                    col.name,
                    check,
                    f"NOT {null} AND ({t.invalid})",
                    t.invalid_message,
                    t.invalid_hint,
                    (col.name,),
                )
            )
        if col.kind is Kind.STRING:
            quoted = quote_ident(col.name)
            rules += identifier_rules(engine, source.relation, col.name, quoted, col.max_length)
        if col.min_value is not None or col.max_value is not None:
            v = f"__t_{col.name}"
            rules.append(
                Rule(
                    col.name,
                    "out_of_range",
                    f"{v} < {col.min_value} OR {v} > {col.max_value}",
                    f"outside the allowed range {col.min_value:g} to {col.max_value:g}",
                    f"check the source ({col.doc})",
                    (col.name,),
                )
            )
        if col.step is not None:
            v = f"__t_{col.name}"
            rules.append(
                Rule(
                    col.name,
                    "not_whole_steps",
                    f"round({v} / {col.step!r}) * {col.step!r} <> {v}",
                    f"not a whole number of steps of {col.step:g}",
                    f"check the source ({col.doc})",
                    (col.name,),
                )
            )
    return rules


def date_rules(source: Source, typed: dict[str, TypedColumn], extract_date: date) -> list[Rule]:
    """The rules between dates.

    Nothing after the extract date (but an ongoing programme's end), knowledge dates on or after
    the event, plausible birth dates, and each table's own order of dates.
    """
    table = source.table
    have = {n for n, t in typed.items() if not t.wrong_type}
    extract = f"DATE '{extract_date.isoformat()}'"
    rules: list[Rule] = []
    future_ok = {"end_date"}
    for col in table.columns:
        if col.name in have and col.kind in (Kind.DATE, Kind.DATETIME):
            if col.name in future_ok:
                continue
            rules.append(
                Rule(
                    col.name,
                    "after_extract_date",
                    f"{_as_date(table, col.name)} > {extract}",
                    f"date after the extract date {extract_date}",
                    "check the extract date (--extract-date or manifest.json) and the "
                    "source's dates; future dates are not allowed",
                    (col.name,),
                )
            )
    event = table.event_date
    if event and event in have and "known_date" in have:
        rules.append(
            Rule(
                "known_date",
                "known_before_event",
                f"__t_known_date < {_as_date(table, event)}",
                f"known_date is before the event's {event}",
                "known_date is the day the VRU learned of the event: on or after it",
                (event, "known_date"),
            )
        )
    if table.name == "people":
        if "birth_date" in have:
            youngest = years_before(extract_date, MIN_AGE_AT_EXTRACT_YEARS)
            oldest = years_before(extract_date, MAX_AGE_AT_EXTRACT_YEARS)
            rules.append(
                Rule(
                    "birth_date",
                    "implausible_birth_date",
                    f"__t_birth_date > DATE '{youngest}' OR __t_birth_date < DATE '{oldest}'",
                    f"implausible birth date: the person would be under "
                    f"{MIN_AGE_AT_EXTRACT_YEARS} or over {MAX_AGE_AT_EXTRACT_YEARS} at the "
                    f"extract date {extract_date}",
                    "check the birth date and the date format (YYYY-MM-DD)",
                    ("birth_date",),
                )
            )
        if {"birth_date", "left_area_date"} <= have:
            rules.append(
                Rule(
                    "left_area_date",
                    "left_before_birth",
                    "__t_left_area_date < __t_birth_date",
                    "left_area_date is before birth_date",
                    "check both dates",
                    ("birth_date", "left_area_date"),
                )
            )
    if table.name == "exclusions" and {"kind", "days"} <= have:
        rules.append(
            Rule(
                "days",
                "null_value",
                f"__t_kind = 'suspension' AND {null_condition(source.types['days'], 'days')}",
                "is empty for a suspension (its length in school days is required)",
                "give the suspension's length in school days (0.5 = one session)",
                ("kind", "days"),
            )
        )
    if table.name == "police_contacts" and {"date", "outcome_known_date"} <= have:
        rules.append(
            Rule(
                "outcome_known_date",
                "known_before_event",
                "__t_outcome_known_date < __t_date",
                "outcome_known_date is before the contact's date",
                "an outcome is known on or after the contact",
                ("date", "outcome_known_date"),
            )
        )
        if "outcome" in have:
            rules.append(
                Rule(
                    "outcome_known_date",
                    "date_without_outcome",
                    "__t_outcome_known_date IS NOT NULL AND __t_outcome IS NULL",
                    "outcome_known_date is given but outcome is empty",
                    "give the outcome, or leave outcome_known_date empty",
                    ("outcome", "outcome_known_date"),
                )
            )
    if table.name == "interventions" and {"start_date", "end_date"} <= have:
        rules.append(
            Rule(
                "end_date",
                "end_before_start",
                "__t_end_date < __t_start_date",
                "end_date is before start_date",
                "check both dates",
                ("start_date", "end_date"),
            )
        )
    return rules


def person_rules(table: Table, typed: dict[str, TypedColumn]) -> list[Rule]:
    """The rules of an event table against ``people``.

    People are joined as ``__p_person_id`` and ``__p_birth_date``: every person must be known,
    and no event may be before their birth.
    """
    rules = [
        Rule(
            "person_id",
            "unknown_person",
            "person_id IS NOT NULL AND person_id <> '' AND __p_person_id IS NULL",
            "person_id is not in people",
            "every event must refer to a person in people; check the extracts were "
            "taken on the same day with the same pseudonymisation key",
            ("person_id",),
        )
    ]
    event = table.event_date
    if event and event in typed and not typed[event].wrong_type:
        rules.append(
            Rule(
                event,
                "before_birth",
                f"{_as_date(table, event)} < __p_birth_date",
                "event before the person's birth_date",
                "check the event date and the person's birth_date in people",
                ("person_id", event, "=__p_birth_date AS birth_date"),
            )
        )
    return rules
