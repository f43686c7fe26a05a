"""The ``vru`` command line: one entry point gathering each area's sub-commands.

Exit codes: 0 ok, 2 invalid input (the message names file, column and rows), 1 internal error.
"""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from vru_risk.cli.audit import audit
from vru_risk.cli.audit_scores import audit_scores
from vru_risk.cli.common import EXIT_INTERNAL, EXIT_INVALID, UserError, state
from vru_risk.cli.data import app as data_app
from vru_risk.cli.demo import demo
from vru_risk.cli.features import app as features_app
from vru_risk.cli.flags import app as flags_app
from vru_risk.cli.flags_generate import generate as generate_flags
from vru_risk.cli.models import app as models_app
from vru_risk.cli.review import app as review_app
from vru_risk.cli.serve import serve
from vru_risk.cli.serving_admin import audit_app, db_app, retention_app, users_app
from vru_risk.cli.train import train
from vru_risk.settings import SettingsError, load_settings, quiet_libraries

app = typer.Typer(
    name="vru",
    help="vru-risk: advisory, explained risk flags at teachable moments for a Violence "
    "Reduction Unit. Scores are decision support, never a decision.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(data_app, name="data")
app.add_typer(features_app, name="features")
app.add_typer(models_app, name="models")
app.add_typer(review_app, name="review")
flags_app.command("generate")(generate_flags)
app.add_typer(flags_app, name="flags")
app.add_typer(users_app, name="users", no_args_is_help=True)
app.add_typer(audit_app, name="audit-log", no_args_is_help=True)
app.add_typer(retention_app, name="retention", no_args_is_help=True)
app.add_typer(db_app, name="db", no_args_is_help=True)
app.command("demo")(demo)
app.command("train")(train)
app.command("audit")(audit)
app.command("audit-scores")(audit_scores)
app.command("serve")(serve)


@app.callback()
def _root(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Show tracebacks of errors"),
) -> None:
    """Read the settings once, at the edge, and hand them to the commands."""
    state.verbose = verbose
    state.settings = load_settings()
    quiet_libraries()


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; map errors to the documented exit codes."""
    err = Console(stderr=True)
    try:
        app(args=argv, standalone_mode=True)
    except UserError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(EXIT_INVALID)
    except SettingsError as exc:
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
