"""Each programme's true effect in the synthetic county: thinning, none and harm, confounding by
indication, and what ``truth.json`` and ``vru data generate`` say about them.

The counties are small (1,000 people or fewer, at most 3 years); the harmful one is made
decisive with a higher serious-violence rate and more referrals, so that the supported days
hold hundreds of involvements."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from tests.conftest import RunVru
from vru_risk.data.synthetic import SyntheticConfig, generate_county
from vru_risk.data.synthetic.config import ProgrammeEffect, parse_programme_effect
from vru_risk.data.synthetic.context import county_context
from vru_risk.data.synthetic.potential import (
    happens_with_support,
    read_potential,
    serious_violence_multipliers,
    support_multiplier,
)
from vru_risk.data.synthetic.processes import draw_candidates
from vru_risk.data.synthetic.programmes import PROGRAMME_NAMES
from vru_risk.data.synthetic.rewrite import read_table
from vru_risk.data.synthetic.support import eligibility

#: a county where support covers many days with serious violence
BUSY = {
    "people": 1000,
    "years": 3,
    "seed": 11,
    "referral_scale": 8.0,
    "serious_violence_rate": 0.02,
}


def every(sv: float, incidents: float | None = None) -> dict[str, ProgrammeEffect]:
    return {n: ProgrammeEffect(serious_violence=sv, incidents=incidents) for n in PROGRAMME_NAMES}


def county(tmp_path: Path, name: str, **options: object) -> Path:
    base = tmp_path / name
    generate_county(
        SyntheticConfig.model_validate(options), out_dir=base / "data", truth_dir=base / "truth"
    )
    return base


def contents(base: Path) -> dict[str, pd.DataFrame]:
    return {
        f"{folder}/{p.stem}": pq.read_table(p).to_pandas()
        for folder in ("data", "truth")
        for p in sorted((base / folder).glob("*.parquet"))
    }


def supported_involvements(base: Path) -> int:
    potential = read_potential(base / "truth")
    return int((potential["happened"] & potential["supported"]).sum())


def test_the_default_effects_spelt_out_give_the_default_county(tmp_path: Path) -> None:
    plain = county(tmp_path, "plain", people=300, years=2, seed=4)
    spelt = county(
        tmp_path, "spelt", people=300, years=2, seed=4, programme_effects=every(0.6, 0.8)
    )
    a, b = contents(plain), contents(spelt)
    assert a.keys() == b.keys()
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name], obj=name)
    potential = read_potential(plain / "truth")
    assert not potential["caused_if_supported"].any()
    assert (potential["support_threshold"] == potential["u_prevent"]).all()


def test_no_effect_is_the_county_without_a_support_effect(tmp_path: Path) -> None:
    none = county(tmp_path, "none", **BUSY, programme_effects=every(1.0, 1.0))
    zero = county(
        tmp_path, "zero", **BUSY, support_effect_serious_violence=0.0, support_effect_incidents=0.0
    )
    a, b = contents(none), contents(zero)
    # prevented_if_supported describes the county-wide support_effect_serious_violence (0.4 in
    # the first county): the one column allowed to differ
    key = "truth/potential_outcomes"
    a[key], b[key] = (f.drop(columns="prevented_if_supported") for f in (a[key], b[key]))
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name], obj=name)
    assert read_potential(none / "truth")["happened"].all()  # nothing prevented, nothing caused


def test_a_harmful_programme_adds_involvements_on_supported_days(tmp_path: Path) -> None:
    default = county(tmp_path, "default", **BUSY)
    none = county(tmp_path, "none", **BUSY, programme_effects=every(1.0))
    harm = county(tmp_path, "harm", **BUSY, programme_effects=every(3.0))
    base, flat, more = (supported_involvements(c) for c in (default, none, harm))
    # about 0.6x, 1x and 3x the same hazard on supported days (hundreds of involvements)
    assert flat > 100 and base < 0.8 * flat and more > 2 * flat
    potential = read_potential(harm / "truth")
    caused = potential["caused_if_supported"].to_numpy(dtype=bool)
    happened = potential["happened"].to_numpy(dtype=bool)
    # an extra involvement happens only on a supported day, and never is "prevented"
    assert (caused & happened).sum() > 100
    assert potential.loc[caused & happened, "supported"].all()
    assert not potential.loc[caused, "prevented_if_supported"].any()
    # the county's own support replayed through the potential outcomes gives its world back
    interventions = read_table(harm / "data", "interventions")
    multipliers = serious_violence_multipliers(harm / "truth")
    assert multipliers == dict.fromkeys(PROGRAMME_NAMES, 3.0)
    again = happens_with_support(potential, interventions, multipliers, default=0.6)
    assert (again == happened).all()
    # the extra involvements left label events, as any other
    assert potential.loc[caused & happened, "police_recorded"].sum() > 10


def test_harm_to_the_other_hazards_adds_incidents_on_supported_days(tmp_path: Path) -> None:
    def on_supported_days(base: Path) -> int:
        incidents = pd.read_parquet(base / "truth" / "incidents.parquet")
        incidents = incidents[~incidents["serious"]]  # offending, street, school
        incidents = incidents.assign(date=pd.to_datetime(incidents["date"]).dt.date)
        support = read_table(base / "data", "interventions")
        return int(np.isfinite(support_multiplier(incidents, support, {}, default=1.0)).sum())

    flat = on_supported_days(county(tmp_path, "none", **BUSY, programme_effects=every(1.0, 1.0)))
    more = on_supported_days(county(tmp_path, "harm", **BUSY, programme_effects=every(1.0, 3.0)))
    assert flat > 100 and more > 2 * flat  # about 3x the same hazard


def test_one_programme_harmful_and_another_protective(tmp_path: Path) -> None:
    effects = {
        "Jump Start Mentoring": ProgrammeEffect(serious_violence=2.0),
        "Early Intervention Team": ProgrammeEffect(serious_violence=0.2),
    }
    base = county(tmp_path, "mixed", **BUSY, programme_effects=effects)
    potential = read_potential(base / "truth")
    interventions = read_table(base / "data", "interventions")
    happened = potential["happened"].to_numpy(dtype=bool)
    truth = serious_violence_multipliers(base / "truth")
    assert truth["Jump Start Mentoring"] == 2.0 and truth["Admit A&E"] == pytest.approx(0.6)
    assert (happens_with_support(potential, interventions, truth, default=0.6) == happened).all()
    # read with the wrong effects, the same support does not give the county back
    wrong = dict.fromkeys(PROGRAMME_NAMES, 0.6)
    assert (happens_with_support(potential, interventions, wrong, default=0.6) != happened).any()


def test_referral_rises_with_the_latent_state_when_confounded() -> None:
    plain = county_context(SyntheticConfig(people=400, years=2, seed=2))
    confounded = county_context(
        SyntheticConfig(people=400, years=2, seed=2, referral_latent_risk=1.0)
    )
    _, records = draw_candidates(plain)
    eligible, p0 = eligibility(plain, records)
    _, p1 = eligibility(confounded, records)
    ratio = p1[:, 0] / p0[:, 0]  # Jump Start Mentoring's probabilities are far below 1
    assert (ratio != 1).any() and (p1[:, 3] <= 1).all()
    # the ratio is exp(z) of the person's latent state: higher for higher latent people
    z_mean = plain.z.mean(axis=1)[records["person"]]
    high = z_mean > np.quantile(z_mean, 0.75)
    low = z_mean < np.quantile(z_mean, 0.25)
    assert ratio[high].mean() > 2 * ratio[low].mean()
    assert eligible.any()


def test_confounding_puts_more_high_latent_people_in_programmes(tmp_path: Path) -> None:
    def supported_latent(base: Path) -> tuple[float, float]:
        latent = pd.read_parquet(base / "truth" / "latent.parquet")
        person_z = latent.groupby("person_id")["latent"].mean()
        people = set(read_table(base / "data", "interventions")["person_id"].astype(str))
        top = person_z >= person_z.quantile(0.8)
        referred = person_z.index.isin(list(people))
        return referred[top.to_numpy()].mean(), referred[~top.to_numpy()].mean()

    options = {"people": 1000, "years": 3, "seed": 3}
    top0, rest0 = supported_latent(county(tmp_path, "plain", **options))
    top1, rest1 = supported_latent(county(tmp_path, "conf", **options, referral_latent_risk=2.0))
    assert top1 / rest1 > 1.5 * (top0 / rest0)


def test_truth_json_records_the_effects_and_the_confounding(tmp_path: Path) -> None:
    base = county(
        tmp_path,
        "c",
        people=200,
        years=1,
        programme_effects={"Admit A&E": ProgrammeEffect(serious_violence=1.3, incidents=0.9)},
        referral_latent_risk=0.5,
    )
    doc = json.loads((base / "truth" / "truth.json").read_text(encoding="utf-8"))
    assert doc["referral_latent_risk"] == 0.5
    assert doc["programme_effects"]["Admit A&E"] == {"serious_violence": 1.3, "incidents": 0.9}
    assert doc["programme_effects"]["Jump Start Mentoring"] == {
        "serious_violence": 0.6,
        "incidents": 0.8,
    }
    assert set(doc["programme_effects"]) == set(PROGRAMME_NAMES)
    assert doc["config"]["programme_effects"]["Admit A&E"]["serious_violence"] == 1.3


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("Nope=0.5", "not a programme of the synthetic county"),
        ("Admit A&E=0", "above 0 and at most 5"),
        ("Admit A&E=-1", "above 0 and at most 5"),
        ("Admit A&E=6", "above 0 and at most 5"),
        ("Admit A&E=lots", "is not a number"),
        ("Admit A&E", "is not PROGRAMME=MULTIPLIER"),
        ("Admit A&E=0.5:6", "incidents multiplier is above 0 and at most 5"),
        ("Admit A&E=0.5:0", "incidents multiplier is above 0 and at most 5"),
        ("Admit A&E=0.5:0.9:1", "give one multiplier, or two"),
    ],
)
def test_bad_programme_effects_are_refused(text: str, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        parse_programme_effect(text)


def test_a_good_programme_effect_is_parsed() -> None:
    assert parse_programme_effect("Jump Start Mentoring=0.6") == (
        "Jump Start Mentoring",
        ProgrammeEffect(serious_violence=0.6),
    )
    name, effect = parse_programme_effect("Admit A&E=1.3:0.9")
    assert (name, effect.serious_violence, effect.incidents) == ("Admit A&E", 1.3, 0.9)


def test_an_unknown_programme_in_the_options_is_a_problem() -> None:
    config = SyntheticConfig(
        people=200, programme_effects=every(1.0) | {"X": ProgrammeEffect(serious_violence=1.0)}
    )
    assert any("unknown programme 'X'" in p for p in config.problems())


@pytest.mark.parametrize(
    "args",
    [
        ["--programme-effect", "Nope=0.5"],
        ["--programme-effect", "Admit A&E=0"],
        ["--programme-effect", "Admit A&E=0.5", "--programme-effect", "Admit A&E=0.7"],
        ["--referral-latent-risk", "-1"],
    ],
)
def test_the_cli_refuses_bad_effects_and_writes_nothing(
    vru: RunVru, tmp_path: Path, args: list[str]
) -> None:
    out = tmp_path / "c"
    result = vru("data", "generate", "--out", out, "--people", "200", "--years", "1", *args)
    assert result.code == 2
    assert "error" in result.stderr.lower()
    assert not out.exists() and not (tmp_path / "c-truth").exists()


def test_the_cli_writes_the_effects_into_the_truth(vru: RunVru, tmp_path: Path) -> None:
    out = tmp_path / "c"
    result = vru(
        "data", "generate", "--out", out, "--people", "200", "--years", "1",
        "--programme-effect", "Admit A&E=1.3", "--programme-effect", "Jump Start Mentoring=0.5:0.9",
        "--referral-latent-risk", "0.5",
    )  # fmt: skip
    assert result.code == 0, result.stderr
    doc = json.loads((tmp_path / "c-truth" / "truth.json").read_text(encoding="utf-8"))
    assert doc["programme_effects"]["Admit A&E"] == {"serious_violence": 1.3, "incidents": 0.8}
    assert doc["programme_effects"]["Jump Start Mentoring"] == {
        "serious_violence": 0.5,
        "incidents": 0.9,
    }
    assert doc["referral_latent_risk"] == 0.5
