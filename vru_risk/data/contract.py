"""The data contract (v1): which tables, columns, types and values a data folder may hold.

This module is data, not code paths: the validator (:mod:`vru_risk.data.validate`), the
synthetic generator and the documentation all read these declarations, so there is one place
where the contract is written down. See ``docs/data-contract.md`` for the prose version.

Example
-------
>>> from vru_risk.data.contract import TABLES
>>> [c.name for c in TABLES["attendance"].columns][:4]
['person_id', 'date', 'session', 'status']
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from vru_risk.data.ids import PERSON_ID_MAX_LENGTH

CONTRACT_VERSION: Final = "1"

#: Attributes used only to audit models for fairness. They live in ``people`` and nowhere else,
#: and they can never become model features.
AUDIT_ONLY_COLUMNS: Final = ("sex", "ethnicity", "sen", "fsm", "looked_after", "imd_decile")

#: The closed set of spellings accepted for a boolean in a CSV file (compared case-insensitively).
#: Anything else ("yes", "maybe", "") is reported, never coerced.
BOOL_TRUE: Final = frozenset({"true", "1"})
BOOL_FALSE: Final = frozenset({"false", "0"})

#: A suspension is at most 45 school days in a school year (DfE).
MAX_SUSPENSION_DAYS: Final = 45.0

#: Plausible ages (in years) at the extract date for anyone in ``people``: the VRU works with
#: 8-18 year olds; an extract may hold a few years of history either side.
MIN_AGE_AT_EXTRACT_YEARS: Final = 4
MAX_AGE_AT_EXTRACT_YEARS: Final = 30


class Kind(StrEnum):
    """The logical type of a column."""

    STRING = "string"
    DATE = "date"
    DATETIME = "datetime"
    CATEGORY = "category"
    BOOL = "bool"
    FLOAT = "float"
    INT = "int"


@dataclass(frozen=True)
class Column:
    """One column of the contract.

    ``required`` means the column must be present in the file; ``nullable`` means a present
    column may hold empty values.
    """

    name: str
    kind: Kind
    doc: str
    required: bool = True
    nullable: bool = False
    categories: tuple[str, ...] = ()
    min_value: float | None = None
    max_value: float | None = None
    #: a number counted in whole steps (a suspension's days in sessions of 0.5): every value is a
    #: multiple of it. A step that is a power of two makes sums of the column exact in binary
    #: floating point, so they do not depend on the order rows are added (docs/portability.md).
    step: float | None = None
    #: the longest value a string column may hold (characters)
    max_length: int | None = None

    @property
    def sums_exactly(self) -> bool:
        """Sums of it are exact on any engine, in any order: whole numbers, or whole steps of a
        power of two (the validator enforces the step)."""
        if self.kind is Kind.INT:
            return True
        return self.kind is Kind.FLOAT and self.step is not None and math.frexp(self.step)[0] == 0.5


@dataclass(frozen=True)
class Table:
    """One table of the contract: its columns, its key and its event date."""

    name: str
    doc: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    #: The column that dates the event (checked against birth and the extract date).
    event_date: str | None
    required: bool = False

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def required_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.name} has no column {name!r}")


SEX: Final = ("female", "male", "unknown")
ETHNICITY: Final = ("asian", "black", "mixed", "white", "other", "unknown")
SEN: Final = ("none", "sen_support", "ehcp")
SESSIONS: Final = ("am", "pm")
ATTENDANCE_STATUS: Final = (
    "present",
    "late",
    "authorised_absence",
    "unauthorised_absence",
    "excluded",
    "not_required",
)
EXCLUSION_KIND: Final = ("suspension", "permanent")
EXCLUSION_REASON: Final = (
    "physical_assault",
    "verbal_abuse",
    "bullying",
    "discriminatory_abuse",
    "sexual_misconduct",
    "drugs_alcohol",
    "damage",
    "theft",
    "persistent_disruption",
    "weapon",
    "other",
)
POLICE_ROLE: Final = ("suspect", "victim", "witness", "missing_person", "stop_search", "other")
POLICE_OFFENCE: Final = (
    "violence_with_injury",
    "violence_without_injury",
    "robbery",
    "weapon_possession",
    "sexual_offence",
    "drugs",
    "theft",
    "criminal_damage",
    "public_order",
    "anti_social_behaviour",
    "other",
    "none",
)
POLICE_OUTCOME: Final = ("nfa", "community_resolution", "caution", "charge", "unknown")
AE_REASON: Final = ("assault", "self_harm", "alcohol_drugs", "accident", "sports_injury", "other")

#: Offences that count as serious violence for the default label.
SERIOUS_VIOLENCE_OFFENCES: Final = (
    "violence_with_injury",
    "robbery",
    "weapon_possession",
    "sexual_offence",
)

_PERSON = Column(
    "person_id",
    Kind.STRING,
    "pseudonymous identifier of the young person",
    max_length=PERSON_ID_MAX_LENGTH,
)
_KNOWN = Column(
    "known_date",
    Kind.DATE,
    "the day the VRU learned of the event; when the column is absent it is the event date "
    "plus the source's configured reporting lag",
    required=False,
)

PEOPLE = Table(
    name="people",
    doc="one row per young person",
    required=True,
    key=("person_id",),
    event_date=None,
    columns=(
        _PERSON,
        Column("birth_date", Kind.DATE, "the first of the birth month is enough"),
        Column("sex", Kind.CATEGORY, "audit only", categories=SEX),
        Column("ethnicity", Kind.CATEGORY, "ONS 5+1 groups; audit only", categories=ETHNICITY),
        Column("sen", Kind.CATEGORY, "special educational needs; audit only", categories=SEN),
        Column(
            "fsm",
            Kind.BOOL,
            "free school meals eligibility; audit only; empty = unknown",
            nullable=True,
        ),
        Column(
            "looked_after",
            Kind.BOOL,
            "child in care; audit only; empty = unknown",
            nullable=True,
        ),
        Column(
            "imd_decile",
            Kind.INT,
            "deprivation decile of the home area, 1 = most deprived; audit only; empty = unknown",
            nullable=True,
            min_value=1,
            max_value=10,
        ),
        Column("school_id", Kind.STRING, "current school, if any", nullable=True),
        Column(
            "left_area_date",
            Kind.DATE,
            "the day the person left the VRU's area or data coverage; labels after it are censored",
            required=False,
            nullable=True,
        ),
    ),
)

ATTENDANCE = Table(
    name="attendance",
    doc="one row per registration session",
    key=("person_id", "date", "session"),
    event_date="date",
    columns=(
        _PERSON,
        Column("date", Kind.DATE, "the school day"),
        Column("session", Kind.CATEGORY, "morning or afternoon register", categories=SESSIONS),
        Column(
            "status",
            Kind.CATEGORY,
            "see vru_risk.data.dfe_codes for the mapping from DfE codes",
            categories=ATTENDANCE_STATUS,
        ),
        _KNOWN,
    ),
)

EXCLUSIONS = Table(
    name="exclusions",
    doc="suspensions and permanent exclusions",
    key=("person_id", "start_date"),
    event_date="start_date",
    columns=(
        _PERSON,
        Column("start_date", Kind.DATE, "first day of the exclusion"),
        Column("kind", Kind.CATEGORY, "suspension or permanent", categories=EXCLUSION_KIND),
        Column(
            "days",
            Kind.FLOAT,
            "length of a suspension in school days (0.5 = one session); empty for permanent",
            nullable=True,
            min_value=0.5,
            max_value=MAX_SUSPENSION_DAYS,
            step=0.5,
        ),
        Column("reason", Kind.CATEGORY, "DfE reason group", categories=EXCLUSION_REASON),
        _KNOWN,
    ),
)

POLICE_CONTACTS = Table(
    name="police_contacts",
    doc="contacts with the police: as suspect, victim, witness, missing person, stop and search",
    key=("person_id", "date", "role", "offence"),
    event_date="date",
    columns=(
        _PERSON,
        Column("date", Kind.DATE, "day of the incident"),
        Column("role", Kind.CATEGORY, "the young person's role", categories=POLICE_ROLE),
        Column("offence", Kind.CATEGORY, "offence group", categories=POLICE_OFFENCE),
        Column(
            "outcome",
            Kind.CATEGORY,
            "outcome so far ('unknown' with an empty outcome_known_date = pending; both empty = "
            "no outcome for this young person, e.g. a victim); a feature only where "
            "outcome_known_date is supplied",
            required=False,
            nullable=True,
            categories=POLICE_OUTCOME,
        ),
        _KNOWN,
        Column(
            "outcome_known_date",
            Kind.DATE,
            "the day the outcome became known",
            required=False,
            nullable=True,
        ),
    ),
)

AE_VISITS = Table(
    name="ae_visits",
    doc="hospital emergency department attendances",
    key=("person_id", "arrival"),
    event_date="arrival",
    columns=(
        _PERSON,
        Column("arrival", Kind.DATETIME, "arrival date and time (ISO 8601, local time)"),
        Column("hospital", Kind.STRING, "hospital code or name"),
        Column("reason", Kind.CATEGORY, "reason for attendance", categories=AE_REASON),
        Column("admitted", Kind.BOOL, "admitted to a ward"),
        _KNOWN,
    ),
)

INTERVENTIONS = Table(
    name="interventions",
    doc="support already given (treatment, never a risk feature)",
    key=("person_id", "programme", "start_date"),
    event_date="start_date",
    columns=(
        _PERSON,
        Column("programme", Kind.STRING, "programme name"),
        Column("start_date", Kind.DATE, "first day of support"),
        Column("end_date", Kind.DATE, "last day of support; empty while ongoing", nullable=True),
        Column(
            "completed",
            Kind.BOOL,
            "whether the young person completed the programme (true) or left it early (false); "
            "empty while ongoing or where the programme does not record it. Optional: a file "
            "without it is read as 'completion not recorded' (programme reach, docs/evaluation.md)",
            required=False,
            nullable=True,
        ),
        _KNOWN,
    ),
)

#: Every table of the contract, ``people`` first.
TABLES: Final[dict[str, Table]] = {
    t.name: t for t in (PEOPLE, ATTENDANCE, EXCLUSIONS, POLICE_CONTACTS, AE_VISITS, INTERVENTIONS)
}

#: Event tables (everything but ``people``); each is optional.
EVENT_TABLES: Final = tuple(name for name in TABLES if name != "people")

#: Each table (a source of the model's inputs) in words, for pages and reports.
SOURCE_NAMES: Final[dict[str, str]] = {
    "attendance": "School attendance",
    "exclusions": "School exclusions",
    "police_contacts": "Police contacts",
    "ae_visits": "A&E visits",
    "interventions": "Support already under way",
    "people": "Age and school",
}


def source_name(source: str) -> str:
    """A source in words (:data:`SOURCE_NAMES`; another code with its underscores as spaces).

    >>> source_name("ae_visits"), source_name("other_feed")
    ('A&E visits', 'other feed')
    """
    return SOURCE_NAMES.get(source, source.replace("_", " "))


#: File suffixes a table may use.
FORMATS: Final = (".parquet", ".csv")

MANIFEST_NAME: Final = "manifest.json"


@dataclass(frozen=True)
class DerivedColumn:
    """A column the loader computes from contract columns (SQL over the typed columns)."""

    kind: Kind
    sql: str
    doc: str


#: Columns computed by the loader from contract columns, usable in feature filters.
DERIVED_COLUMNS: Final[dict[str, dict[str, DerivedColumn]]] = {
    "ae_visits": {
        "night_or_weekend": DerivedColumn(
            kind=Kind.BOOL,
            # days since Monday 1 January of the year 1, modulo 7: 5 and 6 are Saturday and
            # Sunday (isodow would transpile to Spark wrongly: vru_risk.data.portable)
            sql="(hour(arrival) >= 22 OR hour(arrival) < 6 "
            "OR date_diff('day', DATE '0001-01-01', CAST(arrival AS DATE)) % 7 >= 5)",
            doc="arrived between 22:00 and 06:00, or on a Saturday or Sunday",
        )
    },
}


def contract_markdown() -> str:
    """Render the tables of the contract as Markdown (kept in ``docs/data-contract.md``)."""
    out: list[str] = []
    for table in TABLES.values():
        needed = "required" if table.required else "optional"
        out.append(f"### `{table.name}` ({needed}): {table.doc}\n")
        out.append(f"Key: ({', '.join(table.key)}). ")
        out.append(
            f"Event date: `{table.event_date}`.\n\n" if table.event_date else "\n\n",
        )
        out.append("| column | type | column required | empty allowed | values | notes |\n")
        out.append("| --- | --- | --- | --- | --- | --- |\n")
        for c in table.columns:
            if c.categories:
                values = " / ".join(c.categories)
            elif c.min_value is not None:
                values = f"{c.min_value:g} to {c.max_value:g}"
                if c.step is not None:
                    values += f" in steps of {c.step:g}"
            elif c.max_length is not None:
                values = f"at most {c.max_length} characters"
            else:
                values = ""
            out.append(
                f"| {c.name} | {c.kind.value} | {'yes' if c.required else 'no'} | "
                f"{'yes' if c.nullable else 'no'} | {values} | {c.doc} |\n"
            )
        out.append("\n")
    return "".join(out)
