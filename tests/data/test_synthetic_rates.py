"""The synthetic county against public reference figures, measurement bias and its own truth.

Every rate is measured from the generated *files* (DuckDB over Parquet) and compared with the
accepted range written in the table of ``docs/synthetic-data.md``, so the documentation and the
test cannot drift apart.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from vru_risk.data.contract import SERIOUS_VIOLENCE_OFFENCES
from vru_risk.data.synthetic import SyntheticConfig, generate_county, model

DOC = Path(__file__).resolve().parents[2] / "docs" / "synthetic-data.md"
PEOPLE = 8_000
YEARS = 4
LONGEST_LABEL_LAG_DAYS = 60
SV = ", ".join(f"'{o}'" for o in SERIOUS_VIOLENCE_OFFENCES)


@dataclass(frozen=True)
class County:
    data: Path
    truth: Path
    config: SyntheticConfig


def _generate(root: Path, **options: object) -> County:
    config = SyntheticConfig.model_validate({"people": PEOPLE, "years": YEARS, **options})
    generate_county(config, out_dir=root / "data", truth_dir=root / "truth")
    return County(root / "data", root / "truth", config)


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> County:
    return _generate(tmp_path_factory.mktemp("biased"))


@pytest.fixture(scope="module")
def unbiased(tmp_path_factory: pytest.TempPathFactory) -> County:
    return _generate(tmp_path_factory.mktemp("unbiased"), measurement_bias=False)


def connect(data: Path, truth: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    for table in (
        "people",
        "attendance",
        "exclusions",
        "police_contacts",
        "ae_visits",
        "interventions",
    ):
        con.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{data / table}.parquet')")
    for table in ("people", "risk", "outcomes", "incidents"):
        con.execute(
            f"CREATE VIEW t_{table} AS SELECT * FROM read_parquet('{truth / table}.parquet')"
        )
    return con


def _one(con: duckdb.DuckDBPyConnection, sql: str) -> float:
    row = con.execute(sql).fetchone()
    assert row is not None
    return float(row[0])


PUPIL_YEARS = """
CREATE TEMP TABLE py AS
SELECT a.person_id, p.fsm, p.sen,
  (CASE WHEN month(a.date) >= 9 THEN year(a.date) ELSE year(a.date) - 1 END)
  - (CASE WHEN month(p.birth_date) >= 9 THEN year(p.birth_date) ELSE year(p.birth_date) - 1 END)
  - 5 AS ncy,
  count(*) AS on_roll,
  count(*) FILTER (WHERE status <> 'not_required') AS possible,
  count(*) FILTER (WHERE status IN ('authorised_absence', 'unauthorised_absence', 'excluded'))
    AS absent,
  count(*) FILTER (WHERE status = 'unauthorised_absence') AS unauthorised
FROM attendance a JOIN people p USING (person_id)
GROUP BY a.person_id, p.fsm, p.sen, ncy
"""

EXAMPLES = f"""
CREATE TEMP TABLE examples AS
WITH extract AS (SELECT DATE '{{extract}}' AS d),
labels AS (
  SELECT person_id, date AS day FROM police_contacts
  WHERE role IN ('suspect', 'victim') AND offence IN ({SV})
  UNION ALL
  SELECT person_id, CAST(arrival AS DATE) FROM ae_visits WHERE reason = 'assault'),
ex AS (
  SELECT r.* FROM t_risk r JOIN people p USING (person_id), extract
  WHERE r.as_of + INTERVAL 365 DAY + INTERVAL {LONGEST_LABEL_LAG_DAYS} DAY <= extract.d
    AND (p.left_area_date IS NULL OR p.left_area_date > r.as_of + INTERVAL 365 DAY)
    AND p.birth_date + INTERVAL 19 YEAR > r.as_of + INTERVAL 365 DAY)
SELECT ex.*,
  EXISTS (SELECT 1 FROM labels l WHERE l.person_id = ex.person_id
          AND l.day > ex.as_of + INTERVAL 7 DAY AND l.day <= ex.as_of + INTERVAL 365 DAY) AS label,
  EXISTS (SELECT 1 FROM t_outcomes o WHERE o.person_id = ex.person_id
          AND o.date > ex.as_of + INTERVAL 7 DAY AND o.date <= ex.as_of + INTERVAL 365 DAY)
    AS involved,
  EXISTS (SELECT 1 FROM interventions i WHERE i.person_id = ex.person_id
          AND i.start_date <= ex.as_of + INTERVAL 365 DAY
          AND coalesce(i.end_date, DATE '9999-12-31') > ex.as_of) AS supported
