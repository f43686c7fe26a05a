"""How often the feedback watch asks for review by chance, and how often it catches a rise.

Simulated services (no model, no database): January to June 2026, ``--per-month`` flags a month
(the packaged programmes' places come to about 90 offers a month), one flag per young person,
each resting mainly on a police record with probability ``--share``, from April (the packaged
window: the 91 days up to 30 June) with ``--share`` plus ``rise`` for each rise asked for (0: a
clean service). Each service goes through :func:`vru_risk.monitoring.feedback.feedback_section`
as of 30 June with the packaged criteria (baseline: the first ``feedback.baseline_months``
months; review when the window's share rose by more than ``feedback.max_rise`` with its 90%
interval wholly above zero, on ``feedback.min_flags`` flags in each). Prints, per rise, the share
of runs with a review and its 95% Wilson interval.

Usage: python benchmarks/feedback_alarms.py [--runs 400] [--per-month 60] [--share 0.2]
       [--rises 0 0.05 0.15 0.2]
"""

from __future__ import annotations

import argparse
import math
import os
import time
from datetime import date, timedelta

import numpy as np
import pandas as pd

from vru_risk.monitoring.criteria import load_criteria
from vru_risk.monitoring.feedback import FLAG_COLUMNS, feedback_section


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    if n == 0:
        return 0.0, 1.0
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def service(rng: np.random.Generator, per_month: int, share: float, rise: float) -> pd.DataFrame:
    rows = []
    for m in range(6):
        p = share + (rise if m >= 3 else 0.0)
        police = rng.random(per_month) < p
        for i in range(per_month):
            day = date(2026, 1 + m, 3) + timedelta(days=i % 25)
            main = "police_contacts" if police[i] else "exclusions"
            rows.append((f"f{m}-{i}", f"p{m}-{i}", day, main))
    return pd.DataFrame(rows, columns=list(FLAG_COLUMNS))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=400)
    parser.add_argument("--per-month", type=int, default=60)
    parser.add_argument("--share", type=float, default=0.2)
    parser.add_argument("--rises", type=float, nargs="+", default=[0.0, 0.05, 0.15, 0.2])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    criteria = load_criteria()
    people = pd.DataFrame({"person_id": pd.Series([], dtype=str)})
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    print(
        f"criteria: baseline {criteria.feedback.baseline_months} months, max rise "
        f"{criteria.feedback.max_rise}, min flags {criteria.feedback.min_flags}; "
        f"{args.per_month} flags a month, steady share {args.share}, {args.runs} runs per rise"
    )
    rng = np.random.default_rng(args.seed)
    for rise in args.rises:
        started = time.perf_counter()
        reviews = judged = 0
        for _ in range(args.runs):
            flags = service(rng, args.per_month, args.share, rise)
            section, found = feedback_section(
                flags,
                people,
                as_of=date(2026, 6, 30),
                attributes=[],
                reference_of=lambda _n, counts: str(counts.idxmax()),
                criteria=criteria,
            )
            judged += bool(section["judged"])
            reviews += bool(found)
        low, high = wilson(reviews, args.runs)
        print(
            f"rise {rise:+.2f}: review in {reviews}/{args.runs} runs = {reviews / args.runs:.3f} "
            f"(95% {low:.3f} to {high:.3f}); judged {judged}; "
            f"{(time.perf_counter() - started) / args.runs * 1000:.0f} ms a run"
        )
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
