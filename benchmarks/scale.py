"""Benchmark the feature build as the county grows, on DuckDB and on Spark ``local[2]``, in one run.

For each size (young people; ``--years`` school years of history, generated once and cached
under benchmarks/out/ by ``common.county``), the whole catalog build (``build_features``, as
``vru features build`` runs it) in a fresh interpreter per engine, engines alternating:

- wall time of the build (Spark: the session's start is timed apart, and is not in the build);
- peak memory of the process tree, sampled every 0.2 s from /proc (the Spark JVM is a child of
  the Python process: its RSS counts; psutil is not in the project's environment);
- Spark's shuffle read and write and its spill (memory and disk), summed per stage from the
  event log the run writes (benchmarks/spark_events.py); the stages of the largest size are
  printed one by one.

Then cohort scoring rows/s per engine and explaining rows/s (on the driver, both engines), by
benchmarks/scale_scoring.py's own functions in a fresh interpreter.

A log-log fit of build time (and peak memory) against attendance sessions per engine gives the
growth exponent; docs/scale.md projects a national build from it. Everything printed is
measured on this machine; nothing here runs on a cluster. The figures are written to
benchmarks/out/scale.json as well.

Measured 2026-12-05 on the project's 2-core machine at load 6-9 (four other agents' jobs):
the defaults took 36 minutes (of which 200,000 people on Spark, 18); Spark local[2] was 9-15x
slower than DuckDB and spilled from 200,000 people; scoring 0.25x (docs/scale.md has the
table). On an idle machine expect well under the 25 minutes; on a loaded one, pass smaller
``--sizes``.

Usage: python benchmarks/scale.py [--sizes 20000,70000,200000] [--years 3]
         [--driver-memory 6g] [--duckdb-memory 6GB] [--score-rows 100000] [--repeats 1]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from common import OUT, county

HERE = Path(__file__).resolve().parent
PAGE = os.sysconf("SC_PAGE_SIZE")
TOP = 10  # stages printed one by one

BUILD = """
import json, sys, time
from datetime import date
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from vru_risk.data.load import open_folder
from vru_risk.features.build import build_features
from vru_risk.features.catalog import load_catalog
from vru_risk.features.config import FeatureBuildConfig

data, table, which, scratch = Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4], sys.argv[5]
config = FeatureBuildConfig()
spec = load_catalog().spec(config.reporting_lag_days)
t = time.perf_counter()
folder = open_folder(data, today=date.today())
validate = time.perf_counter() - t
engine, start = None, 0.0
if which == "spark":
    from vru_risk.data.engine import spark_engine
    from vru_risk.data.spark_session import SparkOptions
    t = time.perf_counter()
    engine = spark_engine(SparkOptions(master="local[2]", driver_memory=sys.argv[6],
                                       shuffle_partitions=int(sys.argv[7]), scratch_dir=scratch))
    start = time.perf_counter() - t
t = time.perf_counter()
summary, _ = build_features(folder, spec, config, out=table, engine=engine, threads=2,
                            memory_limit=sys.argv[8], scratch_dir=Path(scratch))
build = time.perf_counter() - t
stages = []
if engine is not None:
    engine.close()
    engine.session.stop()  # the event log is complete (renamed from .inprogress) once stopped
    from spark_events import read_event_logs
    stages = [dict(stage=s.stage, attempt=s.attempt, name=s.name, tasks=s.tasks,
                   shuffle_read=s["shuffle_read"], shuffle_write=s["shuffle_write"],
                   spill_memory=s["spill_memory"], spill_disk=s["spill_disk"])
              for s in read_event_logs(Path(sys.argv[9]))]
print(json.dumps({"validate": validate, "start": start, "build": build, "rows": summary.rows,
                  "bytes": table.stat().st_size, "stages": stages}))
"""

SCORE = """
import json, sys, tempfile
from pathlib import Path
sys.path.insert(0, sys.argv[1])
import scale_scoring as s
spark, model, _ = s.prepare()
with tempfile.TemporaryDirectory() as tmp:
    r = s.one_size(spark, model, int(sys.argv[2]), int(sys.argv[3]), Path(tmp))
