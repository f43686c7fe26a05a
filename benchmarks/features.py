"""Benchmark the feature build at county scale, side by side in one run.

Prints, for one county (generated once and cached under benchmarks/out/):

1. the whole catalog build (`build_features`: triggers, every source's features, labels), wall
   time and peak RSS, with contract validation timed separately;
2. the attendance features alone, as compiled from the catalog, against a hand-written
   single-pass DuckDB query computing the same attendance features on the same examples
   (ratio compiled / hand-written);
3. a plain pandas loop over as-of dates on a sample of examples, extrapolated to all examples.

Targets (issue 3): whole catalog at county scale in at most 60 s and 4 GiB; issue 19: the
attendance part at most 1.1x the hand-written SQL, as the median of ``--runs`` (5) ratios, each
from a compiled and a hand-written run back to back in fresh processes (their order alternating,
so a slower second run does not favour one side); every run's pair is printed.

Usage: python benchmarks/features.py [--people 70000] [--sample 300] [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import textwrap
from typing import Any

from common import OUT, county, run_json

COMMON = """
import json, resource, sys, time
from datetime import date
from pathlib import Path
import duckdb
from vru_risk.features.build import build_features
from vru_risk.features.compile import feature_sql
from vru_risk.features.catalog import load_catalog
from vru_risk.features.config import FeatureBuildConfig
from vru_risk.data.load import open_folder, register_sources

def peak():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

