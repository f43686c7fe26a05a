"""Worlds for the training tests: a county, one whose records arrive late, a null world."""

from __future__ import annotations

import hashlib
import json
import shutil
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

#: (table, event date column) of the sources whose records can arrive late
LATE_SOURCES = (("police_contacts", "date"), ("ae_visits", "arrival"), ("exclusions", "start_date"))


def delay_reports(src: Path, dst: Path, days: int) -> Path:
    """Copy a data folder with every police, A&E and exclusion record known ``days`` late.

    Records that would arrive after the extract date are dropped (not yet received), and the
    manifest's row counts and hashes are rewritten so the folder stays valid.
    """
    shutil.copytree(src, dst)
    manifest = json.loads((dst / "manifest.json").read_text())
    extract = pd.Timestamp(manifest["extract_date"]).date()
    for table, column in LATE_SOURCES:
        path = dst / f"{table}.parquet"
        arrow = pq.read_table(path)
        frame = arrow.to_pandas()
        frame["known_date"] = [
            d + timedelta(days=days) for d in pd.to_datetime(frame[column]).dt.date
        ]
        frame = frame[frame["known_date"] <= extract].reset_index(drop=True)
        if "outcome_known_date" in frame:
            frame["outcome_known_date"] = [
                o if o is None or o != o else max(o, k)
                for o, k in zip(frame["outcome_known_date"], frame["known_date"], strict=True)
            ]
        pq.write_table(pa.Table.from_pandas(frame, schema=arrow.schema, preserve_index=False), path)
        entry = manifest["tables"][table]
        entry["rows"] = len(frame)
        entry["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    (dst / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return dst


def null_world(features: Path, out: Path, *, seed: int) -> Path:
    """The same feature table with labels drawn independently of everything (same base rate).

    Censored examples stay censored; every label column is replaced by the same draw.
    """
    table = pq.read_table(features)
    frame = table.to_pandas()
    label = frame["label_serious_violence"]
    known = label.notna().to_numpy()
    rng = np.random.default_rng(seed)
    draw = (rng.random(len(frame)) < float(label.mean())).astype("float64")
    for col in [c for c in frame.columns if c.startswith("label_serious_violence")]:
        frame[col] = np.where(known, draw, np.nan)
    out_table = pa.Table.from_pandas(frame, schema=table.schema, preserve_index=False)
    pq.write_table(out_table.replace_schema_metadata(table.schema.metadata), out)
    return out
