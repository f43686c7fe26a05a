"""What every job shares: the invalid-input error and the engine limits from the settings.

Example
-------
>>> import tempfile
>>> from vru_risk.settings import Settings
>>> home = Path(tempfile.mkdtemp())
>>> options = engine_options(Settings(home=home, duckdb_threads=1))
>>> options["threads"], options["scratch_dir"] == home / "cache"
(1, True)
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

if TYPE_CHECKING:
    from vru_risk.settings import Settings

#: ``progress(stage, done, total)``: how far a long step is (a CLI draws progress bars).
Progress = Callable[[str, int, int], None]


class JobError(ValueError):
    """Input a job cannot use (a folder, a file, an option, a model version); the message says
    what is wrong and what to do. The CLI prints it and exits 2."""


class EngineOptions(TypedDict):
    """DuckDB limits from the settings, passed as keywords to validation and feature builds."""

    threads: int
    memory_limit: str
    scratch_dir: Path


def engine_options(settings: Settings) -> EngineOptions:
    """``threads``, ``memory_limit`` and ``scratch_dir`` (created under VRU_HOME/cache)."""
    settings.cache_dir.mkdir(parents=True, exist_ok=True)
    return EngineOptions(
        threads=settings.duckdb_threads,
        memory_limit=settings.duckdb_memory_limit,
        scratch_dir=settings.cache_dir,
    )
