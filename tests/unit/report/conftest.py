"""Fixtures for the report tests: the sample drill's report and an aborted one."""

from __future__ import annotations

import pytest

from harness.report.sample import aborted_report, sample_report
from harness.results.model import RunReport


@pytest.fixture
def report() -> RunReport:
    """The sample orders-failover drill: verdict fail, one failed check."""
    return sample_report()


@pytest.fixture
def aborted() -> RunReport:
    """An aborted drill: no series, nothing measured, fault never reverted."""
    return aborted_report()
