"""What validation reports: a :class:`Problem` per thing wrong, with :class:`Example` rows.

Kept apart from the checks so that every module of the validator builds the same reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: How many offending rows a problem shows.
MAX_EXAMPLES = 5


@dataclass(frozen=True)
class Example:
    """One offending row: its spreadsheet row number (header = 1) and the values shown."""

    row: int
    values: tuple[tuple[str, str | None], ...]

    def render(self) -> str:
        shown = ", ".join(f"{k}={'(empty)' if v is None else repr(v)}" for k, v in self.values)
        return f"row {self.row}: {shown}" if self.row > 0 else shown


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the folder.

    ``count`` is the number of offending rows (0 for a problem with the file as a whole).
    """

    file: str
    column: str | None
    check: str
    message: str
    hint: str
    count: int = 0
    examples: tuple[Example, ...] = ()

    @property
    def where(self) -> str:
        return f"{self.file}, column {self.column!r}" if self.column else self.file

    def render(self) -> str:
        rows = f" ({self.count:,} row{'s' if self.count != 1 else ''})" if self.count else ""
        lines = [f"{self.where}: {self.message}{rows}"]
        lines += [f"    {e.render()}" for e in self.examples]
        if self.count > len(self.examples) and self.examples:
            lines.append(f"    ... and {self.count - len(self.examples):,} more")
        lines.append(f"    what to do: {self.hint}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "column": self.column,
            "check": self.check,
            "message": self.message,
            "hint": self.hint,
            "count": self.count,
            "examples": [{"row": e.row, "values": dict(e.values)} for e in self.examples],
        }
