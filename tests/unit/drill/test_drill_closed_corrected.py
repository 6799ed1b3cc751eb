"""``corrected: true`` on a latency check is refused in a closed-model drill, with file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.drill.loader import load_drill
from harness.drill.plan import plan_drill
from harness.errors import InputError, ValidationFailed

SCENARIO = str(Path(__file__).resolve().parents[3] / "scenarios" / "customer_journeys.py")
DRILL = """\
name: t
target: {{url: http://127.0.0.1:8080}}
load:
  scenario: SCENARIO
  model: {model}
  shape: {{type: steady, level: 2}}
phases:
  - name: baseline
    duration_s: 2
    checks:
      - {{type: error_rate, max_ratio: 0.5}}
      - type: latency
        name: p99-corrected
        percentile: 99
        max_ms: 500
        corrected: true
checks:
  - {{type: latency, percentile: 95, max_ms: 800, corrected: true}}
  - {{type: latency, percentile: 95, max_ms: 800}}
""".replace("SCENARIO", SCENARIO)

CAPACITY = """\
name: cap
target: {url: http://127.0.0.1:8080}
load:
  scenario: SCENARIO
  shape: {type: steady, level: 2}
capacity_search:
  start: 2
  step: 2
  step_s: 2
  max: 6
  checks:
    - {type: latency, percentile: 99, max_ms: 500, corrected: true}
""".replace("SCENARIO", SCENARIO)


def problems(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "d.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValidationFailed) as caught:
        plan_drill(load_drill(path), drill_file=path)
    assert isinstance(caught.value, InputError)  # the CLI's exit 2
    return [p.replace(str(path), "d.yaml") for p in caught.value.problems]


def test_closed_model_refuses_every_corrected_latency_check(tmp_path: Path) -> None:
    """Each corrected check is one sentence with the line of its 'corrected', the item and the fix."""
    found = problems(tmp_path, DRILL.format(model="closed"))
    assert len(found) == 2
    drill_wide, phase = found
    assert phase.startswith(
        "d.yaml:16: phase 'baseline' > check 'p99-corrected' > corrected: true needs "
        "load.model 'open'; a closed-model drill's latency is not corrected for coordinated "
        "omission"
    )
    assert phase.endswith("use load.model: open, or remove 'corrected'")
    assert drill_wide.startswith("d.yaml:18: checks[0] > corrected: true needs load.model 'open'")


def test_open_model_accepts_corrected_checks(tmp_path: Path) -> None:
    """The same checks plan fine in an open-model drill: there the correction is real."""
    path = tmp_path / "d.yaml"
    path.write_text(DRILL.format(model="open"), encoding="utf-8")
    plan = plan_drill(load_drill(path), drill_file=path)
    assert plan.drill.load.model == "open"


def test_capacity_search_points_at_its_own_checks(tmp_path: Path) -> None:
    """A capacity search's checks are copied into each step; the problem names them once, where written."""
    found = problems(tmp_path, CAPACITY)
    assert found == [found[0]] and found[0].startswith(
        "d.yaml:12: capacity_search > checks[0] > corrected: true needs load.model 'open'"
    )