data, table = Path(sys.argv[1]), Path(sys.argv[2])
config = FeatureBuildConfig()
spec = load_catalog().spec(config.reporting_lag_days)
"""

FULL = COMMON + textwrap.dedent(
    """
    t = time.perf_counter()
    folder = open_folder(data, today=date.today())
    validate = time.perf_counter() - t
    t = time.perf_counter()
    summary, _ = build_features(folder, spec, config, out=table)
    build = time.perf_counter() - t
    print(json.dumps({"validate": validate, "build": build, "rows": summary.rows,
                      "features": len(spec.names), "peak": peak()}))
    """
)

ATTENDANCE_NAMES = """
names = [f.name for f in spec.features if f.source == "attendance"]
"""

HAND = textwrap.dedent(
    """
    SELECT a.person_id, a.as_of,
      count(*) FILTER (WHERE a.att AND a.d < 30)::DOUBLE
        / nullif(count(*) FILTER (WHERE a.poss AND a.d < 30), 0) AS att_rate_30d,
      count(*) FILTER (WHERE a.att AND a.d < 90)::DOUBLE
        / nullif(count(*) FILTER (WHERE a.poss AND a.d < 90), 0) AS att_rate_90d,
      count(*) FILTER (WHERE a.att AND a.d < 365)::DOUBLE
        / nullif(count(*) FILTER (WHERE a.poss AND a.d < 365), 0) AS att_rate_365d,
      count(*) FILTER (WHERE a.att AND a.d < 90)::DOUBLE
        / nullif(count(*) FILTER (WHERE a.poss AND a.d < 90), 0)
      - count(*) FILTER (WHERE a.att AND a.d >= 90 AND a.d < 455)::DOUBLE
        / nullif(count(*) FILTER (WHERE a.poss AND a.d >= 90 AND a.d < 455), 0)
        AS att_rate_change_90d,
      min(a.d) FILTER (WHERE a.att AND a.d < 365)::DOUBLE AS att_days_since_attended,
      count(*) FILTER (WHERE a.unauth AND a.d < 30)::DOUBLE
        / nullif(count(*) FILTER (WHERE a.poss AND a.d < 30), 0) AS att_unauth_rate_30d,
      count(*) FILTER (WHERE a.unauth AND a.d < 90)::DOUBLE
        / nullif(count(*) FILTER (WHERE a.poss AND a.d < 90), 0) AS att_unauth_rate_90d,
      count(*) FILTER (WHERE a.unauth AND a.d < 365)::DOUBLE
        / nullif(count(*) FILTER (WHERE a.poss AND a.d < 365), 0) AS att_unauth_rate_365d,
      count(*) FILTER (WHERE a.late AND a.d < 90)::DOUBLE
        / nullif(count(*) FILTER (WHERE a.poss AND a.d < 90), 0) AS att_late_rate_90d,
      count(*) FILTER (WHERE a.excl AND a.d < 365)::DOUBLE AS att_excluded_sessions_365d,
      count(*) FILTER (WHERE a.poss AND a.d < 365)::DOUBLE AS att_possible_sessions_365d
    FROM (
      SELECT e.person_id, e.as_of, date_diff('day', s.event_date, e.as_of) AS d,
             s.status IN ('present', 'late') AS att, s.status = 'late' AS late,
             s.status = 'unauthorised_absence' AS unauth, s.status = 'excluded' AS excl,
             s.status <> 'not_required' AS poss
      FROM ex e JOIN src_attendance s ON s.person_id = e.person_id
       AND s.known_date <= e.as_of AND s.event_date <= e.as_of
       AND s.event_date > e.as_of - INTERVAL 455 DAY
    ) a
    GROUP BY a.person_id, a.as_of
    """
)

SIDE = (
    COMMON
    + ATTENDANCE_NAMES
    + textwrap.dedent(
        """
    which = sys.argv[3]
    folder = open_folder(data, today=date.today())
    con = duckdb.connect()
    con.execute("SET threads = 2")
    con.execute("SET enable_progress_bar = false")
    con.execute("SET preserve_insertion_order = false")
    register_sources(con, folder, spec.reporting_lag_days)
    con.execute(f"CREATE TABLE ex AS SELECT person_id, as_of FROM read_parquet('{table}')")
    sql = feature_sql(spec, "attendance", "ex") if which == "compiled" else sys.argv[4]
    t = time.perf_counter()
    con.execute(f"CREATE TABLE result AS {sql}")
    wall = time.perf_counter() - t
    check = con.execute(
        "SELECT count(*), sum(att_rate_90d), sum(att_days_since_attended) FROM result"
    ).fetchone()
    print(json.dumps({"wall": wall, "peak": peak(), "check": [float(x or 0) for x in check]}))
    """
    )
)

PANDAS = (
    COMMON
    + ATTENDANCE_NAMES
    + textwrap.dedent(
        """
    sample = int(sys.argv[3])
    ex = duckdb.sql(f"SELECT person_id, as_of FROM read_parquet('{table}') "
                    f"USING SAMPLE {sample} ROWS (reservoir, 7)").df()
    total = duckdb.sql(f"SELECT count(*) FROM read_parquet('{table}')").fetchall()[0][0]
    people = tuple(ex.person_id.unique())
    att = duckdb.sql(
        f"SELECT person_id, date, status, known_date FROM read_parquet('{data}/attendance.parquet')"
        f" WHERE person_id IN {people!r}"
    ).df()
    t = time.perf_counter()
    out = []
    for row in ex.itertuples():  # the loop a first prototype would write
        a = att[(att.person_id == row.person_id) & (att.known_date <= row.as_of)
                & (att.date <= row.as_of)]
        days = (row.as_of - a.date).dt.days
        poss = a.status != "not_required"
        att_ = a.status.isin(["present", "late"])
        feats = {}
        for w in (30, 90, 365):
            den = (poss & (days < w)).sum()
            feats[f"att_rate_{w}d"] = (att_ & (days < w)).sum() / den if den else float("nan")
            den_u = den
            feats[f"att_unauth_rate_{w}d"] = (
                ((a.status == "unauthorised_absence") & (days < w)).sum() / den_u
                if den_u else float("nan"))
        out.append(feats)
    wall = time.perf_counter() - t
    print(json.dumps({"wall": wall, "sample": len(ex), "total": int(total),
                      "extrapolated": wall / max(len(ex), 1) * total}))
    """
    )
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=70_000)
    parser.add_argument("--sample", type=int, default=300)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    data = county(args.people)
    table = OUT / f"features-{args.people}.parquet"
    full = run_json(FULL, str(data), str(table))
    gib = full["peak"] / 2**30
    print(
        f"county: {args.people:,} people, {int(full['rows']):,} examples, "
        f"{int(full['features'])} features"
    )
    print(f"1. contract validation           {full['validate']:7.1f} s")
    print(
        f"   whole catalog build           {full['build']:7.1f} s   peak {gib:.2f} GiB   "
        f"(target <= 60 s, <= 4 GiB)"
    )
    ratios: list[float] = []
    same = True
    for run in range(args.runs):
        pair: dict[str, Any] = {}
        for which in ("compiled", "hand") if run % 2 == 0 else ("hand", "compiled"):
            extra = (HAND,) if which == "hand" else ()
            pair[which] = run_json(SIDE, str(data), str(table), which, *extra)
        compiled, hand = pair["compiled"], pair["hand"]
        same = same and all(
            abs(a - b) < 1e-6 * max(1.0, abs(a))
            for a, b in zip(compiled["check"], hand["check"], strict=True)
        )
        ratios.append(compiled["wall"] / hand["wall"])
        print(
            f"2. run {run + 1}: attendance compiled {compiled['wall']:6.2f} s "
            f"(peak {compiled['peak'] / 2**30:.2f} GiB), hand-written {hand['wall']:6.2f} s "
            f"(peak {hand['peak'] / 2**30:.2f} GiB), ratio {ratios[-1]:.2f}"
        )
    print(
        f"   median ratio compiled / hand-written over {args.runs} runs "
        f"{statistics.median(ratios):5.2f}  (min {min(ratios):.2f}, max {max(ratios):.2f}; "
        f"target <= 1.1); same results: {same}"
    )
    loop = run_json(PANDAS, str(data), str(table), str(args.sample))
    print(
        f"3. pandas loop over as-of dates  {loop['wall']:7.1f} s for {int(loop['sample'])} "
        f"examples (6 of the attendance features) -> {loop['extrapolated']:,.0f} s "
        f"extrapolated to {int(loop['total']):,}"
    )


if __name__ == "__main__":
    main()
