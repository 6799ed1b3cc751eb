"""Tests for harness.load.outcome.OutcomeRules."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from harness.load.outcome import Marker, OutcomeRules
from harness.results.model import Outcome


def test_defaults_shed_only_429() -> None:
    """Without configuration only 429 is shed; 503 and other errors are errors, 2xx ok."""
    rules = OutcomeRules()
    assert rules.classify(429, None, None) is Outcome.SHED
    assert rules.classify(503, None, None) is Outcome.ERROR
    assert rules.classify(502, None, None) is Outcome.ERROR
    assert rules.classify(None, None, None) is Outcome.ERROR
    assert rules.classify(204, None, None) is Outcome.OK


def test_custom_shed_status() -> None:
    """A drill can declare which codes mean 'shed'."""
    rules = OutcomeRules(shed_status=[429])
    assert rules.classify(503, None, None) is Outcome.ERROR


def test_first_matching_marker_wins_and_markers_ignore_errors() -> None:
    """Markers apply to 2xx/3xx only, in order; nested JSON fields are read with dots."""
    rules = OutcomeRules(
        markers=[
            Marker(outcome=Outcome.DEGRADED, json_field="a.b", value="1"),
            Marker(outcome=Outcome.FALLBACK, header="X-Mode", value="fallback"),
        ]
    )
    both = rules.classify(200, {"X-Mode": "fallback"}, b'{"a": {"b": 1}}')
    assert both is Outcome.DEGRADED
    assert rules.classify(200, {"X-Mode": "fallback"}, b"[]") is Outcome.FALLBACK
    assert rules.classify(500, {"X-Mode": "fallback"}, None) is Outcome.ERROR


def test_marker_needs_exactly_one_source() -> None:
    """A marker names a header or a JSON field, never both or neither."""
    with pytest.raises(ValidationError):
        Marker(outcome=Outcome.FALLBACK, value="x")
    with pytest.raises(ValidationError):
        Marker(outcome=Outcome.FALLBACK, header="h", json_field="f", value="x")
    with pytest.raises(ValidationError):
        Marker(outcome=Outcome.SHED, header="h", value="x")
