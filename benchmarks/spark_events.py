"""Per-stage shuffle and spill figures of a Spark application, read from its event log.

benchmarks/scale.py runs the Spark feature build with ``spark.eventLog.enabled=true`` (and
``spark.eventLog.compress=false``: Spark 4 compresses event logs by default) and reads the log
here once the session has stopped. The event log is the record Spark itself keeps for its
History Server: one JSON object a line, written by the driver whatever the master, so the same
reader serves a cluster's logs. The figures are summed from every ``SparkListenerTaskEnd``'s
task metrics (the same numbers the UI's stage page shows), grouped by stage and attempt, with the
stage's name and task count from ``SparkListenerStageCompleted``.

It lives with the benchmarks, not in ``vru_risk``: the project never reads event logs when it
runs, and on a cluster the History Server shows these figures to users already.
tests/benchmarks_support/test_spark_events.py checks it on hand-written logs (imported as
``benchmarks.spark_events``, as tests/fairness_reports imports ``benchmarks.common``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: the figures summed over a stage's tasks: name in the result -> path in "Task Metrics"
TASK_FIELDS: dict[str, tuple[str, ...]] = {
    "shuffle_read": ("Shuffle Read Metrics", "Remote Bytes Read"),
    "shuffle_read_local": ("Shuffle Read Metrics", "Local Bytes Read"),
    "shuffle_write": ("Shuffle Write Metrics", "Shuffle Bytes Written"),
    "spill_memory": ("Memory Bytes Spilled",),
    "spill_disk": ("Disk Bytes Spilled",),
    "input": ("Input Metrics", "Bytes Read"),
    "run_ms": ("Executor Run Time",),
}


@dataclass
class StageMetrics:
    """One stage attempt's figures, in bytes (``run_ms``: executor run time summed over tasks).

    ``shuffle_read`` is remote plus local bytes read."""

    stage: int
    attempt: int
    name: str = ""
    tasks: int = 0
    totals: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TASK_FIELDS, 0))

    def __getitem__(self, key: str) -> int:
        if key == "shuffle_read":
            return self.totals["shuffle_read"] + self.totals["shuffle_read_local"]
        return self.totals[key]


def _dig(doc: dict[str, Any], path: tuple[str, ...]) -> int:
    value: Any = doc
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return 0
        value = value[key]
    return int(value) if isinstance(value, int | float) else 0


def stage_metrics(lines: Iterable[str]) -> list[StageMetrics]:
    """Per-stage figures from an event log's lines, in stage order.

    Lines that are not JSON (a truncated last line of a log still being written) are skipped;
    task-end events of stages never reported completed are kept (their name stays empty)."""
    stages: dict[tuple[int, int], StageMetrics] = {}
    for line in lines:
        line = line.strip()
        if not line:
            continue
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            continue
        kind = event.get("Event")
        if kind == "SparkListenerTaskEnd":
            key = (int(event["Stage ID"]), int(event.get("Stage Attempt ID", 0)))
            stage = stages.setdefault(key, StageMetrics(*key))
            metrics = event.get("Task Metrics") or {}
            for name, path in TASK_FIELDS.items():
                stage.totals[name] += _dig(metrics, path)
        elif kind == "SparkListenerStageCompleted":
            info = event["Stage Info"]
            key = (int(info["Stage ID"]), int(info.get("Stage Attempt ID", 0)))
            stage = stages.setdefault(key, StageMetrics(*key))
            stage.name = str(info.get("Stage Name", ""))
            stage.tasks = int(info.get("Number of Tasks", 0))
    return [stages[k] for k in sorted(stages)]


def log_files(folder: Path) -> list[Path]:
    """The files of the (one) application whose event log is in ``folder``, in order.

    A log is one file (``local-1234``, Spark 3's default) or a folder of rolled files
    (``eventlog_v2_local-1234/events_1_local-1234``, ``events_2_...``: Spark 4's default).
    Raises FileNotFoundError when the folder holds no log, ValueError when it holds several (the
    figures of two applications must not be summed) or a compressed one."""
    logs = sorted(p for p in folder.iterdir() if not p.name.startswith("."))
    if not logs:
        raise FileNotFoundError(
            f"no Spark event log in {folder}: run with spark.eventLog.enabled=true and "
            f"spark.eventLog.dir={folder}"
        )
    if len(logs) > 1:
        raise ValueError(f"{len(logs)} event logs in {folder}; give a folder per application")
    log = logs[0]
    if log.is_dir():
        rolled = [p for p in log.iterdir() if p.name.startswith("events_")]
        files = sorted(rolled, key=lambda p: int(p.name.split("_")[1]))
    else:
        files = [log]
    for f in files:
        if f.suffix in (".zstd", ".lz4", ".snappy", ".lzf"):
            raise ValueError(f"{f} is compressed: run with spark.eventLog.compress=false")
    return files


def read_event_logs(folder: Path) -> list[StageMetrics]:
    """The stages of the (one) application whose event log is in ``folder`` (:func:`log_files`)."""

    def lines() -> Iterator[str]:
        for f in log_files(folder):
            with f.open(encoding="utf-8") as text:
                yield from text

    return stage_metrics(lines())


def totals(stages: Iterable[StageMetrics]) -> dict[str, int]:
    """The figures summed over stages (``shuffle_read`` remote plus local)."""
    out = dict.fromkeys(("shuffle_read", "shuffle_write", "spill_memory", "spill_disk"), 0)
    for stage in stages:
        for key in out:
            out[key] += stage[key]
    return out
