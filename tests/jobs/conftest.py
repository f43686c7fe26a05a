"""Fixtures shared by the monitoring job's tests: the session's small trained version
(:mod:`tests.trained`) with its monitoring reference (made through the CLI), in a copy of its
home that is the module's own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.trained import THREADS, TrainedHome, copy_home, one_thread, one_thread_settings
from vru_risk.cli import main
from vru_risk.cli.common import state
from vru_risk.settings import Settings

__all__ = ["THREADS", "in_home", "monitored"]


@pytest.fixture(scope="module")
def monitored(
    county: Path,
    trained_home: TrainedHome,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Settings, int]]:
    """A trained version with its reference (made through the CLI), in the module's home."""
    home = copy_home(trained_home, tmp_path_factory.mktemp("monitor-home"))
    settings = one_thread_settings(home)
    version = trained_home.version
    with pytest.MonkeyPatch.context() as patch:
        one_thread(patch)
        for key, value in {"VRU_HOME": str(home), **THREADS}.items():
            patch.setenv(key, value)
        state.settings = None
        with pytest.raises(SystemExit) as done:
            main(
                ["monitor", "reference", "--version", str(version), "--data", str(county / "data")]
            )
        assert done.value.code in (0, None)
        state.settings = None
        yield settings, version


@pytest.fixture
def in_home(monitored: tuple[Settings, int], monkeypatch: pytest.MonkeyPatch) -> Settings:
    """This test's ``vru`` runs in the module's home."""
    for key, value in {"VRU_HOME": str(monitored[0].home), **THREADS}.items():
        monkeypatch.setenv(key, value)
    state.settings = None
    return monitored[0]
