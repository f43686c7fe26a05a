"""The metadata fingerprint (``--fingerprint metadata``): made from the files' names, sizes and
modification times, never their bytes; it changes when a file is rewritten, and every report,
folder and CLI output says which kind a fingerprint is."""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq

from tests.conftest import RunVru
from tests.folders import write_valid_folder
from vru_risk.data.fingerprint import file_metadata_sha256, file_sha256, fingerprint_kind
from vru_risk.data.load import open_folder
from vru_risk.data.validate import validate_folder
from vru_risk.features.build import build_features
from vru_risk.features.catalog import load_catalog
from vru_risk.features.config import FeatureBuildConfig
from vru_risk.features.table_metadata import DATA_FINGERPRINT_KEY, DATA_FINGERPRINT_KIND_KEY

TODAY = date(2026, 11, 25)


def fingerprint(folder: Path, kind: str = "metadata") -> str:
    report = validate_folder(folder, today=TODAY, fingerprint=fingerprint_kind(kind, "kind"))
    assert report.ok, report.problems
    assert report.fingerprint_kind == kind
    assert report.to_dict()["fingerprint_kind"] == kind
    return report.fingerprint


def test_the_metadata_fingerprint_follows_size_and_modification_time(tmp_path: Path) -> None:
    folder = write_valid_folder(tmp_path / "extract", "csv")
    first = fingerprint(folder)
    assert fingerprint(folder) == first  # stable while nothing changes
    assert fingerprint(folder, "content") != first  # a different kind, a different value

    path = folder / "attendance.csv"
    content = fingerprint(folder, "content")
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    touched = fingerprint(folder)
    assert touched != first
    assert fingerprint(folder, "content") == content  # same bytes, same content fingerprint

    rows = path.read_text()
    path.write_text(rows + rows.splitlines()[1].replace("2025-09-08", "2025-09-10") + "\n")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))  # same time, new size
    assert fingerprint(folder) not in (first, touched)


def test_the_metadata_hash_never_reads_the_bytes(tmp_path: Path) -> None:
    """What it is blind to, stated: the same size and time with other bytes."""
    path = tmp_path / "people.csv"
    path.write_text("person_id\nP1\n")
    st = path.stat()
    before = (file_metadata_sha256(path), file_sha256(path))
    path.write_text("person_id\nP2\n")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert file_metadata_sha256(path) == before[0]
    assert file_sha256(path) != before[1]


def test_a_folder_opened_by_metadata_says_so(tmp_path: Path) -> None:
    folder = write_valid_folder(tmp_path / "extract", "parquet")
    opened = open_folder(folder, today=TODAY, fingerprint="metadata")
    assert opened.fingerprint_kind == "metadata"
    assert open_folder(folder, today=TODAY).fingerprint_kind == "content"


def test_the_cli_records_the_kind_and_refuses_an_unknown_one(vru: RunVru, tmp_path: Path) -> None:
    folder = write_valid_folder(tmp_path / "extract", "csv")
    result = vru("data", "validate", folder, "--fingerprint", "metadata", "--json")
    assert result.code == 0, result.output
    assert json.loads(result.stdout)["fingerprint_kind"] == "metadata"
    shown = vru("data", "validate", folder, "--fingerprint", "METADATA")
    assert "(by metadata)" in shown.stdout
    refused = vru("data", "validate", folder, "--fingerprint", "mtime")
    assert refused.code != 0
    assert "choose one of content, metadata" in refused.output


def test_a_feature_table_records_the_kind(tmp_path: Path) -> None:
    folder = write_valid_folder(tmp_path / "extract", "csv")
    opened = open_folder(folder, today=TODAY, fingerprint="metadata")
    out = tmp_path / "features.parquet"
    build_features(opened, load_catalog().spec(), FeatureBuildConfig(), out=out)
    metadata = pq.read_metadata(out).metadata
    assert metadata[DATA_FINGERPRINT_KIND_KEY] == b"metadata"
    assert metadata[DATA_FINGERPRINT_KEY] == opened.fingerprint.encode()