FROM ex
"""


def measure(data: Path, truth: Path, extract: str = "2026-08-31") -> dict[str, float]:
    """Measure every figure of the documentation table from a generated county's files."""
    con = connect(data, truth)
    con.execute(PUPIL_YEARS)
    con.execute(EXAMPLES.format(extract=extract))
    pct = 100.0
    share = "sum(absent) / sum(possible)"
    pa = (
        "avg(CASE WHEN absent >= 0.1 * possible THEN 1.0 ELSE 0 END) FILTER (WHERE possible >= 190)"
    )
    out: dict[str, float] = {
        "overall_absence": pct * _one(con, f"SELECT {share} FROM py"),
        "unauthorised_absence": pct * _one(con, "SELECT sum(unauthorised) / sum(possible) FROM py"),
        "primary_absence": pct * _one(con, f"SELECT {share} FROM py WHERE ncy <= 6"),
        "secondary_minus_primary": pct
        * (
            _one(con, f"SELECT {share} FROM py WHERE ncy >= 7")
            - _one(con, f"SELECT {share} FROM py WHERE ncy <= 6")
        ),
        "persistent_absence": pct * _one(con, f"SELECT {pa} FROM py"),
        "fsm_absence_ratio": _one(con, f"SELECT {share} FROM py WHERE fsm")
        / _one(con, f"SELECT {share} FROM py WHERE NOT fsm"),
        "fsm_persistent_ratio": _one(con, f"SELECT {pa} FROM py WHERE fsm")
        / _one(con, f"SELECT {pa} FROM py WHERE NOT fsm"),
        "ehcp_absence": pct * _one(con, f"SELECT {share} FROM py WHERE sen = 'ehcp'"),
        "sen_support_absence": pct * _one(con, f"SELECT {share} FROM py WHERE sen = 'sen_support'"),
        "no_sen_absence": pct * _one(con, f"SELECT {share} FROM py WHERE sen = 'none'"),
    }
    pupil_years = _one(con, "SELECT sum(on_roll) / 380.0 FROM py")
    for kind, key in (("suspension", "suspensions_per_100"), ("permanent", "permanent_per_100")):
        n = _one(con, f"SELECT count(*) FROM exclusions WHERE kind = '{kind}'")
        out[key] = 100.0 * n / pupil_years
        out[f"{kind}_persistent_disruption_share"] = pct * _one(
            con,
            "SELECT avg(CASE WHEN reason = 'persistent_disruption' THEN 1.0 ELSE 0 END) "
            f"FROM exclusions WHERE kind = '{kind}'",
        )
    out["label_rate_all"] = pct * _one(
        con, "SELECT avg(label::INT) FROM examples WHERE is_month_start"
    )
    out["label_rate_triggered"] = pct * _one(
        con, "SELECT avg(label::INT) FROM examples WHERE is_trigger"
    )
    for group in ("white", "asian", "black", "mixed"):
        out[f"ethnicity_{group}"] = pct * _one(
            con, f"SELECT avg(CASE WHEN ethnicity = '{group}' THEN 1.0 ELSE 0 END) FROM people"
        )
    out["fsm_share"] = pct * _one(con, "SELECT avg(fsm::INT) FROM t_people")
    out["sen_support_share"] = pct * _one(
        con, "SELECT avg(CASE WHEN sen = 'sen_support' THEN 1.0 ELSE 0 END) FROM people"
    )
    out["ehcp_share"] = pct * _one(
        con, "SELECT avg(CASE WHEN sen = 'ehcp' THEN 1.0 ELSE 0 END) FROM people"
    )
    out["looked_after_share"] = pct * _one(con, "SELECT avg(looked_after::INT) FROM t_people")
    con.close()
    return out


def documented_ranges() -> dict[str, tuple[float, float]]:
    """Read the accepted ranges from the figures table of docs/synthetic-data.md."""
    ranges: dict[str, tuple[float, float]] = {}
    row = re.compile(r"^\|\s*`(\w+)`\s*\|.*\|\s*([-\d.]+)\s*–\s*([-\d.]+)\s*\|\s*$")
    for line in DOC.read_text(encoding="utf-8").splitlines():
        match = row.match(line)
        if match:
            ranges[match.group(1)] = (float(match.group(2)), float(match.group(3)))
    return ranges


def test_the_documentation_lists_every_measured_figure(county: County) -> None:
    assert set(documented_ranges()) == set(measure(county.data, county.truth))


def test_rates_match_the_reference_figures(county: County) -> None:
    measured = measure(county.data, county.truth)
    ranges = documented_ranges()
    outside = {
        key: (round(value, 3), ranges[key])
        for key, value in measured.items()
        if not ranges[key][0] <= value <= ranges[key][1]
    }
    assert not outside, f"outside the documented ranges: {outside}"


