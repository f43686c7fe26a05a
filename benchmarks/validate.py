"""Benchmark `vru data validate` at demo and county size.

For each size it generates (once, cached under benchmarks/out/) a synthetic county, then runs in
fresh subprocesses, side by side: the full contract validation, and a baseline that reads every
value of every table once in DuckDB (hashing each value: a read-and-touch floor). It prints wall
seconds, rows per second, peak RSS and the ratio validate/baseline measured in the same run.

Targets (issue 2): county size (70k people, ~85M attendance rows) validated in bounded memory;
the validator must stay well under the 4 GiB the generator is allowed.

Usage: python benchmarks/validate.py [--sizes 10000,70000] [--format parquet] [--repeat 1]
"""

from __future__ import annotations

import argparse
import sys
import textwrap

from common import county, run_json

VALIDATE = textwrap.dedent(
    """
    import json, resource, sys, time
    from datetime import date
    from pathlib import Path
    from vru_risk.data.validate import validate_folder
    t = time.perf_counter()
    r = validate_folder(Path(sys.argv[1]), today=date.today(), threads=2, memory_limit="2GB")
    wall = time.perf_counter() - t
    rows = sum(t.rows or 0 for t in r.tables.values())
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"ok": r.ok, "wall": wall, "rows": rows, "peak": peak,
                      "problems": [p.render() for p in r.problems][:3]}))
    """
)

BASELINE = textwrap.dedent(
    """
    import json, resource, sys, time
    from pathlib import Path
    import duckdb
    t = time.perf_counter()
    con = duckdb.connect()
    con.execute("SET threads = 2")
    con.execute("SET enable_progress_bar = false")
    con.execute("SET memory_limit = '2GB'")
    rows = 0
    for f in sorted(Path(sys.argv[1]).iterdir()):
        if f.suffix == ".parquet":
            src = f"read_parquet('{f}')"
        elif f.suffix == ".csv":
            src = f"read_csv('{f}', all_varchar = true)"
        else:
            continue
        cols = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {src}").fetchall()]
        agg = ", ".join(f"sum(hash(\\"{c}\\") % 7)" for c in cols)
        rows += con.execute(f"SELECT count(*), {agg} FROM {src}").fetchone()[0]
    wall = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"ok": True, "wall": wall, "rows": rows, "peak": peak}))
    """
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,70000")
    parser.add_argument("--format", default="parquet", choices=["parquet", "csv"])
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    header = (
        f"{'people':>8} {'fmt':>7} {'rows':>12} {'validate s':>10} {'rows/s':>11} "
        f"{'peak MiB':>9} {'baseline s':>10} {'base MiB':>8} {'ratio':>6}"
    )
    print(header)
    for people in (int(s) for s in args.sizes.split(",")):
        folder = county(people, args.format)
        for _ in range(args.repeat):
            v = run_json(VALIDATE, str(folder))
            b = run_json(BASELINE, str(folder))
            if not v["ok"]:
                print("validation found problems in generated data:", v.get("problems"))
                sys.exit(1)
            wall, base = float(str(v["wall"])), float(str(b["wall"]))
            rows = int(str(v["rows"]))
            print(
                f"{people:>8,} {args.format:>7} {rows:>12,} {wall:>10.1f} {rows / wall:>11,.0f} "
                f"{int(str(v['peak'])) / 2**20:>9,.0f} {base:>10.1f} "
                f"{int(str(b['peak'])) / 2**20:>8,.0f} {wall / base:>6.1f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
