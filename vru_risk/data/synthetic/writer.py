"""Deterministic Parquet and CSV writing, the manifest, and atomic output folders.

Parquet files are written by :class:`pyarrow.parquet.ParquetWriter` with fixed settings (zstd
level 3, dictionary encoding, fixed row groups, no Arrow schema blob, so string columns read back
as plain strings) and no timestamps in the metadata: the same rows give the same bytes. CSV files
are UTF-8 with an unquoted header, ISO dates, ``YYYY-MM-DDTHH:MM:SS`` datetimes, ``true``/``false``
booleans and empty fields for nulls.

Example
-------
>>> from vru_risk.data.synthetic.writer import contract_schema
>>> contract_schema("exclusions").names
['person_id', 'start_date', 'kind', 'days', 'reason', 'known_date']
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Literal

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from vru_risk.data.contract import TABLES, Kind
from vru_risk.private_home import folder_mode

Format = Literal["parquet", "csv"]
#: Rows per Parquet row group.
ROW_GROUP_ROWS = 1 << 20
PARQUET_OPTIONS: dict[str, Any] = {
    "compression": "zstd",
    "compression_level": 3,
    "use_dictionary": True,
    "write_statistics": True,
    "store_schema": False,
    "version": "2.6",
}

#: The Arrow type of each contract kind in the Parquet files this project writes.
ARROW_TYPES = {
    Kind.STRING: pa.string(),
    Kind.CATEGORY: pa.string(),
    Kind.DATE: pa.date32(),
    Kind.DATETIME: pa.timestamp("us"),
    Kind.BOOL: pa.bool_(),
    Kind.FLOAT: pa.float64(),
    Kind.INT: pa.int32(),
}


def contract_schema(name: str) -> pa.Schema:
    """Return the Arrow schema of a contract table (every declared column, in order)."""
    table = TABLES[name]
    return pa.schema(
        [
            pa.field(c.name, ARROW_TYPES[c.kind], nullable=c.nullable or not c.required)
            for c in table.columns
        ]
    )


def _for_csv(table: pa.Table) -> pa.Table:
    columns = []
    for field, column in zip(table.schema, table.columns, strict=True):
        if pa.types.is_dictionary(field.type):
            column = column.cast(pa.string())
        elif pa.types.is_timestamp(field.type):
            column = pc.strftime(column.cast(pa.timestamp("s")), format="%Y-%m-%dT%H:%M:%S")
        columns.append(column)
    return pa.Table.from_arrays(columns, names=table.schema.names)


class TableWriter:
    """Write one table, chunk by chunk, as Parquet or CSV.

    Parameters
    ----------
    path
        The file to create (its suffix is not checked).
    schema
        The schema of every chunk.
    fmt
        ``"parquet"`` or ``"csv"``.
    """

    def __init__(self, path: Path, schema: pa.Schema, fmt: Format) -> None:
        self.path = path
        self.fmt = fmt
        self.rows = 0
        self._parquet: pq.ParquetWriter | None = None
        self._csv: pacsv.CSVWriter | None = None
        self._file: IO[bytes] | None = None
        if fmt == "parquet":
            self._parquet = pq.ParquetWriter(str(path), schema, **PARQUET_OPTIONS)
        else:
            self._file = path.open("wb")
            self._file.write((",".join(schema.names) + "\n").encode("utf-8"))
            csv_schema = _for_csv(schema.empty_table()).schema
            self._csv = pacsv.CSVWriter(
                self._file,
                csv_schema,
                write_options=pacsv.WriteOptions(include_header=False, quoting_style="none"),
            )

    def write(self, table: pa.Table) -> None:
        """Append rows (a table with the writer's schema)."""
        self.rows += table.num_rows
        if self._parquet is not None:
            self._parquet.write_table(table, row_group_size=ROW_GROUP_ROWS)
        elif self._csv is not None:
            self._csv.write_table(_for_csv(table))

    def close(self) -> None:
        """Finish the file."""
        if self._parquet is not None:
            self._parquet.close()
        if self._csv is not None:
            self._csv.close()
        if self._file is not None:
            self._file.close()


def write_table(path: Path, table: pa.Table, fmt: Format) -> int:
    """Write a whole table to ``path``; return its row count."""
    writer = TableWriter(path, table.schema, fmt)
    try:
        writer.write(table)
    finally:
        writer.close()
    return writer.rows


def write_json(path: Path, payload: dict[str, Any]) -> None:
    """Write JSON with sorted keys, indent 2 and a final newline."""
    path.write_text(json.dumps(payload, sort_keys=True, indent=2) + "\n", encoding="utf-8")


@contextmanager
def atomic_folders(*targets: Path) -> Iterator[list[Path]]:
    """Yield temporary sibling folders; rename them onto ``targets`` only if the body succeeds.

    The temporary folders are hidden siblings of their targets (same file system, so the rename
    is atomic). On any exception, including ``KeyboardInterrupt``, they are removed and the
    targets are left as they were. A target that exists must be an empty folder (it is
    replaced).
    """
    temps: list[Path] = []
    done: list[Path] = []
    try:
        for target in targets:
            target.parent.mkdir(parents=True, exist_ok=True)
            prefix = f".{target.name}.partial-"
            temps.append(Path(tempfile.mkdtemp(prefix=prefix, dir=target.parent)))
        yield temps
        for temp, target in zip(temps, targets, strict=True):
            temp.chmod(folder_mode())  # as mkdir would have made it (umask 077: 0700)
            temp.replace(target)
            done.append(target)
    except BaseException:
        for path in temps + done:
            shutil.rmtree(path, ignore_errors=True)
        raise