# --- measurement bias -----------------------------------------------------------------------
DIMENSIONS = {
    "ethnicity": ("p.ethnicity", "'white'"),
    "deprived": ("(p.imd_decile <= 3)::VARCHAR", "'false'"),
    "sen": ("p.sen", "'none'"),
    "fsm": ("p.fsm::VARCHAR", "'false'"),
}


def mantel_haenszel_ratio(
    con: duckdb.DuckDBPyConnection, source: str, dimension: str, level: str
) -> float:
    """Recorded-per-incident risk ratio of ``level`` vs the reference, stratified on the rest."""
    expr, reference = DIMENSIONS[dimension]
    strata = " || '/' || ".join(e for d, (e, _) in DIMENSIONS.items() if d != dimension)
    frame: pd.DataFrame = con.execute(
        f"""
        SELECT {strata} AS stratum, ({expr}) = '{level}' AS exposed,
               count(*) AS n, sum(recorded::INT) AS recorded
        FROM t_incidents i JOIN t_people p USING (person_id)
        WHERE i.source = '{source}' AND ({expr} = '{level}' OR {expr} = {reference})
        GROUP BY ALL
        """
    ).fetchdf()
    wide = frame.pivot_table(index="stratum", columns="exposed", values=["n", "recorded"]).dropna()
    total = wide[("n", True)] + wide[("n", False)]
    num = (wide[("recorded", True)] * wide[("n", False)] / total).sum()
    den = (wide[("recorded", False)] * wide[("n", True)] / total).sum()
    return float(num / den)


def _multipliers(config: SyntheticConfig) -> list[tuple[str, str, str, float]]:
    """(source, dimension, level, configured multiplier) for every non-unit multiplier."""
    out: list[tuple[str, str, str, float]] = []
    for source in ("police_suspect", "stop_search", "exclusion"):
        m = getattr(config, f"{source}_multipliers")
        out += [(source, "ethnicity", k, v) for k, v in m.ethnicity.items() if v != 1]
        out += [(source, "sen", k, v) for k, v in m.sen.items() if v != 1]
        if m.deprived != 1:
            out.append((source, "deprived", "true", m.deprived))
        if m.fsm != 1:
            out.append((source, "fsm", "true", m.fsm))
    return out


#: Relative tolerance of an estimated recording ratio (the smallest groups have ~100 incidents).
RATIO_TOLERANCE = 0.35


def test_bias_on_records_groups_more_often_by_the_configured_multiplier(county: County) -> None:
    con = connect(county.data, county.truth)
    checked = {}
    for source, dimension, level, multiplier in _multipliers(county.config):
        ratio = mantel_haenszel_ratio(con, source, dimension, level)
        checked[f"{source}/{dimension}={level}"] = (round(ratio, 2), multiplier)
        assert abs(ratio / multiplier - 1) <= RATIO_TOLERANCE, checked
        # and nearer the configured multiplier than to "no bias" (1), so that a bias switched
        # off or reversed cannot pass within the tolerance
        assert abs(ratio - multiplier) < abs(ratio - 1), checked
    assert len(checked) >= 10


def test_bias_off_records_every_group_alike(unbiased: County) -> None:
    con = connect(unbiased.data, unbiased.truth)
    biased_defaults = SyntheticConfig()
    for source, dimension, level, multiplier in _multipliers(biased_defaults):
        ratio = mantel_haenszel_ratio(con, source, dimension, level)
        assert abs(ratio - 1) <= RATIO_TOLERANCE, (source, dimension, level, ratio)
        assert abs(ratio - 1) < abs(ratio - multiplier), (source, dimension, level, ratio)
    probs = con.execute(
        "SELECT source, min(recording_probability), max(recording_probability) "
        "FROM t_incidents GROUP BY source"
    ).fetchall()
    assert all(math.isclose(lo, hi) for _, lo, hi in probs)


def test_recording_probability_is_base_times_the_group_multipliers(county: County) -> None:
    people = pd.read_parquet(county.truth / "people.parquet")
    config = county.config
    for source in ("police_suspect", "stop_search", "exclusion"):
        m = config.multipliers(source)
        expected = (
            getattr(config, f"{source}_recording")
            * people["ethnicity"].map(lambda e, m=m: m.ethnicity.get(e, 1.0))
            * people["sen"].map(lambda s, m=m: m.sen.get(s, 1.0))
            * people["imd_decile"].le(3).map({True: m.deprived, False: 1.0})
            * people["fsm"].map({True: m.fsm, False: 1.0})
        )
        assert (people[f"{source}_recording"] - expected).abs().max() < 1e-12


