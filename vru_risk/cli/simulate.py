"""``vru simulate service``: a version put in service on a synthetic county (the job is
:mod:`vru_risk.jobs.simulate`).

It writes a new data folder (the county with the service's support and its consequences), a
record of what the service did beside it, and the service's flags and simulated practitioners'
decisions into the application database, as an administrative act recorded in the audit log
(like ``vru flags load``). Synthetic counties only: it needs the county's truth folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from vru_risk.cli.common import UserError, console, parse_date, state

if TYPE_CHECKING:
    from vru_risk.jobs.simulate import SimulateRequest, SimulateResult
    from vru_risk.simulation.config import ServiceConfig

app = typer.Typer(help="Simulate the service on a synthetic county (tests, demos, evaluation).")


@app.command("service")
def service(
    data: Annotated[Path, typer.Option("--data", help="The synthetic county's data folder")],
    truth: Annotated[Path, typer.Option("--truth", help="Its truth folder (vru data generate)")],
    out: Annotated[Path, typer.Option("--out", help="The new data folder to write")],
    version: Annotated[
        int | None, typer.Option("--version", help="Model version (default: the champion)")
    ] = None,
    start: Annotated[
        str | None,
        typer.Option("--from", help="First service day, YYYY-MM-DD (default: training end)"),
    ] = None,
    end: Annotated[
        str | None,
        typer.Option("--to", help="Last service day, YYYY-MM-DD (default: the extract date)"),
    ] = None,
    agreement: Annotated[
        float, typer.Option(help="Share of decided flags practitioners refer")
    ] = 0.6,
    agreement_by_group: Annotated[
        list[str] | None,
        typer.Option(
            "--agreement-by-group",
            help="ATTRIBUTE=GROUP:RATE, e.g. ethnicity=black:0.4 (repeatable; audit-only "
            "attributes; the first that names a young person's group decides)",
        ),
    ] = None,
    take_up: Annotated[float, typer.Option(help="Share of referrals whose support starts")] = 0.8,
    support_effect: Annotated[
        float | None,
        typer.Option(help="Share of serious violence support prevents (default: the county's)"),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the practitioners' draws")] = 0,
    record: Annotated[
        Path | None,
        typer.Option("--record", help="Where to write what the service did (default OUT-service)"),
    ] = None,
) -> None:
    """Replay the daily job over a service period with simulated practitioners; write the new
    extract, the service's record, and its flags and decisions into the database."""
    from vru_risk.jobs.simulate import SimulateRequest

    config = service_config(agreement, agreement_by_group or [], take_up, support_effect, seed)
    request = SimulateRequest(
        data_dir=data,
        truth_dir=truth,
        out=out,
        version=version,
        start=parse_date(start, "--from"),
        end=parse_date(end, "--to"),
        record_dir=record,
        config=config,
    )
    with console.status("simulating the service month by month ..."):
        result, seq = simulate_recorded(request)
    print_simulation(result)
    console.print(f"recorded as audit-log row {seq}")


def simulate_recorded(request: SimulateRequest) -> tuple[SimulateResult, int]:
    """The simulated service as an administrative act: refused unless the audit log can record
    it, recorded once done (the command and ``vru demo``); returns the result and the audit-log
    row's number."""
    from vru_risk.cli.admin import app_engine, record_admin_act, require_audit_log
    from vru_risk.jobs.simulate import simulate_service

    engine = app_engine()
    try:
        require_audit_log(engine)  # the database write is recorded, or nothing is done
    finally:
        engine.dispose()
    result = simulate_service(state.get_settings(), request)
    engine = app_engine()
    try:
        seq = record_admin_act(
            engine,
            "simulate service",
            f"version {result.version} {result.start} to {result.end}: "
            f"{result.stored.flags_inserted} flag(s) and {result.stored.decisions_recorded} "
            f"decision(s) of simulated practitioners stored, {result.stored.accounts_added} "
            "account(s) added",
        )
    finally:
        engine.dispose()
    return result, seq


def service_config(
    agreement: float,
    by_group: list[str],
    take_up: float,
    support_effect: float | None,
    seed: int,
) -> ServiceConfig:
    """The options from the command line (UserError naming what is wrong)."""
    from pydantic import ValidationError

    from vru_risk.simulation.config import ServiceConfig, parse_group_rate

    groups: dict[str, dict[str, float]] = {}
    try:
        for text in by_group:
            attribute, group, rate = parse_group_rate(text)
            groups.setdefault(attribute, {})[group] = rate
        config = ServiceConfig(
            agreement=agreement,
            agreement_by_group=groups,
            take_up=take_up,
            support_effect=support_effect,
            seed=seed,
        )
    except (ValueError, ValidationError) as exc:
        raise UserError(f"--agreement-by-group: {exc}") from None
    problems = config.problems()
    if problems:  # before the audit log is opened: nothing is done
        raise UserError(
            "the simulated service's options cannot be used:\n- " + "\n- ".join(problems)
        )
    return config


def print_simulation(result: SimulateResult) -> None:
    """The service's windows and counts."""
    s = result.summary
    decisions = ", ".join(f"{k} {v:,}" for k, v in s["decisions"].items()) or "none"
    console.print(
        f"simulated service of version {result.version}: {result.start} to {result.end} "
        f"({len(s['months'])} months, {s['moments']:,} moments scored)\n"
        f"  {s['flags']:,} flags, {s['offers']:,} offers; decisions: {decisions}\n"
        f"  support: {s['taken_up']:,} referrals taken up, {s['support_started']:,} started by "
        f"the extract date ({s['already_in_programme']:,} already in the programme: nothing "
        f"new), {s['interventions_added']:,} known to the VRU by then (interventions)\n"
        f"  prevented by that support (effect {s['support_effect']:.0%}): "
        f"{s['prevented_involvements']:,} serious-violence involvements; removed "
        f"{s['police_contacts_removed']:,} police contacts and {s['ae_visits_removed']:,} A&E "
        "visits\n"
        f"  {s['offers_after_a_prevented_record']:,} offers came after a record the service's "
        "own support prevented (still a trigger or feature in what it scored)\n"
        f"  database: {result.stored.flags_inserted:,} flags stored "
        f"({result.stored.flags_present:,} already there), "
        f"{result.stored.decisions_recorded:,} decisions by "
        f"{', '.join(result.stored.accounts)}\n"
        f"new data folder: {result.out}\nrecord of the service: {result.record_dir} "
        f"({result.seconds:.0f} s)"
    )
