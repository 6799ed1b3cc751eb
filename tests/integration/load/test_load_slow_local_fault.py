"""A local fault whose revert takes seconds (a restart) runs beside the loop, never stalling it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from load_helpers import journal, run_drill, write_drill

pytestmark = pytest.mark.slow

REVERT_S = 3.0


def test_a_slow_revert_does_not_delay_the_next_phase(target: Any, tmp_path: Path) -> None:
    """The revert command sleeps 3 s from t = 2: phase 'tail' still starts at 3 s, not at 5 s."""
    done = tmp_path / "reverted"
    (tmp_path / "faults").mkdir()
    (tmp_path / "faults" / "maintenance.yaml").write_text(
        yaml.safe_dump(
            {
                "name": "maintenance",
                "faults": [
                    {
                        "name": "maintenance",
                        "type": "command",
                        "apply": ["true"],
                        "revert": ["sh", "-c", f"sleep {REVERT_S:g}; touch {done}"],
                    }
                ],
            }
        ),
        encoding="utf-8",
    )
    path = write_drill(
        tmp_path,
        target.url,
        {"user_classes": ["Hitter"], "shape": {"type": "steady", "level": 2}, "drain_s": 1},
        1.0,
    )
    drill = yaml.safe_load(path.read_text(encoding="utf-8"))
    checks = [{"type": "error_rate", "max_ratio": 0.5}]
    drill["phases"] = [
        {"name": "base", "duration_s": 1, "checks": checks},
        {"name": "maint", "duration_s": 1, "faults": ["maintenance"]},
        {"name": "after", "duration_s": 1, "checks": checks},
        {"name": "tail", "duration_s": 1, "checks": checks},
    ]
    path.write_text(yaml.safe_dump(drill), encoding="utf-8")
    code, run_dir, output = run_drill(path, tmp_path / "r")
    assert code == 0, output
    assert done.exists(), "the revert ran to its end (the run waited for it)"
    events = journal(run_dir)
    started = {e["data"]["phase"]: e["t_s"] for e in events if e["kind"] == "phase_started"}
    # with the loop blocked on the revert, 'tail' never started (the loop woke at ~5 s)
    assert started.get("tail", 99.0) < 3.0 + REVERT_S / 2, started
    reverted = next(e for e in events if e["kind"] == "fault_reverted")
    assert 1.9 <= reverted["t_s"] < 2.5  # stamped when the revert started
