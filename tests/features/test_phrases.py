"""Phrases: said from each feature's window, identical to the text written before they were.

The expected text below was captured from the packaged catalog before phrases were generated
from ``window`` and ``baseline_days``; a change here changes what every explanation says.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from vru_risk.features.catalog import CatalogError, load_catalog
from vru_risk.features.phrases import (
    baseline_phrase,
    expand_phrase,
    phrase_problems,
    render_phrase,
    window_phrase,
)

#: The packaged catalog's spec hash: feature tables and registered models are keyed by it.
SPEC_HASH = "5a91de6ed06b8e2f874ebc97cab1bd8559774537ae098f5617c6c089252c4f1a"

#: Every feature's (phrase, missing_phrase), as written in catalog.yaml before generation.
PHRASES: dict[str, tuple[str, str | None]] = {
    "att_rate_30d": (
        "attended {pct} of school sessions in the last 30 days",
        "no school sessions on roll in the last 30 days",
    ),
    "att_rate_90d": (
        "attended {pct} of school sessions in the last 90 days",
        "no school sessions on roll in the last 90 days",
    ),
    "att_rate_365d": (
        "attended {pct} of school sessions in the last year",
        "no school sessions on roll in the last year",
    ),
    "att_rate_change_90d": (
        "attendance in the last 90 days changed by {pp} points against the year before",
        "no attendance record to compare the last 90 days with the year before",
    ),
    "att_days_since_attended": (
        "last attended a school session {days} days ago",
        "did not attend a school session in the last year",
    ),
    "att_unauth_rate_30d": (
        "missed {pct} of sessions without authorisation in the last 30 days",
        "no school sessions on roll in the last 30 days",
    ),
    "att_unauth_rate_90d": (
        "missed {pct} of sessions without authorisation in the last 90 days",
        "no school sessions on roll in the last 90 days",
    ),
    "att_unauth_rate_365d": (
        "missed {pct} of sessions without authorisation in the last year",
        "no school sessions on roll in the last year",
    ),
    "att_late_rate_90d": (
        "was late for {pct} of sessions in the last 90 days",
        "no school sessions on roll in the last 90 days",
    ),
    "att_excluded_sessions_365d": ("{n} school sessions spent excluded in the last year", None),
    "att_possible_sessions_365d": ("{n} school sessions on roll in the last year", None),
    "excl_suspensions_90d": ("{n} suspensions in the last 90 days", None),
    "excl_suspensions_365d": ("{n} suspensions in the last year", None),
    "excl_suspensions_all": ("{n} suspensions on record", None),
    "excl_suspension_days_365d": ("{n} school days suspended in the last year", None),
    "excl_permanent_all": ("{n} permanent exclusions on record", None),
    "excl_violent_365d": (
        "{n} exclusions for assault, a weapon or sexual misconduct in the last year",
        None,
    ),
    "excl_behaviour_365d": (
        "{n} exclusions for disruption, abuse, damage or theft in the last year",
        None,
    ),
    "excl_drugs_365d": ("{n} exclusions for drugs or alcohol in the last year", None),
    "excl_days_since_last": ("last excluded {days} days ago", "no exclusion on record"),
    "pol_suspect_90d": ("{n} police contacts as a suspect in the last 90 days", None),
    "pol_suspect_365d": ("{n} police contacts as a suspect in the last year", None),
    "pol_suspect_all": ("{n} police contacts as a suspect on record", None),
    "pol_suspect_offence_types_365d": (
        "suspected of {n} different kinds of offence in the last year",
        None,
    ),
    "pol_suspect_violent_365d": (
        "{n} police contacts as a suspect of violence in the last year",
        None,
    ),
    "pol_suspect_weapon_all": ("{n} suspected weapon possession offences on record", None),
    "pol_suspect_drugs_365d": (
        "{n} police contacts as a suspect of a drugs offence in the last year",
        None,
    ),
    "pol_victim_90d": ("{n} police contacts as a victim in the last 90 days", None),
    "pol_victim_365d": ("{n} police contacts as a victim in the last year", None),
    "pol_victim_violent_365d": ("{n} times a victim of violence in the last year", None),
    "pol_missing_90d": ("{n} missing-person episodes in the last 90 days", None),
    "pol_missing_365d": ("{n} missing-person episodes in the last year", None),
    "pol_witness_365d": ("{n} police contacts as a witness in the last year", None),
    "pol_contacts_365d": (
        "{n} police contacts of any kind (not stop and search) in the last year",
        None,
    ),
    "pol_days_since_last": (
        "last police contact {days} days ago",
        "no police contact on record (not counting stop and search)",
    ),
    "ae_visits_90d": ("{n} A&E visits in the last 90 days", None),
    "ae_visits_365d": ("{n} A&E visits in the last year", None),
    "ae_days_since_last": ("last A&E visit {days} days ago", "no A&E visit on record"),
    "ae_assault_365d": ("{n} A&E visits after an assault in the last year", None),
    "ae_assault_all": ("{n} A&E visits after an assault on record", None),
    "ae_self_harm_365d": ("{n} A&E visits for self-harm in the last year", None),
    "ae_alcohol_drugs_365d": ("{n} A&E visits for alcohol or drugs in the last year", None),
    "ae_night_weekend_365d": ("{n} A&E visits at night or at a weekend in the last year", None),
    "ae_admitted_365d": ("{n} A&E visits that led to admission in the last year", None),
    "age_years": ("aged {years}", "age not known"),
}


def test_every_phrase_is_identical_to_the_text_written_before() -> None:
    catalog = load_catalog()
    said = {f.name: (f.phrase, f.missing_phrase) for f in catalog.features}
    assert said == PHRASES


def test_the_packaged_spec_hash_is_pinned() -> None:
    assert load_catalog().spec().hash == SPEC_HASH


def test_the_window_is_said_from_the_declaration() -> None:
    assert [window_phrase(w) for w in (30, 90, 365, 730, "all")] == [
        "in the last 30 days",
        "in the last 90 days",
        "in the last year",
        "in the last 2 years",
        "on record",
    ]
    assert baseline_phrase(365) == "the year before"
    assert expand_phrase(
        "attendance {window} changed by {pp} points against {baseline}",
        window=90,
        baseline_days=365,
    ) == ("attendance in the last 90 days changed by {pp} points against the year before")


def test_every_windowed_feature_of_the_packaged_catalog_says_its_window() -> None:
    for f in load_catalog().features:
        if f.aggregate in ("count", "sum", "max", "distinct", "rate", "change"):
            assert window_phrase(f.window) in f.phrase, f.name


def test_a_phrase_that_says_no_window_is_accepted() -> None:
    assert (
        phrase_problems(
            "x", window=90, baseline_days=None, phrase="{n} visits", missing_phrase=None
        )
        == []
    )


@pytest.mark.parametrize(
    ("phrase", "missing", "expected"),
    [
        ("{n} visits in the last year", None, "says 'in the last year' but the window is"),
        ("{n} visits on record", None, "says 'on record'"),
        ("{n} visits {window}", "none in the last 30 days", "the missing_phrase says"),
    ],
)
def test_a_phrase_that_says_another_window_is_refused(
    phrase: str, missing: str | None, expected: str
) -> None:
    problems = phrase_problems(
        "x",
        window=90,
        baseline_days=None,
        phrase=expand_phrase(phrase, window=90, baseline_days=None),
        missing_phrase=missing,
    )
    assert any(expected in p for p in problems), problems


def test_a_catalog_phrase_with_the_wrong_window_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "catalog.yaml"
    path.write_text(
        "catalog_version: 1\n"
        "features:\n"
        "  - {name: ae_visits_90d, source: ae_visits, family: ae_visits, aggregate: count,\n"
        "     window: 90, impute: zero, phrase: '{n} A&E visits in the last year'}\n",
        encoding="utf-8",
    )
    with pytest.raises(CatalogError, match="says 'in the last year' but the window is"):
        load_catalog(path)


def test_a_window_placeholder_is_said_in_a_custom_catalog(tmp_path: Path) -> None:
    path = tmp_path / "catalog.yaml"
    path.write_text(
        "catalog_version: 1\n"
        "features:\n"
        "  - {name: ae_visits_90d, source: ae_visits, family: ae_visits, aggregate: count,\n"
        "     window: 90, impute: zero, phrase: '{n} A&E visits {window}'}\n",
        encoding="utf-8",
    )
    feature = load_catalog(path).spec().by_name("ae_visits_90d")
    assert render_phrase(feature, 2.0) == "2 A&E visits in the last 90 days"
