"""MLflow runs left RUNNING by a ``vru train`` that was killed (``kill -9``, a lost SSH session,
the out-of-memory killer): marked FAILED at the next start of ``vru train``.

Every run ``vru train`` starts carries the process that runs it as tags (:func:`process_tags`:
host, pid and, on Linux, the process's start time, so that a pid reused by another process is
not mistaken for it). A RUNNING run of the experiment is abandoned when

- it was started on this host and its process is gone (exact), or
- it was started on another host, or carries no process tags (runs logged before the tags
  existed), and started more than ``older_than`` ago (default 6 hours; training takes minutes).

Runs of other experiments are never touched.

Example
-------
>>> sorted(process_tags())
['vru.host', 'vru.pid', 'vru.pid_started']
>>> process_alive(int(process_tags()[PID_TAG]), process_tags()[PID_STARTED_TAG])
True
"""

from __future__ import annotations

import datetime as dt
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from mlflow.entities import RunStatus
from mlflow.tracking import MlflowClient

from vru_risk.models.tags import ABANDONED_TAG, HOST_TAG, PID_STARTED_TAG, PID_TAG

OLDER_THAN: Final = dt.timedelta(hours=6)


def _started(pid: int) -> str:
    """The process's start time in clock ticks since boot (Linux), or "" where unknown."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return ""
    return fields[19]  # field 22 of proc(5), counted after the command name


def process_tags() -> dict[str, str]:
    """The tags naming this process: host, pid and its start time (where known)."""
    pid = os.getpid()
    return {HOST_TAG: socket.gethostname(), PID_TAG: str(pid), PID_STARTED_TAG: _started(pid)}


def process_alive(pid: int, started: str) -> bool:
    """Whether the process ``pid`` of this host still runs and, when its start time is known,
    is the same process (not another that was given the pid since)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another account's process: it exists
        pass
    return not started or _started(pid) in ("", started)


@dataclass(frozen=True)
class AbandonedRun:
    """A run marked FAILED, and why it was judged abandoned."""

    run_id: str
    run_name: str
    started: dt.datetime
    why: str


def fail_abandoned_runs(
    tracking_uri: str,
    experiment_name: str,
    *,
    older_than: dt.timedelta = OLDER_THAN,
    now: dt.datetime | None = None,
) -> list[AbandonedRun]:
    """Mark FAILED the RUNNING runs of ``experiment_name`` whose ``vru train`` is gone (see the
    module's rules), each with an ``vru.abandoned`` tag saying why; returns them."""
    client = MlflowClient(tracking_uri=tracking_uri)
    experiment = client.get_experiment_by_name(experiment_name)
    if experiment is None:
        return []
    at = now or dt.datetime.now(dt.UTC)
    here = socket.gethostname()
    found: list[AbandonedRun] = []
    token: str | None = None
    while True:
        page = client.search_runs(
            [experiment.experiment_id],
            filter_string="attributes.status = 'RUNNING'",
            max_results=500,
            page_token=token,
        )
        for run in page:
            tags = run.data.tags
            started = dt.datetime.fromtimestamp(run.info.start_time / 1000, dt.UTC)
            host, pid = tags.get(HOST_TAG), tags.get(PID_TAG, "")
            if host == here and pid.isdigit():
                if process_alive(int(pid), tags.get(PID_STARTED_TAG, "")):
                    continue
                why = f"its process {pid} on {host} is gone"
            elif at - started > older_than:
                where = f"on {host}" if host else "by a process it does not name"
                why = f"started {started:%Y-%m-%d %H:%M} UTC {where}, over {older_than} ago"
            else:
                continue
            client.set_tag(run.info.run_id, ABANDONED_TAG, why)
            client.set_terminated(
                run.info.run_id,
                status=RunStatus.to_string(RunStatus.FAILED),
                end_time=int(at.timestamp() * 1000),
            )
            found.append(AbandonedRun(run.info.run_id, run.info.run_name or "", started, why))
        token = page.token
        if not token:
            return found
