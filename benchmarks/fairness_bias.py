"""Does the fairness audit see planted measurement bias, and does the model inherit it?

For each seed (default 0-19) a synthetic county is generated twice, with the generator's
measurement bias on and off (``SyntheticConfig.measurement_bias``; everything else equal, so the
young people, their attributes and their latent propensities are the same). Each county gets its
feature table with the truth labels, the default experiment (with the monthly capacity scaled to
the county: 40 a month for 70,000 young people) and then the audit of the model's calibrated
scores over its audit window (every fold's test slice), as ``audit_model`` runs it, against

* the recorded label (``label_serious_violence``, what the service can see), and
* true involvement (``label_true_involvement``, known only on synthetic data).

The over-recorded group is the generator's ``black`` ethnic group (police suspect recording
x1.8, stop and search x4.0, exclusions x1.5; ``mixed`` gets x1.4, x2.0, x1.5 and is reported as
a secondary group); the reference is ``white`` (the audit's default: the largest group).
Ethnicity never enters the true propensity, only deprivation and adversity do (minority groups
are tilted slightly towards deprived areas), so with bias off the true base rates differ a
little and the recorded label is recorded equally for everyone.

Metrics (the audit's, per group, over person-months: one row per young person per month, the
rows the monthly lists considered; ``vru_risk.fairness_reports.audit``):

* selection rate = flagged / person-months; ``selection ratio`` = group / reference;
* FPR = flagged among person-months without the outcome / person-months without it;
* TPR = flagged among person-months with the outcome / person-months with it;
* every ``... gap`` = group - reference (percentage points in the tables);
* threshold-free, beside them: ``score | neg.`` / ``score | pos.`` = the mean calibrated score
  of the group's person-months without / with the outcome (balance for the negative / positive
  class, Kleinberg, Mullainathan and Raghavan 2016): the continuous counterpart of FPR / TPR,
  less noisy than a list of a few young people a month.

The same audits are run on the generator's oracle ranking (the true probability of involvement,
``oracle_probabilities``) against true involvement: the gaps that a perfect true-risk ranking
shows because the groups' base rates and risk distributions differ (minority groups live in
more deprived areas), with no recording bias in it. The model's gap minus the oracle's, per seed,
is what the model adds.

Two operating points: the service's monthly lists at the scaled capacity (the experiment's
``capacity.per_month``) and a wider list of ``--wide-capacity`` a month (40 by default, the
default service's absolute list size, about a tenth of this county's monthly population),
which flags several times more young people and so measures the same gaps with less noise.
Groups are never suppressed here (the audit's thresholds are set to 0): single seeds are noisy
and the study reads the spread over seeds. Each seed's gaps also get 95% percentile intervals
from the package's people-resampling bootstrap (``bootstrap_intervals``).

Per condition the tables give, over seeds, the mean gap, its standard deviation and standard
error, whether the mean is within 2 standard errors of 0 ("within noise"), the share of seeds
whose gap has the planted sign (over-recorded group higher) and the share of seeds whose
bootstrap interval contains 0. A paired table gives the per-seed change of each gap from bias
off to bias on (same seed): the part of the gap that the recording bias causes.

Every seed's result is cached under benchmarks/out/fairness-bias/ (the model's audit-window
predictions and the figures): a rerun skips the seeds already done and says so.

Usage: python benchmarks/fairness_bias.py [--people 8000] [--seeds 20] [--first-seed 0]
       [--capacity N] [--wide-capacity 40] [--resamples 400] [--fresh]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

OUT = Path(__file__).resolve().parent / "out" / "fairness-bias"
VERSION = 3  # of the cached figures: bump when the audit part changes
DEFAULT_CAPACITY_PER_PEOPLE = 40 / 70_000  # the default service: 40 a month for 70,000
REFERENCE = "white"
OVER_RECORDED = "black"  # the generator's largest recording multipliers (see the docstring)
GROUPS = ("black", "mixed")
OUTCOMES = {"recorded": "label_serious_violence", "truth": "label_true_involvement"}
#: the audits: name -> (outcome column, ranking score). "oracle" ranks by the true probability
#: of involvement (the generator's oracle, ``oracle_probabilities``) and is audited against
#: true involvement: the gaps a perfect true-risk ranking would show (base rates and risk
#: distributions differ between groups even without bias), beside which the model's are read
AUDITS = {
    "recorded": (OUTCOMES["recorded"], "score"),
    "truth": (OUTCOMES["truth"], "score"),
    "oracle": (OUTCOMES["truth"], "oracle_p_involvement"),
}
GAPS = ("selection_rate_difference", "selection_rate_ratio", "fpr_difference", "tpr_difference")
INTERVAL_METRICS = ("selection_rate_difference", "fpr_difference", "tpr_difference")
#: threshold-free (Kleinberg et al.'s balance for the negative / positive class): the mean
#: calibrated score of the person-months without / with the outcome; the same at every capacity,
#: so reported with the service's lists only
BALANCE = ("negative_balance_difference", "positive_balance_difference")


def metrics_for(key: str) -> tuple[str, ...]:
    """The gap metrics reported for one audit (``outcome/point``)."""
    return GAPS + BALANCE if key.endswith("/service") else GAPS


PRED_COLUMNS = ("person_id", "as_of", "fold", "score", "flagged", *OUTCOMES.values())
ORACLE_COLUMN = "oracle_p_involvement"
CONDITIONS = ("on", "off")


# ----------------------------------------------------------------------------- worker side


def _peak() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024.0


def _oracle_column(predictions: Any, truth_dir: Path) -> Any:
    """The true probability of involvement of each prediction row (the generator's oracle)."""
    import pandas as pd

    from vru_risk.data.synthetic import oracle_probabilities
    from vru_risk.training.config import load_experiment

    label = load_experiment().features.label
    pairs = pd.DataFrame(
        {"person_id": predictions["person_id"], "as_of": pd.to_datetime(predictions["as_of"])}
    )
    oracle = oracle_probabilities(
        pd.read_parquet(truth_dir / "latent.parquet"),
        pd.read_parquet(truth_dir / "people.parquet"),
        pairs,
        gap_days=label.gap_days,
        horizon_days=label.horizon_days,
    )
    return oracle["p_involvement"].to_numpy(dtype="float64")


def _add_oracle(folder: Path, people: int, seed: int, bias: bool) -> None:
    """Add the oracle column to cached predictions made before it was kept (regenerates the
    county's truth: the same options give the same bytes)."""
    import pandas as pd

    from vru_risk.data.synthetic import SyntheticConfig, generate_county

    predictions = pd.read_parquet(folder / "predictions.parquet")
    synthetic = SyntheticConfig(people=people, seed=seed, measurement_bias=bias)
    with tempfile.TemporaryDirectory(prefix="fairness-bias-", dir=OUT) as tmp:
        generate_county(synthetic, out_dir=Path(tmp) / "data", truth_dir=Path(tmp) / "truth")
        predictions[ORACLE_COLUMN] = _oracle_column(predictions, Path(tmp) / "truth")
    predictions.to_parquet(folder / "predictions.parquet", index=False)


def _model_run(people: int, seed: int, bias: bool, capacity: int, folder: Path) -> dict[str, Any]:
    """Generate, build features with truth, run the experiment; keep the audit window."""
    import pandas as pd

    from vru_risk.data.load import open_folder
    from vru_risk.data.synthetic import SyntheticConfig, generate_county
    from vru_risk.features.build import build_features
    from vru_risk.training.config import load_experiment
    from vru_risk.training.data import load_feature_table, with_oracle
    from vru_risk.training.pipeline import run_experiment
    from vru_risk.training.results import LIGHTGBM, ORACLE

    times: dict[str, float] = {}
    synthetic = SyntheticConfig(people=people, seed=seed, measurement_bias=bias)
    config = load_experiment()
    config = config.model_copy(
        update={"capacity": config.capacity.model_copy(update={"per_month": capacity})}
    )
    spec = config.feature_spec()
    with tempfile.TemporaryDirectory(prefix="fairness-bias-", dir=OUT) as tmp:
        data_dir, truth_dir, table = Path(tmp) / "data", Path(tmp) / "truth", Path(tmp) / "f.pq"
        t = time.perf_counter()
        generate_county(synthetic, out_dir=data_dir, truth_dir=truth_dir)
        times["generate"] = time.perf_counter() - t
        t = time.perf_counter()
        build_features(
            open_folder(data_dir, today=date.today()),
            spec,
            config.features,
            out=table,
            truth_events_path=truth_dir / "outcomes.parquet",
        )
        times["features"] = time.perf_counter() - t
        t = time.perf_counter()
        data = load_feature_table(table, spec, config.features)
        data = with_oracle(data, truth_dir, config.features.label)
        result = run_experiment(config, data)
        times["experiment"] = time.perf_counter() - t

        predictions = result.predictions[list(PRED_COLUMNS)].copy()
        predictions[ORACLE_COLUMN] = _oracle_column(predictions, truth_dir)
        people_table = pd.read_parquet(data_dir / "people.parquet")
        truth_people = pd.read_parquet(truth_dir / "people.parquet")
        outcomes = pd.read_parquet(truth_dir / "outcomes.parquet")
    predictions.to_parquet(folder / "predictions.parquet", index=False)
    people_table.to_parquet(folder / "people.parquet", index=False)

    # the planted bias as the truth shows it: how often one true involvement is recorded
    eth = truth_people.set_index("person_id")["ethnicity"]
    involved = outcomes[outcomes["in_area"]].assign(ethnicity=lambda f: f.person_id.map(eth))
    recording: dict[str, dict[str, float]] = {}
    for group in (*GROUPS, REFERENCE):
        rows = involved[involved["ethnicity"] == group]
        who = truth_people[truth_people["ethnicity"] == group]
        recording[group] = {
            "people": len(who),
            "sv_record_prob": float(who["sv_record_prob"].mean()),
            "police_suspect_recording": float(who["police_suspect_recording"].mean()),
            "stop_search_recording": float(who["stop_search_recording"].mean()),
            "exclusion_recording": float(who["exclusion_recording"].mean()),
            "involvements": len(rows),
            "recorded_share": float(rows["recorded"].mean()) if len(rows) else math.nan,
        }
    pooled = result.pooled
    return {
        "people": people,
        "seed": seed,
        "measurement_bias": bias,
        "capacity": capacity,
        "experiment_hash": config.hash,
        "times": times,
        "examples": len(data.frame),
        "window_rows": len(predictions),
        "labelled": int(predictions[OUTCOMES["recorded"]].notna().sum()),
        "flagged": int(predictions["flagged"].sum()),
        "lightgbm": {
            k: float(pooled[LIGHTGBM].metrics[k])
            for k in (
                "hindsight_precision_at_capacity",
                "auc",
                "hindsight_true_involvement_precision_at_capacity",
            )
            if k in pooled[LIGHTGBM].metrics
        },
        "oracle_precision_at_capacity": float(
            pooled[ORACLE].metrics["hindsight_precision_at_capacity"]
        )
        if ORACLE in pooled
        else math.nan,
        "recording": recording,
        "model_peak_bytes": _peak(),
    }


def _audit_run(folder: Path, capacities: dict[str, int], resamples: int) -> dict[str, Any]:
    """Audit the cached predictions at each operating point against each outcome."""
    import pandas as pd

    from vru_risk.fairness_reports.audit import audit
    from vru_risk.fairness_reports.bootstrap import bootstrap_intervals
    from vru_risk.fairness_reports.confusion import confusion_counts
    from vru_risk.fairness_reports.model_audit import sensitive_frame
    from vru_risk.fairness_reports.operating_points import ServiceLists

    predictions = pd.read_parquet(folder / "predictions.parquet")
    people = pd.read_parquet(folder / "people.parquet")
    out: dict[str, Any] = {}
    checks: list[str] = []
    for outcome, (column, score_column) in AUDITS.items():
        rows = predictions[predictions[column].notna()].reset_index(drop=True)
        sensitive = sensitive_frame(rows, people)[["ethnicity"]]
        y = rows[column].to_numpy(dtype="float64")
        score = rows[score_column].to_numpy(dtype="float64")
        with_intervals = outcome != "oracle"
        for point_name, capacity in capacities.items():
            point = ServiceLists(
                capacity=capacity,
                seed=0,
                person_id=rows["person_id"].to_numpy(),
                as_of=pd.to_datetime(rows["as_of"]).to_numpy(),
            )
            zero = {"min_count": 0, "min_positives": 0, "min_flagged": 0}
            result = audit(
                y,
                score,
                sensitive_features=sensitive,
                operating_point=point,
                reference_groups={"ethnicity": REFERENCE},
                probability=score,
                **zero,
            )
            sel = result.selection
            counts = confusion_counts(
                y[sel.rows].astype(int), sel.flagged, sensitive["ethnicity"].to_numpy()[sel.rows]
            )
            intervals = None
            if with_intervals:
                intervals = bootstrap_intervals(
                    y,
                    score,
                    sensitive_features=sensitive,
                    operating_point=point,
                    n_resamples=resamples,
                    seed=0,
                    reference_groups={"ethnicity": REFERENCE},
                    **zero,
                )
            if point_name == "service" and outcome == "recorded":
                on_list = int(rows["flagged"].sum())
                if on_list != sel.n_flagged:
                    checks.append(
                        f"audit flags {sel.n_flagged} rows at capacity {capacity}, the "
                        f"experiment's lists {on_list}"
                    )
            by_group = result.by_group[result.by_group["attribute"] == "ethnicity"].set_index(
                "group"
            )
            figures: dict[str, Any] = {}
            for group in (*GROUPS, REFERENCE):
                g = by_group.loc[group]
                c = counts.loc[group]
                entry: dict[str, Any] = {
                    "count": int(g["count"]),
                    "positives": int(g["positives"]),
                    "flagged": int(g["flagged"]),
                    "tp": int(c["tp"]),
                    "fp": int(c["fp"]),
                    "fn": int(c["fn"]),
                    "tn": int(c["tn"]),
                }
                for m in ("base_rate", "selection_rate", "tpr", "fpr", "ppv"):
                    entry[m] = float(g[m])
                if group != REFERENCE:
                    for m in GAPS:
                        entry[m] = float(g[m])
                    for m in INTERVAL_METRICS if intervals is not None else ():
                        hit = intervals[
                            (intervals["attribute"] == "ethnicity")
                            & (intervals["group"] == group)
                            & (intervals["metric"] == m)
                        ].iloc[0]
                        entry[f"{m}_low"] = float(hit["low"])
                        entry[f"{m}_high"] = float(hit["high"])
                        if not _close(float(hit["estimate"]), entry[m]):
                            checks.append(
                                f"{outcome} {point_name} {group} {m}: audit {entry[m]!r}, "
                                f"bootstrap estimate {float(hit['estimate'])!r}"
                            )
                figures[group] = entry
            kept_y, kept_score = y[sel.rows], score[sel.rows]
            kept_group = sensitive["ethnicity"].to_numpy()[sel.rows]
            for group in (*GROUPS, REFERENCE):
                for label, name in ((0, "negative"), (1, "positive")):
                    mask = (kept_group == group) & (kept_y == label)
                    mean = float(kept_score[mask].mean()) if mask.any() else math.nan
                    figures[group][f"{name}_balance"] = mean
            for group in GROUPS:
                for name in ("negative", "positive"):
                    figures[group][f"{name}_balance_difference"] = (
                        figures[group][f"{name}_balance"] - figures[REFERENCE][f"{name}_balance"]
                    )
            out[f"{outcome}/{point_name}"] = figures
    return {"audit": out, "checks": checks}


def _close(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or abs(a - b) <= 1e-12


def worker(spec: dict[str, Any]) -> None:
    folder = Path(spec["folder"])
    folder.mkdir(parents=True, exist_ok=True)
    run_file = folder / "run.json"
    if run_file.exists() and (folder / "predictions.parquet").exists():
        run = json.loads(run_file.read_text())
        run["model_cached"] = True
        if "oracle_added" not in run:
            import pandas as pd

            if ORACLE_COLUMN not in pd.read_parquet(folder / "predictions.parquet").columns:
                _add_oracle(folder, spec["people"], spec["seed"], spec["bias"])
                run["oracle_added"] = True
                run_file.write_text(json.dumps(run))
    else:
        run = _model_run(spec["people"], spec["seed"], spec["bias"], spec["capacity"], folder)
        run_file.write_text(json.dumps(run))
        run["model_cached"] = False
    t = time.perf_counter()
    audited = _audit_run(folder, spec["capacities"], spec["resamples"])
    run["times"] = {**run["times"], "audit": time.perf_counter() - t}
    run.update(audited)
    run["settings"] = spec["settings"]
    run["peak_bytes"] = _peak()
    (folder / "figures.json").write_text(json.dumps(run))
    print(json.dumps({"ok": True}))


# ----------------------------------------------------------------------------- parent side


def _run_folder(people: int, seed: int, condition: str, capacity: int) -> Path:
    return OUT / f"people{people}-cap{capacity}" / f"seed{seed:03d}-bias-{condition}"


def _one(
    people: int, seed: int, condition: str, capacity: int, settings: dict[str, Any], fresh: bool
) -> tuple[dict[str, Any], str]:
    folder = _run_folder(people, seed, condition, capacity)
    figures = folder / "figures.json"
    if fresh and folder.exists():
        shutil.rmtree(folder)
    if figures.exists():
        cached = json.loads(figures.read_text())
        if cached.get("settings") == settings:
            return cached, "cached"
    spec = {
        "folder": str(folder),
        "people": people,
        "seed": seed,
        "bias": condition == "on",
        "capacity": capacity,
        "capacities": {"service": capacity, "wide": settings["wide_capacity"]},
        "resamples": settings["resamples"],
        "settings": settings,
    }
    done = subprocess.run(
        [sys.executable, __file__, "--worker", json.dumps(spec)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        sys.exit(f"seed {seed} bias {condition} failed:\n{done.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(figures.read_text())
    return result, "re-audited cached model" if result.get("model_cached") else "ran"


def _stats(values: list[float]) -> dict[str, float]:
    x = np.array([v for v in values if not math.isnan(v)], dtype=float)
    n = len(x)
    mean = float(x.mean()) if n else math.nan
    sd = float(x.std(ddof=1)) if n > 1 else math.nan
    se = sd / math.sqrt(n) if n > 1 else math.nan
    return {"n": n, "mean": mean, "sd": sd, "se": se}


def _pp(x: float) -> str:
    return "     -" if math.isnan(x) else f"{100 * x:+6.2f}"


def _num(x: float, digits: int = 3) -> str:
    return "-" if math.isnan(x) else f"{x:.{digits}f}"


def _metric_label(metric: str) -> str:
    return {
        "selection_rate_difference": "selection gap (pp)",
        "selection_rate_ratio": "selection ratio",
        "fpr_difference": "FPR gap (pp)",
        "tpr_difference": "TPR gap (pp)",
        "negative_balance_difference": "score | neg. gap (pp)",
        "positive_balance_difference": "score | pos. gap (pp)",
    }[metric]


def summarise(
    runs: dict[tuple[int, str], dict[str, Any]], seeds: list[int], keys: list[str]
) -> dict[str, Any]:
    """Over seeds: per condition, audit (outcome/point), group and gap metric; plus pairs."""
    summary: dict[str, Any] = {"conditions": {}, "paired": {}, "pooled": {}}
    for condition in CONDITIONS:
        block: dict[str, Any] = {}
        for key in keys:
            for group in GROUPS:
                for metric in metrics_for(key):
                    values = [runs[(s, condition)]["audit"][key][group][metric] for s in seeds]
                    st = _stats(values)
                    null = 1.0 if metric.endswith("ratio") else 0.0
                    finite = [v for v in values if not math.isnan(v)]
                    st["planted_sign_share"] = (
                        sum(v > null for v in finite) / len(finite) if finite else math.nan
                    )
                    st["within_noise"] = bool(abs(st["mean"] - null) <= 2 * st["se"])
                    first = runs[(seeds[0], condition)]["audit"][key][group]
                    if f"{metric}_low" in first:
                        lows = [
                            runs[(s, condition)]["audit"][key][group][f"{metric}_low"]
                            for s in seeds
                        ]
                        highs = [
                            runs[(s, condition)]["audit"][key][group][f"{metric}_high"]
                            for s in seeds
                        ]
                        pairs = [
                            (lo, hi)
                            for lo, hi in zip(lows, highs, strict=True)
                            if not (math.isnan(lo) or math.isnan(hi))
                        ]
                        st["ci_contains_0_share"] = (
                            sum(lo <= 0 <= hi for lo, hi in pairs) / len(pairs)
                            if pairs
                            else math.nan
                        )
                        st["ci_above_0_share"] = (
                            sum(lo > 0 for lo, _ in pairs) / len(pairs) if pairs else math.nan
                        )
                    st["values"] = values
                    block[f"{key}|{group}|{metric}"] = st
        summary["conditions"][condition] = block
        pooled: dict[str, Any] = {}
        for key in keys:
            for group in (*GROUPS, REFERENCE):
                cells = {
                    c: sum(runs[(s, condition)]["audit"][key][group][c] for s in seeds)
                    for c in ("tp", "fp", "fn", "tn")
                }
                n = sum(cells.values())
                pos = cells["tp"] + cells["fn"]
                neg = cells["fp"] + cells["tn"]
                pooled[f"{key}|{group}"] = {
                    **cells,
                    "count": n,
                    "base_rate": pos / n if n else math.nan,
                    "selection_rate": (cells["tp"] + cells["fp"]) / n if n else math.nan,
                    "tpr": cells["tp"] / pos if pos else math.nan,
                    "fpr": cells["fp"] / neg if neg else math.nan,
                }
        summary["pooled"][condition] = pooled
    for key in keys:
        for group in GROUPS:
            for metric in metrics_for(key):
                diffs = [
                    runs[(s, "on")]["audit"][key][group][metric]
                    - runs[(s, "off")]["audit"][key][group][metric]
                    for s in seeds
                ]
                st = _stats(diffs)
                finite = [v for v in diffs if not math.isnan(v)]
                st["positive_share"] = (
                    sum(v > 0 for v in finite) / len(finite) if finite else math.nan
                )
                st["beyond_2se"] = bool(st["mean"] - 2 * st["se"] > 0)
                st["values"] = diffs
                summary["paired"][f"{key}|{group}|{metric}"] = st
    summary["vs_oracle"] = {}
    for condition in CONDITIONS:
        block = {}
        for point in ("service", "wide"):
            for group in GROUPS:
                for metric in GAPS:
                    diffs = [
                        runs[(s, condition)]["audit"][f"truth/{point}"][group][metric]
                        - runs[(s, condition)]["audit"][f"oracle/{point}"][group][metric]
                        for s in seeds
                    ]
                    st = _stats(diffs)
                    finite = [v for v in diffs if not math.isnan(v)]
                    st["positive_share"] = (
                        sum(v > 0 for v in finite) / len(finite) if finite else math.nan
                    )
                    st["within_noise"] = bool(abs(st["mean"]) <= 2 * st["se"])
                    st["values"] = diffs
                    block[f"{point}|{group}|{metric}"] = st
        summary["vs_oracle"][condition] = block
    return summary


AUDIT_NAMES = {
    "recorded": "recorded label",
    "truth": "true involvement",
    "oracle": "ORACLE vs truth",
}


def _audit_label(key: str, capacities: dict[str, int]) -> str:
    outcome, point = key.split("/")
    return f"{AUDIT_NAMES[outcome]}, {point} ({capacities[point]}/mo)"


def _print_condition(
    summary: dict[str, Any], condition: str, keys: list[str], capacities: dict[str, int]
) -> None:
    block = summary["conditions"][condition]
    title = "ON (planted)" if condition == "on" else "OFF"
    print(f"\nmeasurement bias {title}: gaps of each group to {REFERENCE!r}, over seeds")
    print(
        f"  {'audit':33} {'group':6} {'metric':21} {'mean':>7} {'sd':>6} {'se':>6} "
        f"{'+-2se has 0':>11} {'gap>0':>6} {'CI has 0':>8} {'CI>0':>5}"
    )
    for key in keys:
        label = _audit_label(key, capacities)
        for group in GROUPS:
            for metric in metrics_for(key):
                st = block[f"{key}|{group}|{metric}"]
                ratio = metric.endswith("ratio")
                fmt = (lambda v: f"{v:7.3f}") if ratio else (lambda v: f"{100 * v:+7.2f}")
                sd_fmt = (lambda v: f"{v:6.3f}") if ratio else (lambda v: f"{100 * v:6.2f}")
                ci = (
                    f"{st['ci_contains_0_share']:8.0%} {st['ci_above_0_share']:5.0%}"
                    if "ci_contains_0_share" in st
                    else f"{'':8} {'':5}"
                )
                print(
                    f"  {label:33} {group:6} {_metric_label(metric):21} {fmt(st['mean'])} "
                    f"{sd_fmt(st['sd'])} {sd_fmt(st['se'])} "
                    f"{'yes' if st['within_noise'] else 'NO':>11} "
                    f"{st['planted_sign_share']:6.0%} {ci}"
                )
    print(
        "  (pp = percentage points, group - reference; ratio = group / reference; '+-2se has 0':"
        " the mean gap is within 2 standard errors of no gap (1 for the ratio); 'gap>0': share"
        " of seeds with the planted sign (over-recorded group higher; ratio > 1); 'CI has 0' /"
        " 'CI>0': share of seeds whose 95% bootstrap interval contains 0 / lies above 0)"
    )


def _print_pooled(
    summary: dict[str, Any], keys: list[str], capacities: dict[str, int], n_seeds: int
) -> None:
    print(f"\nrates pooled over the {n_seeds} seeds (sum of each seed's confusion counts):")
    print(
        f"  {'audit':33} {'group':6} {'bias':4} {'person-months':>13} {'base rate':>9} "
        f"{'selection':>9} {'FPR':>7} {'TPR':>7}"
    )
    for key in keys:
        label = _audit_label(key, capacities)
        for group in (OVER_RECORDED, REFERENCE):
            for condition in CONDITIONS:
                p = summary["pooled"][condition][f"{key}|{group}"]
                print(
                    f"  {label:33} {group:6} {condition:4} {p['count']:13,} "
                    f"{100 * p['base_rate']:8.2f}% {100 * p['selection_rate']:8.2f}% "
                    f"{100 * p['fpr']:6.2f}% {100 * p['tpr']:6.2f}%"
                )


def _print_paired(summary: dict[str, Any], keys: list[str], capacities: dict[str, int]) -> None:
    print("\nchange of each gap from bias off to bias on, paired by seed (on - off):")
    print(
        f"  {'audit':33} {'group':6} {'metric':21} {'mean':>7} {'sd':>6} {'se':>6} "
        f"{'mean>2se':>8} {'>0':>5}"
    )
    for key in keys:
        label = _audit_label(key, capacities)
        for group in GROUPS:
            for metric in metrics_for(key):
                st = summary["paired"][f"{key}|{group}|{metric}"]
                ratio = metric.endswith("ratio")
                scale, d = (1.0, 3) if ratio else (100.0, 2)
                print(
                    f"  {label:33} {group:6} {_metric_label(metric):21} "
                    f"{scale * st['mean']:+7.{d}f} {scale * st['sd']:6.{d}f} "
                    f"{scale * st['se']:6.{d}f} "
                    f"{'yes' if st['beyond_2se'] else 'no':>8} {st['positive_share']:5.0%}"
                )


def _print_vs_oracle(summary: dict[str, Any], capacities: dict[str, int]) -> None:
    print(
        "\nthe model's gaps against true involvement minus the oracle's (same seed, same rows;"
        " what the model adds to the gaps a true-risk ranking has):"
    )
    print(
        f"  {'bias':4} {'list':15} {'group':6} {'metric':21} {'mean':>7} {'sd':>6} {'se':>6} "
        f"{'+-2se has 0':>11} {'>0':>5}"
    )
    for condition in CONDITIONS:
        for point in ("service", "wide"):
            for group in GROUPS:
                for metric in GAPS:
                    st = summary["vs_oracle"][condition][f"{point}|{group}|{metric}"]
                    scale, d = (1.0, 3) if metric.endswith("ratio") else (100.0, 2)
                    print(
                        f"  {condition:4} {f'{point} ({capacities[point]}/mo)':15} {group:6} "
                        f"{_metric_label(metric):21} {scale * st['mean']:+7.{d}f} "
                        f"{scale * st['sd']:6.{d}f} {scale * st['se']:6.{d}f} "
                        f"{'yes' if st['within_noise'] else 'NO':>11} {st['positive_share']:5.0%}"
                    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=8000)
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument(
        "--capacity",
        type=int,
        default=None,
        help="young people a month on the service's list (default: 40 per 70,000, rounded)",
    )
    parser.add_argument("--wide-capacity", type=int, default=40)
    parser.add_argument("--resamples", type=int, default=400, help="bootstrap replicates")
    parser.add_argument("--fresh", action="store_true", help="ignore and replace the cache")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(json.loads(args.worker))
        return
    if args.seeds < 1:
        sys.exit("--seeds must be at least 1 (the acceptance item asks for 20 or more)")
    OUT.mkdir(parents=True, exist_ok=True)
    for stale in sorted(OUT.glob("fairness-bias-*")):  # a worker's county, left by a kill
        print(f"removing {stale.name}, left by an interrupted run")
        shutil.rmtree(stale, ignore_errors=True)
    capacity = args.capacity or max(1, round(args.people * DEFAULT_CAPACITY_PER_PEOPLE))
    capacities = {"service": capacity, "wide": args.wide_capacity}
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    settings = {
        "version": VERSION,
        "wide_capacity": args.wide_capacity,
        "resamples": args.resamples,
        "groups": list(GROUPS),
        "reference": REFERENCE,
    }
    keys = [f"{o}/{p}" for o in AUDITS for p in capacities]
    started = time.perf_counter()
    print(
        f"fairness under measurement bias: {len(seeds)} seeds ({seeds[0]}-{seeds[-1]}) x bias "
        f"on/off; {args.people:,} young people a county (6 school years, extract 2026-08-31); "
        f"the default experiment with capacity {capacity} a month (40 per 70,000); audited at "
        f"the service's {capacity}/month and a wide {args.wide_capacity}/month; "
        f"{args.resamples} bootstrap replicates; cache {OUT}"
    )
    runs: dict[tuple[int, str], dict[str, Any]] = {}
    how: dict[str, int] = {}
    for seed in seeds:
        for condition in CONDITIONS:
            t = time.perf_counter()
            run, state = _one(args.people, seed, condition, capacity, settings, args.fresh)
            runs[(seed, condition)] = run
            how[state] = how.get(state, 0) + 1
            a = run["audit"]
            svc = a["recorded/service"]
            tru = a["truth/wide"]
            balance = a["truth/service"][OVER_RECORDED]["negative_balance_difference"]
            print(
                f"  seed {seed:3} bias {condition:3}: {state:24} {time.perf_counter() - t:6.1f} s"
                f"  {run['labelled']:,} labelled rows, {run['flagged']} flagged; AUC "
                f"{_num(run['lightgbm'].get('auc', math.nan))}; {OVER_RECORDED} sel. gap "
                f"{_pp(svc[OVER_RECORDED]['selection_rate_difference'])} pp (service, rec.), FPR "
                f"gap vs truth {_pp(tru[OVER_RECORDED]['fpr_difference'])} pp (wide), score|neg. "
                f"gap vs truth {_pp(balance)}"
                + (f"; CHECK: {'; '.join(run['checks'])}" if run["checks"] else ""),
                flush=True,
            )
    skipped = how.get("cached", 0)
    print(
        f"{len(runs)} runs: "
        + ", ".join(f"{n} {state}" for state, n in sorted(how.items()))
        + (f" (skipped {skipped} finished runs from the cache)" if skipped else "")
    )

    on = [runs[(s, "on")]["recording"] for s in seeds]
    off = [runs[(s, "off")]["recording"] for s in seeds]
    print("\nthe planted bias, from the truth (mean over seeds):")
    print(
        f"  {'group':6} {'people':>7} {'P(record | involved)':>21} {'recorded share':>15} "
        f"{'police suspect':>14} {'stop & search':>13} {'exclusion':>9}   (bias on / off)"
    )
    for group in (*GROUPS, REFERENCE):

        def m(rs: list[dict[str, Any]], k: str, g: str = group) -> float:
            return float(np.nanmean([r[g][k] for r in rs]))

        print(
            f"  {group:6} {m(on, 'people'):7.0f} "
            f"{m(on, 'sv_record_prob'):10.3f}/{m(off, 'sv_record_prob'):.3f} "
            f"{m(on, 'recorded_share'):9.3f}/{m(off, 'recorded_share'):.3f} "
            f"{m(on, 'police_suspect_recording'):8.3f}/{m(off, 'police_suspect_recording'):.3f} "
            f"{m(on, 'stop_search_recording'):7.3f}/{m(off, 'stop_search_recording'):.3f} "
            f"{m(on, 'exclusion_recording'):5.3f}/{m(off, 'exclusion_recording'):.3f}"
        )
    for condition in CONDITIONS:
        rs = [runs[(s, condition)] for s in seeds]
        print(
            f"  model, bias {condition}: pooled test AUC "
            f"{np.mean([r['lightgbm'].get('auc', math.nan) for r in rs]):.3f}, precision at "
            "capacity "
            f"{np.mean([r['lightgbm']['hindsight_precision_at_capacity'] for r in rs]):.3f} "
            f"(oracle {np.nanmean([r['oracle_precision_at_capacity'] for r in rs]):.3f}); "
            f"audit window {np.mean([r['labelled'] for r in rs]):,.0f} labelled rows, "
            f"{np.mean([r['flagged'] for r in rs]):.0f} flagged on the service lists (mean)"
        )

    summary = summarise(runs, seeds, keys)
    _print_pooled(summary, keys, capacities, len(seeds))
    for condition in CONDITIONS:
        _print_condition(summary, condition, keys, capacities)
    _print_paired(summary, keys, capacities)
    _print_vs_oracle(summary, capacities)

    on_b, off_b, pair = (
        summary["conditions"]["on"],
        summary["conditions"]["off"],
        summary["paired"],
    )
    vs_oracle = summary["vs_oracle"]

    def k(outcome: str, point: str, metric: str, group: str = OVER_RECORDED) -> str:
        return f"{outcome}/{point}|{group}|{metric}"

    def above(st: dict[str, Any]) -> bool:
        return bool(st["mean"] - 2 * st["se"] > 0)

    verdict = {
        "bias_on_recorded_selection_gap_positive": {
            p: above(on_b[k("recorded", p, "selection_rate_difference")]) for p in capacities
        },
        "bias_on_recorded_fpr_gap_positive": {
            p: above(on_b[k("recorded", p, "fpr_difference")]) for p in capacities
        },
        "bias_on_truth_fpr_gap_positive": {
            p: above(on_b[k("truth", p, "fpr_difference")]) for p in capacities
        },
        "bias_off_truth_gaps_within_noise": {
            p: {
                m: bool(off_b[k("truth", p, m)]["within_noise"])
                for m in ("fpr_difference", "tpr_difference")
            }
            for p in capacities
        },
        "bias_off_truth_ci_contains_0_share": {
            p: {
                m: off_b[k("truth", p, m)]["ci_contains_0_share"]
                for m in ("fpr_difference", "tpr_difference")
            }
            for p in capacities
        },
        "bias_on_truth_negative_balance_gap_positive": above(
            on_b[k("truth", "service", "negative_balance_difference")]
        ),
        "bias_off_truth_balance_gaps_within_noise": {
            m: bool(off_b[k("truth", "service", m)]["within_noise"]) for m in BALANCE
        },
        "paired_truth_negative_balance_gap_increase": bool(
            pair[k("truth", "service", "negative_balance_difference")]["beyond_2se"]
        ),
        "paired_truth_fpr_gap_increase": {
            p: bool(pair[k("truth", p, "fpr_difference")]["beyond_2se"]) for p in capacities
        },
        "bias_off_oracle_truth_gaps_within_noise": {
            p: {
                m: bool(off_b[k("oracle", p, m)]["within_noise"])
                for m in ("fpr_difference", "tpr_difference")
            }
            for p in capacities
        },
        "bias_off_model_minus_oracle_within_noise": {
            p: {
                m: bool(vs_oracle["off"][f"{p}|{OVER_RECORDED}|{m}"]["within_noise"])
                for m in ("selection_rate_difference", "fpr_difference", "tpr_difference")
            }
            for p in capacities
        },
        "bias_on_model_minus_oracle_fpr_gap_positive": {
            p: above(vs_oracle["on"][f"{p}|{OVER_RECORDED}|fpr_difference"]) for p in capacities
        },
    }
    print(f"\nverdict ({OVER_RECORDED} vs {REFERENCE}; 'positive' = mean - 2 se > 0):")
    for name, value in verdict.items():
        print(f"  {name}: {json.dumps(value)}")
    checks = sorted({c for r in runs.values() for c in r["checks"]})
    print(
        "consistency checks (audit vs the experiment's lists, audit vs bootstrap): "
        f"{len(checks)} issue(s)"
    )
    for c in checks:
        print(f"  - {c}")
    peak = max(float(r["peak_bytes"]) for r in runs.values())
    peak_model = max(float(r.get("model_peak_bytes", 0.0)) for r in runs.values())
    elapsed = time.perf_counter() - started
    print(
        f"wall time {elapsed:.0f} s for this invocation; largest child peak "
        f"{max(peak, peak_model) / 2**30:.2f} GiB; seeds {seeds}"
    )

    def clean(x: Any) -> Any:
        if isinstance(x, float):
            return None if math.isnan(x) else float(f"{x:.6g}")
        if isinstance(x, dict):
            return {kk: clean(v) for kk, v in x.items()}
        if isinstance(x, list | tuple):
            return [clean(v) for v in x]
        return x

    figures = {
        "people": args.people,
        "years": 6,
        "seeds": seeds,
        "capacity": capacities,
        "resamples": args.resamples,
        "over_recorded": OVER_RECORDED,
        "reference": REFERENCE,
        "summary": summary,
        "verdict": verdict,
        "checks": checks,
        "runs": {
            f"{s}/{c}": {
                kk: runs[(s, c)][kk] for kk in ("labelled", "flagged", "lightgbm", "times")
            }
            for s in seeds
            for c in CONDITIONS
        },
        "seconds": elapsed,
        "cache": {"runs": len(runs), **how},
        "per_seed_figures": "benchmarks/out/fairness-bias/people*-cap*/seed*-bias-*/figures.json",
    }
    print(json.dumps(clean(figures), separators=(",", ":")))


if __name__ == "__main__":
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    main()
