"""Planning a drill's faults: clashes between scripts are refused before anything is touched."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.drill.loader import load_drill
from harness.drill.plan import plan_drill
from harness.errors import ValidationFailed

SCENARIO = Path(__file__).resolve().parents[3] / "scenarios" / "customer_journeys.py"
NLU_SLOW = {"name": "nlu-bad", "proxy": "nlu", "type": "latency", "latency_ms": 500}
NLU_SLOWER = {**NLU_SLOW, "latency_ms": 2000}


def _write(tmp_path: Path, phases: list[dict[str, Any]], scripts: dict[str, list[dict]]) -> Path:
    (tmp_path / "faults").mkdir()
    for name, faults in scripts.items():
        (tmp_path / "faults" / f"{name}.yaml").write_text(
            yaml.safe_dump({"name": name, "faults": faults}), encoding="utf-8"
        )
    drill = {
        "name": "clash",
        "target": {"url": "http://127.0.0.1:8080"},
        "load": {"scenario": str(SCENARIO), "shape": {"type": "steady", "level": 1}},
        "phases": [{**p, "checks": [{"type": "error_rate", "max_ratio": 0.5}]} for p in phases],
    }
    path = tmp_path / "clash.yaml"
    path.write_text(yaml.safe_dump(drill, sort_keys=False), encoding="utf-8")
    return path


def test_same_fault_name_on_one_proxy_in_two_scripts_at_once_is_refused(tmp_path: Path) -> None:
    """Two scripts in one phase with fault 'nlu-bad' on 'nlu': one problem naming both."""
    path = _write(
        tmp_path,
        [
            {"name": "base", "duration_s": 2},
            {"name": "hit", "duration_s": 5, "faults": ["slow-a", "slow-b"]},
        ],
        {"slow-a": [NLU_SLOW], "slow-b": [{**NLU_SLOWER, "start_s": 1}]},
    )
    with pytest.raises(ValidationFailed) as caught:
        plan_drill(load_drill(path), drill_file=path)
    assert caught.value.source == str(path)
    [problem] = caught.value.problems
    assert problem.startswith(f"{path}:")
    assert "fault 'nlu-bad' on proxy 'nlu'" in problem
    assert "script 'slow-a' (phase 'hit', 2-7 s)" in problem
    assert "script 'slow-b' (phase 'hit', 3-7 s)" in problem
    assert "rename one of them or move their windows apart" in problem


def test_windows_that_only_touch_or_use_other_proxies_are_fine(tmp_path: Path) -> None:
    """The same script in consecutive phases, or one name on two proxies, plans fine."""
    path = _write(
        tmp_path,
        [
            {"name": "one", "duration_s": 2, "faults": ["slow-a", "elsewhere"]},
            {"name": "two", "duration_s": 2, "faults": ["slow-a"]},
        ],
        {"slow-a": [NLU_SLOW], "elsewhere": [{**NLU_SLOW, "proxy": "kb"}]},
    )
    plan = plan_drill(load_drill(path), drill_file=path)
    assert [(p.script, p.window.start_s, p.window.end_s) for p in plan.faults] == [
        ("slow-a", 0, 2),
        ("elsewhere", 0, 2),
        ("slow-a", 2, 4),
    ]


def test_interleaved_flapping_of_one_name_is_fine_but_overlap_is_not(tmp_path: Path) -> None:
    """Flaps that take turns never overlap; a flap overlapping the other script is refused once."""
    flap_a = {**NLU_SLOW, "flapping": {"on_s": 1, "off_s": 1}}
    flap_b = {**NLU_SLOWER, "start_s": 1, "flapping": {"on_s": 1, "off_s": 1}}
    path = _write(
        tmp_path,
        [{"name": "hit", "duration_s": 6, "faults": ["a", "b"]}],
        {"a": [flap_a], "b": [flap_b]},
    )
    plan_drill(load_drill(path), drill_file=path)

    overlapping = tmp_path / "again"
    overlapping.mkdir()
    path = _write(
        overlapping,
        [{"name": "hit", "duration_s": 6, "faults": ["a", "b"]}],
        {"a": [flap_a], "b": [{**flap_b, "start_s": 0.5}]},
    )
    with pytest.raises(ValidationFailed) as caught:
        plan_drill(load_drill(path), drill_file=path)
    assert len(caught.value.problems) == 1
