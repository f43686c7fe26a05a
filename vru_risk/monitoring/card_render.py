"""Render a model card or transparency record (:mod:`vru_risk.monitoring.card`) as one
self-contained, printable HTML page (Jinja2, autoescaped) and write both forms.

Example
-------
>>> html = render_html({"title": "<t>", "status": "s", "generated_at": "g", "sections": []})
>>> "&lt;t&gt;" in html
True
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2


class DocumentError(ValueError):
    """A card, record or comparison that does not have the shape this version writes."""


def _strings(value: Any, where: str) -> list[str]:
    if not isinstance(value, list):
        raise DocumentError(f"{where} is not a list")
    return [str(v) for v in value]


def _section(value: Any, n: int) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise DocumentError(f"section {n} is not an object")
    facts = value.get("facts") or []
    if not isinstance(facts, list) or not all(isinstance(f, list) and len(f) == 2 for f in facts):
        raise DocumentError(f"section {n}'s facts are not [label, value] pairs")
    table = value.get("table")
    if table is not None:
        if not isinstance(table, Mapping):
            raise DocumentError(f"section {n}'s table is not an object")
        columns = _strings(table.get("columns"), f"section {n}'s table columns")
        rows = table.get("rows")
        if not isinstance(rows, list):
            raise DocumentError(f"section {n}'s table rows are not a list")
        table = {
            "columns": columns,
            "rows": [_strings(r, f"a row of section {n}'s table") for r in rows],
        }
    return {
        "id": str(value.get("id") or f"section-{n}"),
        "title": str(value.get("title") or ""),
        "text": _strings(value.get("text") or [], f"section {n}'s text"),
        "facts": [[str(k), str(v)] for k, v in facts],
        "table": table,
    }


def checked_document(data: Any) -> dict[str, Any]:
    """``data`` (a parsed ``card.json``, ``transparency.json`` or comparison) with exactly the
    keys a page renders, every value text; :class:`DocumentError` when its shape is not this
    version's.

    >>> checked_document({"title": "t", "sections": [{"id": "a", "text": ["x"]}]})["sections"][0]
    {'id': 'a', 'title': '', 'text': ['x'], 'facts': [], 'table': None}
    """
    if not isinstance(data, Mapping) or not isinstance(data.get("sections"), list):
        raise DocumentError("it is not a document: no list of sections")
    return {
        "title": str(data.get("title") or ""),
        "status": str(data.get("status") or ""),
        "generated_at": str(data.get("generated_at") or ""),
        "missing_fields": _strings(data.get("missing_fields") or [], "missing_fields"),
        "sections": [_section(s, n) for n, s in enumerate(data["sections"], 1)],
    }


def render_html(document: Mapping[str, Any]) -> str:
    env = jinja2.Environment(
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True
    )
    text = resources.files("vru_risk.monitoring").joinpath("templates", "card.html.j2")
    return env.from_string(text.read_text("utf-8")).render(doc=document)


def write_document(document: Mapping[str, Any], out: Path, stem: str) -> tuple[Path, Path]:
    """Write ``{stem}.json`` and ``{stem}.html`` into ``out`` (created); return both paths."""
    out.mkdir(parents=True, exist_ok=True)
    json_path, html_path = out / f"{stem}.json", out / f"{stem}.html"
    text = json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    html = render_html(document)
    json_path.write_text(text, encoding="utf-8")
    html_path.write_text(html, encoding="utf-8")
    return json_path, html_path
