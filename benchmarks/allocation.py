"""What the service's places are worth under each allocation policy, beside the hindsight bound.

Set-up (a VRU_HOME under benchmarks/out/, kept and reused): a generated county (cached),
trained the way ``vru train --data`` trains (:func:`vru_risk.jobs.train.train` in this process:
feature table cached in VRU_HOME, three rolling-origin folds, the final model registered), then
``vru audit`` and the ethics panel's decision through the real command line (as
``benchmarks/serve.py`` does), so that the daily job may use the version.

The window: the three folds' test slices (18 months of as-of dates whose labels are complete),
each month scored by the model of its fold (fitted and calibrated before it: out of sample), the
percentile in that model's reference distribution (``RiskModel.percentile``). Every moment's
context comes from ``moment_context`` and the packaged programmes (``load_programmes``) are
replayed over the window (:func:`vru_risk.flags.replay.replay_window`, the daily job's own
allocation) with every programme ``first_come``, then every programme ``paced``, beside the
hindsight bound (:func:`vru_risk.flags.replay.hindsight`: each period's places to the period's
highest eligible scores). The window's first month warms up the pacing history (a paced
programme offers above its floor until it has a week of days); every figure is over the months
after it, for every policy alike. Precision and recall are against the feature table's recorded
label; recall per programme is among the moments it may be offered to.

Then the real daily job (``vru flags generate --days N`` ending on the window's last month, in
the same VRU_HOME, the packaged programmes set to ``first_come``, an empty ledger) is compared
with the replay of the same registered model on the feature table's moments of those days: the
same offers, its realised precision and the day each programme's places ran out. The registered
model is fitted on every labelled month, so that precision is in sample (said where printed).

Targets (issue 21): paced precision at least 0.9x the hindsight bound's, with at least 95% of
places used: of the places the hindsight bound fills (a programme without enough eligible
moments in a period cannot fill its places; the share of every place is printed beside it). A
second bound, ``hind_90d``, chooses with hindsight too but, as the service does, nobody again
while an offer to them is valid (90 days): how much of the gap is re-offering the same people.
Load average before and after; a JSON line at the end.

Usage: python benchmarks/allocation.py [--people 70000] [--home DIR] [--job-days 31]
(``--people 10000`` for a quick check; ``--home`` defaults to benchmarks/out/allocation-<people>.)
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from allocation_tables import (
    ATTRIBUTES,
    group_rates,
    measured,
    month_table,
    policy_table,
)
from common import OUT, county
from serve import PANEL, PASSWORD, REASON, loadavg, server_env, vru

from vru_risk.data.load import open_folder
from vru_risk.fairness_reports.model_audit import sensitive_frame
from vru_risk.features.context import MomentContext, moment_context
from vru_risk.flags.allocate import Offer
from vru_risk.flags.programmes import Programmes, load_programmes
from vru_risk.flags.replay import hindsight, replay_window, window_candidates
from vru_risk.jobs.train import TrainRequest, train
from vru_risk.models.registry import Registry
from vru_risk.settings import Settings
from vru_risk.training.config import load_experiment
from vru_risk.training.data import load_feature_table

TARGET_PRECISION = 0.9
TARGET_USED = 0.95
READY = "allocation-ready.json"
SEED = 0  # the daily job's
VALID_DAYS = 90  # the daily job's default (VRU_FLAG_VISIBLE_DAYS)
#: a month with more moments unlabelled (censored) than this is left out of the figures
MAX_CENSORED = 0.5


def next_month(day: date) -> date:
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1)


def with_policy(programmes: Programmes, policy: str) -> Programmes:
    """The programmes with every one's ``policy`` set."""
    return programmes.model_copy(
        update={
            "programmes": tuple(
                p.model_copy(update={"policy": policy}) for p in programmes.programmes
            )
        }
    )


