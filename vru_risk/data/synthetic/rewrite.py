"""A copy of a generated data folder with some tables replaced: a valid extract again.

Every other file is copied as it is; each replaced table is written as the generator writes it
(:mod:`~vru_risk.data.synthetic.writer`: the contract's schema, deterministic bytes) and its
manifest entry gets its new row count and sha256 (its refresh date is kept). The manifest also
records where the folder came from under ``provenance``. The new folder appears whole or not at
all (:func:`~vru_risk.data.synthetic.writer.atomic_folders`).

Example
-------
>>> import tempfile
>>> from vru_risk.data.synthetic import SyntheticConfig, generate_county
>>> root = Path(tempfile.mkdtemp())
>>> _ = generate_county(SyntheticConfig(people=150, years=1),
...                     out_dir=root / "data", truth_dir=root / "truth")
>>> visits = pq.read_table(root / "data" / "ae_visits.parquet").slice(0, 1)
>>> manifest = rewrite_folder(root / "data", root / "copy", {"ae_visits": visits},
...                           provenance={"made_by": "example"})
>>> manifest["tables"]["ae_visits"]["rows"], manifest["provenance"]["made_by"]
(1, 'example')
>>> import shutil
>>> shutil.rmtree(root)
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from vru_risk.data.contract import MANIFEST_NAME
from vru_risk.data.fingerprint import file_sha256
from vru_risk.data.synthetic.writer import atomic_folders, contract_schema, write_json, write_table


class RewriteError(ValueError):
    """A folder that cannot be rewritten; the message says what to give instead."""


def contract_table(name: str, frame: pd.DataFrame) -> pa.Table:
    """A frame of contract table ``name`` as Arrow with the contract's schema (the columns the
    schema lists, in its order)."""
    schema = contract_schema(name)
    return pa.Table.from_pandas(frame[schema.names], schema=schema, preserve_index=False)


def read_table(folder: Path, name: str) -> pd.DataFrame:
    """A Parquet table of a generated folder as pandas (dates as dates, timestamps as
    ``datetime64``)."""
    frame: pd.DataFrame = pq.read_table(folder / f"{name}.parquet").to_pandas(date_as_object=True)
    return frame


def rewrite_folder(
    source: Path,
    out: Path,
    tables: Mapping[str, pa.Table],
    *,
    provenance: Mapping[str, Any],
) -> dict[str, Any]:
    """Copy ``source`` to ``out`` with ``tables`` replaced (see the module docstring); return the
    new manifest. ``out`` must not exist or be empty."""
    manifest_path = source / MANIFEST_NAME
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        entries = manifest["tables"]
    except (OSError, ValueError, KeyError, TypeError):
        raise RewriteError(
            f"{source} has no readable {MANIFEST_NAME}: give a folder `vru data generate` wrote"
        ) from None
    for name in tables:
        entry = entries.get(name)
        if not isinstance(entry, dict) or not str(entry.get("file", "")).endswith(".parquet"):
            raise RewriteError(
                f"{source} holds no Parquet file for table {name!r} in its manifest: give a "
                "folder `vru data generate` wrote in Parquet (the default format)"
            )
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise RewriteError(f"{out} exists and is not an empty folder: choose a new folder")
    with atomic_folders(out) as (tmp,):
        for path in sorted(source.iterdir()):
            if path.is_file() and path.name != MANIFEST_NAME:
                shutil.copyfile(path, tmp / path.name)
        for name, table in tables.items():
            path = tmp / str(entries[name]["file"])
            entries[name]["rows"] = write_table(path, table, "parquet")
            entries[name]["sha256"] = file_sha256(path)
        for name, entry in entries.items():
            if name not in tables and (tmp / str(entry["file"])).is_file():
                entry["sha256"] = file_sha256(tmp / str(entry["file"]))
        manifest["provenance"] = dict(provenance)
        write_json(tmp / MANIFEST_NAME, manifest)
    return dict(manifest)
