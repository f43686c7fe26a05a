"""The rule every identifier and code obeys, in one place: what ``vru data validate`` checks in
each identifier column of an extract (as RE2 patterns for DuckDB) and ``vru flags load`` in each
id of a flag (:func:`id_problem`).

Identifiers are compared exactly, so

- no control character (Unicode category Cc: NUL, tab, line breaks, escape, C1): never part of
  an identifier, and a sign of a corrupt or binary export;
- no invisible formatting character (Cf: zero-width space and joiners, byte-order mark, soft
  hyphen, bidirectional marks) nor a line or paragraph separator (Zl, Zp): ``"P1\\u200b"``
  displays as ``"P1"`` but would be another young person to the service and its audit log;
- no whitespace at either end (ASCII whitespace or a Unicode space, such as a no-break
  space): ``" P1"`` and ``"P1"`` would be two people;
- a person id has at most :data:`PERSON_ID_MAX_LENGTH` characters (the longest the service's
  tables and its audit log store).

Example
-------
>>> id_problem("P0001") is None
True
>>> id_problem("P0001\\u200b"), id_problem("P\\x000"), id_problem("\\u00a0P1")
('holds an invisible formatting character (U+200B)', 'holds a control character (U+0000)', \
'has whitespace at the start or end')
>>> INVISIBLE_RE2
'[\\\\p{Cf}\\\\p{Zl}\\\\p{Zp}]'
"""

from __future__ import annotations

import unicodedata
from typing import Final

#: The longest person id: the columns holding it in the service and in its audit log.
PERSON_ID_MAX_LENGTH: Final = 128
CONTROL_CATEGORIES: Final = ("Cc",)
INVISIBLE_CATEGORIES: Final = ("Cf", "Zl", "Zp")
#: Whitespace no identifier may start or end with: ASCII whitespace and the Unicode spaces.
ASCII_SPACE: Final = "\t\n\x0b\x0c\r "
SPACE_CATEGORIES: Final = ("Zs", "Zl", "Zp")


def _re2_class(categories: tuple[str, ...], characters: str = "") -> str:
    """An RE2 character class (DuckDB's regular expressions) of ``categories`` and
    ``characters``."""
    escaped = "".join(f"\\x{ord(c):02x}" for c in characters)
    classes = "".join("\\p{" + c + "}" for c in categories)
    return f"[{escaped}{classes}]"


CONTROL_RE2: Final = _re2_class(CONTROL_CATEGORIES)
INVISIBLE_RE2: Final = _re2_class(INVISIBLE_CATEGORIES)
_SPACE_RE2: Final = _re2_class(SPACE_CATEGORIES, ASCII_SPACE)
EDGE_SPACE_RE2: Final = f"^{_SPACE_RE2}|{_SPACE_RE2}$"


def _is_space(character: str) -> bool:
    return character in ASCII_SPACE or unicodedata.category(character) in SPACE_CATEGORIES


def id_problem(value: str) -> str | None:
    """What is wrong with an identifier, never quoting it (it may name a young person), or
    None. Its length is the caller's check (each column has its own)."""
    for character in value:
        category = unicodedata.category(character)
        if category in CONTROL_CATEGORIES:
            return f"holds a control character (U+{ord(character):04X})"
        if category in INVISIBLE_CATEGORIES:
            return f"holds an invisible formatting character (U+{ord(character):04X})"
    if value and (_is_space(value[0]) or _is_space(value[-1])):
        return "has whitespace at the start or end"
    return None
