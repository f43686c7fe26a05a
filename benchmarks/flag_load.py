"""Benchmark a large ``vru flags load`` on SQLite against the writes the service makes meanwhile.

A temporary VRU_HOME with the default SQLite database; a flags file of ``--flags`` valid flags
(100,000 by default, dated yesterday); ``vru flags load`` in a process of its own, through the
real command line. Meanwhile this process makes one small write transaction after another (a
row into ``login_failures`` and out again, as a decision or an audit row would take SQLite's
write lock, with the same 30 s busy timeout) and times each.

Target (the flags issue): no write waits more than about a second while the load runs (the load
stages 1,000 flags per transaction and pauses between them; the old single transaction made a
decision wait 30 s and fail). Also printed: how long the load took, and its own figures.

Usage: python benchmarks/flag_load.py [--flags 100000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import delete

from vru_risk.flags.flag import CannotSee, Flag, ModelRef, ProgrammeOffer, Reason, Trigger
from vru_risk.flags.flag import flag_id as make_flag_id
from vru_risk.store import open_database, session_factory
from vru_risk.store.models import LoginFailure

TARGET_SECONDS = 1.0


def flag(i: int, day: dt.date) -> Flag:
    person = f"P{i:07d}"
    return Flag(
        flag_id=make_flag_id(person, day, "c0ffee" * 8),
        person_id=person,
        as_of=day,
        age_years=14,
        triggers=(Trigger(kind="police_contact", source="police_contacts", date=day),),
        probability=0.12,
        percentile=97.0,
        band="highest 5%",
        raw_score=-1.0,
        base_value=-2.5,
        reasons_for=(
            Reason(
                family="police_suspect",
                source="police_contacts",
                direction="raises",
                strength="strongly",
                text="2 police contacts as a suspect in the last year",
                contribution=1.0,
                features=("police_suspect_365d",),
            ),
        ),
        reasons_against=(),
        other_factors=0.5,
        cannot_see=CannotSee(sources_unavailable=(), sources_refreshed={}, not_known=()),
        what_could_change=(),
        programmes=(
            ProgrammeOffer(
                programme="jump_start", name="Jump Start", status="offered", rank=i, capacity=20
            ),
        ),
        scoring_model=ModelRef(name="vru-risk", version=1, content_hash="c0ffee" * 8),
        expires=day + dt.timedelta(days=90),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flags", type=int, default=100_000)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="vru-flag-load-"))
    day = dt.date.today() - dt.timedelta(days=1)
    path = home / "flags.jsonl"
    with path.open("w", encoding="utf-8") as fh:
        for i in range(args.flags):
            fh.write(flag(i, day).model_dump_json() + "\n")
    env = {**os.environ, "VRU_HOME": str(home), "VRU_AUDIT_KEY": "benchmark-key-0123456789"}
    env.pop("VRU_DATABASE_URL", None)
    engine = open_database(f"sqlite:///{(home / 'app.db').resolve()}")
    writes = session_factory(engine, write=True)
    print(f"{args.flags:,} flags in {path} ({path.stat().st_size / 1e6:.0f} MB); loading ...")
    started = time.perf_counter()
    loading = subprocess.Popen(
        [sys.executable, "-m", "vru_risk.cli", "flags", "load", str(path)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    waits: list[float] = []
    while loading.poll() is None:
        begun = time.perf_counter()
        with writes.begin() as s:
            s.add(LoginFailure(key="benchmark", at=time.time()))
            s.flush()
            s.execute(delete(LoginFailure).where(LoginFailure.key == "benchmark"))
        waits.append(time.perf_counter() - begun)
        time.sleep(0.02)
    output = loading.communicate()[0]
    took = time.perf_counter() - started
    engine.dispose()
    waits.sort()
    worst = waits[-1] if waits else 0.0
    p99 = waits[int(len(waits) * 0.99)] if waits else 0.0
    print(output.strip().splitlines()[-1] if output.strip() else "(no output)")
    print(f"load: exit {loading.returncode}, {took:.1f} s ({args.flags / took:,.0f} flags/s)")
    met = "met" if worst <= TARGET_SECONDS else "NOT met"
    print(
        f"writes meanwhile: {len(waits)}, median {waits[len(waits) // 2] * 1000:.0f} ms, "
        f"p99 {p99 * 1000:.0f} ms, worst {worst * 1000:.0f} ms "
        f"(target: at most {TARGET_SECONDS:.0f} s) -> {met}"
    )
    print(f"load average: {os.getloadavg()[0]:.1f} (the machine is shared)")
    shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