def prepare(home: Path, data: Path) -> dict[str, Any]:
    """Train (in process, as ``vru train --data``), keep the folds' out-of-sample scores, audit
    and approve through the command line; or reuse a prepared home."""
    ready = home / READY
    if ready.exists():
        setup: dict[str, Any] = json.loads(ready.read_text())
        print(f"reusing the prepared VRU_HOME {home} (model version {setup['version']})")
        return setup
    home.mkdir(parents=True, exist_ok=True)
    setup = {"audit_key": secrets.token_urlsafe(32), "session_secret": secrets.token_urlsafe(32)}
    settings = Settings(home=home)
    config = load_experiment()
    t0 = time.perf_counter()
    print(f"training on {data} (VRU_HOME {home}) ...", flush=True)
    trained = train(settings, TrainRequest(config=config, data=data, trained_by="benchmark"))
    result = trained.experiment
    label = result.data.label
    parts = []
    for fold in result.folds:
        p = fold.predictions
        probability = p["score"].to_numpy(dtype="float64")
        parts.append(
            pd.DataFrame(
                {
                    "person_id": p["person_id"].astype(str),
                    "as_of": pd.to_datetime(p["as_of"]).dt.date,
                    "probability": probability,
                    "percentile": fold.booster_model.percentile(probability),
                    "label": p[label].to_numpy(dtype="float64"),
                    "fold": fold.fold.index,
                }
            )
        )
    pd.concat(parts, ignore_index=True).to_parquet(home / "window.parquet", index=False)
    version = trained.outcome.version.version
    setup.update(
        version=version,
        state=trained.outcome.state,
        table=str(trained.table),
        label=label,
        train_seconds=round(time.perf_counter() - t0, 1),
    )
    if trained.outcome.state != "candidate":
        raise SystemExit(f"training registered version {version} as {trained.outcome.state}")
    env = server_env(home, setup["audit_key"], setup["session_secret"])
    t1 = time.perf_counter()
    out = vru(env, "audit", "--version", str(version), "--data", str(data), "--resamples", "100")
    passed = "fairness gate: pass" in out
    for member in PANEL:
        vru(env, "users", "add", member, "--role", "ethics_panel", "--password-stdin",
            stdin=PASSWORD + "\n")  # fmt: skip
    action, reviewers = ("approve", PANEL[:1]) if passed else ("override", PANEL)
    for member in reviewers:
        vru(env, "review", action, "--version", str(version), "--reviewer", member,
            "--reason", REASON, "--password-stdin", stdin=PASSWORD + "\n")  # fmt: skip
    setup.update(review=action, audit_seconds=round(time.perf_counter() - t1, 1))
    ready.write_text(json.dumps(setup))
    return setup


def offered_keys(rows: pd.DataFrame, offers: tuple[Offer, ...]) -> set[tuple[str, date, str]]:
    """(person, as_of, programme) of each offer."""
    persons = rows["person_id"].astype(str).to_numpy(dtype=object)
    days = rows["as_of"].to_numpy(dtype=object)
    return {(str(persons[o.row]), days[o.row], o.programme) for o in offers}


