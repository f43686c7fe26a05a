"""The files of a data folder, before any of them is parsed.

* What a path is, from its metadata alone: a named pipe, a socket, a device, a folder or a
  symbolic link loop named like a table is reported for what it is and never opened (opening a
  named pipe blocks until something writes to it; reading a device may never end). A symbolic
  link is followed only when it stays inside the data folder.
* One streamed pass over a CSV file (:func:`text_problem`): a line longer than any row of the
  contract stops the pass at once ("is this the right file?"), so a 2 GB file without a line
  break is never read into memory; then bytes that are not UTF-8 and blank lines, which would
  shift every row number.
* The manifest's ``tables.<name>.file`` entries: the name of the table's file in the folder,
  never a path out of it.
* Which files are the tables (:func:`discover_tables`), the folder's own path (never a pattern
  DuckDB would expand), a CSV file's header row, and the problem of a file no reader can parse.
"""

from __future__ import annotations

import codecs
import csv
import errno
import re
import stat
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Final

import numpy as np

from vru_risk.data.contract import FORMATS, MANIFEST_NAME, TABLES
from vru_risk.data.fingerprint import CHUNK
from vru_risk.data.validate.problems import MAX_EXAMPLES, Example, Problem

#: The longest line a CSV of the contract may have. A row of the contract is a few hundred
#: bytes; this is far above that and below what the readers accept (Python's csv module: a field
#: of 131,072 characters; DuckDB: a line of 2 MiB), so a longer line is reported by name rather
#: than as a reader's error, and the rest of the file is not read.
MAX_LINE_BYTES: Final = 1 << 16

#: Characters DuckDB would expand as a file pattern in a path.
GLOB_CHARACTERS = frozenset("*?[]{}")


class FolderNotFoundError(ValueError):
    """The data folder does not exist, is not a folder, or cannot be read safely."""


def check_plain_path(path: Path, what: str) -> None:
    """Refuse a path DuckDB would read as a glob pattern (it could pull in other folders)."""
    bad = sorted(set(str(path)) & GLOB_CHARACTERS)
    if bad:
        raise FolderNotFoundError(
            f"{what} {path} contains {' '.join(bad)}, which the reader would treat as a file "
            "pattern; rename or move it to a path without these characters"
        )


def csv_header(path: Path) -> list[str]:
    """The header row of a CSV file (a UTF-8 byte order mark is skipped)."""
    with path.open("r", encoding="utf-8-sig", newline="") as f:
        return next(csv.reader(f), [])


def unreadable_problem(path: Path, fmt: str, exc: Exception) -> Problem:
    """The problem of a file that a reader cannot parse as ``fmt``."""
    message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return Problem(
        path.name,
        None,
        "unreadable_file",
        f"cannot be read as {fmt.upper()}: {message}",
        "re-export the table as a well-formed UTF-8 CSV with a header row (comma separated, "
        "double quotes) or as Parquet; check the file is complete and readable",
    )


_KINDS: Final = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def _kind(mode: int) -> str | None:
    if stat.S_ISREG(mode):
        return None
    return next((name for test, name in _KINDS if test(mode)), "a special file")


def what_it_is(path: Path) -> str | None:
    """What ``path`` is when it is not a regular file (``None`` when it is); never opens it.

    >>> what_it_is(Path("/dev/null"))
    'a character device'
    """
    try:
        mode = path.lstat().st_mode
    except OSError as exc:
        return f"unreadable ({exc.strerror})"
    if not stat.S_ISLNK(mode):
        return _kind(mode)
    try:
        target = path.stat().st_mode
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "a symbolic link loop"
        if exc.errno == errno.ENOENT:
            try:
                return f"a broken symbolic link (to {path.readlink()})"
            except OSError:
                return "a broken symbolic link"
        return f"a symbolic link that cannot be followed ({exc.strerror})"
    kind = _kind(target)
    return None if kind is None else f"a symbolic link to {kind}"


def _inside(path: Path, folder: Path) -> bool:
    try:
        return path.resolve().is_relative_to(folder.resolve())
    except (OSError, RuntimeError):  # a symbolic link loop on the way
        return False


