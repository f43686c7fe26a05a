"""What every sub-command shares: exit codes, the user-error type, settings state, consoles,
dates from the command line and progress bars.

Importing it imports nothing heavy (the ``vru --help`` of every command stays fast): a command
imports its job inside its function.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

if TYPE_CHECKING:
    from vru_risk.settings import Settings

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_INVALID = 2

# wide enough for the summary tables when the output is a file or a pipe (make demo, CI logs)
console = Console(highlight=False, width=None if sys.stdout.isatty() else 140)


class UserError(Exception):
    """An error the user can fix; printed without a traceback, exit code 2 (as is a job's
    :class:`~vru_risk.jobs.common.JobError`)."""


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


class ProgressBars:
    """Progress bars on stderr, fed as a job's ``progress(stage, done, total)`` callback.

    A display opens at the first report and stays until :meth:`close` (the end of the job, or
    before something is printed between stages); the next report opens a new one.
    """

    def __init__(self) -> None:
        self._bar: Progress | None = None
        self._tasks: dict[str, TaskID] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        if self._bar is None:
            self._bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.completed:,}/{task.total:,}"),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=False,
            )
            self._bar.start()
            self._tasks = {}
        if stage not in self._tasks:
            self._tasks[stage] = self._bar.add_task(stage, total=total)
        self._bar.update(self._tasks[stage], completed=done, total=total)

    def close(self) -> None:
        """End the current display (its bars stay printed as they last were)."""
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


@contextmanager
def progress_bar() -> Iterator[ProgressBars]:
    """Progress bars for long work, handed to it as a ``progress(stage, done, total)``
    callback; closed when the work ends."""
    bars = ProgressBars()
    try:
        yield bars
    finally:
        bars.close()
