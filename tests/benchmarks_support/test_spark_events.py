"""benchmarks/spark_events.py, the event-log reader behind benchmarks/scale.py's shuffle and
spill figures, on hand-written logs in Spark's format (one JSON event a line)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from benchmarks.spark_events import read_event_logs, stage_metrics, totals


def task_end(stage: int, remote: int, local: int, written: int, mem: int, disk: int) -> str:
    doc: dict[str, Any] = {
        "Event": "SparkListenerTaskEnd",
        "Stage ID": stage,
        "Stage Attempt ID": 0,
        "Task Type": "ShuffleMapTask",
        "Task Metrics": {
            "Executor Run Time": 10,
            "Memory Bytes Spilled": mem,
            "Disk Bytes Spilled": disk,
            "Shuffle Read Metrics": {"Remote Bytes Read": remote, "Local Bytes Read": local},
            "Shuffle Write Metrics": {"Shuffle Bytes Written": written},
            "Input Metrics": {"Bytes Read": 7},
        },
    }
    return json.dumps(doc)


def stage_done(stage: int, name: str, tasks: int) -> str:
    info = {"Stage ID": stage, "Stage Attempt ID": 0, "Stage Name": name, "Number of Tasks": tasks}
    return json.dumps({"Event": "SparkListenerStageCompleted", "Stage Info": info})


LOG = [
    json.dumps({"Event": "SparkListenerLogStart", "Spark Version": "4.1.0"}),
    task_end(0, 0, 0, 100, 0, 0),
    task_end(0, 0, 0, 50, 0, 0),
    stage_done(0, "count at build.py:1", 2),
    task_end(1, 30, 120, 0, 4096, 1024),
    stage_done(1, "collect at engine.py:2", 1),
    # a task whose metrics are missing (a killed task) counts for nothing
    json.dumps({"Event": "SparkListenerTaskEnd", "Stage ID": 1, "Stage Attempt ID": 0}),
    '{"Event": "SparkListenerTaskEnd", "Stage ID": 2, "Sta',  # a log cut short mid-line
]


def test_sums_task_metrics_per_stage() -> None:
    stages = stage_metrics(LOG)
    assert [(s.stage, s.name, s.tasks) for s in stages] == [
        (0, "count at build.py:1", 2),
        (1, "collect at engine.py:2", 1),
    ]
    first, second = stages
    assert (first["shuffle_write"], first["shuffle_read"], first["input"]) == (150, 0, 14)
    assert second["shuffle_read"] == 150  # remote 30 plus local 120
    assert (second["spill_memory"], second["spill_disk"]) == (4096, 1024)
    assert totals(stages) == {
        "shuffle_read": 150,
        "shuffle_write": 150,
        "spill_memory": 4096,
        "spill_disk": 1024,
    }


def test_reads_a_rolled_log_in_order(tmp_path: Path) -> None:
    # Spark 4's default: a folder per application, events_1_..., events_2_... (10 after 2)
    app = tmp_path / "eventlog_v2_local-1"
    app.mkdir()
    (app / "appstatus_local-1").write_text("")
    (app / "events_1_local-1").write_text("\n".join(LOG[:3]) + "\n")
    (app / "events_2_local-1").write_text(LOG[3] + "\n")
    (app / "events_10_local-1").write_text(stage_done(0, "renamed", 3) + "\n")
    (stage,) = read_event_logs(tmp_path)
    assert (stage.name, stage.tasks, stage["shuffle_write"]) == ("renamed", 3, 150)


def test_reads_a_single_file_log(tmp_path: Path) -> None:
    (tmp_path / "local-1").write_text("\n".join(LOG) + "\n")
    assert [s.stage for s in read_event_logs(tmp_path)] == [0, 1]


def test_refuses_what_it_cannot_read(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"spark\.eventLog\.enabled=true"):
        read_event_logs(tmp_path)
    (tmp_path / "local-1.zstd").write_bytes(b"\x28\xb5\x2f\xfd")
    with pytest.raises(ValueError, match=r"spark\.eventLog\.compress=false"):
        read_event_logs(tmp_path)
    (tmp_path / "local-2").write_text("")
    with pytest.raises(ValueError, match="2 event logs"):
        read_event_logs(tmp_path)
