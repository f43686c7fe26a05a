"""Every statement that validation, loading, the feature build, the moments and their context
send to DuckDB passes the portability check, and a non-portable feature is refused as it is
compiled, naming the feature (docs/portability.md)."""

from __future__ import annotations

import dataclasses
import json
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest

from tests.features.world import World
from vru_risk.data.contract import TABLES
from vru_risk.data.load import DataFolder, open_folder
from vru_risk.data.portable import portability_findings
from vru_risk.data.sql import quote_literal
from vru_risk.features import compile as compile_module
from vru_risk.features.build import build_features
from vru_risk.features.catalog import CatalogError, load_catalog
from vru_risk.features.compile import compile_features
from vru_risk.features.config import FeatureBuildConfig
from vru_risk.features.context import moment_context
from vru_risk.features.moments import build_moments

EXTRACT = date(2026, 8, 31)


class _Recording:
    """A DuckDB connection that keeps the text of every statement it is given."""

    def __init__(self, con: duckdb.DuckDBPyConnection, seen: list[str]) -> None:
        self._con, self._seen = con, seen

    def execute(self, sql: str, *args: Any) -> Any:
        self._seen.append(sql)
        return self._con.execute(sql, *args)

    def sql(self, sql: str, *args: Any) -> Any:
        self._seen.append(sql)
        return self._con.sql(sql, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)


def _world() -> World:
    w = World(extract=EXTRACT).person("A", birth="2010-03-04").person("B", left="2026-01-01")
    w.person("C", birth="2012-02-29")
    w.sessions("A", "2025-01-06", "PPPPPPPPPPUUUUUUUUUUUUUUUPPLA")
    w.event("exclusions", "A", "2025-02-20", days="1.5")
    w.event("police_contacts", "A", "2025-03-01", role="suspect", offence="robbery")
    w.event("police_contacts", "C", "2025-05-01", role="victim", offence="robbery")
    w.event("ae_visits", "B", "2025-04-01", reason="assault", time="23:10:00")
    return w


def _to_parquet(folder: Path, out: Path) -> Path:
    """The same folder as typed Parquet, a label source refreshed before the extract date."""
    out.mkdir()
    con = duckdb.connect()
    for csv in folder.glob("*.csv"):
        target = out / f"{csv.stem}.parquet"
        con.execute(
            f"COPY (SELECT * FROM read_csv_auto({quote_literal(str(csv))})) "
            f"TO {quote_literal(str(target))} (FORMAT parquet)"
        )
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["tables"]["police_contacts"]["refreshed"] = "2026-06-30"
    (out / "manifest.json").write_text(json.dumps(manifest))
    return out


def _interventions(folder: Path) -> None:
    (folder / "interventions.csv").write_text(
        "person_id,programme,start_date,end_date,known_date\nA,Mentoring,2025-03-05,,2025-03-06\n"
    )
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["tables"]["interventions"] = {"refreshed": EXTRACT.isoformat()}
    (folder / "manifest.json").write_text(json.dumps(manifest))


