"""Benchmark how fast `vru --help` and every `vru COMMAND --help` answer.

Each is run as a fresh process (`python -m vru_risk.cli ... --help`, bytecode warm), the median
of `--repeat` runs (default 5) reported side by side with `python -c pass` measured the same way
in the same run: the interpreter's own start, the floor no command can go below. The commands
are read from the app itself, so a new command is measured without editing this file.

Targets (issue 16, on the 2-core machine): `vru --help` at most 1.0 s; every `--help` at most
1.5 s. Exit status 1 when a target is missed.

Usage: python benchmarks/cli_startup.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT_TARGET = 1.0
EACH_TARGET = 1.5


def commands() -> list[list[str]]:
    """Every command and group, and every group's commands, as the words before ``--help``."""
    from vru_risk.cli import app

    words: list[list[str]] = [[]]
    words += [[c.name or ""] for c in app.registered_commands]
    for group in app.registered_groups:
        words.append([group.name or ""])
        assert group.typer_instance is not None
        words += [
            [group.name or "", c.name or ""] for c in group.typer_instance.registered_commands
        ]
    return words


def wall(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    return time.perf_counter() - start


def median_of(argv: list[str], env: dict[str, str], repeat: int) -> float:
    return statistics.median(wall(argv, env) for _ in range(repeat))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    home = tempfile.mkdtemp(prefix="vru-cli-startup-")
    env = {**os.environ, "VRU_HOME": home, "COLUMNS": "100"}
    python = sys.executable
    median_of([python, "-m", "vru_risk.cli", "--help"], env, 1)  # warm the bytecode
    floor = median_of([python, "-c", "pass"], env, args.repeat)
    rows = []
    for words in commands():
        seconds = median_of([python, "-m", "vru_risk.cli", *words, "--help"], env, args.repeat)
        target = ROOT_TARGET if not words else EACH_TARGET
        rows.append((" ".join(["vru", *words, "--help"]), seconds, target))
    width = max(len(name) for name, _, _ in rows)
    print(
        f"median of {args.repeat} runs each; {os.cpu_count()} cores; load {os.getloadavg()[0]:.1f}"
    )
    print(f"{'command':<{width}}  {'seconds':>7}  {'python -c pass':>14}  {'target':>6}  verdict")
    missed = 0
    for name, seconds, target in rows:
        ok = seconds <= target
        missed += not ok
        print(
            f"{name:<{width}}  {seconds:>7.2f}  {floor:>14.2f}  {target:>6.1f}  "
            f"{'ok' if ok else 'MISSED'}"
        )
    slowest = max(seconds for _, seconds, _ in rows)
    print(f"{len(rows)} commands; slowest {slowest:.2f} s; {missed} over target")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
