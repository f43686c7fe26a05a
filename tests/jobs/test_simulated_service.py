"""The two traps of the monitoring issue, on a simulated service of the session's county.

The package's trained version (``monitored``: trained to 2024-12-31, calibrated to 2025-06-30,
its reference fixed) is put in service from its training end to 2025-05-31 by ``vru simulate
service``'s job; ``vru monitor`` then runs on the new extract as of 2026-07-15, when the service's
months up to May 2025 have matured (365 days plus the 31-day label lag).

(a) The allocation trap: the service's realised precision on moments not given support is well
below the training's top-k figure (the monthly top-40 list chosen in hindsight), because the daily
allocation and the moments above the floor with no place are not a top-k list. Held to the floor
drawn from that figure (``relative_floor`` x top-k), as a naive monitor would hold it, it is below
and suspension would be recommended; ``vru monitor`` holds each month to what the model expects of
the same moments and recommends nothing. (On 10,000 young people a month's interval is wide: the
naive comparison is made on the matured months' realised precision itself.)

(b) The support trap: an effective programme (every referral taken up, a year's support that
prevents every serious-violence involvement) makes the supported moments' outcomes rarer than
they were without it, and the precision of all flags falls below the floor; ``vru monitor``
judges precision and calibration on the moments not given support and recommends nothing.

Both monitoring runs may ask for a review (exit 4): as of mid-July the inputs drift against a
calibration window without July (docs/monitoring.md, "Known limits").
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from sqlalchemy import func, select

from tests.conftest import RunVru
from tests.jobs.evaluation_cases import (  # noqa: F401  (vru evaluate's tests, run on this service)
    evaluate,
    test_bad_requests_exit_2_and_write_nothing,
    test_no_matured_outcomes_says_when_they_will_be,
    test_reach_equals_a_hand_count_of_the_database,
    test_small_numbers_say_no_evidence_yet_with_the_months_needed,
    test_the_smoke_run_reports_reach_and_effects_in_aggregates_only,
)
from vru_risk.cli.common import state
from vru_risk.jobs.simulate import SimulateRequest, SimulateResult, simulate_service
from vru_risk.models.registry import Registry
from vru_risk.models.tags import PARENT_RUN_TAG
from vru_risk.monitoring.criteria import MonitoringCriteria
from vru_risk.monitoring.outcomes import rate
from vru_risk.monitoring.verdict import precision_findings
from vru_risk.settings import Settings
from vru_risk.simulation.config import ServiceConfig
from vru_risk.store import make_engine, session_factory
from vru_risk.store.models import DecisionRow, FlagRow, User

SERVICE_END = date(2025, 5, 31)
AS_OF = date(2026, 7, 15)
MATURED_END = "2025-05"  # the last month whose outcomes have matured by AS_OF
PROGRAMMES = ("jump_start", "early_intervention", "school_inclusion", "admit_ae")


def simulate(
    monitored: tuple[Settings, int], county: Path, root: Path, config: ServiceConfig
) -> tuple[Settings, SimulateResult]:
    settings, version = monitored
    own = settings.model_copy(update={"database_url": f"sqlite:///{root / 'app.db'}"})
    request = SimulateRequest(
        data_dir=county / "data",
        truth_dir=county / "truth",
        out=root / "data",
        version=version,
        end=SERVICE_END,
        config=config,
    )
    return own, simulate_service(own, request)


def monitor(
    vru: RunVru, settings: Settings, version: int, data: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[int, dict[str, object]]:
    """``vru monitor`` on ``data`` with the simulation's database; its exit code and report."""
    assert settings.database_url is not None
    monkeypatch.setenv("VRU_DATABASE_URL", settings.database_url)
    state.settings = None
    run = vru("monitor", "--version", version, "--data", data, "--as-of", AS_OF)
    assert run.code in (0, 3, 4), run.output
    folder = settings.home / "monitoring" / f"vru-risk-v{version}" / AS_OF.isoformat()
    report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    assert report["verdict"]["exit_code"] == run.code
    return run.code, report


def suspensions(report: dict[str, object]) -> list[str]:
    verdict = report["verdict"]
    assert isinstance(verdict, dict)
    return [f["criterion"] for f in verdict["findings"] if f["level"] == "suspension_recommended"]


