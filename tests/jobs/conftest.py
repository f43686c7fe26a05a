"""Fixtures shared by the monitoring job's tests: the session's small trained version
(:mod:`tests.trained`) with its monitoring reference (made once, through the CLI, for the
package), copied into a home that is each module's own (a module that loads flags or decisions,
or writes a governance file, never changes what another module sees)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.trained import THREADS, TrainedHome, copy_home, one_thread, one_thread_settings
from vru_risk.cli import main
from vru_risk.cli.common import state
from vru_risk.settings import Settings

__all__ = ["THREADS", "in_home", "monitored", "monitored_template"]


@pytest.fixture(scope="package")
def monitored_template(
    county: Path, trained_home: TrainedHome, tmp_path_factory: pytest.TempPathFactory
) -> TrainedHome:
    """A copy of the trained home with the version's monitoring reference (read it, never
    write it: ``monitored`` copies it)."""
    folder = tmp_path_factory.mktemp("monitor-template")
    home = copy_home(trained_home, folder / "home")
    version = trained_home.version
    (folder / "version").write_text(str(version), encoding="utf-8")
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
    return TrainedHome(folder)


@pytest.fixture(scope="module")
def monitored(
    monitored_template: TrainedHome, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Settings, int]]:
    """A trained version with its reference, in the module's own copy of the home."""
    home = copy_home(monitored_template, tmp_path_factory.mktemp("monitor-home"))
    with pytest.MonkeyPatch.context() as patch:
        one_thread(patch)
        state.settings = None
        yield one_thread_settings(home), monitored_template.version
        state.settings = None


@pytest.fixture
def in_home(monitored: tuple[Settings, int], monkeypatch: pytest.MonkeyPatch) -> Settings:
    """This test's ``vru`` runs in the module's home."""
    for key, value in {"VRU_HOME": str(monitored[0].home), **THREADS}.items():
        monkeypatch.setenv(key, value)
    state.settings = None
    return monitored[0]