def path_problem(path: Path, folder: Path, *, check: str | None = None) -> Problem | None:
    """A problem when ``path`` is not a regular file inside ``folder`` (it is then never opened).

    ``check`` replaces the checks' own identifiers (``not_a_file``, ``outside_folder``), e.g.
    ``bad_manifest`` for the manifest.
    """
    what = what_it_is(path)
    if what is not None:
        return Problem(
            path.name,
            None,
            check or "not_a_file",
            f"is {what}, not a file: it was not opened",
            f"put the export itself here as a regular file, or remove {path.name} from the folder",
        )
    if not _inside(path, folder):
        return Problem(
            path.name,
            None,
            check or "outside_folder",
            f"is a symbolic link to a file outside the data folder ({path.resolve()}): it was "
            "not opened",
            "copy the file into the data folder: a data folder is self-contained, and "
            "validation reads nothing outside it",
        )
    return None


def manifest_file_problem(folder: Path, table: str, value: object, actual: Path | None) -> str:
    """What is wrong with the manifest's ``tables.<table>.file`` (``""`` when nothing is).

    It must be the name of the table's file in the data folder (``actual``, when the table is
    there): not an absolute path, no ``..``, no symbolic link leading out of the folder.
    """
    if not isinstance(value, str) or not value.strip():
        return f"{value!r} must be the table's file name (text)"
    if (
        value.startswith(("/", "\\"))
        or PurePosixPath(value).is_absolute()
        or PureWindowsPath(value).drive
    ):
        return f"{value!r} is an absolute path; the manifest names files inside the data folder"
    if ".." in re.split(r"[\\/]", value):
        return f"{value!r} climbs out of the data folder with '..'"
    if "\x00" in value or not _inside(folder / value, folder):
        return f"{value!r} leads outside the data folder (through a symbolic link)"
    if actual is not None and value != actual.name:
        return f"{value!r} names another file, but the {table} table's file is {actual.name}"
    return ""


