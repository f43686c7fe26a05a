"""Benchmark one monitoring run at county scale beside the feature build of the same month.

Prints, for one county (generated once and cached under benchmarks/out/), each step in its own
interpreter so that its peak RSS is its own:

1. set-up, once, cached under benchmarks/out/monitor-home-<people>/ (not timed): `vru train
   --data` with one small booster (the packaged experiment otherwise), then `vru monitor
   reference` for the version;
2. the month's moments as the daily job builds them (`build_moments` over the 28 days up to the
   as-of date: triggers, features from records known by each day): the work monitoring cannot
   avoid;
3. the whole monitoring run (`run_monitor`): the same month's moments scored, sources, inputs,
   scores, places against capacity, every matured month's outcomes since training (their
   moments rebuilt, the allocation replayed), groups, the verdict, both reports written and
   logged to MLflow;

then the ratio of 3 to 2 and a last line of JSON with every figure.

Target (issue 18): one monitoring run at county scale (70,000 young people) in at most 60 s and
4 GiB.

Usage: python benchmarks/monitor.py [--people 70000] [--as-of 2026-06-30] [--setup-only]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import yaml
from common import OUT, county, run_json

EXPERIMENT = Path(__file__).resolve().parents[1] / "vru_risk/training/experiments/default.yaml"
TARGET_SECONDS = 60.0
TARGET_BYTES = 4 * 1024**3

COMMON = """
import json, resource, sys, time
from datetime import date
from pathlib import Path

def peak():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

data, home, version, as_of = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), \
    date.fromisoformat(sys.argv[4])
"""

MONTH = COMMON + textwrap.dedent(
    """
    from datetime import timedelta
    from vru_risk.data.load import open_folder
    from vru_risk.features.moments import build_moments
    from vru_risk.jobs.monitor_data import build_config, load_version
    from vru_risk.models.registry import Registry
    from vru_risk.settings import Settings

    settings = Settings(home=home)
    model, info = load_version(Registry(settings.tracking_uri), version, settings.lightgbm_threads)
    config = build_config(model, version)
    t = time.perf_counter()
    folder = open_folder(data, today=date.today())  # as the job opens it; days see what was known
    days = [as_of - timedelta(days=27 - k) for k in range(28)]
    moments = build_moments(folder, model.spec, config, days)
    seconds = time.perf_counter() - t
    print(json.dumps({"seconds": seconds, "moments": len(moments.frame), "peak": peak()}))
    """
)

RUN = COMMON + textwrap.dedent(
    """
    from vru_risk.jobs.monitor import MonitorRequest, run_monitor
    from vru_risk.settings import Settings

    settings = Settings(home=home)
    t = time.perf_counter()
    result = run_monitor(settings, MonitorRequest(data, version, as_of))
    seconds = time.perf_counter() - t
    matured = result.report["checks"]["outcomes"].get("matured_months", [])
    print(json.dumps({"seconds": seconds, "level": result.verdict.level,
                      "matured": len(matured), "peak": peak()}))
    """
)


def vru(home: Path, *args: str) -> None:
    env = {**os.environ, "VRU_HOME": str(home), "MLFLOW_DISABLE_TELEMETRY": "true"}
    subprocess.run([sys.executable, "-m", "vru_risk.cli", *args], check=True, env=env)


def trained_home(people: int, data: Path) -> tuple[Path, int]:
    """A VRU_HOME with version 1 trained on ``data`` and its monitoring reference (cached)."""
    home = OUT / f"monitor-home-{people}"
    done = home / "benchmark-ready.json"
    if done.exists():
        return home, int(json.loads(done.read_text())["version"])
    home.mkdir(parents=True, exist_ok=True)
    doc = yaml.safe_load(EXPERIMENT.read_text(encoding="utf-8"))
    doc["name"] = "monitor-benchmark"
    doc["models"]["lightgbm"]["n_estimators"] = [100]
    doc["models"]["lightgbm"]["num_leaves"] = [15]
    experiment = home / "experiment.yaml"
    experiment.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    print(f"set-up (once): training on {data} into {home} ...", flush=True)
    vru(home, "train", "--config", str(experiment), "--data", str(data), "--trained-by", "bench")
    vru(home, "monitor", "reference", "--version", "1", "--data", str(data))
    done.write_text(json.dumps({"version": 1}))
    return home, 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=70_000)
    parser.add_argument("--as-of", default="2026-06-30")
    parser.add_argument("--setup-only", action="store_true", help="make the cached home and stop")
    args = parser.parse_args()
    data = county(args.people)
    home, version = trained_home(args.people, data)
    if args.setup_only:
        print(f"set-up ready: {home}")
        return
    argv = (str(data), str(home), str(version), args.as_of)
    month = run_json(MONTH, *argv)
    run = run_json(RUN, *argv)
    gib = 1024**3
    print(f"county: {args.people:,} young people, as of {args.as_of}, version {version}")
    print(
        f"month's moments (daily job's build): {month['seconds']:.1f} s, "
        f"{month['moments']:,} moments, peak {float(month['peak']) / gib:.2f} GiB"  # type: ignore[arg-type]
    )
    print(
        f"monitoring run: {run['seconds']:.1f} s, peak {float(run['peak']) / gib:.2f} GiB, "  # type: ignore[arg-type]
        f"verdict {run['level']}, {run['matured']} matured months judged"
    )
    ratio = float(run["seconds"]) / float(month["seconds"])  # type: ignore[arg-type]
    print(f"ratio run / month's build: {ratio:.2f}x")
    ok_time = float(run["seconds"]) <= TARGET_SECONDS  # type: ignore[arg-type]
    ok_mem = float(run["peak"]) <= TARGET_BYTES  # type: ignore[arg-type]
    print(
        f"target <= {TARGET_SECONDS:.0f} s: {'met' if ok_time else 'NOT met'}; "
        f"<= 4 GiB: {'met' if ok_mem else 'NOT met'}"
    )
    print(json.dumps({"people": args.people, "month": month, "run": run, "ratio": ratio}))


if __name__ == "__main__":
    main()
