"""What the commands print about a job's work, shared by each command and ``vru demo``: the
events a job reports on the way (:class:`Narrator`) and the summaries of its results.

Printing only: every function takes a job's result (or event) and words it on the console.
Importing it imports nothing heavy (the results' types are only named for the type checker).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from rich.console import Console
from rich.status import Status
from rich.table import Table

from vru_risk.cli.common import ProgressBars, console, progress_bar

if TYPE_CHECKING:
    from vru_risk.data.faults import FaultResult
    from vru_risk.data.synthetic import GenerationSummary
    from vru_risk.data.validate import ValidationReport
    from vru_risk.features.build import BuildSummary
    from vru_risk.flags.flag import Flag
    from vru_risk.jobs.events import Event
    from vru_risk.jobs.flags import FlagsResult
    from vru_risk.jobs.train import TrainResult


class Narrator:
    """A job's ``on_event`` listener: says each event as it comes, closing the progress bars
    first; a step without a measurable length shows a spinner until the next event."""

    def __init__(self, bars: ProgressBars) -> None:
        self.bars = bars
        self._status: Status | None = None

    def __call__(self, event: Event) -> None:
        from vru_risk.jobs import events as e

        self.bars.close()
        if isinstance(event, e.StepStarted):
            if self._status is None:
                self._status = Console(stderr=True).status(event.text)
                self._status.start()
            else:
                self._status.update(event.text)
            return
        if isinstance(event, e.StepsDone):
            self.close()
        elif isinstance(event, e.FeaturesReused):
            console.print(f"features: reusing {event.path}")
        elif isinstance(event, e.FeaturesStale):
            console.print(f"features: {event.path} was built with other settings; rebuilding it")
        elif isinstance(event, e.FeaturesBuilt):
            print_build(event.summary)
        elif isinstance(event, e.RunClosed):
            run = event.run
            console.print(
                f"note: MLflow run {run.run_id} ({run.run_name}) was left RUNNING by a `vru "
                f"train` that did not finish ({run.why}); marked FAILED"
            )
        elif isinstance(event, e.RunsUncheckable):
            console.print(
                f"[yellow]warning:[/] runs left RUNNING could not be checked: {event.problem}"
            )
        elif isinstance(event, e.EventDatesUsed):
            console.print(
                f"[bold yellow]warning:[/] {event.table} was built with {event.knowledge_dates} "
                "dates instead of known dates: its features can see records before they arrived"
            )
        elif isinstance(event, e.ReweighingSkipped):
            console.print(
                f"version {event.version} records no booster settings: re-weighing skipped"
            )

    def close(self) -> None:
        """Stop the spinner of a step, if one is shown."""
        if self._status is not None:
            self._status.stop()
            self._status = None


@contextmanager
def narrated() -> Iterator[tuple[ProgressBars, Narrator]]:
    """Progress bars and a narrator for one job call (``progress=``, ``on_event=``), both
    closed when it returns or fails."""
    with progress_bar() as bars:
        narrator = Narrator(bars)
        try:
            yield bars, narrator
        finally:
            narrator.close()


def print_generation(summary: GenerationSummary) -> None:
    """The synthetic county's tables, its headline rates and where the truth went."""
    table = Table(title=f"Synthetic county in {summary.out_dir}")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, rows in summary.rows.items():
        table.add_row(name, f"{rows:,}")
    console.print(table)
    for label, value in summary.rates.items():
        console.print(f"  {label}: {value:.4g}")
    console.print(
        f"extract date {summary.extract_date}; truth (kept apart) in {summary.truth_dir}; "
        f"{summary.seconds:.1f} s"
    )


def print_fault(result: FaultResult) -> None:
    """The faulted copy: what the fault is, and each rewritten table's rows before and after."""
    f = result.fault
    if f.kind == "stop":
        what = f"{f.source} stops on {f.start} (its manifest still claims refreshes)"
    elif f.kind == "coding":
        what = f"from {f.start}, {f.size:g} of unauthorised absences recorded as authorised"
    else:
        from vru_risk.data.faults import SHIFT_KIND_ROLES

        role = SHIFT_KIND_ROLES.get(str(f.source))
        kind = f"a {f.source} record" + (f" with {role[0]} {role[1]}" if role else "")
        what = (
            f"on {f.start}, {result.newcomers:,} young people arrive ({f.size:g} per young "
            f"person with {kind} in the year before)"
        )
    table = Table(title=f"Fault ({f.kind}, seed {f.seed}) written to {result.out}")
    table.add_column("table")
    table.add_column("rows before", justify="right")
    table.add_column("rows after", justify="right")
    table.add_column("rows the fault changed", justify="right")
    for name, (before, after) in result.rows.items():
        table.add_row(name, f"{before:,}", f"{after:,}", f"{result.changed.get(name, 0):,}")
    console.print(table)
    console.print(f"{what}; other tables copied unchanged")


