"""The monitoring power study: false alarms of `vru monitor` on clean data, and how fast it finds
faults injected at stated sizes (`vru data fault`).

Counties, versions and the service period are benchmarks/power_setup.py's: per county seed, a
version trained and approved on the extract of 2025-08-31 (its monitoring reference is made
afresh at every start, so that it follows the code), serving from the day after; monitoring runs
on the county's full folder with ``--as-of`` a Sunday of the service period, seeing only what was
known by then. Every run is the job itself (``run_monitor``: sources, inputs, scores, outcomes,
groups, report written and logged); the one shortcut is that a data folder is validated on its
first run and the validated folder reused by later runs on the same, unchanged folder.

- **Clean runs**: ``--clean`` (seed, Sunday) pairs spread over the seeds and the service period.
  A run that asks for a review (exit 4) or recommends suspension (exit 3) on clean data is a
  false alarm; the rates get 95% Wilson intervals. Targets: false suspension at most 1%.
- **Faults**, ``--trials`` per arm (``--stop-trials`` per source for stops, pooled over the
  four sources), each trial on a seed (in turn) and a start date drawn over the service
  period, the folder faulted from it:

  - *stop* (one arm per source): found when a run recommends suspension for an outage *of that
    source*. The delay is from the stop to the first weekly run that finds it. A source is
    silent from its last known row, so a run finds a stop once the silence exceeds the
    source's ``outage_days`` plus the longest silence the same season of the reference showed;
    the bound checked is ``outage_days`` + that season's silence + 7 (the weekly cadence). The
    weekly silence is computed with the job's own check (``checks.source_silence``) on the
    faulted folder, and the full job is run on the first Sunday it predicts and on the Sunday
    before (which must not find it); a disagreement is counted and printed.
  - *coding* (one arm per ``--coding-sizes``): found when a run asks for a review naming
    attendance (a coding change, or its inputs drifted); *shift* (one arm per
    ``--shift-sizes``): found when a run asks for a review the shift raises (the score
    distribution moved, a source's inputs drifted, or its mix of recorded values changed).
    Beside each arm, the share of clean runs on which the same rule fires: what a trial would
    find by chance. The job is run on each of the
    first ``--weeks`` Sundays after the start until it finds the fault; later Sundays add
    nothing, the 28-day window being then wholly after the start.

The output lists every rate with its interval, each arm's detection rate and delays, the
false alarms by criterion and source (against each source's ``false_alarm_budget``), the clean
runs' distances against the thresholds in force (what the thresholds were set from), and the
seconds per run. Nothing is cached between studies except the counties and their versions.

The plan (which seed and Sunday each clean run takes, each trial's seed and start) does not
depend on how it is run, so the seeds can run in parallel processes, each on its own county
and home (``--worker S --save FILE``), and ``--merge FILE ...`` prints the whole study.

Usage: python benchmarks/monitor_power.py [--people 6000] [--seeds 3] [--clean 102]
       [--trials 10] [--stop-trials 3] [--coding-sizes 0.2,0.5] [--shift-sizes 1,3] [--weeks 4]
       [--arms stop,coding,shift] [--skip-clean] [--worker S --save FILE | --merge FILE ...]
"""

from __future__ import annotations

import argparse
import math
import pickle
import shutil
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from power_report import (
    Arm,
    Run,
    Trial,
    coding_changes,
    found_by,
    input_distances,
    report_clean,
    report_faults,
    report_thresholds,
)
from power_setup import EXTRACT, OUT, TRAINED_ON, Prepared, prepare

import vru_risk.jobs.monitor as monitor_job
import vru_risk.jobs.monitor_reference as reference_job
from vru_risk.data.faults import Fault, inject_fault
from vru_risk.data.load import DataFolder, open_folder
from vru_risk.jobs.common import engine_options
from vru_risk.jobs.monitor import MonitorRequest, run_monitor
from vru_risk.jobs.monitor_data import criteria_of, load_reference
from vru_risk.jobs.monitor_reference import create_reference
from vru_risk.models.registry import Registry
from vru_risk.monitoring.checks import source_silence
from vru_risk.monitoring.criteria import MonitoringCriteria, load_criteria
from vru_risk.monitoring.reference import MonitoringReference
from vru_risk.settings import Settings