def one_window(criteria: MonitoringCriteria) -> MonitoringCriteria:
    """The criteria with the matured months judged as one window (pooled: more moments, a
    narrower interval than any one month's)."""
    return criteria.model_copy(
        update={"precision": criteria.precision.model_copy(update={"matured_windows": 1})}
    )


def cached_table(settings: Settings, report: dict[str, object]) -> pd.DataFrame:
    """The feature table monitoring built for the report's data folder (labels included)."""
    data = report["data"]
    assert isinstance(data, dict)
    [path] = (settings.home / "features").glob(f"*-{data['fingerprint']}.parquet")
    return keyed(pd.read_parquet(path, columns=["person_id", "as_of", "label_serious_violence"]))


def keyed(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.assign(
        person_id=frame["person_id"].astype(str), as_of=pd.to_datetime(frame["as_of"]).dt.date
    )
    return out.set_index(["person_id", "as_of"])


@pytest.fixture(scope="module")
def service(realistic: tuple[Settings, SimulateResult]) -> tuple[Settings, SimulateResult]:
    """The realistic service, as ``vru evaluate``'s tests (evaluation_cases.py) name it."""
    return realistic


@pytest.fixture(scope="module")
def realistic(
    monitored: tuple[Settings, int], county: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Settings, SimulateResult]:
    """The service with the default simulated practitioners and the county's own programmes."""
    return simulate(monitored, county, tmp_path_factory.mktemp("realistic"), ServiceConfig())


def test_a_healthy_model_is_not_recommended_for_suspension_for_the_allocation_rule(
    vru: RunVru,
    in_home: Settings,
    monitored: tuple[Settings, int],
    realistic: tuple[Settings, SimulateResult],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings, result = realistic
    version = monitored[1]
    code, report = monitor(vru, settings, version, result.out, monkeypatch)
    assert code != 3 and suspensions(report) == []
    outcomes = report["checks"]["outcomes"]  # type: ignore[index]
    assert outcomes["matured_months"][-1] == MATURED_END
    precision = outcomes["precision"]
    unsupported = precision["unsupported"]
    # the training's top-k figure: a metric of its run (a version whose figures replay the
    # allocation is tagged with those, not with the hindsight bound)
    info = Registry(settings.tracking_uri).version(version)
    training_run = MlflowClient(settings.tracking_uri).get_run(info.tags[PARENT_RUN_TAG])
    top_k = training_run.data.metrics["lightgbm_hindsight_precision_at_capacity"]
    criteria = MonitoringCriteria()
    naive_floor = criteria.precision.floor(top_k)
    assert naive_floor is not None
    # well below the training's figure: a naive monitor, holding the realised precision to the
    # floor the criteria draw from that figure, would recommend suspension
    realised = unsupported["precision"]["value"]
    assert realised < naive_floor and realised / top_k < criteria.precision.relative_floor
    # monitoring holds each month to what the model expects of those same moments
    months = [m for m in precision["by_month"] if m["unsupported"]["moments"] >= 50]
    assert len(months) >= 4 and all(m["floor"] < naive_floor for m in months)
    # the monitor's replay of the allocation finds the service's flags (the few it does not:
    # moments whose trigger the service's own support prevented)
    flags = pd.read_parquet(result.record_dir / "decisions.parquet", columns=["flag_id", "as_of"])
    made = flags.drop_duplicates("flag_id")
    served = sum(1 for d in made["as_of"] if str(d)[:7] <= MATURED_END)
    assert abs(precision["offered"] - served) <= 0.05 * served


def test_support_that_works_is_not_taken_for_a_failing_model(
    vru: RunVru,
    in_home: Settings,
    monitored: tuple[Settings, int],
    county: Path,
    county_features: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    effective = ServiceConfig(
        agreement=1.0,
        undecided=0.0,
        take_up=1.0,
        support_effect=1.0,
        durations=dict.fromkeys(PROGRAMMES, (365, 365)),
    )
    settings, result = simulate(monitored, county, tmp_path, effective)
    assert result.summary["prevented_involvements"] > 100
    code, report = monitor(vru, settings, monitored[1], result.out, monkeypatch)
    assert code != 3 and suspensions(report) == []
    precision = report["checks"]["outcomes"]["precision"]  # type: ignore[index]
    # the supported moments' outcomes: rarer than they were without the service's support
    offers = pd.read_parquet(result.record_dir / "decisions.parquet")
    offers["as_of"] = pd.to_datetime(offers["as_of"]).dt.date
    matured = offers[[str(d)[:7] <= MATURED_END for d in offers["as_of"]]]
    flagged = matured.drop_duplicates(["person_id", "as_of"]).set_index(["person_id", "as_of"])
    supported = matured[matured["support_start"].notna()]
    keys = pd.MultiIndex.from_frame(supported[["person_id", "as_of"]].drop_duplicates())
    before = keyed(
        pd.read_parquet(county_features, columns=["person_id", "as_of", "label_serious_violence"])
    )
    after = cached_table(settings, report)
    was = before.loc[keys, "label_serious_violence"].dropna()
    now = after.reindex(keys)["label_serious_violence"].dropna()
    assert len(was) > 50 and now.mean() < 0.5 * was.mean()
    assert precision["supported"]["precision"]["value"] < 0.5 * was.mean()
    # every flag, supported or not, judged as a naive monitor would: below the floor
    labels = after.reindex(flagged.index)["label_serious_violence"].to_numpy(dtype="float64")
    people = flagged.index.get_level_values("person_id").to_numpy()
    all_flags = rate(labels, np.ones(len(labels), dtype=bool), people)
    expected = precision["expected_precision"]
    criteria = MonitoringCriteria()
    floor = criteria.precision.floor(expected)
    value, high = all_flags.precision.value, all_flags.precision.high
    assert floor is not None and value is not None and high is not None
    assert value < floor
    window = ("flags", value, high, all_flags.moments)
    assert [f.criterion for f in precision_findings([window], expected, one_window(criteria))] == [
        "precision_floor"
    ]
    # monitoring judged the moments not given support, and left the supported out of calibration
    outcomes = report["checks"]["outcomes"]  # type: ignore[index]
    assert outcomes["supported_left_out"] >= len(keys)
    assert precision["unsupported"]["moments"] > 200


def test_the_service_is_in_the_new_extract_and_the_database(
    realistic: tuple[Settings, SimulateResult], county: Path
) -> None:
    settings, result = realistic
    s = result.summary
    assert s["months"][0] == "2024-12" and s["months"][-1] == "2025-05"
    manifest = json.loads((result.out / "manifest.json").read_text(encoding="utf-8"))
    original = json.loads((county / "data" / "manifest.json").read_text(encoding="utf-8"))
    change = {
        t: manifest["tables"][t]["rows"] - original["tables"][t]["rows"] for t in original["tables"]
    }
    assert change == {
        "people": 0,
        "attendance": 0,
        "exclusions": 0,
        "police_contacts": -s["police_contacts_removed"],
        "ae_visits": -s["ae_visits_removed"],
        "interventions": s["interventions_added"],
    }
    assert s["prevented_involvements"] > 0 and s["police_contacts_removed"] > 0
    assert manifest["provenance"]["model_version"] == result.version
    assert manifest["tables"]["attendance"]["sha256"] == original["tables"]["attendance"]["sha256"]
    decided = sum(v for k, v in s["decisions"].items() if k != "undecided")
    assert 0.5 < s["decisions"]["referred"] / decided < 0.7  # agreement 0.6
    assert (
        s["interventions_added"]
        <= s["support_started"]
        <= s["taken_up"]
        < s["decisions"]["referred"]
    )
    assert (
        result.stored.decisions_recorded == decided and result.stored.flags_inserted == s["flags"]
    )
    assert settings.database_url is not None
    engine = make_engine(settings.database_url)
    try:
        with session_factory(engine)() as session:
            assert session.scalar(select(func.count()).select_from(FlagRow)) == s["flags"]
            names = set(session.scalars(select(User.username)))
            assert names == {f"sim-{p.replace('_', '-')}" for p in PROGRAMMES}
            rows = session.execute(
                select(DecisionRow.created_at, FlagRow.as_of, DecisionRow.username).join(
                    FlagRow, FlagRow.flag_id == DecisionRow.flag_id
                )
            ).all()
    finally:
        engine.dispose()
    assert len(rows) == decided
    waited = [(made.date() - as_of).days for made, as_of, _ in rows]
    assert min(waited) == 0 and max(waited) == 14  # decided within two weeks of the flag
    assert {u for _, _, u in rows} <= names