# --- the truth is calibrated -----------------------------------------------------------------
def test_oracle_is_calibrated_on_triggered_and_monthly_examples(county: County) -> None:
    con = connect(county.data, county.truth)
    con.execute(EXAMPLES.format(extract=county.config.end_date.isoformat()))
    for flag in ("is_trigger", "is_month_start"):
        row = con.execute(
            f"SELECT count(*), avg(p_label_recorded), avg(label::INT), avg(p_involvement), "
            f"avg(involved::INT) FROM examples WHERE {flag} AND NOT supported"
        ).fetchone()
        assert row is not None
        n, p_label, label, p_involved, involved = row
        assert n > 3_000
        assert abs(label / p_label - 1) < 0.2, (flag, p_label, label)
        assert abs(involved / p_involved - 1) < 0.2, (flag, p_involved, involved)


def test_support_reduces_the_serious_violence_hazard_by_the_configured_effect(
    county: County,
) -> None:
    """Involvements on supported days are ``1 - effect`` times the untreated hazard's count."""
    people = pd.read_parquet(county.truth / "people.parquet")
    latent = pd.read_parquet(county.truth / "latent.parquet")
    support = pd.read_parquet(county.data / "interventions.parquet")
    end = np.datetime64(county.config.end_date, "D").astype(np.int64)
    first = support["start_date"].to_numpy(dtype="datetime64[D]").astype(np.int64)
    last = support["end_date"].to_numpy(dtype="datetime64[D]")
    last = np.where(np.isnat(last), end, last.astype(np.int64))
    length = last - first + 1
    starts = np.repeat(first, length)
    offset = np.arange(length.sum()) - np.repeat(np.cumsum(length) - length, length)
    supported = pd.DataFrame(
        {
            "person_id": np.repeat(support["person_id"].to_numpy(), length),
            "day": (starts + offset).astype("datetime64[D]"),
        }
    ).drop_duplicates()
    supported["month"] = (
        supported["day"].to_numpy().astype("datetime64[M]").astype("datetime64[ms]")
    )
    latent["month"] = latent["month"].astype("datetime64[ms]")
    frame = supported.merge(latent, on=["person_id", "month"]).merge(people, on="person_id")
    day = frame["day"].to_numpy().astype("datetime64[D]").astype(np.int64)
    birth = frame["birth_date"].to_numpy().astype("datetime64[D]").astype(np.int64)
    month = model.month_of_day(day)
    age = (day - birth) / model.DAYS_PER_YEAR
    in_coverage = (age >= 8) & (age < 19)
    hazard = (
        np.exp(
            model.sv_log_hazard(
                month,
                frame["latent"].to_numpy(),
                sv_log_rate=frame["sv_log_rate"].to_numpy(),
                birth_day=birth,
            )
        )
        * np.array(model.WEEKEND_WEIGHTS)[model.weekday(day)]
    )
    expected = float(hazard[in_coverage].sum())
    outcomes = pd.read_parquet(county.truth / "outcomes.parquet")
    observed = int(outcomes["supported"].sum())
    keep = 1 - county.config.support_effect_serious_violence
    assert expected > 50
    assert abs(observed / expected - keep) < 0.2, (observed, expected, keep)


def test_absence_rises_in_the_months_before_a_first_involvement(county: County) -> None:
    """A rising propensity shows up in attendance before it shows up in violence."""
    con = connect(county.data, county.truth)
    rows = con.execute(
        """
        WITH first AS (
          SELECT person_id, date_trunc('month', min(date)) AS m FROM t_outcomes GROUP BY person_id),
        monthly AS (
          SELECT person_id, date_trunc('month', date) AS m,
            avg(CASE WHEN status IN ('authorised_absence', 'unauthorised_absence', 'excluded')
                THEN 1.0 ELSE 0 END) AS absence
          FROM attendance WHERE status <> 'not_required' GROUP BY ALL)
        SELECT CASE WHEN datediff('month', monthly.m, first.m) BETWEEN 1 AND 3 THEN 'near'
                    ELSE 'year_before' END AS period, avg(absence)
        FROM monthly JOIN first USING (person_id)
        WHERE datediff('month', monthly.m, first.m) BETWEEN 1 AND 3
           OR datediff('month', monthly.m, first.m) BETWEEN 10 AND 12
        GROUP BY period
        """
    ).fetchall()
    absence = dict(rows)
    overall = measure(county.data, county.truth)["overall_absence"] / 100
    assert absence["near"] > 1.1 * absence["year_before"] > 1.5 * overall, (absence, overall)