def print_report(report: ValidationReport) -> None:
    """A data folder's tables, extract date and fingerprint, and every problem found."""
    table = Table(title=f"Data folder {report.folder}")
    table.add_column("table")
    table.add_column("file")
    table.add_column("rows", justify="right")
    for info in report.tables.values():
        table.add_row(info.name, info.file, "?" if info.rows is None else f"{info.rows:,}")
    for name in report.missing_sources:
        table.add_row(name, "(not supplied: its features will be absent)", "")
    console.print(table)
    console.print(
        f"extract date {report.extract_date} (from {report.extract_date_source}); "
        f"fingerprint {report.fingerprint[:16]} (by {report.fingerprint_kind})"
    )
    if report.ok:
        console.print("[bold green]valid[/]: the folder meets data contract v1")
        return
    console.print(
        f"[bold red]invalid[/]: {len(report.problems)} problem(s); nothing was written",
    )
    for problem in report.problems:
        console.print(problem.render(), soft_wrap=True)


def print_build(summary: BuildSummary) -> None:
    """A feature table's examples, labels, unavailable sources, spec hash and fingerprint."""
    console.print(
        f"feature table {summary.out}: {summary.rows:,} examples of {summary.people:,} people"
    )
    console.print(
        f"  label (serious violence): {summary.positives:,} positive, "
        f"{summary.censored:,} censored, rate {summary.label_rate:.3f} among uncensored"
    )
    if summary.sources_unavailable:
        console.print(
            f"  sources unavailable (features NaN): {', '.join(summary.sources_unavailable)}"
        )
    if summary.label_sources_unavailable:
        console.print(
            "  [bold yellow]warning[/]: the label cannot see "
            f"{', '.join(summary.label_sources_unavailable)}"
        )
    console.print(f"  spec hash {summary.spec_hash}")
    console.print(f"  data fingerprint {summary.data_fingerprint}; {summary.seconds:.1f} s")


def _fmt(value: float, digits: int = 3) -> str:
    return "" if value != value else f"{value:.{digits}f}"  # NaN -> blank


def print_result(trained: TrainResult) -> None:
    """The summary table (model, logistic regression, baselines, oracle), gates and version."""
    result, outcome = trained.experiment, trained.outcome
    cap = result.config.capacity.per_month
    replayed = result.replayed
    view = Table(
        title=f"Test folds pooled ({len(result.folds)} folds, {cap} young people a month)",
        caption=(
            "precision/recall/lift: of the places the service would have offered; hindsight: "
            "precision of each month's top-capacity list"
            if replayed
            else "precision/recall/lift: of each month's top-capacity list (hindsight only)"
        )
        + "; AUC etc. over all test examples; true inv.: precision against true involvement "
        "(synthetic only)",
    )
    cols = (
        "model",
        "precision@cap" if replayed else "hindsight precision@cap",
        "fold range",
        "recall@cap",
        "lift",
        "hindsight",
        "places used",
        "AUC",
        "avg prec",
        "Brier",
        "ECE",
        "true inv.",
    )
    for c in cols:
        view.add_column(c, justify="left" if c == "model" else "right")
    for _, r in result.summary.iterrows():
        view.add_row(
            str(r["model"]),
            _fmt(r["precision_at_capacity"]),
            f"{_fmt(r['precision_fold_min'])}-{_fmt(r['precision_fold_max'])}",
            _fmt(r["recall_at_capacity"]),
            _fmt(r["lift_at_capacity"], 1),
            _fmt(r["hindsight_precision_at_capacity"]),
            _fmt(r["places_used_share"]),
            _fmt(r["auc"]),
            _fmt(r["average_precision"]),
            _fmt(r["brier"]),
            _fmt(r["ece"]),
            _fmt(r["true_involvement_precision"]),
        )
    console.print(view)
    console.print(result.allocation_text())
    for key, interval in result.differences.items():
        console.print(f"  precision at capacity, {key}: {interval.text()}")
    gate = outcome.performance
    console.print(
        "performance gate: "
        + ("[green]pass[/] (beats every baseline on every fold)" if gate.passed else "[red]fail[/]")
    )
    for reason in gate.reasons:
        console.print(f"  - {reason}")
    leak = outcome.leakage
    console.print(
        "leakage tripwire: " + ("[green]clear[/]" if leak.passed else "[bold red]fired[/]")
    )
    for reason in leak.reasons:
        console.print(f"  - {reason}")
    v = outcome.version
    aliases = ", ".join(v.aliases) or "no alias"
    console.print(
        f"registered vru-risk version {v.version}: {outcome.state} ({aliases}); trained "
        f"{result.final_window['train']}, calibrated {result.final_window['calibration']}; "
        f"MLflow run {outcome.run_id}"
    )


