"""The county's potential outcomes: writing them changed nothing else the generator writes, and
they are the generator's own world (its support, replayed through them, gives back exactly the
involvements that happened, and every label event of the extract is accounted for)."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from vru_risk.data.contract import SERIOUS_VIOLENCE_OFFENCES
from vru_risk.data.synthetic import SyntheticConfig, generate_county
from vru_risk.data.synthetic.potential import (
    POTENTIAL_FILE,
    prevented_records,
    read_potential,
    support_effect,
    would_prevent,
)
from vru_risk.data.synthetic.rewrite import read_table
from vru_risk.simulation.consequence import interventions_with, without_prevented

#: The content of every file the generator wrote for SyntheticConfig(people=400, years=3, seed=5)
#: before it wrote potential outcomes (the code of commit 0aaa91d): sha256 of each table as CSV.
#: Content, not file bytes, so that a Parquet library upgrade does not break the comparison;
#: floating-point columns rounded to 9 decimals, since the last bit of a logarithm or an
#: exponential differs between machines' maths libraries (the float columns of
#: ``truth/`` differed between two machines of this workplace). The data tables' hashes are
#: 0aaa91d's; the rounded truth tables' were taken at 7e1b85f, whose unrounded content this test
#: had matched to 0aaa91d's on the machine that wrote it.
BEFORE = {
    "data/ae_visits": "73a688f6940e8d5e7482d741aa245e64f23c60645c632cc37156d47314b29c7c",
    "data/attendance": "21f4491d0e9ff89d0755d38d0e91abc25503779635390fdf678eb08c2ec342e3",
    "data/exclusions": "ffa2140962acfe2b45e125a74344268080c06aa14469a49789241c75bb68a385",
    "data/interventions": "40bf2f3caa60cfe58fe363767a80eb8b44aec98e9087e5b099790e18bf7caac4",
    "data/people": "839094943bf594cc8f50605aab6a34874d92f5b96ea7ecbf63eacfc89cc064b5",
    "data/police_contacts": "618a4d78b1d5b207fd68d5f98b79a6a7fb363d30154039c51c3be781e06c2010",
    "truth/incidents": "f53f13fb8f8b0e13535469d09a0faa84c1dbe0a0b19e2cd10fff2c4f7ce9d037",
    "truth/latent": "db551660022d14ca7d10bea1c2de6570ca6450d8bdd720ef4aa5e29f3e2f1ec7",
    "truth/outcomes": "0ed27a2a3f9b13f672d2c6e2d596fa3cdbe9db8f4d15d6c00bb5f2da700b47bd",
    "truth/people": "1b91c9b78f178d095ada8be8776bfa8d0c4f79a33e0fa8f960c4c7f01e259515",
    "truth/risk": "5a52add5831cc051f38772cc71ac294fb6a2791c76baa2c92df858b32b1bb34c",
}


def content(path: Path) -> str:
    """The table's content as CSV; ``interventions`` without its ``completed`` column (added
    later, derived from the end dates already written), so that the other columns are still
    compared with the hashes from before it existed."""
    buffer = io.BytesIO()
    table = pq.read_table(path)
    if "completed" in table.column_names:
        table = table.drop_columns(["completed"])
    columns = [
        pc.round(column, 9) if pa.types.is_floating(field.type) else column
        for field, column in zip(table.schema, table.columns, strict=True)
    ]
    pacsv.write_csv(pa.Table.from_arrays(columns, names=table.column_names), buffer)
    return hashlib.sha256(buffer.getvalue()).hexdigest()


def test_writing_potential_outcomes_changes_no_other_file(tmp_path: Path) -> None:
    generate_county(
        SyntheticConfig(people=400, years=3, seed=5),
        out_dir=tmp_path / "data",
        truth_dir=tmp_path / "truth",
    )
    now = {
        f"{folder}/{p.stem}": content(p)
        for folder in ("data", "truth")
        for p in sorted((tmp_path / folder).glob("*.parquet"))
    }
    assert now.pop(f"truth/{Path(POTENTIAL_FILE).stem}")
    assert now == BEFORE


def test_the_generators_support_replayed_through_them_gives_its_world(county: Path) -> None:
    potential = read_potential(county / "truth")
    effect = support_effect(county / "truth")
    happened = potential["happened"].to_numpy(dtype=bool)
    assert len(potential) > 1000 and 0 < (~happened).sum() < 0.2 * len(potential)
    u = potential["u_prevent"].to_numpy()
    assert (potential["prevented_if_supported"].to_numpy() == (u >= 1 - effect)).all()
    assert (happened == ~(potential["supported"] & potential["prevented_if_supported"])).all()
    # the interventions of the extract (the county's own support) through the potential outcomes
    interventions = read_table(county / "data", "interventions")
    assert (would_prevent(potential, interventions, effect=effect) == ~happened).all()
    # a stronger effect prevents more, and never one the weaker effect would let through
    stronger = would_prevent(potential, interventions, effect=min(1.0, effect + 0.3))
    assert (stronger >= ~happened).all() and stronger.sum() > (~happened).sum()


def test_every_label_event_of_the_extract_is_one_involvements(county: Path) -> None:
    potential = read_potential(county / "truth")
    police = read_table(county / "data", "police_contacts")
    ae = read_table(county / "data", "ae_visits")
    labels = police[
        police["offence"].isin(SERIOUS_VIOLENCE_OFFENCES)
        & police["role"].isin(["suspect", "victim"])
    ]
    everything = np.ones(len(potential), dtype=bool)
    police_keys, ae_keys = prevented_records(potential, everything)
    assert len(police_keys) == len(labels) and len(ae_keys) == (ae["reason"] == "assault").sum()
    # with every involvement prevented, exactly the label events go, nothing else
    kept_police, kept_ae, gone_p, gone_a = without_prevented(police, ae, potential, everything)
    assert (gone_p, gone_a) == (len(labels), len(ae_keys))
    assert len(kept_police) == len(police) - len(labels) and len(kept_ae) == len(ae) - gone_a
    label = kept_police["offence"].isin(SERIOUS_VIOLENCE_OFFENCES) & kept_police["role"].isin(
        ["suspect", "victim"]
    )
    assert not label.any() and not kept_ae["reason"].eq("assault").any()


def test_without_extra_support_the_records_are_the_generators(county: Path) -> None:
    potential = read_potential(county / "truth")
    police = read_table(county / "data", "police_contacts")
    ae = read_table(county / "data", "ae_visits")
    interventions = read_table(county / "data", "interventions")
    nothing = pd.DataFrame({"person_id": [], "start_date": [], "end_date": []})
    effect = support_effect(county / "truth")
    prevented = would_prevent(potential, nothing, effect=effect)
    assert not prevented.any()
    kept_police, kept_ae, gone_p, gone_a = without_prevented(police, ae, potential, prevented)
    assert (gone_p, gone_a) == (0, 0)
    pd.testing.assert_frame_equal(kept_police, police)
    pd.testing.assert_frame_equal(kept_ae, ae)
    same = interventions_with(
        interventions,
        nothing.assign(programme=[], known_date=[]),
        extract_date=pd.Timestamp("2026-08-31").date(),
    )
    pd.testing.assert_frame_equal(same, interventions[list(same.columns)])
