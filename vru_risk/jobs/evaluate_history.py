"""The evaluations written so far, for the evaluation pages: each run's version, period,
programmes and statements, read from the ``report.json`` files ``vru evaluate`` wrote under
``VRU_HOME/evaluation/vru-risk-v{N}/{from}_{to}[_{programme}]/``; and the path of one run's
``report.html``, refused unless it is one of those."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from vru_risk.jobs.common import JobError
from vru_risk.settings import Settings

#: a run's folder name: the period, and the programme when one was evaluated alone
RUN_NAME: Final = re.compile(r"^\d{4}-\d{2}-\d{2}_\d{4}-\d{2}-\d{2}(_[a-z][a-z0-9_]{0,40})?$")
VERSION_DIR: Final = re.compile(r"^vru-risk-v(\d{1,10})$")


class BadEvaluationError(JobError):
    """A run name that cannot be one (the page answers 422)."""


@dataclass(frozen=True)
class EvaluationRun:
    version: int
    run: str
    period: tuple[str, str]
    programmes: tuple[str, ...]
    generated_at: str | None
    #: (programme, design name, headline) of every statement of the run
    statements: tuple[tuple[str, str, str], ...]
    #: why the report could not be read ("" when it could)
    problem: str = ""


def _root(settings: Settings) -> Path:
    return settings.home / "evaluation"


def evaluation_runs(settings: Settings) -> list[EvaluationRun]:
    """Every evaluation written, newest period first."""
    root = _root(settings)
    if not root.is_dir():
        return []
    runs = []
    for folder in sorted(root.iterdir()):
        match = VERSION_DIR.match(folder.name)
        if match is None or not folder.is_dir():
            continue
        for run in sorted(folder.iterdir()):
            if RUN_NAME.match(run.name) and (run / "report.json").is_file():
                runs.append(_read(int(match.group(1)), run))
    return sorted(runs, key=lambda r: (r.period[1], r.period[0], r.version), reverse=True)


def _read(version: int, run: Path) -> EvaluationRun:
    start, end = run.name[:10], run.name[11:21]
    try:
        report: dict[str, Any] = json.loads((run / "report.json").read_text(encoding="utf-8"))
        designs = report["designs"]
        statements = tuple(
            (e["programme"], designs[d["design"]]["name"], d["verdict"]["headline"])
            for e in report["effects"]
            for d in e["designs"]
        )
        programmes = tuple(p["name"] for p in report["subject"]["programmes"])
        return EvaluationRun(
            version, run.name, (start, end), programmes, report.get("generated_at"), statements
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return EvaluationRun(
            version, run.name, (start, end), (), None, (), f"unreadable report ({exc})"[:200]
        )


def evaluation_report(settings: Settings, version: int, run: str) -> Path:
    """The ``report.html`` of ``version``'s evaluation ``run``."""
    if not RUN_NAME.match(run):
        raise BadEvaluationError(
            f"{run!r} is not an evaluation: its name is the period, FROM_TO (YYYY-MM-DD_"
            "YYYY-MM-DD), and the programme when one was evaluated alone"
        )
    root = _root(settings).resolve()
    path = (_root(settings) / f"vru-risk-v{version}" / run / "report.html").resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise JobError(
            f"version {version} has no evaluation {run}: evaluations are made with "
            f"`vru evaluate --version {version} --data DATA_DIR --from FROM --to TO`"
        )
    return path
