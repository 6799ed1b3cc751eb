"""The end of a drill is graceful: requests in flight finish (ok) or are cut off (error), never lost."""

from __future__ import annotations

from pathlib import Path

import pytest
from load_helpers import counts_by_outcome, journal, report, run_drill, write_drill

pytestmark = pytest.mark.slow

DURATION_S = 3.0
DRAIN_S = 2.0


@pytest.mark.parametrize("workers", [0, 1], ids=["in-process", "one-worker"])
def test_requests_in_flight_at_the_end_are_recorded(target, tmp_path: Path, workers: int) -> None:
    """1.4 s requests (one in flight at 3 s, done by ~4.2 s) are ok; a 6 s one is cut off as error.

    Every request the server saw start is in metrics.jsonl, the cut-off one in the
    bucket it started in, and the run ends within duration + drain limit + 1 s.
    """
    load = {
        "shape": {"type": "steady", "level": 2},
        "user_classes": ["DrainInFlight", "DrainStuck"],
        "spawn_rate_per_s": 50,
        "drain_s": DRAIN_S,
        "workers": workers,
    }
    drill = write_drill(tmp_path, target.url, load, DURATION_S)
    before = target.counts()
    code, run_dir, output = run_drill(drill, tmp_path / "reports")
    assert code == 0, output
    after = target.counts()
    served = {
        tag: after.get(f"/slow {tag}", 0) - before.get(f"/slow {tag}", 0)
        for tag in ("drain-1400", "drain-6000")
    }
    recorded = counts_by_outcome(run_dir)

    # 1.4 s requests back to back from ~0 s: the third starts at ~2.8 s, ends during the drain
    assert served["drain-1400"] == 3, (served, output)
    assert recorded["drain-1400", "ok"] == 3, recorded
    assert recorded["drain-1400", "error"] == 0, recorded
    # the 6 s request outlives the drain limit: an error in its start bucket (0), ~5 s long
    assert served["drain-6000"] == 1, served
    assert recorded["drain-6000", "error"] == 1, recorded
    assert recorded["drain-6000", "ok"] == 0, recorded
    stuck = report(run_dir)["phases"][0]["endpoints"]["drain-6000"]
    assert stuck["outcome_counts"]["error"] == 1
    assert DURATION_S + DRAIN_S - 0.5 <= stuck["max_ms"] / 1000 <= DURATION_S + DRAIN_S + 1.0

    ended = next(e for e in journal(run_dir) if e["kind"] == "run_ended")
    assert ended["t_s"] <= DURATION_S + DRAIN_S + 1.0, ended