class LineLengths:
    """Follows line lengths across chunks; reports the first line longer than ``limit`` bytes."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.line = 1  # number of the line being read
        self.current = 0  # its bytes so far
        self.ended = False  # whether the line reported by feed() ends in what was read

    def feed(self, chunk: bytes) -> int | None:
        ends = np.flatnonzero(np.frombuffer(chunk, dtype=np.uint8) == 0x0A)
        if ends.size:
            lengths = np.diff(ends, prepend=-1) - 1  # each line ending in this chunk, sans \n
            lengths[0] += self.current
            over = np.flatnonzero(lengths > self.limit)
            if over.size:
                self.ended = True
                return self.line + int(over[0])
            self.line += int(ends.size)
            self.current = len(chunk) - int(ends[-1]) - 1
        else:
            self.current += len(chunk)
        return self.line if self.current > self.limit else None


def _long_line_problem(path: Path, line: int, limit: int, ended: bool) -> Problem:
    where = "row 1 (the header)" if line == 1 else f"row {line}"
    tail = ", with no line break" if line == 1 and not ended else ""
    return Problem(
        file=path.name,
        column=None,
        check="line_too_long",
        message=f"{where} is longer than {limit:,} bytes{tail}: is this the right file? (a row "
        "of the contract is a few hundred bytes; row numbers are line numbers here; the file "
        "was not parsed)",
        hint="check that this is the table's CSV export and not another file (a binary file, a "
        "one-line JSON dump, text with old Mac line endings); export one record per line",
    )


def text_problem(path: Path, max_line_bytes: int = MAX_LINE_BYTES) -> Problem | None:
    """The first problem with a CSV file as text, in one streamed pass; ``None`` if none.

    A line longer than ``max_line_bytes`` ends the pass at once (memory stays at one chunk);
    otherwise bytes that are not UTF-8, then blank lines, are reported with their line numbers.
    """
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    lines = LineLengths(max_line_bytes)
    utf8, blank, previous = True, False, b"\n"
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            long = lines.feed(chunk)
            if long is not None:
                return _long_line_problem(path, long, max_line_bytes, lines.ended)
            if utf8:
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    utf8 = False
            joined = previous + chunk
            blank = blank or b"\n\n" in joined or b"\n\r\n" in joined
            previous = chunk[-2:]
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        utf8 = False
    if not utf8:
        return _utf8_problem(path)
    return _blank_line_problem(path) if blank else None


def _blank_line_problem(path: Path) -> Problem | None:
    # Blank lines at the very end shift nothing and are ignored; any other one is reported.
    blanks: list[int] = []
    pending: list[int] = []
    with path.open("rb") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip(b"\r\n"):
                pending.append(number)
            else:
                blanks += pending
                pending = []
    if not blanks:
        return None
    count, lines = len(blanks), blanks[:MAX_EXAMPLES]
    return Problem(
        file=path.name,
        column=None,
        check="blank_line",
        message="has blank lines, which would make every later row number wrong (row numbers "
        "are line numbers here)",
        hint="remove the blank lines (often a trailing empty line from a spreadsheet export)",
        count=count,
        examples=tuple(Example(n, (("line", ""),)) for n in lines),
    )


def _utf8_problem(path: Path) -> Problem:
    """Report the first lines that are not valid UTF-8."""
    bad: list[Example] = []
    count = 0
    with path.open("rb") as f:
        for number, line in enumerate(f, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as exc:
                count += 1
                if len(bad) < MAX_EXAMPLES:
                    snippet = line[max(0, exc.start - 10) : exc.end + 10]
                    bad.append(Example(number, (("bytes", repr(snippet)[2:-1]),)))
    return Problem(
        file=path.name,
        column=None,
        check="not_utf8",
        message="the file is not UTF-8 text (row numbers are line numbers here)",
        hint="export the file as UTF-8 (in Excel: 'CSV UTF-8'; or iconv -f cp1252 -t utf-8)",
        count=count,
        examples=tuple(bad),
    )


def discover_tables(folder: Path) -> tuple[dict[str, Path], set[str], list[Problem]]:
    """The table files of ``folder``, by table; the tables refused; the problems found.

    A file is a table when it is named ``<table>.csv`` or ``<table>.parquet``; anything else
    (but hidden files and the manifest) is reported, and so is a table supplied twice, a table
    whose file is not a regular file inside the folder (it is then refused, never opened) and a
    missing ``people`` table.
    """
    problems: list[Problem] = []
    #: Tables named by something that is not a regular file in the folder (reported once).
    refused: set[str] = set()
    found: dict[str, list[Path]] = {}
    for path in sorted(folder.iterdir()):
        if path.name.startswith("."):
            continue
        if path.name == MANIFEST_NAME:
            continue
        stem, suffix = path.stem, path.suffix.lower()
        if suffix in FORMATS and stem in TABLES:
            problem = path_problem(path, folder)  # never opens a pipe or a device
            if problem is None:
                found.setdefault(stem, []).append(path)
            else:
                problems.append(problem)
                refused.add(stem)
            continue
        allowed = ", ".join(f"{t}.csv|.parquet" for t in TABLES)
        problems.append(
            Problem(
                file=path.name,
                column=None,
                check="unexpected_file",
                message="is not a table of the data contract (data minimisation: only "
                f"contract tables may be shared); allowed: {allowed}, {MANIFEST_NAME}",
                hint="remove the file from the extract folder, or rename it if it is one "
                "of the contract's tables",
            )
        )
    files: dict[str, Path] = {}
    for name, paths in found.items():
        if len(paths) > 1:
            problems.append(
                Problem(
                    file=", ".join(p.name for p in paths),
                    column=None,
                    check="ambiguous_table",
                    message=f"table {name!r} is supplied more than once",
                    hint="keep exactly one file per table (CSV or Parquet)",
                )
            )
        files[name] = paths[0]
    if "people" not in files and "people" not in refused:
        problems.append(
            Problem(
                file=f"people.csv|people.parquet in {folder}",
                column=None,
                check="missing_people",
                message="the people table is required and was not found",
                hint="add people.csv or people.parquet (one row per young person)",
            )
        )
    return files, refused, problems