spark.stop()
print(json.dumps(r))
"""


def tree_rss(root: int) -> tuple[int, int]:
    """RSS in bytes of ``root`` and of all its descendants together (``root``'s own, tree's)."""
    parent: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text(encoding="ascii", errors="replace")
            pages = int((entry / "statm").read_text(encoding="ascii").split()[1])
        except (OSError, ValueError, IndexError):
            continue  # gone between listing and reading
        pid = int(entry.name)
        parent[pid] = int(stat.rsplit(")", 1)[1].split()[1])
        rss[pid] = pages * PAGE
    tree, frontier = {root}, [root]
    while frontier:
        kids = [p for p, pp in parent.items() if pp in frontier and p not in tree]
        tree.update(kids)
        frontier = kids
    return rss.get(root, 0), sum(rss.get(p, 0) for p in tree)


def run_sampled(script: str, *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``script`` in a fresh interpreter, sampling its process tree's RSS; its last stdout
    line (JSON) with ``peak_tree`` and ``peak_python`` (bytes) and ``wall`` (seconds) added."""
    start = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-c", script, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )
    peaks = [0, 0]

    def sample() -> None:
        while child.poll() is None:
            own, tree = tree_rss(child.pid)
            peaks[0], peaks[1] = max(peaks[0], own), max(peaks[1], tree)
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = child.communicate()
    sampler.join()
    if child.returncode != 0:
        sys.exit(f"benchmark step failed:\n{err[-3000:]}")
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    result.update(peak_python=peaks[0], peak_tree=peaks[1], wall=time.perf_counter() - start)
    return result


def build(data: Path, which: str, args: argparse.Namespace) -> dict[str, Any]:
    """One feature build of ``data`` on ``which`` engine, in a fresh interpreter."""
    with tempfile.TemporaryDirectory(prefix="vru-scale-") as tmp:
        events = Path(tmp) / "events"
        events.mkdir()
        scratch = Path(tmp) / "scratch"
        scratch.mkdir()
        env = {
            "PYSPARK_SUBMIT_ARGS": (
                f"--conf spark.eventLog.enabled=true --conf spark.eventLog.dir=file://{events} "
                "--conf spark.eventLog.compress=false pyspark-shell"
            )
        }
        return run_sampled(
            BUILD,
            str(HERE),
            str(data),
            str(Path(tmp) / "features.parquet"),
            which,
            str(scratch),
            args.driver_memory,
            str(args.shuffle_partitions),
            args.duckdb_memory,
            str(events),
            env=env,
        )


def fit(xs: list[float], ys: list[float]) -> tuple[float, float, float]:
    """Least squares of log y on log x: exponent, its standard error (nan below 3 points), and
    the intercept."""
    lx, ly = [math.log(x) for x in xs], [math.log(y) for y in ys]
    n = len(lx)
    mx, my = sum(lx) / n, sum(ly) / n
    sxx = sum((x - mx) ** 2 for x in lx)
    b = sum((x - mx) * (y - my) for x, y in zip(lx, ly, strict=True)) / sxx
    a = my - b * mx
    resid = sum((y - a - b * x) ** 2 for x, y in zip(lx, ly, strict=True))
    se = math.sqrt(resid / (n - 2) / sxx) if n > 2 else math.nan
    return b, se, a


def gib(n: float) -> str:
    return f"{n / 2**30:.2f}"


