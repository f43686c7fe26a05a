"""Programme configuration files: every problem reported at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from vru_risk.flags.programmes import ProgrammeConfigError, load_programmes


def test_programme_files_report_every_problem(tmp_path: Path) -> None:
    bad = tmp_path / "programmes.yaml"
    bad.write_text(
        "programmes_version: 1\nprogrammes:\n"
        "  - {id: a, name: A, min_age: 12, max_age: 10, trigger_kinds: [ae_visit],\n"
        "     capacity: 5, period: month, shared_sources: [health_records]}\n"
        "  - {id: b, name: B, min_age: 8, max_age: 18, trigger_kinds: [exclusion],\n"
        "     capacity: -1, period: fortnight, shared_sources: []}\n",
        encoding="utf-8",
    )
    with pytest.raises(ProgrammeConfigError) as info:
        load_programmes(bad)
    message = str(info.value)
    assert str(bad) in message
    assert "programme a" in message and "min_age 12 is above max_age 10" in message
    assert "health_records" in message
    assert "programme b.capacity" in message and "programme b.period" in message
    with pytest.raises(ProgrammeConfigError, match="does not exist"):
        load_programmes(tmp_path / "nope.yaml")
