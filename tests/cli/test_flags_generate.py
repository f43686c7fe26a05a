"""``vru flags generate`` end to end: only an approved model scores; every line is a Flag whose
reasons add up; the moments are materialised; bad requests are refused with what to do."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.conftest import RunVru
from tests.models.test_promotion import candidate, decide
from vru_risk.data.load import open_folder
from vru_risk.features.config import FeatureBuildConfig
from vru_risk.features.context import moment_context
from vru_risk.features.moments import build_moments, load_moments
from vru_risk.flags.eligibility import eligibility
from vru_risk.flags.flag import Flag
from vru_risk.flags.programmes import load_programmes
from vru_risk.jobs.data import generate_county as run_generate
from vru_risk.models.registry import Registry
from vru_risk.models.review_log import ReviewLog
from vru_risk.models.risk_model import RiskModel
from vru_risk.models.tags import SUSPENDED


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("flags-county")
    run_generate(
        out=root / "data",
        people=3000,
        years=3,
        end_date=date(2026, 3, 31),
        seed=2,
        fmt="parquet",
        truth_out=root / "truth",
        measurement_bias=True,
    )
    return root / "data"


def approved(vru_home: Path, model: RiskModel, tmp_path: Path) -> tuple[Registry, int]:
    registry = Registry(f"sqlite:///{vru_home / 'mlflow.db'}")
    log = ReviewLog(vru_home / "review_log.jsonl")
    version = candidate(registry, model, tmp_path, "pass")
    decide("approve", version, "panel-1", registry, log)
    return registry, version


def test_generate_writes_valid_explained_flags_of_the_approved_model(
    vru: RunVru,
    vru_home: Path,
    county: Path,
    deployable: RiskModel,
    open_programmes: Path,
    tmp_path: Path,
) -> None:
    registry, version = approved(vru_home, deployable, tmp_path)
    out = tmp_path / "flags" / "today.jsonl"
    result = vru(
        "flags",
        "generate",
        county,
        "--date",
        "2026-03-31",
        "--days",
        "60",
        "--out",
        out,
        "--programmes",
        open_programmes,
        "--top",
        "2",
    )
    assert result.code == 0, result.output
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines
    flags = [Flag.model_validate_json(line) for line in lines]
    content_hash = registry.version(version).tags["vru.content_hash"]
    for flag in flags:
        assert flag.scoring_model.version == version
        assert flag.scoring_model.content_hash == content_hash
        assert flag.shown_total == pytest.approx(flag.raw_score, abs=1e-9)
        assert any(p.status == "offered" for p in flag.programmes)
        assert flag.triggers and all(t.date <= flag.as_of for t in flag.triggers)
        assert "2026-01-31" <= flag.as_of.isoformat() <= "2026-03-31"
    assert "flag(s) written to" in result.stdout and "offers by programme" in result.stdout
    assert "the model's score" in result.stdout  # --top prints reasons
    assert "on 2026-03-31: places are spread across the" in result.stdout  # paced by default
    moments = load_moments(vru_home / "flags" / "moments-2026-03-31")
    assert {f.person_id for f in flags} <= set(moments.frame["person_id"])
    # capacity per month holds over the replayed days
    progs = load_programmes(open_programmes)
    for p in progs.programmes:
        per_period: dict[str, int] = {}
        for f in flags:
            for o in f.programmes:
                if o.programme == p.id and o.status == "offered":
                    key = p.period_start(f.as_of).isoformat()
                    per_period[key] = per_period.get(key, 0) + 1
        assert all(n <= p.capacity for n in per_period.values())
    # each offer records how its programme chose it; the pacing history is counts only
    for f in flags:
        for o in f.programmes:
            if o.status == "offered":
                assert o.policy == progs.by_id(o.programme).policy
                assert o.threshold is not None
                assert o.threshold >= progs.by_id(o.programme).min_percentile
    pacing = (vru_home / "flags" / "issued" / "pacing.json").read_text(encoding="utf-8")
    assert set(json.loads(pacing)["programmes"]) == {p.id for p in progs.programmes}
    assert not any(f.person_id in pacing for f in flags)
    # the flags of the first run use capacity up when passed as issued
    again = vru(
        "flags",
        "generate",
        county,
        "--date",
        "2026-03-31",
        "--out",
        tmp_path / "again.jsonl",
        "--programmes",
        open_programmes,
        "--issued",
        out,
    )
    assert again.code == 0, again.output
    offered_before = {
        (f.person_id, o.programme) for f in flags for o in f.programmes if o.status == "offered"
    }
    for line in (tmp_path / "again.jsonl").read_text().splitlines():
        f = Flag.model_validate_json(line)
        for o in f.programmes:
            if o.status == "offered":
                assert (f.person_id, o.programme) not in offered_before


def test_generate_refuses_a_model_without_approval_or_suspended(
    vru: RunVru, vru_home: Path, county: Path, deployable: RiskModel, tmp_path: Path
) -> None:
    out = tmp_path / "f.jsonl"
    none = vru("flags", "generate", county, "--date", "2026-03-31", "--out", out)
    assert none.code == 2
    assert "has no champion" in none.stderr and "vru review approve" in " ".join(
        none.stderr.split()
    )
    registry = Registry(f"sqlite:///{vru_home / 'mlflow.db'}")
    version = candidate(registry, deployable, tmp_path, "pass")
    registry.set_alias("champion", version)  # set by hand, no review record
    by_hand = vru("flags", "generate", county, "--date", "2026-03-31", "--out", out)
    assert by_hand.code == 2 and "cannot be used for scoring" in by_hand.stderr
    log = ReviewLog(vru_home / "review_log.jsonl")
    decide("approve", version, "panel-1", registry, log)
    decide("suspend", version, "panel-2", registry, log)
    suspended = vru("flags", "generate", county, "--date", "2026-03-31", "--out", out)
    assert suspended.code == 2 and "no champion" in suspended.stderr  # suspension removes it
    assert not out.exists()
    assert registry.version(version).state == SUSPENDED  # the tag kept in step with the log


def test_generate_refuses_bad_requests_with_what_to_do(
    vru: RunVru,
    vru_home: Path,
    county: Path,
    deployable: RiskModel,
    tmp_path: Path,
) -> None:
    approved(vru_home, deployable, tmp_path)
    late = vru("flags", "generate", county, "--date", "2026-04-02", "--out", tmp_path / "a.jsonl")
    assert late.code == 2 and "after the data's extract date 2026-03-31" in late.stderr
    wrong = vru("flags", "generate", county, "--date", "2026-03-31", "--out", tmp_path / "a.csv")
    assert wrong.code == 2 and "must end in .jsonl" in wrong.stderr
    baddate = vru(
        "flags", "generate", county, "--date", "31/03/2026", "--out", tmp_path / "a.jsonl"
    )
    assert baddate.code == 2 and "YYYY-MM-DD" in baddate.stderr
    issued = tmp_path / "issued.jsonl"
    issued.write_text('{"flag_id": "x"}\n' + json.dumps({"nope": 1}) + "\n", encoding="utf-8")
    bad_issued = vru(
        "flags",
        "generate",
        county,
        "--date",
        "2026-03-31",
        "--out",
        tmp_path / "a.jsonl",
        "--issued",
        issued,
    )
    assert bad_issued.code == 2
    assert "2 line(s) are not valid flags" in bad_issued.stderr and "line 1" in bad_issued.stderr
    bad_programmes = tmp_path / "p.yaml"
    bad_programmes.write_text("programmes_version: 1\nprogrammes: []\n", encoding="utf-8")
    refused = vru(
        "flags",
        "generate",
        county,
        "--date",
        "2026-03-31",
        "--out",
        tmp_path / "a.jsonl",
        "--programmes",
        bad_programmes,
    )
    assert refused.code == 2 and "no programmes are configured" in refused.stderr
    assert not (tmp_path / "a.jsonl").exists()


def test_daily_runs_share_a_period_s_capacity_through_the_ledger(
    vru: RunVru,
    vru_home: Path,
    county: Path,
    deployable: RiskModel,
    tmp_path: Path,
) -> None:
    approved(vru_home, deployable, tmp_path)
    doc = load_programmes().model_dump(mode="json")
    for p in doc["programmes"]:
        p["min_percentile"] = 0
        p["capacity"] = 3
        p["period"] = "month"
    progs = tmp_path / "small.yaml"
    progs.write_text(yaml.safe_dump(doc), encoding="utf-8")

    def offered(path: Path) -> list[tuple[str, str, str]]:
        return [
            (f.person_id, o.programme, f.as_of.isoformat()[:7])
            for f in map(Flag.model_validate_json, path.read_text().splitlines())
            for o in f.programmes
            if o.status == "offered"
        ]

    days = ["2026-03-02", "2026-03-09", "2026-03-16", "2026-03-23", "2026-03-30"]
    total: list[tuple[str, str, str]] = []
    for day in days:  # one run a day, no --issued: the ledger carries the capacity
        out = tmp_path / f"{day}.jsonl"
        result = vru(
            "flags",
            "generate",
            county,
            "--date",
            day,
            "--days",
            "7",
            "--out",
            out,
            "--programmes",
            progs,
        )
        assert result.code == 0, result.output
        total += offered(out)
    per_period = {(p, m): sum(1 for _, q, n in total if (q, n) == (p, m)) for _, p, m in total}
    assert per_period and all(n <= 3 for n in per_period.values())  # 3 a month, every month
    assert max(per_period.values()) == 3  # and the capacity was used
    pairs = [(person, p) for person, p, _ in total]
    assert len(pairs) == len(set(pairs))  # nobody offered twice by one programme
    # re-running a day replaces its own ledger entry instead of counting it twice
    again = tmp_path / "again.jsonl"
    rerun = vru(
        "flags",
        "generate",
        county,
        "--date",
        days[-1],
        "--days",
        "7",
        "--out",
        again,
        "--programmes",
        progs,
    )
    assert rerun.code == 0
    assert offered(again) == offered(tmp_path / f"{days[-1]}.jsonl")


def test_moments_from_data_carry_their_triggers_and_the_support_under_way(
    county: Path, deployable: RiskModel
) -> None:
    folder = open_folder(county, today=date(2026, 11, 25))
    days = [date(2026, 3, 2) + timedelta(days=k) for k in range(28)]
    m = build_moments(folder, deployable.spec, FeatureBuildConfig(), days)
    assert len(m.frame) > 20
    assert set(m.frame["as_of"]) <= set(days)
    # every moment's listed trigger kinds are exactly its triggers', known on its as_of
    kinds = m.triggers.groupby(["person_id", "as_of"])["trigger_kind"].agg(
        lambda k: ",".join(sorted(set(k)))
    )
    for person, as_of, listed in m.frame[["person_id", "as_of", "trigger_kinds"]].itertuples(
        index=False
    ):
        assert kinds[(person, as_of)] == listed
    assert (m.triggers["trigger_date"] <= m.triggers["as_of"]).all()
    ae = m.triggers[m.triggers["trigger_kind"] == "ae_visit"]
    assert ae["detail"].notna().all()  # the hospital, for Admit A&E's eligibility
    # support under way: started, known and not ended on the day, for people with a moment
    iv = pd.read_parquet(county / "interventions.parquet")
    for col in ("start_date", "end_date", "known_date"):
        iv[col] = pd.to_datetime(iv[col]).dt.date
    people = set(m.frame["person_id"])
    expected = {
        (p, d, prog)
        for d in days
        for p, prog, start, end, known in iv[
            ["person_id", "programme", "start_date", "end_date", "known_date"]
        ].itertuples(index=False)
        if p in people and start <= d and known <= d and (pd.isna(end) or end >= d)
    }
    got = set(m.supported[["person_id", "day", "programme"]].itertuples(index=False, name=None))
    assert got == expected and got  # the county has support under way for someone


def test_the_context_training_and_the_audit_read_gives_the_daily_jobs_eligibility(
    county: Path, deployable: RiskModel
) -> None:
    folder = open_folder(county, today=date(2026, 11, 25))
    days = [date(2026, 3, 2) + timedelta(days=k) for k in range(28)]
    m = build_moments(folder, deployable.spec, FeatureBuildConfig(), days)
    ctx = moment_context(folder, deployable.spec, FeatureBuildConfig(), days[0], days[-1])
    keys = ["person_id", "as_of"]
    mine = m.frame[[*keys, "age_completed", "school_id"]].reset_index(drop=True)
    theirs = mine[keys].merge(ctx.frame, on=keys, how="left")
    assert theirs["age_completed"].tolist() == mine["age_completed"].tolist()
    assert theirs["school_id"].tolist() == mine["school_id"].tolist()
    programmes = load_programmes()
    daily = eligibility(programmes, mine, m.triggers, m.supported)
    replayed = eligibility(programmes, mine, ctx.triggers, ctx.supported)
    for programme in programmes.programmes:
        assert daily[programme.id].eligible.tolist() == replayed[programme.id].eligible.tolist()
        assert daily[programme.id].already.tolist() == replayed[programme.id].already.tolist()
    assert sum(int(e.eligible.sum()) for e in daily.values()) > 20


def test_a_wider_context_narrowed_is_the_context_of_the_narrower_range(
    county: Path, deployable: RiskModel
) -> None:
    """The monitoring run reads one context for both of its replays and narrows it."""
    folder = open_folder(county, today=date(2026, 11, 25))
    config = FeatureBuildConfig()
    first, last = date(2026, 3, 2), date(2026, 3, 20)
    wide = moment_context(folder, deployable.spec, config, date(2025, 11, 1), date(2026, 3, 31))
    narrow = moment_context(folder, deployable.spec, config, first, last)
    assert len(narrow.frame) > 20 and len(wide.frame) > len(narrow.frame)
    taken = wide.between(first, last)
    for part in ("frame", "triggers", "supported"):
        pd.testing.assert_frame_equal(getattr(taken, part), getattr(narrow, part), obj=part)
    assert len(narrow.supported), "the county's support under way is compared too"
