"""Benchmark `vru data generate` at demo and county size against the issue's targets.

Each size runs in a fresh subprocess (the generator's own peak RSS is then the subprocess's),
writing into benchmarks/out/ (removed afterwards unless --keep). It prints wall seconds (the
whole call, including the interpreter start), rows written (data folder), rows per second, peak
RSS and the targets: demo (10,000 people) within 60 s; county (70,000 people, 6 school years)
within 300 s and 4 GiB on the project's 2-core machine.

Usage: python benchmarks/generate.py [--sizes 10000,70000 | --people N] [--years 6]
                                     [--format parquet] [--keep]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"
GIB = 2**30

GENERATE = textwrap.dedent(
    """
    import json, resource, sys
    from pathlib import Path
    from vru_risk.data.synthetic import SyntheticConfig, generate_county
    people, years, fmt, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], Path(sys.argv[4])
    s = generate_county(SyntheticConfig(people=people, years=years), out_dir=out / "data",
                        truth_dir=out / "truth", fmt=fmt)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"rows": s.rows, "truth_rows": s.truth_rows, "seconds": s.seconds,
                      "peak": peak, "rates": s.rates}))
    """
)


def targets(people: int) -> tuple[float, float]:
    """Wall-second and peak-byte targets for a size (demo up to 10k people, else county)."""
    return (60.0, 4 * GIB) if people <= 10_000 else (300.0, 4 * GIB)


def run(people: int, years: int, fmt: str, keep: bool) -> dict[str, object]:
    out = OUT / f"generate-{people}-{years}-{fmt}"
    shutil.rmtree(out, ignore_errors=True)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", GENERATE, str(people), str(years), fmt, str(out)],
        capture_output=True,
        text=True,
        check=True,
    )
    wall = time.perf_counter() - started
    if not keep:
        shutil.rmtree(out, ignore_errors=True)
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    result["wall"] = wall
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,70000", help="comma-separated people counts")
    parser.add_argument("--people", type=int, help="one size (overrides --sizes)")
    parser.add_argument("--years", type=int, default=6)
    parser.add_argument("--format", default="parquet", choices=["parquet", "csv"])
    parser.add_argument("--keep", action="store_true", help="keep the generated folders")
    args = parser.parse_args()
    sizes = [args.people] if args.people else [int(s) for s in args.sizes.split(",")]
    print(
        f"{'people':>8} {'years':>5} {'fmt':>7} {'attendance':>12} {'all rows':>12} "
        f"{'wall s':>7} {'gen s':>7} {'rows/s':>11} {'peak MiB':>9}  target"
    )
    missed = False
    for people in sizes:
        r = run(people, args.years, args.format, args.keep)
        rows_by_table = r["rows"]
        assert isinstance(rows_by_table, dict)
        rows = sum(int(v) for v in rows_by_table.values())
        wall = float(str(r["wall"]))
        peak = int(str(r["peak"]))
        max_wall, max_peak = targets(people)
        ok = wall <= max_wall and peak <= max_peak
        missed = missed or not ok
        attendance = int(rows_by_table["attendance"])
        print(
            f"{people:>8,} {args.years:>5} {args.format:>7} {attendance:>12,} "
            f"{rows:>12,} {wall:>7.1f} {float(str(r['seconds'])):>7.1f} {rows / wall:>11,.0f} "
            f"{peak / 2**20:>9,.0f}  <= {max_wall:.0f} s, <= {max_peak / GIB:.0f} GiB: "
            f"{'ok' if ok else 'MISSED'}",
            flush=True,
        )
    sys.exit(1 if missed else 0)


if __name__ == "__main__":
    main()
