"""A capacity search stops at the first load step whose checks fail."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.drill.loader import expand_capacity_search, load_drill
from harness.results.model import EventKind, Verdict

pytestmark = pytest.mark.slow

SHIPPED = Path(__file__).resolve().parents[3] / "drills" / "capacity-search.yaml"


def test_capacity_search_stops_after_the_first_broken_step(
    run_drill, reference_environment
) -> None:
    """With an unreachable latency bound step-1 breaks: the run stops early and finds no peak."""
    shipped = load_drill(SHIPPED)
    search = shipped.capacity_search.model_copy(
        update={
            "start": 5,
            "step": 5,
            "max": 30,  # six steps of 2 s: 12 s if nothing stopped it
            "min_sustainable": 5,
            "checks": [
                shipped.capacity_search.checks[0].model_copy(
                    update={"name": "impossible p50", "percentile": 50.0, "max_ms": 0.001}
                )
            ],
        }
    )
    drill = shipped.model_copy(
        update={"name": "capacity-stop", "capacity_search": search, "phases": []}
    )

    outcome = run_drill(expand_capacity_search(drill), environment=reference_environment)

    report = outcome.report
    notes = [
        e for e in report.events if e.kind is EventKind.NOTE and "capacity search" in e.message
    ]
    assert [n.data["step"] for n in notes] == ["step-1"]
    ended = next(e for e in report.events if e.kind is EventKind.RUN_ENDED)
    assert ended.t_s < 9.0, "the run went on through the higher steps"
    assert report.sustainable_peak is None
    assert report.verdict is Verdict.FAIL
    capacity = next(c for c in report.checks if c.type == "capacity")
    assert not capacity.passed and capacity.measured is None