def mib(n: float) -> str:
    return f"{n / 2**20:,.0f}"


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Run every size on both engines, then the scoring; the figures as scale.json keeps them."""
    load_start = Path("/proc/loadavg").read_text(encoding="ascii").split()[:3]
    began = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    rows: list[dict[str, Any]] = []
    for i, people in enumerate(int(s) for s in args.sizes.split(",")):
        t = time.perf_counter()
        data = county(people, years=args.years)
        made = time.perf_counter() - t
        sessions = pq.ParquetFile(data / "attendance.parquet").metadata.num_rows
        order = ("duckdb", "spark") if i % 2 == 0 else ("spark", "duckdb")
        got = {which: build(data, which, args) for which in order}
        rows.append({"people": people, "sessions": sessions, "county_s": made, **got})
        d, s = got["duckdb"], got["spark"]
        print(
            f"  {people:,} people: duckdb {d['build']:.1f} s {gib(d['peak_tree'])} GiB, spark "
            f"{s['build']:.1f} s (+{s['start']:.1f} s start) {gib(s['peak_tree'])} GiB; "
            f"county {made:.0f} s",
            flush=True,
        )
        (OUT / "scale-partial.json").write_text(json.dumps(rows, indent=1))
    score = run_sampled(SCORE, str(HERE), str(args.score_rows), str(args.repeats))
    load_end = Path("/proc/loadavg").read_text(encoding="ascii").split()[:3]
    return {
        "began": began,
        "load": [load_start, load_end],
        "args": vars(args),
        "sizes": rows,
        "scoring": score,
    }


def linear(xs: list[float], ys: list[float]) -> tuple[float, float]:
    """Least squares of y on x: slope and intercept (a fixed cost plus a cost per unit)."""
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    k = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum(
        (x - mx) ** 2 for x in xs
    )
    return k, my - k * mx


def project(rows: list[dict[str, Any]], national: float) -> None:
    """The growth fits and what they imply at ``national`` attendance sessions (same engine,
    same 2 cores: a projection, not a measurement)."""
    xs = [float(r["sessions"]) for r in rows]
    last = rows[-1]
    print(
        f"\ngrowth against attendance sessions (log-log least squares: exponent ± its standard "
        f"error, {len(rows) - 2} degree(s) of freedom; linear: fixed s + s per million)"
    )
    print(f"  projected to {national:,.0f} sessions on the same 2 cores (NOT measured)")
    for which in ("duckdb", "spark"):
        ts = [r[which]["build"] for r in rows]
        bt, set_, _ = fit(xs, ts)
        bm, sem, _ = fit(xs, [r[which]["peak_tree"] for r in rows])
        k, c = linear(xs, ts)
        scale = national / float(last["sessions"])
        power = [last[which]["build"] * scale**b for b in (bt - set_, bt, bt + set_)]
        print(
            f"  {which:7} time ~ n^{bt:.2f} ± {set_:.2f}  (linear {c:.0f} s + "
            f"{k * 1e6:.2f} s/M)   peak memory ~ n^{bm:.2f} ± {sem:.2f}\n"
            f"          -> {power[1] / 3600:,.1f} h (exponent ± 1 s.e.: {power[0] / 3600:,.1f}"
            f"-{power[2] / 3600:,.1f} h; linear {(c + k * national) / 3600:,.1f} h)"
        )


def report(doc: dict[str, Any], national: float) -> None:
    """Print the tables of one run (``doc``: :func:`measure`'s, or scale.json read back)."""
    args, rows, score = doc["args"], doc["sizes"], doc["scoring"]
    load_start, load_end = doc["load"]
    print(
        f"\nfeature build, {args['years']} school years; {doc['began']}; {os.cpu_count()} cores;"
        f" load average {' '.join(load_start)} at start, {' '.join(load_end)} at end"
    )
    print(
        f"Spark local[2], driver {args['driver_memory']}, {args['shuffle_partitions']} shuffle "
        f"partitions; DuckDB 2 threads, {args['duckdb_memory']}"
    )
    head = (
        f"{'people':>9}{'sessions':>13}{'examples':>10}{'duckdb s':>10}{'spark s':>9}"
        f"{'spark/duck':>11}{'duck GiB':>9}{'spark GiB':>10}{'(py)':>6}"
        f"{'shuf r MiB':>11}{'shuf w MiB':>11}{'spill mem':>10}{'spill dsk':>10}"
    )
    print(head)
    for r in rows:
        d, s = r["duckdb"], r["spark"]
        tot = {
            k: sum(st[k] for st in s["stages"])
            for k in ("shuffle_read", "shuffle_write", "spill_memory", "spill_disk")
        }
        print(
            f"{r['people']:>9,}{r['sessions']:>13,}{d['rows']:>10,}{d['build']:>10.1f}"
            f"{s['build']:>9.1f}{s['build'] / d['build']:>10.2f}x{gib(d['peak_tree']):>9}"
            f"{gib(s['peak_tree']):>10}{gib(s['peak_python']):>6}"
            f"{mib(tot['shuffle_read']):>11}{mib(tot['shuffle_write']):>11}"
            f"{mib(tot['spill_memory']):>10}{mib(tot['spill_disk']):>10}"
        )
    print(
        "  (spark s: the build alone; the session's start took "
        + ", ".join(f"{r['spark']['start']:.1f}" for r in rows)
        + " s; (py): the Python driver's own peak, the rest is the JVM and its Python "
        "workers. Contract validation (DuckDB, both engines) "
        + ", ".join(f"{r['duckdb']['validate']:.1f}" for r in rows)
        + " s. Table written: "
        + ", ".join(f"{mib(r['duckdb']['bytes'])} MiB" for r in rows)
        + ")"
    )
    if len(rows) >= 2:
        project(rows, national)
    last = rows[-1]
    moved = [
        st
        for st in last["spark"]["stages"]
        if any(st[k] for k in ("shuffle_read", "shuffle_write", "spill_memory", "spill_disk"))
    ]
    moved.sort(key=lambda st: -(st["shuffle_read"] + st["shuffle_write"] + st["spill_disk"]))
    print(
        f"\nspark stages at {last['people']:,} people, the {min(TOP, len(moved))} that moved the "
        f"most (MiB)\n{'stage':>6}{'tasks':>7}{'shuf read':>11}{'shuf write':>11}"
        f"{'spill mem':>10}{'spill dsk':>10}  name"
    )
    for st in sorted(moved[:TOP], key=lambda st: st["stage"]):
        print(
            f"{st['stage']:>6}{st['tasks']:>7}{mib(st['shuffle_read']):>11}"
            f"{mib(st['shuffle_write']):>11}{mib(st['spill_memory']):>10}"
            f"{mib(st['spill_disk']):>10}  {st['name'][:40]}"
        )
    print(f"  ({len(last['spark']['stages'])} stages in all, {len(moved)} with shuffle or spill)")
    print(
        f"\ncohort scoring ({score['rows']:,} synthetic moments, {score['partitions']} "
        f"partitions) and explaining ({score['flags']:,} flags), rows/s; peak "
        f"{gib(score['peak_tree'])} GiB (JVM and Python)\n"
        f"  duckdb {score['duckdb']:,.0f}   spark {score['spark']:,.0f}   spark/duckdb "
        f"{score['spark'] / score['duckdb']:.2f}x   (spark's Parquet read alone "
        f"{score['spark_read']:,.0f})\n"
        f"  explaining on the driver (both engines): pred_contrib {score['pred_contrib']:,.0f}"
        f"   explain_rows {score['explain_rows']:,.0f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="20000,70000,200000")
    parser.add_argument("--years", type=int, default=3)
    parser.add_argument("--driver-memory", default="6g")
    parser.add_argument("--duckdb-memory", default="6GB")
    parser.add_argument("--shuffle-partitions", type=int, default=8)
    parser.add_argument("--score-rows", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument(
        "--national-sessions", type=float, default=10e9, help="attendance sessions to project to"
    )
    parser.add_argument(
        "--from-json", type=Path, help="print the tables of an earlier run's scale.json, no run"
    )
    args = parser.parse_args()
    if args.from_json is not None:
        doc = json.loads(args.from_json.read_text())
    else:
        doc = measure(args)
        (OUT / "scale.json").write_text(json.dumps(doc, indent=1, default=str))
    report(doc, args.national_sessions)
    print(f"(all figures in {OUT / 'scale.json'})")


if __name__ == "__main__":
    main()
