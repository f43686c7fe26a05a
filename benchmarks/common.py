"""What the benchmark scripts share: a cached county per size and a JSON-printing subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"


def county(people: int, fmt: str = "parquet") -> Path:
    """A generated county of ``people`` (seed 0), made once and cached under benchmarks/out/."""
    folder = OUT / f"county-{people}-{fmt}"
    if not (folder / "manifest.json").exists():
        print(f"generating {people:,} people ({fmt}) into {folder} ...", flush=True)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "vru_risk.cli",
                "data",
                "generate",
                "--out",
                str(folder),
                "--people",
                str(people),
                "--format",
                fmt,
                "--truth-out",
                str(OUT / f"county-{people}-{fmt}-truth"),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return folder


def run_json(script: str, *args: str) -> dict[str, object]:
    """Run ``script`` in a fresh interpreter (own peak RSS); parse its last stdout line as JSON."""
    done = subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        sys.exit(f"benchmark step failed:\n{done.stderr[-3000:]}")
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result
