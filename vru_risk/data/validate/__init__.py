"""Validation of a data folder against the data contract: every problem, reported at once.

The public face of the validator is :func:`validate_folder` and what it returns; the checks
live in the modules of this package, one concern each:

* :mod:`.problems`: what a report holds (a :class:`Problem` with :class:`Example` rows);
* :mod:`.files`: which files are the tables, what is wrong with a file before it is parsed;
* :mod:`.manifest`: ``manifest.json`` and the extract date;
* :mod:`.tables`: a table file registered in DuckDB, with spreadsheet row numbers;
* :mod:`.columns`: how each column is read, and which columns a table must and may have;
* :mod:`.rules`: the row rules (per column, between dates, against people, identifiers);
* :mod:`.rows`: the rules and duplicate keys checked inside DuckDB;
* :mod:`.folder`: the entry point, :func:`validate_folder`.

Example
-------
>>> import tempfile
>>> from datetime import date
>>> from pathlib import Path
>>> with tempfile.TemporaryDirectory() as folder:
...     report = validate_folder(Path(folder), today=date(2026, 8, 31))
>>> report.ok, report.problems[0].check
(False, 'missing_people')
"""

from vru_risk.data.validate.files import FolderNotFoundError
from vru_risk.data.validate.folder import ExtractDateSource, ValidationReport, validate_folder
from vru_risk.data.validate.problems import Example, Problem
from vru_risk.data.validate.tables import TableInfo

__all__ = [
    "Example",
    "ExtractDateSource",
    "FolderNotFoundError",
    "Problem",
    "TableInfo",
    "ValidationReport",
    "validate_folder",
]
