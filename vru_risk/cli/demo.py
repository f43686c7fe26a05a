"""``vru demo``: run the whole pipeline, as far as it exists, on an embedded default county.

It composes the jobs (:mod:`vru_risk.jobs`: county, contract check, features, training, audit),
records the demo ethics panel's decision, puts the version in service after its training (a
simulated service, :mod:`vru_risk.cli.demo_service`, then the daily flags job for the last four
weeks), runs the service's own commands (``vru flags load``, ``vru serve``) as a user would, and
monitors the version on the county its service left behind (``vru monitor``). The training,
service and follow-up windows are printed, and each stage's wall time.

A second run in the same home reuses the first one's demo, or replaces it
(:mod:`vru_risk.cli.demo_state`), and says which.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from vru_risk.cli.admin import (
    app_engine,
    mirror_review_log,
    record_admin_act,
    require_audit_log,
    show_user,
    transaction,
)
from vru_risk.cli.common import console, progress_bar, state
from vru_risk.cli.demo_home import DEMO_FOLDER_MARKER, claim_demo_home
from vru_risk.cli.demo_service import (
    RECENT_DAYS,
    demo_windows,
    final_monitor,
    simulated_service,
)
from vru_risk.cli.demo_state import DemoRecord, DemoRun, StageClock, prepare_home, write_record
from vru_risk.cli.flags import load as load_flags_command
from vru_risk.cli.printing import (
    narrated,
    print_build,
    print_flags,
    print_generation,
    print_report,
    print_result,
    print_top,
)
from vru_risk.cli.serve import serve

if TYPE_CHECKING:
    from vru_risk.flags.programmes import Programmes


def demo(
    directory: Annotated[
        Path | None,
        typer.Option("--dir", help="Working folder for the demo (default <VRU_HOME>/demo)"),
    ] = None,
    people: Annotated[int, typer.Option(help="Young people in the demo county")] = 10_000,
    seed: Annotated[int, typer.Option(help="Random seed")] = 0,
    serve_after: Annotated[
        bool,
        typer.Option(
            "--serve/--no-serve", help="End in the running server on 127.0.0.1:8000 (Ctrl-C stops)"
        ),
    ] = True,
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Server port")] = 8000,
    fresh: Annotated[
        bool,
        typer.Option(
            "--fresh", help="Replace the earlier demo of this home even when it could be reused"
        ),
    ] = False,
) -> None:
    """Run the whole pipeline on a synthetic county and end in the running service (only in an
    empty VRU_HOME, or one the demo made). Run again with the same options, it reuses the
    earlier demo when that one reached its end and is intact, and otherwise replaces it."""
    from vru_risk.jobs import audit as audit_job
    from vru_risk.jobs import card as card_job
    from vru_risk.jobs import data as data_job
    from vru_risk.jobs import flags as flags_job
    from vru_risk.jobs import train as train_job
    from vru_risk.jobs.events import FeaturesBuilt
    from vru_risk.jobs.monitor_reference import create_reference
    from vru_risk.models.tags import CANDIDATE
    from vru_risk.training.config import load_experiment

    clock = StageClock()
    claim_demo_home(state.get_settings())
    demo_service_settings()  # before the first account: each is recorded in the audit log
    settings = state.get_settings()
    root = directory if directory is not None else settings.home / "demo"
    run = DemoRun(people=people, seed=seed, folder=root)
    earlier = prepare_home(settings, run, fresh=fresh)
    if earlier is not None:
        reuse_demo(earlier, clock, serve_after=serve_after, port=port)
        return
    root.mkdir(parents=True)
    (root / DEMO_FOLDER_MARKER).write_text("made by vru demo; safe to delete\n")
    data, truth = root / "data", root / "truth"
    experiment = load_experiment()
    clock.begin("1/9 synthetic county")
    with progress_bar() as bars:
        summary = data_job.generate_county(
            out=data,
            people=people,
            years=6,
            end_date=None,
            seed=seed,
            fmt="parquet",
            truth_out=truth,
            measurement_bias=True,
            progress=bars,
        )
    print_generation(summary)
    clock.begin("2/9 contract check")
    with Console(stderr=True).status(f"checking {data} against data contract v1 ..."):
        report = data_job.validate(settings, data, None)
    print_report(report)
    if not report.ok:
        raise typer.Exit(1)  # generated data must always be valid: that is our fault
    clock.begin("3/9 as-of features and labels at teachable moments")
    # built once, where training finds it (VRU_HOME/features, keyed by the spec, the folder's
    # fingerprint and the build settings): step 4 reuses it instead of building it again
    built_events: list[FeaturesBuilt] = []
    with progress_bar() as bars:
        features = train_job.feature_table(
            settings,
            experiment,
            None,
            data,
            truth,
            progress=bars,
            on_event=lambda e: built_events.append(e) if isinstance(e, FeaturesBuilt) else None,
        )
    for event in built_events:
        print_build(event.summary)
        console.print(f"  shape: {event.summary.rows:,} rows x {event.summary.columns} columns")
    clock.begin("4/9 training side by side, gates, MLflow registry")
    # from the data folder (its feature table cached under VRU_HOME), so that training can replay
    # the service's allocation over its test windows (a bare table has no eligibility context)
    request = train_job.TrainRequest(
        experiment, data=data, truth=truth, trained_by="demo", demo=True
    )
    with narrated() as (bars, narrator):
        trained = train_job.train(settings, request, progress=bars, on_event=narrator)
    print_result(trained)
    outcome = trained.outcome
    clock.begin("5/9 fairness audit and the (demo) ethics panel's decision")
    version = outcome.version.version
    with narrated() as (bars, narrator):
        audited = audit_job.audit_version(
            settings, version, data, resamples=500, demo=True, progress=bars, on_event=narrator
        )
    gate = audited.gate
    console.print(f"fairness gate: [bold]{gate.status}[/]")
    decision = "no decision: the version is not a candidate"
    if outcome.state == CANDIDATE:
        # the reference it will be watched against, before the decision records its hash
        reference = create_reference(settings, version, data)
        console.print(
            f"monitoring reference: {reference.path} (hash {reference.reference.hash[:12]}); "
            f"`vru monitor --data {data}` checks the model in service against it"
        )
        decision = demo_decision(version, gate_passed=gate.passed)
        audit_job.refresh_report(state.get_settings(), version, audited.report)
    console.print(decision)
    flags_file = root / "flags.jsonl"
    service_data, monitored, windows = data, None, None
    if outcome.state == CANDIDATE:
        clock.begin("6/9 the version in service after its training (simulated)")
        windows = demo_windows(version, report.extract_date)
        for line in windows.lines():
            console.print(line)
        service_data, issued = simulated_service(root, data, truth, windows)
        clock.begin("7/9 recent flags: teachable moments scored, offers matched, reasons explained")
        daily = flags_job.FlagsRequest(
            service_data, report.extract_date, flags_file, days=RECENT_DAYS, issued_paths=[issued]
        )
        generated = flags_job.run(settings, daily)
        print_flags(generated)
        console.print("the three highest, with their reasons:")
        print_top(generated.batch.flags, 3)
    else:
        console.print("no service and no flags: no approved model")
    clock.begin("8/9 the service: flags loaded, demo users, server")
    if flags_file.exists():
        load_flags_command(flags_file)
    users = ensure_demo_users()
    if outcome.state == CANDIDATE:
        clock.begin("9/9 monitoring the version on the county its service left behind")
        monitored = final_monitor(service_data, version)
        card = card_job.make_card(state.get_settings(), version)  # what the panel publishes
        console.print(
            f"model card and transparency record of version {version}: "
            f"{card.folder / 'card.html'} (pages /models/{version}/card and /transparency)"
        )
    clock.end()
    console.rule("demo done")
    done_text = (
        f"data: {data}\ntruth (never shown to models): {truth}\nfeatures: {features}\n"
        f"model: vru-risk version {version}, {outcome.state}; "
        "`vru models list` shows every version, `mlflow ui --backend-store-uri "
        f"{state.get_settings().tracking_uri}` the runs.\n"
        f"fairness report ({gate.status}): {audited.html_path}\n"
        f"flags: {flags_file}\n"
        + (
            f"the county after the service (its support, and what that prevented): "
            f"{service_data}\n{chr(10).join(windows.lines())}\n"
            f"monitoring: exit {monitored} (`vru monitor --data {service_data}`)\n"
            if windows is not None
            else ""
        )
        + f"MLflow UI on the same store: .venv/bin/mlflow ui --backend-store-uri "
        f"{state.get_settings().tracking_uri} (then open http://127.0.0.1:5000)"
    )
    console.print(done_text)
    print_demo_users(users)
    write_record(settings.home, run, version=version, state=outcome.state, summary=done_text)
    console.print(clock.table())
    end_in_service(clock, serve_after=serve_after, port=port)


def reuse_demo(earlier: DemoRecord, clock: StageClock, *, serve_after: bool, port: int) -> None:
    """Go straight to the service of the earlier demo (its summary and users printed again)."""
    console.print(earlier.summary)
    print_demo_users(ensure_demo_users())
    end_in_service(clock, serve_after=serve_after, port=port)


def end_in_service(clock: StageClock, *, serve_after: bool, port: int) -> None:
    """Say how long the demo took to get here, then serve (or say how to)."""
    if serve_after:
        console.print(f"starting the server {clock.elapsed():.1f} s after the demo started")
        serve(host="127.0.0.1", port=port)
    else:
        console.print(
            f"ready {clock.elapsed():.1f} s after the demo started; start the service with: "
            f"vru serve --port {port} ({DEMO_ENV_HINT})"
        )


#: Password of the demo's users (printed by the demo; a synthetic county only, never real use).
DEMO_PASSWORD = "demo-password-not-for-real-use"
DEMO_PANEL = ("demo-panel", "demo-panel-2")


#: Demo-only keys, used when VRU_SESSION_SECRET / VRU_AUDIT_KEY are not set (printed; never for
#: real use: a real service keeps its audit key outside the database host).
DEMO_SESSION_SECRET = "demo-session-secret-not-for-real-use"
DEMO_AUDIT_KEY = "demo-audit-key-not-for-real-use"
DEMO_ENV_HINT = (
    f"with VRU_SESSION_SECRET={DEMO_SESSION_SECRET} VRU_AUDIT_KEY={DEMO_AUDIT_KEY} unless you set "
    "your own"
)


def demo_service_settings() -> None:
    """Use demo keys for the session cookie and the audit log when none are configured."""
    from pydantic import SecretStr

    settings = state.get_settings()
    update: dict[str, SecretStr] = {}
    if settings.session_secret is None:
        update["session_secret"] = SecretStr(DEMO_SESSION_SECRET)
    if settings.audit_key is None:
        update["audit_key"] = SecretStr(DEMO_AUDIT_KEY)
    if update:
        state.settings = settings.model_copy(update=update)
        console.print(f"demo keys in use ({DEMO_ENV_HINT})")


def ensure_demo_users() -> list[tuple[str, str, str]]:
    """One demo user per role and per programme: (username, role, programmes)."""
    from vru_risk.flags.programmes import load_programmes

    programmes = load_programmes(state.get_settings().programmes_path)
    wanted: list[tuple[str, str, tuple[str, ...]]] = [
        (f"demo-{p.id.replace('_', '-')}", "practitioner", (p.id,)) for p in programmes.programmes
    ]
    wanted += [
        ("demo-data-scientist", "data_scientist", ()),
        (DEMO_PANEL[0], "ethics_panel", ()),
        (DEMO_PANEL[1], "ethics_panel", ()),
        ("demo-admin", "admin", ()),
    ]
    add_demo_users(wanted, programmes)
    return [(name, role, ", ".join(progs)) for name, role, progs in wanted]


def add_demo_users(
    wanted: list[tuple[str, str, tuple[str, ...]]], programmes: Programmes | None = None
) -> None:
    """Add the users of ``wanted`` (username, role, programmes) that are missing, each
    recorded in the audit log as `vru users add` records it (refused without the audit log)."""
    from vru_risk.store.users import UserInfo, ensure_user

    engine = app_engine()
    try:
        require_audit_log(engine)
        added: list[UserInfo] = []
        with transaction(engine) as session:
            for name, role, progs in wanted:
                user, new = ensure_user(
                    session,
                    username=name,
                    role=role,
                    password=DEMO_PASSWORD,
                    programmes=progs,
                    known_programmes=programmes,
                )
                if new:
                    added.append(user)
        for user in added:
            record_admin_act(
                engine, "users add", f"added {show_user(user)} for `vru demo` (demo password)"
            )
    finally:
        engine.dispose()


def print_demo_users(users: list[tuple[str, str, str]]) -> None:
    table = Table(title=f"demo users (password {DEMO_PASSWORD!r}; synthetic data, demo only)")
    for col in ("username", "role", "programme"):
        table.add_column(col)
    for row in users:
        table.add_row(*row)
    console.print(table)


def ensure_demo_panel() -> list[str]:
    """The demo's ethics-panel members as users of the service (added if missing)."""
    add_demo_users([(name, "ethics_panel", ()) for name in DEMO_PANEL])
    return list(DEMO_PANEL)


