"""Programme configuration files: every problem reported at once."""

from __future__ import annotations

import re
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


def test_next_step_guidance_is_optional_and_checked(tmp_path: Path) -> None:
    base = (
        "programmes_version: 1\nprogrammes:\n"
        "  - {id: a, name: A, min_age: 8, max_age: 18, trigger_kinds: [ae_visit],\n"
        "     capacity: 5, period: month, shared_sources: [ae_visits]"
    )
    plain = tmp_path / "plain.yaml"
    plain.write_text(base + "}\n", encoding="utf-8")
    (a,) = load_programmes(plain).programmes
    assert (a.offer, a.contact, a.consent, a.safeguarding) == (None, None, None, None)
    assert not a.guidance_is_example
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        base + ", offer: '  ', contact: '', consent: " + "x" * 601 + ", phone: 1}\n",
        encoding="utf-8",
    )
    with pytest.raises(ProgrammeConfigError) as info:
        load_programmes(bad)
    message = str(info.value)
    assert "programme a.contact" in message  # empty
    assert "programme a.consent" in message  # too long
    assert "programme a.phone" in message  # not a field
    blank = tmp_path / "blank.yaml"
    blank.write_text(base + ", offer: '  '}\n", encoding="utf-8")
    with pytest.raises(ProgrammeConfigError, match="offer is blank"):
        load_programmes(blank)


def test_the_packaged_guidance_is_marked_example_and_invents_no_contact_details() -> None:
    for p in load_programmes().programmes:
        texts = (p.offer, p.contact, p.consent, p.safeguarding)
        assert all(t is not None and t.startswith("EXAMPLE:") for t in texts), p.id
        assert p.guidance_is_example
        joined = " ".join(t for t in texts if t)
        assert not re.search(r"@|https?:|www\.|\b0\d{3,}|\+44", joined), (p.id, joined)
        # no telephone number: the only one a reader is given is the emergency one
        assert not re.search(r"\d{4,}|\d{3}[ -]\d{3}", joined), (p.id, joined)
        assert "999" in (p.safeguarding or ""), p.id
