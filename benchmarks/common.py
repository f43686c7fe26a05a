"""What the benchmark scripts share: a cached county per size, a JSON-printing subprocess, and
the audit sample that benchmarks/bootstrap.py times (tests/fairness_reports/test_bootstrap.py
checks the bootstrap on the same one)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

OUT = Path(__file__).resolve().parent / "out"


def county(people: int, fmt: str = "parquet", years: int | None = None) -> Path:
    """A generated county of ``people`` (seed 0), made once and cached under benchmarks/out/.

    ``years`` of school history (the generator's default, 6, when None) are part of the
    folder's name: ``county-70000-y3-parquet``."""
    name = f"county-{people}-{fmt}" if years is None else f"county-{people}-y{years}-{fmt}"
    folder = OUT / name
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
                str(OUT / f"{name}-truth"),
                *(["--years", str(years)] if years is not None else []),
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


def audit_sample(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, pd.DataFrame, np.ndarray]:
    """Labels, scores, two attributes (one with a missing value) and person ids, 1–3 rows each."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    scores = rng.normal(0, 1, n) + y
    sex = rng.choice(np.array(["f", "m", None], dtype=object), n, p=[0.5, 0.45, 0.05])
    eth = rng.choice(["asian", "black", "mixed", "white"], n)
    person = np.repeat(np.arange(n), rng.integers(1, 4, n))[:n].astype(str)
    return y, scores, pd.DataFrame({"sex": sex, "ethnicity": eth}), person