def print_top(flags: list[Flag], n: int = 3) -> None:
    """The top ``n`` flags by probability, with their reasons (what the demo shows)."""
    for flag in sorted(flags, key=lambda f: -f.probability)[:n]:
        offered = ", ".join(p.name for p in flag.programmes if p.status == "offered")
        console.print(
            f"[bold]{flag.person_id}[/], aged {flag.age_years}, known {flag.as_of}: "
            f"{', '.join(t.kind.replace('_', ' ') for t in flag.triggers)}; "
            f"model score {flag.probability:.0%} ({flag.band} of teachable moments); offered: "
            f"{offered}"
        )
        for r in flag.reasons_for:
            console.print(f"    + {r.sentence}")
        for r in flag.reasons_against:
            console.print(f"    - {r.sentence}")
        for w in flag.what_could_change[:1]:
            console.print(f"    what could change it: {w.text}")
        if flag.warnings:
            console.print(f"    [yellow]warning:[/] {flag.warnings[0]}")


def print_flags(result: FlagsResult) -> None:
    """How many moments were scored and flags written, and the offers by programme."""
    flags = result.batch.flags
    first, last = result.days[0], result.days[-1]
    span = str(last) if first == last else f"{first} to {last}"
    console.print(
        f"scored {result.batch.moments:,} teachable moment(s) known on {span} with "
        f"{result.model_ref.name} version {result.model_ref.version}; {len(flags)} flag(s) "
        f"written to {result.out} in {result.seconds:.1f} s"
    )
    table = Table(title="offers by programme (capacity per period)")
    for col in ("programme", "offered", "already supported", "capacity"):
        table.add_column(col, justify="left" if col == "programme" else "right")
    for p in result.programmes.programmes:
        offered = sum(
            1 for f in flags for o in f.programmes if o.programme == p.id and o.status == "offered"
        )
        already = sum(
            1
            for f in flags
            for o in f.programmes
            if o.programme == p.id and o.status == "already_supported"
        )
        table.add_row(p.name, str(offered), str(already), f"{p.capacity} per {p.period}")
    console.print(table)
    from vru_risk.flags.allocate import how_chosen

    on_last_day = {r.programme: r for r in result.batch.rules if r.day == last}
    for p in result.programmes.programmes:
        rule = on_last_day.get(p.id)
        if rule is not None:
            used = sum(
                1
                for f in flags
                for o in f.programmes
                if o.programme == p.id and o.status == "offered" and f.as_of == rule.day
            )
            chosen = how_chosen(p, rule.policy, rule.threshold, rule.places_left - used)
            console.print(f"{p.name} on {rule.day}: {chosen}")
    if result.lottery is not None:
        won = sum(1 for f in flags for o in f.programmes if o.lottery)
        console.print(
            f"fair lottery approved in review entry {result.lottery.approval.seq}: "
            f"{result.draws} new draw(s) recorded, {won} place(s) allocated by lottery "
            "(a day already drawn is replayed from the lottery record)"
        )
    if result.unmatched_support:
        console.print(
            "[yellow]warning:[/] interventions name programme(s) that match no configured "
            f"programme: {', '.join(result.unmatched_support)}; such support is not recognised "
            "(the young person could be offered it again): add the names to the programme's "
            "intervention_names"
        )
    console.print(
        "Flags are offers of support, decision support and not a decision: never for enforcement."
    )
