"""The contract declarations and their documentation."""

from __future__ import annotations

from pathlib import Path

from vru_risk.data.contract import (
    AUDIT_ONLY_COLUMNS,
    EVENT_TABLES,
    TABLES,
    contract_markdown,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "data-contract.md"


def test_docs_tables_are_rendered_from_the_code() -> None:
    text = DOC.read_text(encoding="utf-8")
    begin = text.index("-->\n", text.index("<!-- BEGIN GENERATED")) + 4
    end = text.index("<!-- END GENERATED -->")
    assert text[begin:end] == contract_markdown(), (
        "docs/data-contract.md is out of date: regenerate its tables from contract_markdown()"
    )


def test_audit_only_columns_live_in_people_only() -> None:
    assert set(AUDIT_ONLY_COLUMNS) <= set(TABLES["people"].column_names)
    for name in EVENT_TABLES:
        assert not set(AUDIT_ONLY_COLUMNS) & set(TABLES[name].column_names)


def test_every_event_table_has_a_knowledge_date_and_a_key() -> None:
    for name in EVENT_TABLES:
        table = TABLES[name]
        assert "known_date" in table.column_names
        assert table.event_date in table.column_names
        assert set(table.key) <= set(table.column_names)
        assert not table.column("known_date").required
