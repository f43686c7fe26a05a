"""A version's UK Algorithmic Transparency Recording Standard (ATRS) record, built from the
same sources as its model card (:mod:`vru_risk.monitoring.card`); a draft while the governance
fields only people can fill are empty."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from vru_risk.monitoring.card import CardSources
from vru_risk.monitoring.card_text import section, transparency_sections
from vru_risk.monitoring.governance import PUBLICATION_FIELDS

DRAFT: Final = "draft: not publishable"
READY: Final = "complete: ready for the organisation's publication checks"


def build_transparency(s: CardSources, card: Mapping[str, Any]) -> dict[str, Any]:
    """The ATRS record (tier 1 and tier 2) of one version; a draft while governance fields that
    only people can fill are empty."""
    filled = s.governance.publication_fields()
    missing = s.governance.missing_publication_fields()
    status = DRAFT if missing else READY
    sections = transparency_sections(s.version, filled, card)
    if missing:
        sections.insert(
            0,
            section(
                "draft",
                "Draft: not publishable",
                [
                    "These fields can only be filled by people; set them in "
                    "VRU_HOME/governance.yaml (vru_risk/monitoring/governance.yaml documents the "
                    "keys) and generate again:"
                ],
                [[PUBLICATION_FIELDS[k], f"empty ({k})"] for k in missing],
            ),
        )
    return {
        "kind": "algorithmic transparency record",
        "standard": "UK Algorithmic Transparency Recording Standard (tier 1 and tier 2)",
        "title": f"Algorithmic transparency record: {s.model_name} version {s.version}",
        "status": status,
        "missing_fields": list(missing),
        "generated_at": s.generated_at,
        "sections": sections,
    }
