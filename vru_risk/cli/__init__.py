"""The ``vru`` command line: one entry point gathering each area's sub-commands.

Exit codes: 0 ok, 2 invalid input (the message names file, column and rows), 1 internal error.

Everything a command writes is private to the account running it (umask 077), and a
``VRU_HOME`` open to other local users is tightened first, saying so
(:mod:`vru_risk.private_home`).

Commands are thin: they parse, call a job (:mod:`vru_risk.jobs`) or the service's own functions,
and print. No command module imports a heavy library (MLflow, LightGBM, scikit-learn, pandas,
DuckDB, matplotlib, Fairlearn, SQLAlchemy, FastAPI) when it is imported: each imports what it
runs inside its function, so that ``vru --help`` and every ``vru COMMAND --help`` answer at
once (``benchmarks/cli_startup.py`` measures them).
"""

from __future__ import annotations

import importlib
import os
import sys
from functools import cache
from typing import Any, Final

import typer
from rich.console import Console

from vru_risk.cli.common import EXIT_INTERNAL, EXIT_INVALID, UserError, state
from vru_risk.jobs.common import JobError
from vru_risk.private_home import PRIVATE_UMASK, tighten_home

#: Each top-level command or group: its name, kind, the module defining it and the attribute.
#: A module is imported only when its command runs (or for the full help).
PARTS: Final = (
    ("data", "group", "vru_risk.cli.data", "app"),
    ("features", "group", "vru_risk.cli.features", "app"),
    ("models", "group", "vru_risk.cli.models", "app"),
    ("review", "group", "vru_risk.cli.review", "app"),
    ("flags", "group", "vru_risk.cli.flags", "app"),
    ("monitor", "group", "vru_risk.cli.monitor", "app"),
    ("simulate", "group", "vru_risk.cli.simulate", "app"),
    ("users", "group", "vru_risk.cli.user_tokens", "users_app"),  # + serving_admin
    ("audit-log", "group", "vru_risk.cli.access_log", "audit_app"),
    ("retention", "group", "vru_risk.cli.serving_admin", "retention_app"),
    ("db", "group", "vru_risk.cli.serving_admin", "db_app"),
    ("demo", "command", "vru_risk.cli.demo", "demo"),
    ("train", "command", "vru_risk.cli.train", "train"),
    ("audit", "command", "vru_risk.cli.audit", "audit"),
    ("audit-scores", "command", "vru_risk.cli.audit_scores", "audit_scores"),
    ("evaluate", "command", "vru_risk.cli.evaluate", "evaluate"),
    ("serve", "command", "vru_risk.cli.serve", "serve"),
)
#: groups that show their help when called without a sub-command
_HELP_WITHOUT_ARGS: Final = {"users", "audit-log", "retention", "db"}


def build_app(only: str | None = None) -> typer.Typer:
    """The ``vru`` app with every command, or with command ``only`` alone (the others are not
    imported)."""
    cli = typer.Typer(
        name="vru",
        help="vru-risk: advisory, explained risk flags at teachable moments for a Violence "
        "Reduction Unit. Scores are decision support, never a decision.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
    )
    for name, kind, module, attribute in PARTS:
        if only is not None and name != only:
            continue
        part = getattr(importlib.import_module(module), attribute)
        if kind == "command":
            cli.command(name)(part)
            continue
        if name == "flags":
            from vru_risk.cli.flags_generate import generate

            if not any(c.name == "generate" for c in part.registered_commands):
                part.command("generate")(generate)
        if name in _HELP_WITHOUT_ARGS:
            cli.add_typer(part, name=name, no_args_is_help=True)
        else:
            cli.add_typer(part, name=name)
    cli.callback()(_root)
    return cli


@cache
def _full_app() -> typer.Typer:
    return build_app()


def __getattr__(name: str) -> Any:
    """``vru_risk.cli.app``: the app with every command (built on first use)."""
    if name == "app":
        return _full_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _app_for(args: list[str]) -> typer.Typer:
    """Only the command ``args`` runs, when it names one; else every command (for the help)."""
    words = [a for a in args if not a.startswith("-")]
    names = {p[0] for p in PARTS}
    if not words or words[0] not in names:
        return _full_app()
    return build_app(words[0])


def _root(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Show tracebacks of errors"),
) -> None:
    """Read the settings once, at the edge, and hand them to the commands (settings that cannot
    be used are invalid input)."""
    from vru_risk.settings import (
        SettingsError,
        load_settings,
        passive_openmp_threads,
        quiet_libraries,
    )

    state.verbose = verbose
    try:
        state.settings = load_settings()
    except SettingsError as exc:
        raise UserError(str(exc)) from None
    quiet_libraries()
    passive_openmp_threads()  # every command: before LightGBM is first loaded
    notes = tighten_home(state.settings.home)
    if notes:
        Console(stderr=True).print(
            "[yellow]notice:[/] VRU_HOME holds person-level data and is now private to this "
            "account: " + "; ".join(notes),
            highlight=False,
            soft_wrap=True,
        )


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; map errors to the documented exit codes."""
    err = Console(stderr=True)
    os.umask(PRIVATE_UMASK)  # before anything is written: folders 0700, files 0600
    try:
        args = sys.argv[1:] if argv is None else list(argv)
        _app_for(args)(args=args, standalone_mode=True)
    except (UserError, JobError) as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(EXIT_INVALID)
    except KeyboardInterrupt:
        err.print("interrupted; nothing half-written was kept")
        sys.exit(130)
    except SystemExit:
        raise
    except Exception as exc:
        if state.verbose:
            err.print_exception()
        err.print(
            f"[bold red]internal error:[/] {type(exc).__name__}: {exc}\n"
            "This is a fault in vru-risk, not in your input. Re-run with --verbose for the "
            "traceback and report it.",
            highlight=False,
            soft_wrap=True,
        )
        sys.exit(EXIT_INTERNAL)
