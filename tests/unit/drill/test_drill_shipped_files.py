"""Every drill file in drills/ loads and plans: the ones run end to end and the others.

tests/integration/drills/ runs the drills in ``drill_cases.SHIPPED`` against the
reference system; drills that are not run there in full (``orders-primary-blackhole``
runs in tests/integration/timing/, ``peak-workers`` as a shortened copy in
tests/integration/deploy/) are at least checked as files here, as ``harness validate``
does, short of importing the scenario.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.drill.loader import load_drill
from harness.drill.plan import plan_drill

DRILLS_DIR = Path(__file__).resolve().parents[3] / "drills"


@pytest.mark.parametrize("path", sorted(DRILLS_DIR.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_shipped_drill_file_loads_and_plans(
    path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file passes the schema, and its scenario and fault scripts resolve."""
    monkeypatch.setenv("HELPDESK_STATE_DIR", str(tmp_path))  # the crash drills' fault scripts
    plan = plan_drill(load_drill(path), drill_file=path, allow_remote=False)
    assert plan.scenario_path.is_file()
    assert plan.drill.name == path.stem  # the run directory and the report carry it
