"""The `vru` entry point: exit codes 0 ok, 2 invalid input, 1 internal error."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import RunVru
from tests.folders import write_valid_folder


def test_help_lists_the_commands(vru: RunVru) -> None:
    result = vru("--help")
    assert result.code == 0
    assert "data" in result.stdout
    assert "demo" in result.stdout
    assert "never a decision" in result.stdout


def test_unknown_option_is_invalid_input(vru: RunVru) -> None:
    result = vru("data", "validate", "--no-such-option")
    assert result.code == 2


def test_bad_settings_are_invalid_input(vru: RunVru, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VRU_DUCKDB_THREADS", "many")
    result = vru("data", "validate", ".")
    assert result.code == 2
    assert "VRU_DUCKDB_THREADS" in result.stderr


def test_internal_error_exits_1_without_blaming_the_input(
    vru: RunVru, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import vru_risk.jobs.data as data

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(data, "validate_folder", broken)
    result = vru("data", "validate", write_valid_folder(tmp_path / "x"))
    assert result.code == 1
    assert "internal error: RuntimeError: boom" in result.stderr
    assert "not in your input" in result.stderr
    assert "Traceback" not in result.stderr


def test_installed_entry_point_runs(tmp_path: Path) -> None:
    folder = write_valid_folder(tmp_path / "x", "parquet")
    vru = Path(sys.executable).with_name("vru")
    done = subprocess.run(
        [str(vru), "data", "validate", str(folder), "--json"],
        capture_output=True,
        text=True,
        check=False,
        env={"VRU_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr
    assert '"ok": true' in done.stdout


def test_a_command_imports_only_what_it_needs() -> None:
    """`vru users ...` (and the other administration commands) start without importing MLflow,
    LightGBM, scikit-learn, fairlearn, DuckDB or pandas; the full help still lists everything."""
    heavy = ("mlflow", "lightgbm", "sklearn", "fairlearn", "duckdb", "pandas")
    code = (
        "import sys\n"
        "from vru_risk.cli import main\n"
        "for args in (['users', '--help'], ['audit-log', '--help'], ['flags', 'load', '--help'],\n"
        "             ['flags', 'withdraw', '--help']):\n"
        "    try:\n"
        "        main(args)\n"
        "    except SystemExit as exc:\n"
        "        assert exc.code == 0, (args, exc.code)\n"
        f"print(sorted(m for m in {heavy!r} if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout[-2000:]
    assert "vru flags load" in done.stdout or "Usage:" in done.stdout


def test_the_full_app_has_every_command_once(vru: RunVru) -> None:
    from vru_risk.cli import PARTS, app

    for args in (["flags", "load", "--help"], ["flags", "generate", "--help"]):
        assert vru(*args).code == 0  # builds partial apps; the full one is unchanged
    names = [c.name for c in app.registered_commands] + [g.name for g in app.registered_groups]
    assert sorted(names) == sorted(p[0] for p in PARTS)
    flags = next(g.typer_instance for g in app.registered_groups if g.name == "flags")
    assert flags is not None
    assert sorted(c.name or "" for c in flags.registered_commands) == [
        "generate",
        "load",
        "withdraw",
    ]


#: what `vru --help` and every `vru COMMAND --help` must not import (seconds to start, each)
HEAVY = (
    "mlflow",
    "lightgbm",
    "sklearn",
    "pandas",
    "duckdb",
    "matplotlib",
    "fairlearn",
    "sqlalchemy",
    "fastapi",
)


def test_every_help_imports_nothing_heavy() -> None:
    """`vru --help` and the help of every command and sub-command, in one fresh process: none
    imports a heavy library (commands import their jobs inside their functions)."""
    code = (
        "import contextlib, io, sys\n"
        "from vru_risk.cli import main\n"
        "def help_of(*words):\n"
        "    with contextlib.redirect_stdout(io.StringIO()) as out:\n"
        "        try:\n"
        "            main([*words, '--help'])\n"
        "        except SystemExit as exc:\n"
        "            assert exc.code in (0, None), (words, exc.code)\n"
        "    assert 'Usage:' in out.getvalue(), words\n"
        "help_of()\n"
        "from vru_risk.cli import app\n"
        "helped = 1\n"
        "for command in app.registered_commands:\n"
        "    help_of(command.name)\n"
        "    helped += 1\n"
        "for group in app.registered_groups:\n"
        "    help_of(group.name)\n"
        "    helped += 1\n"
        "    for command in group.typer_instance.registered_commands:\n"
        "        help_of(group.name, command.name)\n"
        "        helped += 1\n"
        f"print(helped, sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300
    )
    helped, imported = done.stdout.strip().splitlines()[-1].split(" ", 1)
    assert imported == "[]", done.stdout[-2000:]
    assert int(helped) >= 40  # the root, 14 commands and groups, and the groups' commands
