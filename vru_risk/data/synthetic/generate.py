"""Generate a synthetic county: the data folder (contract v1) and, apart, its truth.

Example
-------
>>> import tempfile
>>> from pathlib import Path
>>> from vru_risk.data.synthetic import SyntheticConfig, generate_county
>>> root = Path(tempfile.mkdtemp())
>>> summary = generate_county(SyntheticConfig(people=150, years=1),
...                           out_dir=root / "data", truth_dir=root / "truth")
>>> sorted(p.name for p in (root / "data").iterdir())[:3]
['ae_visits.parquet', 'attendance.parquet', 'exclusions.parquet']
>>> import shutil
>>> shutil.rmtree(root)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ConfigDict

from vru_risk.data.contract import CONTRACT_VERSION, MANIFEST_NAME
from vru_risk.data.fingerprint import file_sha256
from vru_risk.data.synthetic.attendance import ATTENDANCE_SCHEMA, AttendanceStats
from vru_risk.data.synthetic.calendar import (
    SCHOOL_DAYS_PER_YEAR,
    ae_refreshed_on,
    make_window,
)
from vru_risk.data.synthetic.chunk import simulate_chunk
from vru_risk.data.synthetic.config import SyntheticConfig, SyntheticConfigError
from vru_risk.data.synthetic.population import build_population
from vru_risk.data.synthetic.programmes import PROGRAMME_NAMES
from vru_risk.data.synthetic.tables import people_table
from vru_risk.data.synthetic.truth import LATENT_SCHEMA, RISK_SCHEMA, LabelStats, truth_people
from vru_risk.data.synthetic.writer import (
    Format,
    TableWriter,
    atomic_folders,
    write_json,
    write_table,
)

#: People simulated together (vectorised); chunk boundaries depend on nothing but this.
CHUNK_PEOPLE = 2048
GENERATOR_NAME = "vru-risk synthetic"
EVENT_TABLES = ("exclusions", "police_contacts", "ae_visits", "interventions")

Progress = Callable[[str, int, int], None]


class GenerationSummary(BaseModel):
    """What was generated, how long it took, and headline rates to compare with the references.

    Rates are over the generated extract: absence over possible sessions of Years 3–11;
    persistent absence over pupil-years with at least 190 possible sessions; exclusions per 100
    pupil-years (sessions on roll / 380); label rates over uncensored examples (first of each
    month for "all", known dates of exclusions, police contacts and A&E visits for
    "triggered").
    """

    model_config = ConfigDict(frozen=True)

    out_dir: Path
    truth_dir: Path
    extract_date: date
    format: str
    rows: dict[str, int]
    truth_rows: dict[str, int]
    seconds: float
    overall_absence: float
    unauthorised_absence: float
    persistent_absence: float
    suspensions_per_100: float
    permanent_exclusions_per_100: float
    label_rate_all: float
    label_rate_triggered: float
    oracle_label_rate_triggered: float

    @property
    def rates(self) -> dict[str, float]:
        """The headline rates, labelled for printing."""
        return {
            "overall absence (share of sessions)": self.overall_absence,
            "unauthorised absence (share of sessions)": self.unauthorised_absence,
            "persistent absence (share of pupil-years)": self.persistent_absence,
            "suspensions per 100 pupils a year": self.suspensions_per_100,
            "permanent exclusions per 100 pupils a year": self.permanent_exclusions_per_100,
            "recorded label rate, all young people (per year)": self.label_rate_all,
            "recorded label rate, triggered examples": self.label_rate_triggered,
            "oracle mean p_label_recorded, triggered examples": self.oracle_label_rate_triggered,
        }


def _is_within(inner: Path, outer: Path) -> bool:
    return inner == outer or outer in inner.parents


def programme_effects(config: SyntheticConfig) -> dict[str, dict[str, float]]:
    """Every programme's true multipliers, as ``truth.json`` records them (a programme without
    its own setting has the county-wide ``1 - support_effect_*``)."""
    return {
        name: {"serious_violence": sv, "incidents": inc}
        for name, (sv, inc) in zip(PROGRAMME_NAMES, config.effect_multipliers(), strict=True)
    }


def check_request(config: SyntheticConfig, out_dir: Path, truth_dir: Path, fmt: str) -> None:
    """Raise :class:`SyntheticConfigError` listing every problem with a generation request.

    Parameters
    ----------
    config
        The generator options.
    out_dir, truth_dir
        The folders to create (each must not exist or be empty; the truth never inside the data).
    fmt
        ``"parquet"`` or ``"csv"``.
    """
    problems = config.problems()
    if fmt not in ("parquet", "csv"):
        problems.append(f"format {fmt!r} is not supported: use parquet or csv")
    out, truth = out_dir.resolve(), truth_dir.resolve()
    for label, path in (("out_dir", out), ("truth_dir", truth)):
        if path.exists() and not path.is_dir():
            problems.append(f"{label} {path} exists and is not a folder: choose a new folder")
        elif path.is_dir() and any(path.iterdir()):
            problems.append(
                f"{label} {path} exists and is not empty: choose a new folder or empty it first "
                "(the generator never overwrites files)"
            )
    if _is_within(truth, out):
        problems.append(
            f"truth_dir {truth} is out_dir or inside it: the truth must never be shipped with "
            f"the data; choose a folder beside it, e.g. {out.with_name(out.name + '-truth')}"
        )
    elif _is_within(out, truth):
        problems.append(
            f"out_dir {out} is inside truth_dir {truth}: keep the data and the truth in "
            "separate folders side by side"
        )
    if problems:
        raise SyntheticConfigError(
            "cannot generate the synthetic county:\n- " + "\n- ".join(problems)
        )


def _count(table: pa.Table, column: str, value: str) -> int:
    return int(pc.sum(pc.equal(table[column], value)).as_py() or 0)


def _manifest(
    config: SyntheticConfig, files: dict[str, tuple[Path, int]], refreshed: dict[str, date]
) -> dict[str, Any]:
    return {
        "contract_version": CONTRACT_VERSION,
        "extract_date": config.end_date.isoformat(),
        "generator": {
            "name": GENERATOR_NAME,
            "seed": config.seed,
            "people": config.people,
            "years": config.years,
            "measurement_bias": config.measurement_bias,
        },
        "tables": {
            name: {
                "file": path.name,
                "rows": rows,
                "refreshed": refreshed[name].isoformat(),
                "sha256": file_sha256(path),
            }
            for name, (path, rows) in files.items()
        },
    }


def generate_county(
    config: SyntheticConfig,
    *,
    out_dir: Path,
    truth_dir: Path,
    fmt: Format = "parquet",
    progress: Progress | None = None,
) -> GenerationSummary:
    """Generate a synthetic county: contract-v1 data in ``out_dir``, its truth in ``truth_dir``.

    Both folders are written into hidden temporary siblings and renamed at the end, so a
    failure or an interrupt never leaves a half-written folder. The same ``config`` and ``fmt``
    give byte-identical files.

    Parameters
    ----------
    config
        The generator options (see :class:`SyntheticConfig`).
    out_dir
        The data folder to create: must not exist or be empty.
    truth_dir
        The truth folder to create: must not exist or be empty, and must not be ``out_dir`` or
        inside it.
    fmt
        Format of the data files: ``"parquet"`` (default) or ``"csv"``. Truth files are
        always Parquet.
    progress
        Called as ``progress(stage, done, total)`` as work proceeds.

    Returns
    -------
    GenerationSummary
        Rows per table, time taken and headline rates.

    Raises
    ------
    SyntheticConfigError
        When an option or a folder is unusable (nothing is written then).

    Examples
    --------
    >>> from pathlib import Path
    >>> config = SyntheticConfig(people=2_000, years=3, seed=7)
    >>> summary = generate_county(config, out_dir=Path("county"),
    ...                           truth_dir=Path("county-truth"))  # doctest: +SKIP
    >>> summary.rates["overall absence (share of sessions)"]  # doctest: +SKIP
    0.067...
    """
    started = time.perf_counter()
    check_request(config, out_dir, truth_dir, fmt)
    report: Progress = progress if progress is not None else (lambda _s, _d, _t: None)
    window = make_window(config.end_date, config.years)
    ext = "csv" if fmt == "csv" else "parquet"
    with atomic_folders(out_dir, truth_dir) as (out_tmp, truth_tmp):
        report("Drawing the population", 0, 1)
        pop = build_population(config, window)
        report("Drawing the population", 1, 1)
        writers = {
            "attendance": TableWriter(out_tmp / f"attendance.{ext}", ATTENDANCE_SCHEMA, fmt),
            "latent": TableWriter(truth_tmp / "latent.parquet", LATENT_SCHEMA, "parquet"),
            "risk": TableWriter(truth_tmp / "risk.parquet", RISK_SCHEMA, "parquet"),
        }
        tables: dict[str, list[pa.Table]] = {name: [] for name in EVENT_TABLES}
        truth: dict[str, list[pa.Table]] = {
            "outcomes": [],
            "incidents": [],
            "potential_outcomes": [],
        }
        alternative = np.zeros(pop.n, dtype=np.bool_)
        att_stats = AttendanceStats(0, 0, 0, 0, 0, 0)
        labels = LabelStats()
        try:
            for chunk, lo in enumerate(range(0, pop.n, CHUNK_PEOPLE)):
                hi = min(pop.n, lo + CHUNK_PEOPLE)
                out = simulate_chunk(config, window, pop, chunk, lo, hi)
                writers["attendance"].write(out.attendance)
                writers["latent"].write(out.truth["latent"])
                writers["risk"].write(out.truth["risk"])
                for name in EVENT_TABLES:
                    tables[name].append(out.tables[name])
                for name in truth:
                    truth[name].append(out.truth[name])
                alternative[lo:hi] = out.alternative_provision
                att_stats = att_stats + out.attendance_stats
                labels = labels + out.labels
                report("Simulating young people", hi, pop.n)
        finally:
            for writer in writers.values():
                writer.close()

        report("Writing tables", 0, len(EVENT_TABLES) + 1)
        files: dict[str, tuple[Path, int]] = {}
        people_path = out_tmp / f"people.{ext}"
        files["people"] = (
            people_path,
            write_table(people_path, people_table(pop, window, alternative), fmt),
        )
        files["attendance"] = (writers["attendance"].path, writers["attendance"].rows)
        merged = {name: pa.concat_tables(parts) for name, parts in tables.items()}
        for i, name in enumerate(EVENT_TABLES):
            path = out_tmp / f"{name}.{ext}"
            files[name] = (path, write_table(path, merged[name], fmt))
            report("Writing tables", i + 1, len(EVENT_TABLES) + 1)
        order = ("people", "attendance", *EVENT_TABLES)
        files = {name: files[name] for name in order}
        refreshed = dict.fromkeys(order, config.end_date)
        refreshed["ae_visits"] = ae_refreshed_on(config.end_date, config.ae_refresh_day)
        write_json(out_tmp / MANIFEST_NAME, _manifest(config, files, refreshed))

        truth_rows = {
            "people": write_table(
                truth_tmp / "people.parquet", truth_people(pop, window), "parquet"
            ),
            "latent": writers["latent"].rows,
            "risk": writers["risk"].rows,
        }
        for name, parts in truth.items():
            truth_rows[name] = write_table(
                truth_tmp / f"{name}.parquet", pa.concat_tables(parts), "parquet"
            )
        truth_files = sorted(p for p in truth_tmp.iterdir() if p.suffix == ".parquet")
        write_json(
            truth_tmp / "truth.json",
            {
                "config": config.model_dump(mode="json"),
                "programme_effects": programme_effects(config),
                "referral_latent_risk": config.referral_latent_risk,
                "files": {p.name: file_sha256(p) for p in truth_files},
                "window": {"start": window.start.isoformat(), "end": window.end.isoformat()},
            },
        )
        report("Writing tables", len(EVENT_TABLES) + 1, len(EVENT_TABLES) + 1)

    pupil_years = att_stats.on_roll / (2 * SCHOOL_DAYS_PER_YEAR)
    excl = merged["exclusions"]

    def ratio(num: float, den: float) -> float:
        return float(num / den) if den else float("nan")

    return GenerationSummary(
        out_dir=out_dir,
        truth_dir=truth_dir,
        extract_date=config.end_date,
        format=fmt,
        rows={name: rows for name, (_, rows) in files.items()},
        truth_rows=truth_rows,
        seconds=time.perf_counter() - started,
        overall_absence=ratio(att_stats.absent, att_stats.possible),
        unauthorised_absence=ratio(att_stats.unauthorised, att_stats.possible),
        persistent_absence=ratio(att_stats.persistent, att_stats.pupil_years),
        suspensions_per_100=ratio(100 * _count(excl, "kind", "suspension"), pupil_years),
        permanent_exclusions_per_100=ratio(100 * _count(excl, "kind", "permanent"), pupil_years),
        label_rate_all=ratio(labels.all_positive, labels.all_examples),
        label_rate_triggered=ratio(labels.triggered_positive, labels.triggered_examples),
        oracle_label_rate_triggered=ratio(labels.triggered_oracle, labels.triggered_examples),
    )
