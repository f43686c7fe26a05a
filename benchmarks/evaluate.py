"""Benchmark one evaluation (`vru evaluate`) of a year of service at county scale.

Set-up, once, cached under benchmarks/out/ (not timed): the county (70,000 young people), a
version trained on it with its monitoring reference (the home of benchmarks/monitor.py), and a
year of simulated service from the version's training end (`vru simulate service`: its flags
and the simulated practitioners' decisions in the home's application database, its support in
a new extract). Then, in a fresh interpreter whose peak RSS is its own, the whole evaluation:
the year's matured moments and both outcomes, the offers and decisions from the database,
reach per programme and period by every breakdown, each programme's four designs, both reports
written and logged to MLflow.

Target (issue 20): one year at county scale in at most 60 s on 2 cores.

Usage: python benchmarks/evaluate.py [--people 70000] [--setup-only]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import textwrap
from datetime import date, timedelta
from pathlib import Path

from common import OUT, county, run_json
from monitor import trained_home

TARGET_SECONDS = 60.0

RUN = textwrap.dedent(
    """
    import json, resource, sys, time
    from datetime import date
    from pathlib import Path
    from vru_risk.jobs.evaluate import EvaluateRequest, run_evaluation
    from vru_risk.settings import Settings

    data, home, start, end = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], sys.argv[4]
    settings = Settings(home=home, database_url=f"sqlite:///{home / 'service.db'}")
    t = time.perf_counter()
    result = run_evaluation(settings, EvaluateRequest(
        data_dir=data, version=1, start=date.fromisoformat(start), end=date.fromisoformat(end)))
    seconds = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    report = result.report
    print(json.dumps({"seconds": seconds, "peak": peak, **report["counts"],
                      "matured": len(report["maturity"]["matured"]),
                      "statements": [[e["programme"], d["design"], d["verdict"]["headline"]]
                                     for e in report["effects"] for d in e["designs"]]}))
    """
)


def service(people: int, data: Path, home: Path) -> tuple[Path, date, date]:
    """A year of simulated service of version 1 from its training end (cached)."""
    out = OUT / f"evaluate-service-{people}"
    done = out.with_name(out.name + "-ready.json")
    if done.exists():
        ready = json.loads(done.read_text())
        return out, date.fromisoformat(ready["start"]), date.fromisoformat(ready["end"])
    env = {
        **os.environ,
        "VRU_HOME": str(home),
        "VRU_DATABASE_URL": f"sqlite:///{home / 'service.db'}",
        "MLFLOW_DISABLE_TELEMETRY": "true",
        # the service's decisions are audit-logged: a benchmark-only key (never a real one)
        "VRU_AUDIT_KEY": os.environ.get(
            "VRU_AUDIT_KEY", "benchmark-only-audit-key-0123456789abcdef"
        ),
        "VRU_SESSION_SECRET": os.environ.get(
            "VRU_SESSION_SECRET", "benchmark-only-session-secret-0123456789abcdef"
        ),
    }
    tags = subprocess.run(
        [sys.executable, "-c", TRAIN_END, str(home)],
        check=True,
        env=env,
        capture_output=True,
        text=True,
    ).stdout.strip()
    start = date.fromisoformat(tags) + timedelta(days=1)
    end = start + timedelta(days=364)
    print(f"set-up (once): a year of service, {start} to {end}, into {out} ...", flush=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "vru_risk.cli",
            "simulate",
            "service",
            "--data",
            str(data),
            "--truth",
            str(data.with_name(data.name + "-truth")),
            "--out",
            str(out),
            "--version",
            "1",
            "--from",
            start.isoformat(),
            "--to",
            end.isoformat(),
        ],
        check=True,
        env=env,
    )
    done.write_text(json.dumps({"start": start.isoformat(), "end": end.isoformat()}))
    return out, start, end


TRAIN_END = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from vru_risk.models.registry import Registry
    from vru_risk.models.tags import TRAIN_END_TAG
    from vru_risk.settings import Settings
    info = Registry(Settings(home=Path(sys.argv[1])).tracking_uri).version(1)
    print(info.tags[TRAIN_END_TAG])
    """
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=70_000)
    parser.add_argument("--setup-only", action="store_true", help="make the cached set-up, stop")
    args = parser.parse_args()
    data = county(args.people)
    home, _ = trained_home(args.people, data)
    out, start, end = service(args.people, data, home)
    if args.setup_only:
        print(f"set-up ready: {home}, {out}")
        return
    run = run_json(RUN, str(out), str(home), start.isoformat(), end.isoformat())
    seconds, peak = float(run["seconds"]), float(run["peak"])  # type: ignore[arg-type]
    print(f"county: {args.people:,} young people; a year of service, {start} to {end}")
    print(
        f"evaluation: {seconds:.1f} s, peak {peak / 1024**3:.2f} GiB; "
        f"{run['moments']:,} matured moments, {run['offers']:,} offers, "
        f"{run['matured']} matured months"
    )
    print(f"target <= {TARGET_SECONDS:.0f} s: {'met' if seconds <= TARGET_SECONDS else 'NOT met'}")
    for programme, design, headline in run["statements"]:  # type: ignore[union-attr]
        print(f"  {programme} / {design}: {headline}")
    print(json.dumps({"people": args.people, "run": run}))


if __name__ == "__main__":
    main()