STOP_SOURCES = ("attendance", "exclusions", "police_contacts", "ae_visits")
#: the first as-of date of the service period: a 28-day window wholly after the approval
FIRST_AS_OF = TRAINED_ON + timedelta(days=28)

_OPENED: dict[Path, DataFolder] = {}


def _open_once(settings: Settings, data_dir: Path) -> DataFolder:
    """The job's ``open_data``, validating a folder once per study (it does not change)."""
    key = data_dir.resolve()
    if key not in _OPENED:
        _OPENED[key] = open_folder(data_dir, today=date.today(), **engine_options(settings))
    return _OPENED[key]


monitor_job.open_data = _open_once  # type: ignore[assignment]
reference_job.open_data = _open_once  # type: ignore[assignment]


def sundays(first: date, last: date) -> list[date]:
    day = first + timedelta(days=(6 - first.weekday()) % 7)
    out = []
    while day <= last:
        out.append(day)
        day += timedelta(days=7)
    return out


@dataclass
class Study:
    prepared: dict[int, Prepared]
    references: dict[int, MonitoringReference]
    criteria: dict[int, MonitoringCriteria]
    runs: list[Run] = field(default_factory=list)

    def run(self, seed: int, folder: Path, as_of: date) -> Run:
        p = self.prepared[seed]
        t0 = time.perf_counter()
        result = run_monitor(p.settings, MonitorRequest(folder, p.version, as_of))
        scores = result.report["checks"]["scores"]
        done = Run(
            seed,
            as_of,
            result.verdict.level,
            result.verdict.findings,
            time.perf_counter() - t0,
            input_distances(result.report),  # type: ignore[arg-type]
            (scores["psi"], scores["js"]),
            coding_changes(result.report),
        )
        self.runs.append(done)
        return done


def clean_plan(seeds: Sequence[int], n: int) -> list[tuple[int, date]]:
    """``n`` (seed, Sunday) pairs: each seed takes an evenly spaced share of the service
    period's Sundays, the seeds' offset from one another (all of them when it needs more)."""
    days = sundays(FIRST_AS_OF, EXTRACT)
    per = math.ceil(n / len(seeds))
    plan: list[tuple[int, date]] = []
    for k, seed in enumerate(seeds):
        if per >= len(days):
            plan += [(seed, d) for d in days]
            continue
        step = len(days) / per
        offset = step * k / len(seeds)
        plan += [(seed, days[int(offset + j * step)]) for j in range(per)]
    return plan[:n] if len(plan) > n else plan


# --- faults ------------------------------------------------------------------------------------


def _known_dates(folder: DataFolder, source: str) -> np.ndarray:
    path = folder.files[source]
    frame = pd.read_parquet(path, columns=["known_date"])
    return np.sort(pd.to_datetime(frame["known_date"]).dt.date.to_numpy())


def stop_trial(study: Study, trial: Trial, folder: Path, horizon: list[date]) -> None:
    """Predict the weekly silence with the job's own check, confirm with the job."""
    seed, source = trial.seed, trial.arm.source
    assert source is not None
    ref, criteria = study.references[seed], study.criteria[seed]
    allowed = criteria.outage_days[source]
    known = _known_dates(_open_once(study.prepared[seed].settings, folder), source)
    predicted = None
    for day in horizon:
        i = np.searchsorted(known, day, side="right")
        last = known[i - 1] if i else None
        _, expected, beyond = source_silence(
            last, day, ref.sources.get(source), since=ref.window_start
        )
        if beyond > allowed:
            predicted, trial.bound = day, allowed + expected + 7
            break
    if predicted is None:
        run = study.run(seed, folder, horizon[-1])
        trial.runs += 1
        trial.disagreement = found_by(trial.arm, run.findings)
        trial.note = f"no outage predicted by {horizon[-1]}"
        return
    run = study.run(seed, folder, predicted)
    trial.runs += 1
    if found_by(trial.arm, run.findings):
        trial.found, trial.level = predicted, run.level
    else:
        trial.disagreement = True
    before = predicted - timedelta(days=7)
    if before > trial.start:
        earlier = study.run(seed, folder, before)
        trial.runs += 1
        if found_by(trial.arm, earlier.findings):
            trial.disagreement = True
            trial.found, trial.level = before, earlier.level