def real_job(
    home: Path, data: Path, setup: dict[str, Any], first: Programmes, month_end: date, days: int
) -> dict[str, Any]:
    """``vru flags generate`` over ``days`` days from the 1st of ``month_end``'s month, and the
    replay of the same model on the same days' moments of the feature table."""
    start = month_end.replace(day=1)
    last = min(month_end, start + timedelta(days=days - 1))
    settings = Settings(home=home)
    shutil.rmtree(settings.issued_dir, ignore_errors=True)  # an empty ledger: a month afresh
    programmes_file = home / "programmes-first_come.yaml"
    programmes_file.write_text(yaml.safe_dump(first.model_dump(mode="json"), sort_keys=False))
    env = server_env(home, setup["audit_key"], setup["session_secret"])
    flags_file = home / "job-flags.jsonl"
    n_days = (last - start).days + 1
    print(f"\nthe real daily job: vru flags generate --date {last} --days {n_days} ...", flush=True)
    t0 = time.perf_counter()
    vru(env, "flags", "generate", str(data), "--date", last.isoformat(), "--days", str(n_days),
        "--out", str(flags_file), "--programmes", str(programmes_file))  # fmt: skip
    seconds = time.perf_counter() - t0
    job: set[tuple[str, date, str]] = set()
    ranks: dict[tuple[str, date, str], int] = {}
    for line in flags_file.read_text().splitlines():
        flag = json.loads(line)
        for entry in flag["programmes"]:
            if entry["status"] == "offered":
                key = (
                    str(flag["person_id"]),
                    date.fromisoformat(flag["as_of"]),
                    entry["programme"],
                )
                job.add(key)
                ranks[key] = int(entry["rank"])
    config = load_experiment()
    model, _ = Registry(settings.tracking_uri).load(int(setup["version"]), threads=2)
    table = load_feature_table(Path(setup["table"]), config.feature_spec(), config.features)
    moments = table.between(start, last + timedelta(days=1))
    probability = model.predict(table.features(moments))
    rows = pd.DataFrame(
        {
            "person_id": moments["person_id"].astype(str).to_numpy(),
            "as_of": pd.to_datetime(moments["as_of"]).dt.date.to_numpy(),
            "probability": probability,
            "percentile": model.percentile(probability),
            "label": moments[setup["label"]].to_numpy(dtype="float64"),
        }
    )
    folder = open_folder(data, today=date.today())
    context = moment_context(folder, config.feature_spec(), config.features, start, last)
    replayed = replay_window(rows, context, first, seed=SEED)
    mine = offered_keys(rows, replayed.offers)
    labels = {
        (p, d): y for p, d, y in zip(rows["person_id"], rows["as_of"], rows["label"], strict=True)
    }
    known = [labels.get((p, d), np.nan) for p, d, _ in job]
    known_y = np.array([y for y in known if not np.isnan(y)])
    filled = {
        (prog, d): rank
        for (_, d, prog), rank in ranks.items()
        if rank == first.by_id(prog).capacity
    }
    return {
        "days": n_days,
        "from": start.isoformat(),
        "to": last.isoformat(),
        "seconds": round(seconds, 1),
        "job_offers": len(job),
        "replay_offers": len(mine),
        "same": len(job & mine),
        "equal": job == mine,
        "precision": float(known_y.mean()) if len(known_y) else float("nan"),
        "labelled": len(known_y),
        "filled_on": {
            p.id: sorted(d.isoformat() for (prog, d) in filled if prog == p.id)
            for p in first.programmes
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=70_000)
    parser.add_argument("--home", type=Path, help="the prepared VRU_HOME (kept and reused)")
    parser.add_argument("--job-days", type=int, default=31, help="days of the real daily job")
    args = parser.parse_args()
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    load_before = loadavg("before")
    t_start = time.perf_counter()
    data = county(args.people)
    home = args.home or OUT / f"allocation-{args.people}"
    setup = prepare(home, data)
    rows = pd.read_parquet(home / "window.parquet")
    rows["as_of"] = pd.to_datetime(rows["as_of"]).dt.date
    first_day, last_day = min(rows["as_of"]), max(rows["as_of"])
    config = load_experiment()
    t0 = time.perf_counter()
    folder = open_folder(data, today=date.today())
    context: MomentContext = moment_context(
        folder, config.feature_spec(), config.features, first_day, last_day
    )
    print(f"moment context {first_day} to {last_day}: {time.perf_counter() - t0:.1f} s")
    packaged = load_programmes()
    policies = {
        "first_come": with_policy(packaged, "first_come"),
        "paced": with_policy(packaged, "paced"),
    }
    t0 = time.perf_counter()
    results = {
        name: replay_window(rows, context, progs, seed=SEED) for name, progs in policies.items()
    }
    results["hindsight"] = hindsight(rows, context, packaged, seed=SEED)
    results["hind_90d"] = hindsight(rows, context, packaged, seed=SEED, valid_days=VALID_DAYS)
    replay_seconds = time.perf_counter() - t0
    warm_end = next_month(first_day)
    label = rows["label"].to_numpy(dtype="float64")
    month_of = np.array([d.replace(day=1) for d in rows["as_of"]], dtype=object)
    censored: dict[date, float] = {
        m: float(np.isnan(label[month_of == m]).mean()) for m in sorted(set(month_of.tolist()))
    }
    labelled_months = [m for m, share in censored.items() if share <= MAX_CENSORED]
    last_measured = next_month(max(labelled_months)) - timedelta(days=1)
    eligible = {
        p: e.eligible for p, e in window_candidates(rows, context, packaged).eligible.items()
    }
    views = {
        name: measured(r, rows, label, eligible, warm_end, last_measured)
        for name, r in results.items()
    }
    months = sorted({d.replace(day=1) for d in rows["as_of"] if warm_end <= d <= last_measured})
    left_out = [f"{m:%Y-%m} ({share:.0%})" for m, share in censored.items() if m > last_measured]
    print(
        f"\n{args.people:,} people; window {first_day} to {last_day} ({len(rows):,} moments, "
        f"{int(np.nansum(label)):,} positive), scored out of sample by the fold models; "
        f"pacing warm-up {first_day.replace(day=1)} to {warm_end - timedelta(days=1)}; "
        f"figures over {len(months)} months, {warm_end} to {last_measured} "
        f"({int(np.isfinite(label[views['hindsight'].in_window]).sum()):,} labelled moments); "
        f"left out, labels mostly censored: {', '.join(left_out) or 'none'}; "
        f"replays {replay_seconds:.1f} s"
    )
    print(policy_table(views))
    bounds = ("hindsight", "hind_90d")
    ratios = {
        b: {n: v.overall.precision / views[b].overall.precision for n, v in views.items()}
        for b in bounds
    }
    used = {
        b: {n: v.overall.places_used / views[b].overall.places_used for n, v in views.items()}
        for b in bounds
    }
    for b in bounds:
        print(
            f"x {b}: precision "
            + ", ".join(f"{n} {r:.3f}x" for n, r in ratios[b].items() if n not in bounds)
            + "; places used "
            + ", ".join(f"{n} {r:.3f}x" for n, r in used[b].items() if n not in bounds)
        )
    print(
        "hindsight: each period's places to its highest eligible scores, a person once a "
        f"period (the bound of the issue); hind_90d: the same, nobody chosen again by a "
        f"programme within {VALID_DAYS} days of an offer (the service's rule)"
    )
    print(
        group_rates(
            views, sensitive_frame(rows, pd.read_parquet(data / "people.parquet")), ATTRIBUTES
        )
    )
    for name in ("first_come", "paced"):
        print(month_table(name, views[name], results[name], rows, eligible, packaged, months))
    job = real_job(home, data, setup, policies["first_come"], last_measured, args.job_days)
    print(
        f"real job {job['from']} to {job['to']} ({job['days']} days, {job['seconds']} s): "
        f"{job['job_offers']} offers; the replay of the same model on the feature table's "
        f"moments: {job['replay_offers']} offers, {job['same']} in both: "
        f"{'the same offers' if job['equal'] else 'DIFFERENT offers'}; realised precision "
        f"{job['precision']:.3f} over {job['labelled']} labelled offers (the registered model "
        "is fitted on this month: in sample)"
    )
    for programme, days in job["filled_on"].items():
        went = ", ".join(days) if days else "never (places left)"
        print(f"  {programme}: last place went on {went}")
    paced = views["paced"].overall
    precision_ratio = ratios["hindsight"]["paced"]
    used_ratio = used["hindsight"]["paced"]
    meets_precision = precision_ratio >= TARGET_PRECISION
    meets_used = used_ratio >= TARGET_USED
    print(
        f"\ntarget paced precision >= {TARGET_PRECISION}x hindsight: {precision_ratio:.3f}x: "
        f"{'met' if meets_precision else 'not met'} (x hind_90d: "
        f"{ratios['hind_90d']['paced']:.3f}x)\n"
        f"target paced places used >= {TARGET_USED:.0%} of the places the hindsight bound "
        f"fills: {used_ratio:.1%}: {'met' if meets_used else 'not met'} (of every place: "
        f"{paced.places_used_share:.1%}; the hindsight bound fills "
        f"{views['hindsight'].overall.places_used_share:.1%}: a programme without enough "
        "eligible moments cannot fill its places)"
    )
    load_after = loadavg("after")
    print(f"total {time.perf_counter() - t_start:.0f} s")
    summary = {
        "people": args.people,
        "window": [str(first_day), str(last_day)],
        "measured": [str(warm_end), str(last_measured)],
        "months": len(months),
        "policies": {n: v.summary() for n, v in views.items()},
        "precision_ratio": ratios,
        "places_used_ratio": used,
        "targets": {"paced_precision_ratio": meets_precision, "paced_places_used": meets_used},
        "real_job": job,
        "setup": {k: v for k, v in setup.items() if k not in ("audit_key", "session_secret")},
        "load": [load_before, load_after],
    }
    print(json.dumps(summary, default=str))


if __name__ == "__main__":
    main()
