"""The synthetic generator: contract conformance, determinism, atomic folders, the oracle."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from vru_risk.data.contract import MAX_SUSPENSION_DAYS, TABLES, Kind
from vru_risk.data.synthetic import (
    GenerationSummary,
    SyntheticConfig,
    SyntheticConfigError,
    generate_county,
    model,
    oracle_probabilities,
)
from vru_risk.data.synthetic.calendar import make_window, school_days_of_year
from vru_risk.data.synthetic.support import PROGRAMMES
from vru_risk.data.validate import validate_folder

EXTRACT = date(2026, 8, 31)
DATA_TABLES = (
    "people",
    "attendance",
    "exclusions",
    "police_contacts",
    "ae_visits",
    "interventions",
)
TRUTH_FILES = {"people", "latent", "risk", "outcomes", "incidents", "potential_outcomes"}
ARROW = {
    Kind.STRING: pa.string(),
    Kind.CATEGORY: pa.string(),
    Kind.DATE: pa.date32(),
    Kind.DATETIME: pa.timestamp("us"),
    Kind.BOOL: pa.bool_(),
    Kind.FLOAT: pa.float64(),
    Kind.INT: pa.int32(),
}


def hashes(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, GenerationSummary]:
    root = tmp_path_factory.mktemp("county")
    summary = generate_county(
        SyntheticConfig(people=2_500, years=3), out_dir=root / "data", truth_dir=root / "truth"
    )
    return root / "data", root / "truth", summary


def read(folder: Path, name: str) -> pd.DataFrame:
    """Read a Parquet file with dates as datetime64 columns."""
    frame: pd.DataFrame = pq.read_table(folder / f"{name}.parquet").to_pandas(date_as_object=False)
    return frame


# --- determinism ----------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_same_options_give_identical_bytes(tmp_path: Path, fmt: Literal["parquet", "csv"]) -> None:
    config = SyntheticConfig(people=300, years=2, seed=5)
    runs = []
    for i in range(2):
        out, truth = tmp_path / f"d{i}", tmp_path / f"t{i}"
        generate_county(config, out_dir=out, truth_dir=truth, fmt=fmt)
        runs.append((hashes(out), hashes(truth)))
    assert runs[0] == runs[1]
    assert len(runs[0][0]) == 7 and all(name.endswith((f".{fmt}", ".json")) for name in runs[0][0])


def test_another_seed_gives_another_county(tmp_path: Path) -> None:
    a = generate_county(SyntheticConfig(people=150, years=1, seed=1), out_dir=tmp_path / "a",
                        truth_dir=tmp_path / "at")  # fmt: skip
    b = generate_county(SyntheticConfig(people=150, years=1, seed=2), out_dir=tmp_path / "b",
                        truth_dir=tmp_path / "bt")  # fmt: skip
    assert hashes(a.out_dir)["people.parquet"] != hashes(b.out_dir)["people.parquet"]


# --- refusals and atomicity ------------------------------------------------------------------
def test_non_empty_out_dir_is_refused_and_left_alone(tmp_path: Path) -> None:
    out = tmp_path / "data"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(SyntheticConfigError, match="not empty"):
        generate_county(SyntheticConfig(people=100, years=1), out_dir=out, truth_dir=tmp_path / "t")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


@pytest.mark.parametrize("truth", ["data", "data/truth", "data/a/b"])
def test_truth_inside_the_data_folder_is_refused(tmp_path: Path, truth: str) -> None:
    with pytest.raises(SyntheticConfigError, match="truth must never be shipped"):
        generate_county(
            SyntheticConfig(people=100, years=1),
            out_dir=tmp_path / "data",
            truth_dir=tmp_path / truth,
        )
    assert list(tmp_path.iterdir()) == []


def test_data_inside_the_truth_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SyntheticConfigError, match="inside truth_dir"):
        generate_county(SyntheticConfig(people=100, years=1), out_dir=tmp_path / "t" / "data",
                        truth_dir=tmp_path / "t")  # fmt: skip
    assert list(tmp_path.iterdir()) == []


def test_every_option_problem_is_listed_at_once(tmp_path: Path) -> None:
    config = SyntheticConfig(people=50, years=0, seed=-1)
    with pytest.raises(SyntheticConfigError) as err:
        generate_county(config, out_dir=tmp_path / "d", truth_dir=tmp_path / "t")
    message = str(err.value)
    assert "people is 50" in message and "years is 0" in message and "seed is -1" in message
    assert isinstance(err.value, ValueError)
    assert list(tmp_path.iterdir()) == []


def test_recording_probabilities_above_one_are_refused() -> None:
    config = SyntheticConfig.model_validate(
        {"stop_search_recording": 0.5, "exclusion_multipliers": {"ethnicity": {"purple": 2.0}}}
    )
    problems = config.problems()
    assert any("stop_search_recording" in p and "> 1" in p for p in problems)
    assert any("unknown group 'purple'" in p for p in problems)


@pytest.mark.parametrize("interrupt", [KeyboardInterrupt, RuntimeError])
def test_an_interrupted_run_leaves_nothing(tmp_path: Path, interrupt: type[BaseException]) -> None:
    def progress(stage: str, done: int, total: int) -> None:
        if stage.startswith("Simulating"):
            raise interrupt("stop")

    with pytest.raises(interrupt):
        generate_county(SyntheticConfig(people=300, years=1), out_dir=tmp_path / "data",
                        truth_dir=tmp_path / "truth", progress=progress)  # fmt: skip
    assert list(tmp_path.iterdir()) == []


def test_an_existing_empty_out_dir_is_used(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    calls: list[tuple[str, int, int]] = []
    summary = generate_county(
        SyntheticConfig(people=100, years=1),
        out_dir=tmp_path / "data",
        truth_dir=tmp_path / "truth",
        progress=lambda s, d, t: calls.append((s, d, t)),
    )
    assert (tmp_path / "data" / "manifest.json").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "truth"]
    assert calls[-1][1] == calls[-1][2] and all(0 <= d <= t for _, d, t in calls)
    assert summary.rows["people"] == 100 and summary.seconds > 0


# --- the data folder follows the contract ------------------------------------------------------
def test_the_contract_validator_accepts_the_county(
    county: tuple[Path, Path, GenerationSummary],
) -> None:
    data, _, _ = county
    report = validate_folder(data, today=date(2026, 9, 1))
    assert report.ok, [p.render() for p in report.problems]
    assert report.extract_date == EXTRACT


def test_files_columns_types_and_categories(county: tuple[Path, Path, GenerationSummary]) -> None:
    data, truth, summary = county
    assert {p.name for p in data.iterdir()} == {f"{t}.parquet" for t in DATA_TABLES} | {
        "manifest.json"
    }
    assert {p.stem for p in truth.glob("*.parquet")} == TRUTH_FILES
    for name in DATA_TABLES:
        table = pq.read_table(data / f"{name}.parquet")
        spec = TABLES[name]
        assert table.schema.names == list(spec.column_names), name
        for col in spec.columns:
            assert table.schema.field(col.name).type == ARROW[col.kind], (name, col.name)
            values = table[col.name]
            if not col.nullable:
                assert values.null_count == 0, (name, col.name)
            if col.categories:
                assert set(values.drop_null().to_pylist()) <= set(col.categories), (name, col.name)
        frame = table.to_pandas()
        assert not frame.duplicated(list(spec.key)).any(), name
        assert frame[list(spec.key)].equals(frame.sort_values(list(spec.key))[list(spec.key)]), name
        assert summary.rows[name] == len(frame)
    people = read(data, "people")
    assert people["person_id"].str.fullmatch(r"P\d{7}").all()
    hospitals = set(read(data, "ae_visits")["hospital"])
    assert {"Musgrove Park", "Yeovil District"} < hospitals
    assert set(read(data, "interventions")["programme"]) <= {p.name for p in PROGRAMMES}


def test_the_manifest(county: tuple[Path, Path, GenerationSummary]) -> None:
    data, _, _ = county
    text = (data / "manifest.json").read_text(encoding="utf-8")
    manifest = json.loads(text)
    assert text == json.dumps(manifest, sort_keys=True, indent=2) + "\n"
    assert manifest["contract_version"] == "1" and manifest["extract_date"] == "2026-08-31"
    assert manifest["generator"] == {"name": "vru-risk synthetic", "seed": 0, "people": 2500,
                                     "years": 3, "measurement_bias": True}  # fmt: skip
    for name, entry in manifest["tables"].items():
        path = data / entry["file"]
        assert entry["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        assert entry["rows"] == pq.read_metadata(path).num_rows
        assert date.fromisoformat(entry["refreshed"]) <= EXTRACT
        if name != "people":
            known = read(data, name)["known_date"]
            assert (known.dt.date <= date.fromisoformat(entry["refreshed"])).all(), name
    assert manifest["tables"]["ae_visits"]["refreshed"] == "2026-08-05"


EVENT_DATES = {
    "attendance": "date",
    "exclusions": "start_date",
    "police_contacts": "date",
    "ae_visits": "arrival",
    "interventions": "start_date",
}


def test_events_are_dated_within_life_area_and_extract(
    county: tuple[Path, Path, GenerationSummary],
) -> None:
    data, _, _ = county
    people = read(data, "people").set_index("person_id")
    extract = pd.Timestamp(EXTRACT)
    for name, column in EVENT_DATES.items():
        frame = read(data, name)
        day = frame[column].dt.floor("D")
        birth = people.loc[frame["person_id"], "birth_date"].to_numpy()
        left = people.loc[frame["person_id"], "left_area_date"].to_numpy()
        assert (day.to_numpy() > birth).all(), name
        assert (day <= extract).all() and (frame["known_date"] <= extract).all(), name
        assert (frame["known_date"] >= day).all(), name
        assert not (day.to_numpy() >= left).any(), name
    police = read(data, "police_contacts")
    decided = police["outcome_known_date"].notna()
    assert (police.loc[decided, "outcome_known_date"] >= police.loc[decided, "date"]).all()
    assert (
        police.loc[decided, "outcome"]
        .isin(["nfa", "community_resolution", "caution", "charge"])
        .all()
    )
    assert (
        police.loc[~decided, "outcome"].isna() | (police.loc[~decided, "outcome"] == "unknown")
    ).all()
    assert (police["outcome_known_date"].dropna() <= extract).all()


def test_exclusions_and_registers_agree(county: tuple[Path, Path, GenerationSummary]) -> None:
    data, _, _ = county
    excl = read(data, "exclusions")
    susp = excl[excl["kind"] == "suspension"]
    assert susp["days"].between(0.5, MAX_SUSPENSION_DAYS).all()
    assert excl.loc[excl["kind"] == "permanent", "days"].isna().all()
    year = susp["start_date"].dt.year - (susp["start_date"].dt.month < 9)
    assert susp.groupby([susp["person_id"], year])["days"].sum().max() <= MAX_SUSPENSION_DAYS
    assert (excl[excl["kind"] == "permanent"].groupby("person_id").size() == 1).all()
    att = read(data, "attendance")
    first = susp.merge(att, left_on=["person_id", "start_date"], right_on=["person_id", "date"])
    first = first[(first["session"] == "pm") | (first["days"] % 1 == 0)]
    assert (first["status"] == "excluded").all()


def test_registers_follow_the_school_calendar(county: tuple[Path, Path, GenerationSummary]) -> None:
    data, _, _ = county
    att = read(data, "attendance")
    days = pd.to_datetime(pd.Series(att["date"].unique()))
    assert (days.dt.day_of_week < 5).all()
    per_year = days.groupby(days.dt.year - (days.dt.month < 9)).size()
    assert (per_year == 190).all()
    assert len(school_days_of_year(2025)) == 190
    assert (att.groupby(["person_id", "date"]).size() == 2).all()
    people = read(data, "people").set_index("person_id")
    birth = people.loc[att["person_id"], "birth_date"]
    aby = birth.dt.year.to_numpy() - (birth.dt.month.to_numpy() < 9)
    year = att["date"].dt.year.to_numpy() - (att["date"].dt.month.to_numpy() < 9)
    ncy = year - aby - 5
    assert ncy.min() == 3 and ncy.max() == 11


def test_the_window_and_calendar() -> None:
    window = make_window(EXTRACT, 6)
    assert window.start == date(2020, 9, 1) and window.n_months == 72
    assert len(window.school_days) == 6 * 190
    partial = make_window(date(2026, 3, 15), 2)
    assert partial.start == date(2024, 9, 1) and 190 < len(partial.school_days) < 380


# --- the truth and the oracle ------------------------------------------------------------------
def test_truth_is_complete_and_consistent(county: tuple[Path, Path, GenerationSummary]) -> None:
    data, truth, summary = county
    people, latent = read(truth, "people"), read(truth, "latent")
    assert len(people) == 2500 and len(latent) == 2500 * 36
    assert people["fsm"].notna().all() and people["imd_decile"].notna().all()
    recorded = read(data, "people")
    known = recorded["fsm"].notna()
    assert (recorded.loc[known, "fsm"] == people.loc[known, "fsm"]).all()
    outcomes = read(truth, "outcomes")
    assert (outcomes["recorded"] == (outcomes["recorded_police"] | outcomes["recorded_ae"])).all()
    assert not (outcomes["in_extract"] & ~outcomes["recorded"]).any()
    incidents = read(truth, "incidents")
    assert set(incidents["source"]) == {"police_suspect", "stop_search", "exclusion"}
    risk = read(truth, "risk")
    assert risk["p_label_recorded"].between(0, 1).all()
    assert (risk["p_label_recorded"] <= risk["p_involvement"] + 1e-12).all()
    assert not risk.duplicated(["person_id", "as_of"]).any()
    assert (risk["is_month_start"] | risk["is_trigger"]).all()
    assert summary.truth_rows["risk"] == len(risk)


def test_oracle_reproduces_the_risk_file(county: tuple[Path, Path, GenerationSummary]) -> None:
    _, truth, _ = county
    risk = read(truth, "risk")
    pairs = risk.sample(5_000, random_state=0)[["person_id", "as_of"]]
    out = oracle_probabilities(read(truth, "latent"), read(truth, "people"), pairs)
    expected = risk.loc[pairs.index]
    assert out["person_id"].tolist() == expected["person_id"].tolist()
    assert np.allclose(out["p_label_recorded"], expected["p_label_recorded"], rtol=0, atol=1e-12)
    assert np.allclose(out["p_involvement"], expected["p_involvement"], rtol=0, atol=1e-12)


def test_oracle_takes_any_day_and_refuses_unknown_months(
    county: tuple[Path, Path, GenerationSummary],
) -> None:
    _, truth, _ = county
    latent, people = read(truth, "latent"), read(truth, "people")
    pid = people["person_id"].iloc[0]
    pairs = pd.DataFrame({"person_id": [pid, pid], "as_of": ["2025-02-17", "2025-02-18"]})
    out = oracle_probabilities(latent, people, pairs)
    assert out["p_label_recorded"].between(0, 1).all()
    shorter = oracle_probabilities(latent, people, pairs, horizon_days=90)
    assert (shorter["p_involvement"] <= out["p_involvement"]).all()
    with pytest.raises(ValueError, match="no latent state"):
        oracle_probabilities(
            latent, people, pd.DataFrame({"person_id": [pid], "as_of": ["2030-01-01"]})
        )


def test_oracle_agrees_with_a_monte_carlo_of_the_future(
    county: tuple[Path, Path, GenerationSummary],
) -> None:
    """The oracle's quadrature against 4,000 simulated future latent paths, typical and riskiest."""
    _, truth, _ = county
    risk = read(truth, "risk")
    people = read(truth, "people").set_index("person_id")
    latent = read(truth, "latent").set_index(["person_id", "month"])["latent"]
    ranked = risk.sort_values("p_involvement")
    sample = pd.concat([ranked.iloc[-30:], risk.sample(30, random_state=2)])
    rng = np.random.default_rng(1)
    paths, horizon = 4_000, 15
    for row in sample.itertuples():
        p = people.loc[row.person_id]
        as_of = np.datetime64(row.as_of, "D").astype(np.int64)
        birth = np.datetime64(p["birth_date"], "D").astype(np.int64)
        m0 = int(model.month_of_day(np.array([as_of]))[0])
        months = m0 + np.arange(horizon)
        first = np.maximum(model.month_start(months), as_of + 8)
        last = np.minimum(model.month_start(months + 1) - 1, as_of + 365)
        w = model.WEEKEND_WEIGHTS
        weight = np.where(
            last >= first,
            model.cumulative_weight(last + 1, w) - model.cumulative_weight(first, w),
            0,
        )
        mean = model.latent_mean(
            months,
            static=p["latent_static"],
            primary_effect=p["primary_school_effect"],
            secondary_effect=p["secondary_school_effect"],
            birth_day=birth,
            academic_birth_year=model.school_year(model.month_of_day(np.array([birth]))),
        )
        u = np.empty((paths, horizon))
        u[:, 0] = latent.loc[(row.person_id, pd.Timestamp(row.as_of).replace(day=1))] - mean[0]
        eps = rng.normal(0, model.LATENT_INNOVATION_SD, (paths, horizon))
        for k in range(1, horizon):
            u[:, k] = model.LATENT_RHO * u[:, k - 1] + eps[:, k]
        hazard = np.exp(
            model.sv_log_hazard(months, mean + u, sv_log_rate=p["sv_log_rate"], birth_day=birth)
        )
        total = (weight * hazard).sum(axis=1)
        mc_involvement = (1 - np.exp(-total)).mean()
        mc_recorded = (1 - np.exp(-p["sv_record_prob"] * total)).mean()
        assert abs(mc_involvement - row.p_involvement) < 0.012, row
        assert abs(mc_recorded - row.p_label_recorded) < 0.012, row


def test_summary_rates_are_plausible(county: tuple[Path, Path, GenerationSummary]) -> None:
    _, _, summary = county
    assert summary.extract_date == EXTRACT
    rates = summary.rates
    assert len(rates) == 8 and all(np.isfinite(v) for v in rates.values())
    assert 0.04 < summary.overall_absence < 0.1
    assert summary.label_rate_all < summary.label_rate_triggered