def drift_trial(study: Study, trial: Trial, folder: Path, horizon: list[date]) -> None:
    for day in horizon:
        run = study.run(trial.seed, folder, day)
        trial.runs += 1
        if found_by(trial.arm, run.findings):
            trial.found, trial.level = day, run.level
            return


def horizon_days(arm: Arm, criteria: MonitoringCriteria, weeks: int) -> int:
    if arm.kind == "stop":
        assert arm.source is not None
        return criteria.outage_days[arm.source] + 45 + 14  # the longest season (summer) and two
    return weeks * 7 + 6


def run_trials(
    study: Study,
    arms: Sequence[Arm],
    trials: Callable[[Arm], int],
    weeks: int,
    log: Callable[[str], None],
    *,
    seeds: Sequence[int],
) -> list[Trial]:
    """Every arm's trials whose seed (``seeds`` in turn) this study prepared: the plan (seeds
    and start dates) is the same whichever seeds one process runs."""
    out: list[Trial] = []
    for a, arm in enumerate(arms):
        rng = np.random.default_rng(1000 + a)
        for i in range(trials(arm)):
            seed = seeds[i % len(seeds)]
            days = horizon_days(arm, next(iter(study.criteria.values())), weeks)
            span = (EXTRACT - timedelta(days=days) - TRAINED_ON).days
            start = TRAINED_ON + timedelta(days=int(rng.integers(1, span)))
            if seed not in study.prepared:
                continue
            trial = Trial(arm, seed, start)
            p = study.prepared[seed]
            folder = OUT / "faults" / f"{arm.name.replace(' ', '-')}-{i}-s{seed}"
            shutil.rmtree(folder, ignore_errors=True)
            fault = Fault(arm.kind, start, source=arm.source, size=arm.size, seed=i)  # type: ignore[arg-type]
            inject_fault(_open_once(p.settings, p.data), folder, fault, threads=1)
            horizon = sundays(start + timedelta(days=1), start + timedelta(days=days))
            if arm.kind == "stop":
                stop_trial(study, trial, folder, horizon)
            else:
                drift_trial(study, trial, folder, horizon[:weeks])
            _forget(p.settings, folder)
            out.append(trial)
            what = f"found on {trial.found} ({trial.delay} days)" if trial.found else "missed"
            log(f"{arm.name} trial {i} (seed {seed}, from {start}): {what}, {trial.runs} runs")
    return out