@pytest.fixture(scope="module")
def statements(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """Every statement sent to DuckDB by validating, loading and building three folders: CSV
    with every source, typed Parquet, and one with no label source (snapshots only)."""
    root = tmp_path_factory.mktemp("portable")
    csv = _world().write(root / "csv")
    _interventions(csv)
    parquet = _to_parquet(csv, root / "parquet")
    bare = World(extract=EXTRACT).person("A").sessions("A", "2025-01-06", "PPUU").write(root / "b")
    truth = root / "truth.parquet"
    pd.DataFrame(
        {"person_id": ["A"], "date": [pd.Timestamp("2025-06-01")], "kind": ["victim"]}
    ).to_parquet(truth)
    config = FeatureBuildConfig()
    spec = load_catalog().spec(config.reporting_lag_days)
    seen: list[str] = []
    real = duckdb.connect
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(duckdb, "connect", lambda *a, **k: _Recording(real(*a, **k), seen))
        for i, folder in enumerate((csv, parquet)):
            opened = open_folder(folder, today=EXTRACT)
            build_features(
                opened,
                spec,
                config,
                out=root / f"features{i}.parquet",
                truth_events_path=truth,
                snapshot_dates=(date(2025, 6, 1),),
            )
            build_moments(opened, spec, config, [date(2025, 3, 10), date(2025, 5, 1)])
            moment_context(opened, spec, config, date(2025, 1, 1), EXTRACT)
        build_features(
            open_folder(bare, today=EXTRACT),
            spec,
            config,
            use_triggers=False,
            snapshot_dates=(date(2025, 2, 1),),
        )
    return seen


def test_every_statement_of_validation_loading_and_the_build_is_portable(
    statements: list[str],
) -> None:
    refused = [f.render() for sql in statements for f in portability_findings(sql, "statement")]
    assert refused == []
    text = "\n".join(statements)
    # the capture saw every kind of statement the build runs (a test that saw none would pass)
    for part in (
        "read_csv(",  # validation of CSV
        "read_parquet(",  # validation of Parquet
        "CREATE OR REPLACE VIEW src_interventions",  # loading
        "TEMP TABLE examples",
        *(f"TEMP TABLE feat_{s}" for s in ("attendance", "exclusions", "police_contacts")),
        "TEMP TABLE feat_ae_visits",
        "TEMP TABLE feat_people",
        "TEMP TABLE label_truth",
        "'source_refreshed'",
        "'no_label_source'",
        "'left_area'",
        "'attendance_drop'",
        "ctx_triggers",
        "COPY features_out",
    ):
        assert part in text, part
    assert len(statements) > 150


def test_a_feature_compiled_to_a_non_portable_form_is_refused_naming_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A compiler change that divides rates without a guard is refused at compile time."""

    def unguarded(num: str, den: str) -> str:
        return f"CAST(count(*) FILTER (WHERE {num}) AS DOUBLE) / count(*) FILTER (WHERE {den})"

    monkeypatch.setattr(compile_module._Compiler, "rate", staticmethod(unguarded))
    spec = load_catalog().spec()
    with pytest.raises(CatalogError) as refused:
        compile_features(spec)
    message = str(refused.value)
    assert "not portable to Spark" in message
    assert "the features of attendance, column 'att_rate_30d'" in message
    assert "a division whose divisor may be zero" in message
    assert "nullif(divisor, 0)" in message
    # a build refuses before it reads any data: this folder's files do not even exist
    missing = Path("/nonexistent")
    folder = DataFolder(missing, EXTRACT, "-", {"people": missing / "people.csv"}, {})
    with pytest.raises(CatalogError, match="att_rate_30d"):
        build_features(folder, spec, FeatureBuildConfig())


def test_the_catalog_refuses_an_inexact_float_sum(monkeypatch: pytest.MonkeyPatch) -> None:
    """``days`` is summed exactly because the contract counts it in sessions of 0.5 (and the
    validator enforces it); without that step the sum would be refused."""
    assert load_catalog().spec().by_name("excl_suspension_days_365d").aggregate == "sum"
    table = TABLES["exclusions"]
    days = dataclasses.replace(table.column("days"), step=None)
    columns = tuple(days if c.name == "days" else c for c in table.columns)
    monkeypatch.setitem(TABLES, "exclusions", dataclasses.replace(table, columns=columns))
    with pytest.raises(CatalogError) as refused:
        load_catalog()
    message = str(refused.value)
    assert "feature 'excl_suspension_days_365d': a sum of days, a float, is inexact" in message
    assert "docs/portability.md" in message
    # a step that is not a power of two gives no exact sums either
    tenth = dataclasses.replace(days, step=0.1)
    assert not tenth.sums_exactly and dataclasses.replace(days, step=0.25).sums_exactly
