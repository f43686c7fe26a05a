"""Fixtures shared by the fairness report's tests."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fairness_reports.test_report_words import full_report


@pytest.fixture(scope="session")
def full() -> tuple[dict[str, Any], set[str]]:
    """A model's full report (:func:`full_report`), built once for the words and print tests."""
    return full_report()