def _forget(settings: Settings, folder: Path) -> None:
    """Remove a trial's folder and the feature table the job built for it."""
    opened = _OPENED.pop(folder.resolve(), None)
    if opened is not None:
        for cached in settings.features_dir.glob(f"*-{opened.fingerprint[:16]}.parquet"):
            cached.unlink()
    shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=6000)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--clean", type=int, default=102)
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--stop-trials", type=int, default=3, help="per source (four sources)")
    parser.add_argument("--coding-sizes", default="0.2,0.5")
    parser.add_argument("--shift-sizes", default="1,3")
    parser.add_argument("--weeks", type=int, default=4)
    parser.add_argument("--skip-clean", action="store_true")
    parser.add_argument("--arms", default="stop,coding,shift")
    parser.add_argument("--worker", type=int, help="run only this seed's share of the plan")
    parser.add_argument("--save", help="write this process's runs and trials to this file")
    parser.add_argument("--merge", nargs="+", help="print the study of saved files, run nothing")
    args = parser.parse_args()
    t0 = time.perf_counter()

    def log(text: str) -> None:
        print(f"[{time.perf_counter() - t0:7.0f} s] {text}", flush=True)

    seeds = list(range(args.seeds))
    if args.merge:
        clean, trials, seconds = [], [], []
        for path in args.merge:
            saved = pickle.loads(Path(path).read_bytes())
            clean += saved["clean"]
            trials += saved["trials"]
            seconds += saved["seconds"]
        report(
            args,
            seeds,
            [_judged_only(r, args.people) for r in clean],
            trials,
            load_criteria(),
            seconds,
        )
        return
    mine = [args.worker] if args.worker is not None else seeds
    prepared = {s: prepare(s, args.people) for s in mine}
    references, criteria = {}, {}
    for s, p in prepared.items():
        create_reference(p.settings, p.version, p.trained_on)
        registry = Registry(p.settings.tracking_uri)
        info = registry.version(p.version)
        references[s] = load_reference(p.settings, registry, info)
        criteria[s] = criteria_of(p.settings, registry, info)
        log(f"seed {s}: version {p.version} ready (county and training {p.seconds:.0f} s once)")
    study = Study(prepared, references, criteria)
    clean = []
    if not args.skip_clean:
        for seed, day in clean_plan(seeds, args.clean):
            if seed not in prepared:
                continue
            run = study.run(seed, prepared[seed].data, day)
            clean.append(run)
            named = "; ".join(f"{f.criterion} {f.subject}" for f in run.findings) or "-"
            log(f"clean seed {seed} {day}: {run.level} ({named}) {run.seconds:.1f} s")
    wanted = set(args.arms.split(","))
    arms = [Arm("stop", s, None) for s in STOP_SOURCES if "stop" in wanted]
    arms += [
        Arm("coding", "attendance", float(x))
        for x in args.coding_sizes.split(",")
        if "coding" in wanted
    ]
    arms += [Arm("shift", None, float(x)) for x in args.shift_sizes.split(",") if "shift" in wanted]

    def trials_of(arm: Arm) -> int:
        return args.stop_trials if arm.kind == "stop" else args.trials

    trials = run_trials(study, arms, trials_of, args.weeks, log, seeds=seeds)
    if args.save:
        seconds = [r.seconds for r in study.runs]
        saved = {"clean": clean, "trials": trials, "seconds": seconds}
        Path(args.save).write_bytes(pickle.dumps(saved))
        log(f"saved to {args.save}")
    report(args, mine, clean, trials, criteria[mine[0]], [r.seconds for r in study.runs])
    log("done")


def _judged_only(run: Run, people: int) -> Run:
    """``run`` without the distances of sources that delivered no record in its window (not
    judged by the job: the job's own rule, re-applied to the seed's clean folder, for runs
    saved before the report said which)."""
    folder = OUT / f"county-{people}-s{run.seed}" / "data"
    start = run.as_of - timedelta(days=27)
    fed = {}
    for source in run.inputs:
        path = folder / f"{source}.parquet"
        if not path.is_file() or source not in STOP_SOURCES:
            fed[source] = True
            continue
        known = pd.to_datetime(pd.read_parquet(path, columns=["known_date"])["known_date"]).dt.date
        fed[source] = bool(((known >= start) & (known <= run.as_of)).any())
    inputs = {s: rows for s, rows in run.inputs.items() if fed[s]}
    return Run(
        run.seed, run.as_of, run.level, run.findings, run.seconds, inputs, run.score, run.coding
    )


def report(
    args: argparse.Namespace,
    seeds: Sequence[int],
    clean: Sequence[Run],
    trials: Sequence[Trial],
    criteria: MonitoringCriteria,
    seconds: Sequence[float],
) -> None:
    print(
        f"\nmonitor power study: {args.people:,} young people per county, seeds "
        f"{list(seeds)}, service period {TRAINED_ON + timedelta(days=1)} to {EXTRACT}"
    )
    if clean:
        report_clean(clean, criteria)
        report_thresholds(clean, criteria)
    if trials:
        report_faults(trials, clean)
    if seconds:
        print(
            f"\n{len(seconds)} monitoring runs (clean and faulted), "
            f"{statistics.mean(seconds):.1f} s each on average"
        )


if __name__ == "__main__":
    main()
