"""Flags files and the capacity they use: the one reader and writer of flags JSONL.

A flags file holds one :class:`~vru_risk.flags.flag.Flag` per line, as JSON. ``vru flags
generate`` writes the day's file (``--out``) and keeps the *issued-flags ledger*, one file per
day of offers made (``VRU_HOME/flags/issued/issued-<day>.jsonl``); ``vru flags load`` and
``--issued`` read such files, and retention rewrites the ledger without expired lines.

Reading (:func:`read_flags_file`) refuses a file, naming it and each bad line, unless every
non-blank line is a flag that can be stored and shown on ``today``: valid against the Flag model
(finite numbers only), no control character in any text (NUL included), an ``as_of`` not after
today and an expiry not before the ``as_of``, one content per flag id; a caller adds its own
rule with ``check`` (the service: ids that fit its columns). Writing (:func:`write_flags`) is
atomic: a reader never sees half a file.

"Capacity used" is counted in one place, :func:`capacity_used`, from the dates of a programme's
offers: the daily job feeds it from the flags it has issued (the ledger), the service from its
database rows.

Example
-------
>>> from vru_risk.flags.programmes import load_programmes
>>> weekly = load_programmes().by_id("admit_ae")
>>> offers = [date(2026, 3, 1), date(2026, 3, 2), date(2026, 3, 8), date(2026, 3, 9)]
>>> capacity_used(offers, weekly, date(2026, 3, 4))  # the week of Monday 2 March
2
>>> control_character({"a": ["ok", "bad\\x00"]})
('a.1', 'U+0000')
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from pathlib import Path
from typing import Any, Final

from pydantic import ValidationError

from vru_risk.flags.flag import Flag
from vru_risk.flags.programmes import Programme
from vru_risk.pydantic_errors import first_error_line

#: The ledger's files: one per day of offers made (a re-run of a day replaces its file).
ISSUED_GLOB: Final = "issued-*.jsonl"

#: C0 and C1 control characters (NUL included), line and paragraph separators, and the
#: bidirectional overrides and isolates that can make a text display differently from what it
#: holds. None has a place in a flag.
_CONTROL: Final = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")

#: A caller's own rule for a flag read from a file: why it cannot be used, or None.
FlagCheck = Callable[[Flag], str | None]


class FlagsFileError(ValueError):
    """A flags file that cannot be used; the message names the file and its bad lines."""


def pacing_file(ledger: Path) -> Path:
    """The paced programmes' history beside the ledger (counts only: :mod:`.pacing`)."""
    return ledger / "pacing.json"


def issued_file(ledger: Path, day: date) -> Path:
    """The ledger's file of the offers made on ``day``."""
    return ledger / f"issued-{day.isoformat()}.jsonl"


def control_character(data: Any, path: str = "") -> tuple[str, str] | None:
    """The first string (or key) in ``data`` holding a control character: (where, which)."""
    if isinstance(data, str):
        found = _CONTROL.search(data)
        return None if found is None else (path or "value", f"U+{ord(found.group()):04X}")
    if isinstance(data, dict):
        for key, value in data.items():
            where = f"{path}.{key}" if path else str(key)
            found_key = control_character(str(key), where)
            hit = found_key or control_character(value, where)
            if hit is not None:
                return hit
    elif isinstance(data, list | tuple):
        for i, value in enumerate(data):
            hit = control_character(value, f"{path}.{i}" if path else str(i))
            if hit is not None:
                return hit
    return None


def text_problem(flag: Flag, raw: str | None = None) -> str | None:
    """Why a text of ``flag`` cannot be shown (a control character), or None. ``raw`` is the
    flag's JSON text when at hand (else it is serialised here)."""
    text = raw if raw is not None else flag.model_dump_json()
    # JSON writes a control character in a string escaped (a backslash) or, for the separators
    # and bidirectional marks, as itself: text with neither needs no walk through its strings
    if "\\" not in text and _CONTROL.search(text) is None:
        return None
    hit = control_character(json.loads(text))
    if hit is not None:
        where, which = hit
        return f"{where} holds a control character ({which}); no text of a flag may"
    return None


def date_problem(flag: Flag, today: date) -> str | None:
    """Why the flag's dates cannot be right on ``today`` (the real date), or None: an as_of
    after today (the service's "today" must never run ahead of the clock), or an expiry before
    the as_of."""
    if flag.as_of > today:
        return (
            f"as_of {flag.as_of.isoformat()} is after today's date ({today.isoformat()}); a flag "
            "is dated the day the VRU knew of its trigger, never in the future"
        )
    if flag.expires < flag.as_of:
        return (
            f"expires {flag.expires.isoformat()} is before as_of {flag.as_of.isoformat()}; a "
            "flag expires on or after the day it was made"
        )
    return None


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FlagsFileError(
            f"{path} does not exist; give the file `vru flags generate` wrote"
        ) from None
    except IsADirectoryError:
        raise FlagsFileError(f"{path} is a folder; give the flags .jsonl file in it") from None
    except UnicodeDecodeError as exc:
        raise FlagsFileError(
            f"{path} is not UTF-8 text ({exc.reason}); is it a JSONL file?"
        ) from None
    except OSError as exc:
        raise FlagsFileError(
            f"{path} cannot be read ({exc.strerror}); check its permissions"
        ) from None


