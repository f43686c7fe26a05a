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
