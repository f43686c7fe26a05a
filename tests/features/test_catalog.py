"""The catalog as data, the hashed FeatureSpec, and the guardrails that refuse features."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
import yaml

from tests.features.world import World
from vru_risk.data.contract import AUDIT_ONLY_COLUMNS, TABLES
from vru_risk.features.build import build_features
from vru_risk.features.catalog import CatalogError, FeatureSpec, load_catalog, load_proxies
from vru_risk.features.compile import feature_sql, portable_sql
from vru_risk.features.config import FeatureBuildConfig
from vru_risk.features.phrases import render_phrase

PACKAGED = Path(__file__).resolve().parents[2] / "vru_risk" / "features" / "catalog.yaml"


def write_catalog(tmp_path: Path, *features: dict[str, object]) -> Path:
    doc = yaml.safe_load(PACKAGED.read_text())
    doc["features"] = list(doc["features"]) + list(features)
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def test_default_catalog_covers_every_source_and_is_float64() -> None:
    spec = load_catalog().spec()
    assert set(spec.sources) == {
        "attendance",
        "exclusions",
        "police_contacts",
        "ae_visits",
        "people",
    }
    assert len(spec.names) >= 40
    assert {f.dtype for f in spec.features} == {"float64"}
    families = {f.family for f in spec.features}
    assert {
        "attendance_presence",
        "exclusions_suspension",
        "police_suspect",
        "ae_assault",
    } <= families


def test_spec_hash_is_sha256_of_canonical_json_and_tracks_definitions(tmp_path: Path) -> None:
    import hashlib

    spec = load_catalog().spec()
    assert spec.hash == hashlib.sha256(spec.canonical_json().encode()).hexdigest()
    assert load_catalog().spec().hash == spec.hash  # stable
    doc = yaml.safe_load(PACKAGED.read_text())
    doc["features"][0]["window"] = 31
    changed = tmp_path / "c.yaml"
    changed.write_text(yaml.safe_dump(doc))
    assert load_catalog(changed).spec().hash != spec.hash
    assert load_catalog().spec({"attendance": 3}).hash != spec.hash  # lags are part of it
    # and it round-trips through JSON (as stored with a model)
    assert FeatureSpec.model_validate_json(spec.canonical_json()).hash == spec.hash


@pytest.mark.parametrize("attribute", AUDIT_ONLY_COLUMNS)
def test_audit_only_attribute_is_refused_by_name(tmp_path: Path, attribute: str) -> None:
    values = TABLES["people"].column(attribute).categories or ("true",)
    feature = {
        "name": f"bad_{attribute}",
        "source": "people",
        "family": "bad",
        "aggregate": "age",
        "where": {attribute: [values[0]]},
        "window": "all",
        "impute": "none",
        "phrase": "aged {years}",
    }
    with pytest.raises(CatalogError) as info:
        load_catalog(write_catalog(tmp_path, feature))
    message = str(info.value)
    assert f"feature 'bad_{attribute}' uses audit-only attribute(s) {attribute}" in message


def test_ethnicity_in_an_event_table_filter_is_refused(tmp_path: Path) -> None:
    feature = {
        "name": "pol_by_ethnicity",
        "source": "police_contacts",
        "family": "bad",
        "aggregate": "count",
        "where": {"role": ["suspect"], "ethnicity": ["black"]},
        "window": 365,
        "impute": "zero",
        "phrase": "{n}",
    }
    with pytest.raises(CatalogError, match=r"uses audit-only attribute\(s\) ethnicity"):
        load_catalog(write_catalog(tmp_path, feature))


def test_stop_and_search_proxy_is_refused_with_its_reason(tmp_path: Path) -> None:
    feature = {
        "name": "pol_all_contacts",
        "source": "police_contacts",
        "family": "police_any",
        "aggregate": "count",
        "window": 365,
        "impute": "zero",
        "phrase": "{n} police contacts",
    }
    with pytest.raises(CatalogError) as info:
        load_catalog(write_catalog(tmp_path, feature))
    message = str(info.value)
    assert (
        "feature 'pol_all_contacts' can count police_contacts rows with role in ['stop_search']"
        in message
    )
    assert "declared proxy 'stop_and_search'" in message
    assert "recorded very unevenly" in message


def test_hospital_proxy_is_refused(tmp_path: Path) -> None:
    feature = {
        "name": "ae_distinct_hospitals",
        "source": "ae_visits",
        "family": "ae_any",
        "aggregate": "distinct",
        "value": "hospital",
        "window": 365,
        "impute": "zero",
        "phrase": "{n} hospitals",
    }
    with pytest.raises(
        CatalogError, match=r"uses ae_visits\.hospital, declared proxy 'hospital_attended'"
    ):
        load_catalog(write_catalog(tmp_path, feature))


def test_a_new_proxy_declared_by_the_panel_is_enforced(tmp_path: Path) -> None:
    doc = yaml.safe_load((PACKAGED.parent / "proxies.yaml").read_text())
    doc["proxies"].append(
        {
            "name": "missing_episodes",
            "source": "police_contacts",
            "column": "role",
            "values": ["missing_person"],
            "reason": "panel decision 2026-11: recording differs for children in care",
            "decided_by": "ethics panel",
        }
    )
    proxies = tmp_path / "proxies.yaml"
    proxies.write_text(yaml.safe_dump(doc))
    with pytest.raises(CatalogError) as info:
        load_catalog(proxies_path=proxies)
    assert "feature 'pol_missing_90d'" in str(info.value)
    assert "children in care" in str(info.value)
    assert len(load_proxies(proxies)) == len(load_proxies()) + 1


OUTCOME_FEATURE = {
    "name": "pol_charged_365d",
    "source": "police_contacts",
    "family": "police_outcome",
    "aggregate": "count",
    "where": {"role": ["suspect"], "outcome": ["charge"]},
    "window": 365,
    "impute": "zero",
    "phrase": "{n} charges in the last year",
}


def test_outcome_without_its_knowledge_date_is_refused(tmp_path: Path) -> None:
    w = World().person("A").event("exclusions", "A", "2024-03-01")
    w.event(
        "police_contacts", "A", "2024-01-01", role="suspect", offence="robbery", outcome="charge"
    )
    folder = w.open(tmp_path / "data")
    catalog = load_catalog(write_catalog(tmp_path, OUTCOME_FEATURE))
    with pytest.raises(CatalogError) as info:
        build_features(folder, catalog.spec(), FeatureBuildConfig())
    assert "feature 'pol_charged_365d' uses police_contacts.outcome" in str(info.value)
    assert "has no outcome_known_date" in str(info.value)
    with pytest.raises(CatalogError, match="pol_charged_365d"):
        load_catalog(
            write_catalog(tmp_path, OUTCOME_FEATURE),
            available_columns={"police_contacts": TABLES["police_contacts"].required_columns},
        )


def test_outcome_counts_only_once_its_own_date_is_known(tmp_path: Path) -> None:
    w = World().person("A")
    w.event(
        "police_contacts",
        "A",
        "2024-01-01",
        role="suspect",
        offence="robbery",
        outcome="charge",
        outcome_known_date="2024-04-01",
    )
    w.event("exclusions", "A", "2024-03-01")
    w.event("exclusions", "A", "2024-05-01")
    cfg = FeatureBuildConfig()
    spec = load_catalog(write_catalog(tmp_path, OUTCOME_FEATURE)).spec(cfg.reporting_lag_days)
    frame = w.build(tmp_path / "d", spec=spec)
    by_day = {k[1]: v for k, v in frame["pol_charged_365d"].items()}
    assert by_day[date(2024, 3, 1)] == 0  # contact known, charge not yet
    assert by_day[date(2024, 5, 1)] == 1


def test_feature_spec_refuses_protected_features_even_when_built_by_hand() -> None:
    spec = load_catalog().spec()
    raw = spec.model_dump(mode="json")
    raw["features"][0]["definition"]["where"] = {"sex": ["male"]}
    with pytest.raises(ValueError, match="uses audit-only attribute"):
        FeatureSpec.model_validate(raw)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"aggregate": "rate", "denominator": None}, "needs a `denominator`"),
        (
            {"impute": "zero", "aggregate": "days_since_last", "denominator": None},
            "impute zero is wrong",
        ),
        ({"source": "interventions"}, "treatment"),
        ({"where": {"status": ["absent"]}}, "unknown values"),
        ({"phrase": "no value here"}, "phrase must hold the value"),
        ({"where": {"status": "no_such_set"}}, "unknown value set"),
    ],
)
def test_malformed_features_are_listed(
    tmp_path: Path, change: dict[str, object], message: str
) -> None:
    doc = yaml.safe_load(PACKAGED.read_text())
    doc["features"][0].update(change)
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(doc))
    with pytest.raises(CatalogError, match=message):
        load_catalog(path)


def test_every_problem_is_listed_at_once(tmp_path: Path) -> None:
    doc = yaml.safe_load(PACKAGED.read_text())
    doc["features"][0]["where"] = {"sex": ["male"], "status": ["present"]}
    doc["features"][1]["impute"] = "zero"
    doc["features"].append(dict(doc["features"][2]))
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(doc))
    with pytest.raises(CatalogError) as info:
        load_catalog(path)
    assert len(info.value.problems) >= 3


def test_phrases_render_with_values() -> None:
    spec = load_catalog().spec()
    assert render_phrase(spec.by_name("pol_suspect_90d"), 3) == (
        "3 police contacts as a suspect in the last 90 days"
    )
    assert render_phrase(spec.by_name("att_rate_90d"), 0.71) == (
        "attended 71% of school sessions in the last 90 days"
    )
    assert render_phrase(spec.by_name("att_rate_change_90d"), -0.23).startswith(
        "attendance in the last 90 days changed by -23 points"
    )


@pytest.mark.parametrize("source", ["attendance", "exclusions", "police_contacts", "ae_visits"])
def test_every_feature_query_transpiles_to_spark(source: str) -> None:
    sql = feature_sql(load_catalog().spec(), source, "examples")
    spark = portable_sql(sql, "spark")
    assert "FILTER" in spark.upper() or "CASE WHEN" in spark.upper()
    assert "GROUP BY" in spark.upper()


def test_windows_hold_events_in_the_half_open_interval(tmp_path: Path) -> None:
    as_of = date(2024, 6, 1)
    w = World().person("A").event("exclusions", "A", as_of)
    for days_before in (89, 90, 364, 365):
        w.event(
            "police_contacts",
            "A",
            as_of - timedelta(days=days_before),
            role="victim",
            offence="theft",
        )
    row = w.build(tmp_path).loc[("A", as_of)]
    assert row["pol_victim_90d"] == 1  # 89 days before is in (as_of - 90, as_of]; 90 is not
    assert row["pol_victim_365d"] == 3


def test_a_spec_whose_description_and_definition_disagree_is_refused() -> None:
    raw = load_catalog().spec().model_dump(mode="json")
    feature = next(f for f in raw["features"] if f["name"] == "pol_victim_90d")
    feature["definition"]["source"] = "attendance"  # compiled from attendance, shown as police
    feature["definition"]["where"] = {"status": ["present"]}
    with pytest.raises(ValueError, match="differs from its definition"):
        FeatureSpec.model_validate(raw)


def test_a_spec_cannot_drop_the_packaged_proxies_or_use_treatment() -> None:
    raw = load_catalog().spec().model_dump(mode="json")
    raw["proxies"] = []
    feature = next(f for f in raw["features"] if f["name"] == "pol_contacts_365d")
    feature["definition"]["where"] = {}
    with pytest.raises(ValueError, match="stop_and_search"):
        FeatureSpec.model_validate(raw)
    raw = load_catalog().spec().model_dump(mode="json")
    raw["features"][0]["definition"]["source"] = "interventions"
    raw["features"][0]["source"] = "interventions"
    with pytest.raises(ValueError, match="treatment"):
        FeatureSpec.model_validate(raw)


def test_a_proxies_file_adds_to_the_packaged_list_never_replaces_it(tmp_path: Path) -> None:
    empty = tmp_path / "proxies.yaml"
    empty.write_text(yaml.safe_dump({"proxies_version": 1, "proxies": []}))
    names = {p.name for p in load_proxies(empty)}
    assert {"stop_and_search", "hospital_attended"} <= names
    feature = {
        "name": "pol_all_contacts",
        "source": "police_contacts",
        "family": "police_any",
        "aggregate": "count",
        "window": 365,
        "impute": "zero",
        "phrase": "{n}",
    }
    with pytest.raises(CatalogError, match="stop_and_search"):
        load_catalog(write_catalog(tmp_path, feature), proxies_path=empty)


def test_outcome_as_a_value_is_read_only_once_known(tmp_path: Path) -> None:
    feature = {
        "name": "pol_outcome_kinds_365d",
        "source": "police_contacts",
        "family": "police_outcome",
        "aggregate": "distinct",
        "value": "outcome",
        "where": {"role": ["suspect"]},
        "window": 365,
        "impute": "zero",
        "phrase": "{n} kinds of outcome",
    }
    w = World().person("A")
    w.event(
        "police_contacts",
        "A",
        "2024-03-01",
        role="suspect",
        offence="robbery",
        outcome="charge",
        outcome_known_date="2024-09-01",
    )
    w.event("exclusions", "A", "2024-05-01")
    w.event("exclusions", "A", "2024-10-01")
    spec = load_catalog(write_catalog(tmp_path, feature)).spec()
    frame = w.build(tmp_path / "d", spec=spec)
    by_day = {k[1]: v for k, v in frame["pol_outcome_kinds_365d"].items()}
    assert by_day[date(2024, 5, 1)] == 0
    assert by_day[date(2024, 10, 1)] == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("catalog_version: abc\nfeatures: [{name: x}]\n", "catalog_version must be a whole number"),
        ("catalog_version: 1\nsets: [a, b]\nfeatures: []\n", "`sets` must map names"),
        ("catalog_version: 1\nfeatures: []\n", "declares no features"),
    ],
)
def test_malformed_catalog_files(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(CatalogError, match=message):
        load_catalog(path)


def test_unreadable_catalog_files(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="cannot be read"):
        load_catalog(tmp_path)  # a folder
    path = tmp_path / "c.yaml"
    path.write_bytes(b"catalog_version: 1\nfeatures: [\xff]\n")
    with pytest.raises(CatalogError, match="cannot be read as UTF-8"):
        load_catalog(path)


def test_sum_of_a_text_column_is_refused(tmp_path: Path) -> None:
    feature = {
        "name": "excl_reason_sum",
        "source": "exclusions",
        "family": "bad",
        "aggregate": "sum",
        "value": "reason",
        "window": 365,
        "impute": "zero",
        "phrase": "{n}",
    }
    with pytest.raises(CatalogError, match="needs a numeric `value`"):
        load_catalog(write_catalog(tmp_path, feature))


def test_trigger_example_and_label_queries_transpile_and_parse_as_spark() -> None:
    import sqlglot

    from vru_risk.features.config import FeatureBuildConfig
    from vru_risk.features.labels import censoring_sql, labels_sql, recorded_events_sql
    from vru_risk.features.triggers import examples_sql

    cfg = FeatureBuildConfig()
    available = {t: TABLES[t].column_names for t in TABLES}
    spec = load_catalog().spec()
    censoring = censoring_sql(
        "examples",
        available,
        cfg.label,
        cfg.cohort,
        extract_date=date(2026, 8, 31),
        label_lag_days=31,
    )
    queries = [
        examples_sql(
            available,
            cfg.cohort,
            cfg.attendance_trigger,
            use_triggers=True,
            snapshot_dates=(date(2025, 1, 1),),
            extract_date=date(2026, 8, 31),
        ),
        censoring,
        labels_sql(
            "examples",
            recorded_events_sql(available, cfg.label),
            cfg.label,
            prefix="label",
            censoring=censoring,
        ),
        *(feature_sql(spec, s, "examples") for s in ("attendance", "ae_visits")),
    ]
    for sql in queries:
        spark = portable_sql(sql, "spark")
        assert sqlglot.parse_one(spark, read="spark") is not None
