"""What every sub-command shares: exit codes, the user-error type, settings state, consoles."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TypedDict

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from vru_risk.settings import Settings

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_INVALID = 2

# wide enough for the summary tables when the output is a file or a pipe (make demo, CI logs)
console = Console(highlight=False, width=None if sys.stdout.isatty() else 140)


class UserError(Exception):
    """An error the user can fix; printed without a traceback, exit code 2."""


@dataclass
class _State:
    settings: Settings | None = None
    verbose: bool = False

    def get_settings(self) -> Settings:
        if self.settings is None:  # commands invoked without the root callback (tests)
            from vru_risk.settings import load_settings

            self.settings = load_settings()
        return self.settings


state = _State()


class EngineOptions(TypedDict):
    """DuckDB limits from the settings, passed as keywords to validation and feature builds."""

    threads: int
    memory_limit: str
    scratch_dir: Path


def engine_options() -> EngineOptions:
    """``threads``, ``memory_limit`` and ``scratch_dir`` (created under VRU_HOME/cache)."""
    settings = state.get_settings()
    settings.cache_dir.mkdir(parents=True, exist_ok=True)
    return EngineOptions(
        threads=settings.duckdb_threads,
        memory_limit=settings.duckdb_memory_limit,
        scratch_dir=settings.cache_dir,
    )


def parse_date(text: str | None, option: str) -> date | None:
    """Parse an ISO date given on the command line, or raise a :class:`UserError`."""
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UserError(f"{option} {text!r} is not a date; write it as YYYY-MM-DD") from None


def parse_today(text: str | None, option: str = "--today") -> date:
    """The day a retention command counts back from: ``option``'s date, or the real today.

    A later day is refused: counting back from the future would delete what is still within
    its retention period.
    """
    today = date.today()
    day = parse_date(text, option) or today
    if day > today:
        raise UserError(
            f"{option} {day.isoformat()} is later than today ({today.isoformat()}): retention "
            "counts back from a day that has come; leave it out to count from today"
        )
    return day


@contextmanager
def progress_bar() -> Iterator[Callable[[str, int, int], None]]:
    """A rich progress bar, handed to long work as a ``progress(stage, done, total)`` callback."""
    tasks: dict[str, TaskID] = {}
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,}"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=False,
    ) as bar:

        def update(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        yield update