DEMO_REASON = (
    "DEMO ONLY: synthetic county, recorded automatically by `vru demo` so the rest of the "
    "pipeline can run; not a real ethics-panel review"
)


def demo_decision(version: int, *, gate_passed: bool) -> str:
    """Record the demo panel's decision: an approval when the gate passes, otherwise the two
    overrides the rules require (both marked as demo in the log and every report)."""
    from vru_risk.jobs.monitor_data import approval_criteria_hash
    from vru_risk.models.promotion import review
    from vru_risk.models.registry import Registry
    from vru_risk.models.review_log import ReviewLog

    settings = state.get_settings()
    registry = Registry(settings.tracking_uri)
    log = ReviewLog(settings.review_log_path)
    ensure_demo_panel()
    reviewers = DEMO_PANEL[:1] if gate_passed else DEMO_PANEL
    action = "approve" if gate_passed else "override"
    message = ""
    criteria = approval_criteria_hash(settings, version)
    for reviewer in reviewers:
        message = review(
            action,
            version=version,
            reviewer=reviewer,
            reason=DEMO_REASON,
            registry=registry,
            criteria_hash=criteria,
            log=log,
            demo=True,
        ).message
    mirror_review_log()
    return (
        f"demo panel ({', '.join(reviewers)}): {action}; {message}\n"
        f"demo ethics-panel users of the service: {', '.join(DEMO_PANEL)} "
        f"(password {DEMO_PASSWORD!r}; demo only)"
    )
