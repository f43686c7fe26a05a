"""``vru demo``'s service: the approved version put in service on the demo county after its
training (``vru simulate service``), and ``vru monitor`` on the county the service left behind.

The windows, stated in the demo's output and the README:

- **training**: the version's training slice (from the experiment's ``feature_start_time`` to
  its training end) and calibration window, both recorded with the version;
- **service**: simulated from the training end to :data:`RECENT_DAYS` days before the extract
  date (the daily job replayed month by month, simulated practitioners' decisions, support taken
  up), then the daily job itself for the last :data:`RECENT_DAYS` days (``vru flags generate``,
  continuing the simulated service's ledger);
- **follow-up**: an outcome is known a label horizon (365 days) plus the longest reporting lag
  of the outcome records after its moment; by the extract date the service's first months have
  matured, and monitoring judges them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Final

from vru_risk.cli.common import console, state

#: The demo's daily job scores the last four weeks before the extract date itself.
RECENT_DAYS: Final = 28


@dataclass(frozen=True)
class Windows:
    """The demo's training, service and follow-up windows."""

    train_start: date
    train_end: date
    calibration: tuple[date, date]
    service_end: date
    extract: date
    horizon_days: int
    lag_days: int

    @property
    def matured_until(self) -> date:
        return self.extract - timedelta(days=self.horizon_days + self.lag_days)

    def lines(self) -> list[str]:
        return [
            f"training: moments from {self.train_start} to {self.train_end - timedelta(days=1)} "
            f"fit the model; {self.calibration[0]} to {self.calibration[1] - timedelta(days=1)} "
            "calibrated it",
            f"service: simulated from {self.train_end} to {self.service_end} (the daily job "
            "replayed month by month, simulated practitioners, support taken up); then the daily "
            f"job itself for the last {RECENT_DAYS} days, to the extract date {self.extract}",
            f"follow-up: an outcome is known {self.horizon_days} days after its moment plus "
            f"{self.lag_days} days of reporting lag, so by {self.extract} the service's moments "
            f"up to {self.matured_until} have matured",
        ]


def demo_windows(version: int, extract: date) -> Windows:
    """The windows of the demo's version on a county extracted on ``extract``."""
    from vru_risk.jobs.monitor_data import build_config, load_version
    from vru_risk.models.registry import Registry
    from vru_risk.models.tags import TRAIN_END_TAG
    from vru_risk.training.config import load_experiment

    settings = state.get_settings()
    model, info = load_version(Registry(settings.tracking_uri), version, 1)
    config = build_config(model, version)
    train_end = date.fromisoformat(info.tags.get(TRAIN_END_TAG) or str(model.info["train_end"]))
    calibration = (
        date.fromisoformat(str(model.info.get("calibration_start", train_end))),
        date.fromisoformat(str(model.info.get("calibration_end", train_end))),
    )
    return Windows(
        train_start=load_experiment().temporal.feature_start_time,
        train_end=train_end,
        calibration=calibration,
        service_end=extract - timedelta(days=RECENT_DAYS),
        extract=extract,
        horizon_days=config.label.horizon_days,
        lag_days=config.label_lag_days,
    )


def simulated_service(root: Path, data: Path, truth: Path, windows: Windows) -> tuple[Path, Path]:
    """Simulate the service (recorded in the audit log); return the new data folder and the
    service's flags file (the ledger the demo's daily job continues from)."""
    from vru_risk.cli.simulate import print_simulation, simulate_recorded
    from vru_risk.jobs.simulate import FLAGS_FILE, SimulateRequest

    request = SimulateRequest(
        data_dir=data,
        truth_dir=truth,
        out=root / "service-data",
        end=windows.service_end,
    )
    with console.status("simulating the service month by month ..."):
        result, seq = simulate_recorded(request)
    print_simulation(result)
    console.print(f"recorded as audit-log row {seq}")
    return result.out, result.record_dir / FLAGS_FILE


def final_monitor(data: Path, version: int) -> int:
    """``vru monitor`` on the service's county as of its extract date; print the verdict and
    return its exit code (the demo goes on whatever it says)."""
    from vru_risk.jobs.monitor import MonitorRequest, run_monitor

    result = run_monitor(state.get_settings(), MonitorRequest(data_dir=data, version=version))
    verdict = result.verdict
    console.print(
        f"version {result.version}, as of {result.as_of}: {result.report['verdict']['headline']}"
    )
    for f in verdict.findings:
        label = "suspension recommended" if f.level == "suspension_recommended" else "review"
        console.print(f"  - {label} ({f.criterion}): {f.sentence}", markup=False)
    outcomes = result.report["checks"]["outcomes"]
    precision = outcomes.get("precision") or {}
    unsupported = (precision.get("unsupported") or {}).get("precision") or {}
    months = outcomes["matured_months"]
    if months and unsupported.get("value") is not None:
        console.print(
            f"  matured months {months[0]} to {months[-1]}: "
            f"realised precision on moments not given support {unsupported['value']:.2f} "
            f"({unsupported['low']:.2f} to {unsupported['high']:.2f}); the supported "
            f"({outcomes.get('supported_left_out', 0):,} matured moments) are shown apart"
        )
    console.print(f"report: {result.html_path}")
    return verdict.exit_code
