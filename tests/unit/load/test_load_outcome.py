"""Tests for harness.load.outcome.OutcomeRules."""

from __future__ import annotations

import json

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
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


def _marker_outcome(rules: OutcomeRules, headers: dict[str, str], body: bytes) -> Outcome:
    """The outcome of a 200 by trying each marker in order (the reference reading)."""
    marker = rules.matching_marker(headers, body)
    return Outcome(marker.outcome) if marker is not None else Outcome.OK


_names = st.sampled_from(["X-Mode", "x-mode", "X-Other"])
_fields = st.sampled_from(["mode", "a.b", "a"])
_values = st.sampled_from(["fallback", "degraded", "1", "True"])
_outcomes = st.sampled_from([Outcome.FALLBACK, Outcome.DEGRADED, Outcome.ERROR])


@st.composite
def _markers(draw: st.DrawFn) -> Marker:
    source = {"header": draw(_names)} if draw(st.booleans()) else {"json_field": draw(_fields)}
    return Marker(outcome=draw(_outcomes), value=draw(_values), **source)


@settings(max_examples=400, deadline=None)
@example(  # two markers on one header with another between them: two groups, not one
    markers=[
        Marker(outcome=Outcome.DEGRADED, header="X-Mode", value="1"),
        Marker(outcome=Outcome.ERROR, header="X-Other", value="True"),
        Marker(outcome=Outcome.FALLBACK, header="X-Mode", value="True"),
    ],
    headers={"X-Mode": "True", "X-Other": "True"},
    document=None,
)
@given(
    markers=st.lists(_markers(), max_size=6),
    headers=st.dictionaries(_names, _values, max_size=3),
    document=st.recursive(
        st.one_of(_values, st.integers(0, 2), st.booleans()),
        lambda inner: st.dictionaries(st.sampled_from(["mode", "a", "b"]), inner, max_size=3),
        max_leaves=6,
    ),
)
def test_compiled_markers_read_as_markers_in_order(
    markers: list[Marker], headers: dict[str, str], document: object
) -> None:
    """classify() reads grouped markers once yet gives what trying each in order gives."""
    rules = OutcomeRules(markers=markers)
    body = json.dumps(document).encode()
    assert rules.classify(200, headers, body) is _marker_outcome(rules, headers, body)


def test_a_value_keeps_its_first_marker_and_a_later_header_still_counts() -> None:
    """Two markers on one header with one value: the first wins; markers are read in order."""
    rules = OutcomeRules(
        markers=[
            Marker(outcome=Outcome.DEGRADED, header="X-Mode", value="slow"),
            Marker(outcome=Outcome.FALLBACK, header="X-Mode", value="slow"),
            Marker(outcome=Outcome.FALLBACK, header="X-Source", value="replica"),
            Marker(outcome=Outcome.ERROR, header="X-Mode", value="broken"),
        ]
    )
    assert rules.classify(200, {"X-Mode": "slow"}, None) is Outcome.DEGRADED
    assert rules.classify(200, {"X-Mode": "broken", "X-Source": "replica"}, None) is (
        Outcome.FALLBACK
    )
    assert rules.classify(200, {"x-mode": "broken"}, None) is Outcome.ERROR
    assert rules.classify(200, None, None) is Outcome.OK
