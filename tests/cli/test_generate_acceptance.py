"""Issue acceptance: `vru data generate --out D --people 2000 --seed 1`, then validate; twice."""

from __future__ import annotations

import hashlib
from pathlib import Path

from tests.conftest import RunVru


def hashes(folder: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.iterdir())
        if p.is_file()
    }


def test_generate_validate_and_regenerate_identically(vru: RunVru, tmp_path: Path) -> None:
    first, second = tmp_path / "a" / "D", tmp_path / "b" / "D"
    for out in (first, second):
        result = vru("data", "generate", "--out", out, "--people", "2000", "--seed", "1")
        assert result.code == 0, result.output
    assert (tmp_path / "a" / "D-truth" / "risk.parquet").exists()
    assert not any("risk" in name or "truth" in name for name in hashes(first))
    result = vru("data", "validate", first)
    assert result.code == 0, result.output
    assert "valid" in result.stdout
    assert hashes(first) == hashes(second)
    assert hashes(tmp_path / "a" / "D-truth") == hashes(tmp_path / "b" / "D-truth")


def test_generate_refuses_a_non_empty_folder_without_touching_it(
    vru: RunVru, tmp_path: Path
) -> None:
    out = tmp_path / "D"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    result = vru("data", "generate", "--out", out, "--people", "200")
    assert result.code == 2
    assert str(out) in result.stderr
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


def test_generate_rejects_bad_options(vru: RunVru, tmp_path: Path) -> None:
    result = vru("data", "generate", "--out", tmp_path / "D", "--format", "xlsx")
    assert result.code == 2
    assert "--format 'xlsx' is not supported" in result.stderr
    result = vru("data", "generate", "--out", tmp_path / "D", "--end-date", "31/08/2026")
    assert result.code == 2
    assert "--end-date" in result.stderr
    result = vru("data", "generate", "--out", tmp_path / "D", "--people", "5")
    assert result.code == 2
    assert "people" in result.stderr


def test_generate_refuses_a_future_end_date(vru: RunVru, tmp_path: Path) -> None:
    result = vru("data", "generate", "--out", tmp_path / "D", "--end-date", "2099-01-01")
    assert result.code == 2
    assert "in the future" in result.stderr
    assert not (tmp_path / "D").exists()