def _line_problem(line: str, today: date, check: FlagCheck | None) -> Flag | str:
    """The flag on ``line``, or why it is not one that can be used."""
    try:
        flag = Flag.model_validate_json(line)
    except ValidationError as exc:
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        return f"{first_error_line(exc, default='line')}{more}"
    problem = (check(flag) if check else None) or text_problem(flag, line)
    return problem or date_problem(flag, today) or flag


def read_flags_file(
    path: Path,
    *,
    today: date,
    check: FlagCheck | None = None,
    summary: str = "{count} line(s) are not valid flags",
    advice: str = "Give the JSONL file written by `vru flags generate`.",
    shown: int = 5,
) -> list[Flag]:
    """Every flag of a flags JSONL file, each line checked; blank lines are skipped.

    Raises :class:`FlagsFileError` unless every line is a flag that can be used on ``today``
    (see the module's rules; ``check`` adds the caller's). A flag id given twice with the same
    content is read once; with different content it is refused. The message names the file,
    then ``summary`` (``{count}`` is the number of bad lines) and the first ``shown`` bad lines
    with their numbers, then ``advice``. A file without a flag is read as no flags.
    """
    flags: list[Flag] = []
    problems: list[str] = []
    seen: dict[str, tuple[int, Flag]] = {}
    for number, line in enumerate(_read_text(path).splitlines(), 1):
        if not line.strip():
            continue
        flag = _line_problem(line, today, check)
        if isinstance(flag, str):
            problems.append(f"line {number}: {flag}")
            continue
        earlier = seen.get(flag.flag_id)
        if earlier is not None:
            if earlier[1] != flag:
                problems.append(
                    f"line {number}: flag {flag.flag_id} was already on line {earlier[0]} with "
                    "different content"
                )
            continue
        seen[flag.flag_id] = (number, flag)
        flags.append(flag)
    if problems:
        listed = "\n".join(f"  - {p}" for p in problems[:shown])
        rest = len(problems) - shown
        raise FlagsFileError(
            f"{path}: {summary.format(count=len(problems))}:\n{listed}"
            + (f"\n  ... and {rest} more" if rest > 0 else "")
            + f"\n{advice}"
        )
    return flags


def write_lines(path: Path, lines: Iterable[str]) -> None:
    """Write ``lines`` (each ended by a newline) to ``path`` atomically: written to a
    temporary file beside it, then renamed over it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with tmp.open("w", encoding="utf-8") as fh:
            for line in lines:
                fh.write(line + "\n")
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def write_flags(flags: Iterable[Flag], out: Path) -> None:
    """Write one flag per line (JSON), atomically (a reader never sees half a file)."""
    write_lines(out, (flag.model_dump_json() for flag in flags))


def line_as_of(line: str) -> date | None:
    """The ``as_of`` of a ledger line, or None when the line cannot be dated (retention keeps
    such a line rather than lose it)."""
    try:
        return date.fromisoformat(json.loads(line)["as_of"])
    except (ValueError, KeyError, TypeError):
        return None


def record_issued(ledger: Path, days: Sequence[date], flags: Sequence[Flag]) -> None:
    """Keep the offers made on each of ``days`` in the ledger, one file per day (a re-run of
    a day replaces its file; a day without flags leaves an empty file)."""
    for day in days:
        write_flags([f for f in flags if f.as_of == day], issued_file(ledger, day))


def issued_before(
    ledger: Path, days: Sequence[date], extra: Sequence[Path], *, today: date
) -> list[Flag]:
    """Flags issued earlier (they use capacity up and are not offered again while valid): the
    ledger's files, except those of the days being (re)generated, plus any ``extra`` files
    (``--issued``); of the ledger only flags dated before the first of ``days``. Each flag
    counts once."""
    found: dict[str, Flag] = {}
    regenerated = {issued_file(ledger, d).name for d in days}
    files = sorted(p for p in ledger.glob(ISSUED_GLOB) if p.name not in regenerated)
    for path in [*files, *extra]:
        for flag in read_flags_file(path, today=today):
            if path in extra or flag.as_of < days[0]:
                found.setdefault(flag.flag_id, flag)
    return list(found.values())


def offer_dates(flags: Iterable[Flag], programme_id: str) -> list[date]:
    """The dates (``as_of``) of the offers of ``programme_id`` in ``flags``."""
    return [
        flag.as_of
        for flag in flags
        for offer in flag.programmes
        if offer.programme == programme_id and offer.status == "offered"
    ]


def capacity_used(offers: Iterable[date], programme: Programme, day: date) -> int:
    """How many of ``programme``'s offers (their dates) fall in its capacity period holding
    ``day`` (a week from Monday, or a calendar month): the capacity they use up."""
    start, end = programme.period_start(day), programme.period_end(day)
    return sum(1 for offered in offers if start <= offered <= end)
