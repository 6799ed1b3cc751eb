"""The harness on a system not shaped like helpdesk: deskapp with its database down mid-drill.

One drill file of a user's own, in a folder of its own (scenario and fault script
by relative path and by name next to it), no health path, the database proxy
declared but never re-pointed, abort conditions on the phases around an expected
outage, and the errors named by kind. A second drill whose proxy entry points
elsewhere is refused before anything is touched.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from harness.pytest_plugin import DrillRunError, run_drill_in_child
from harness.results.model import Verdict
from tests.systems.deskapp.fixtures import DeskappEnv

pytestmark = pytest.mark.slow

DESKAPP = Path(__file__).resolve().parents[2] / "systems" / "deskapp"
DRILL_TIMEOUT_S = 90.0
ABORT = [{"metric": "error_ratio", "above": 0.5, "for_s": 1}]


def _layout(root: Path, env: DeskappEnv, proxy: dict[str, Any]) -> Path:
    """A user's folder: drills/fit.yaml, scenarios/customer_path.py, faults/db-down.yaml."""
    for name in ("drills", "scenarios", "faults"):
        (root / name).mkdir(parents=True, exist_ok=True)
    shutil.copy(DESKAPP / "scenarios" / "customer_path.py", root / "scenarios")
    (root / "faults" / "db-down.yaml").write_text(
        "name: db-down\nfaults:\n  - {name: db-down, proxy: deskapp_db, type: down}\n",
        encoding="utf-8",
    )
    drill = {
        "name": "deskapp-fit",
        "target": {"url": env.app_url},  # no health_path: '/' answering below 500 will do
        "toxiproxy": {"url": env.toxiproxy_url},
        "proxies": [proxy],
        "load": {
            "scenario": "../scenarios/customer_path.py",  # relative to this file, not the cwd
            "shape": {"type": "steady", "level": 4},
            "drain_s": 3,
        },
        "phases": [
            {
                "name": "base",
                "duration_s": 2,
                "abort": ABORT,
                "checks": [{"name": "no errors before", "type": "error_rate", "max_ratio": 0.01}],
            },
            {
                "name": "outage",
                "duration_s": 2,
                "faults": ["db-down"],
                "checks": [
                    {"name": "no errors in the outage", "type": "error_rate", "max_ratio": 0.01}
                ],
            },
            {
                "name": "after",
                "duration_s": 3,
                "abort": ABORT,
                "checks": [{"name": "served again", "type": "availability", "min_ratio": 0.5}],
            },
        ],
    }
    path = root / "drills" / "fit.yaml"
    path.write_text(yaml.safe_dump(drill, sort_keys=False), encoding="utf-8")
    return path


def test_a_database_outage_is_judged_with_its_errors_named_and_the_run_not_aborted(
    deskapp_env: DeskappEnv, tmp_path: Path
) -> None:
    """Exit 1 for exactly the outage's error check; its errors are deskapp's 500s, by endpoint."""
    drill = _layout(tmp_path / "user", deskapp_env, {"name": "deskapp_db"})
    outcome = run_drill_in_child(drill, reports_dir=tmp_path / "r", timeout_s=DRILL_TIMEOUT_S)
    assert outcome.exit_code == 1, outcome.explain()
    assert outcome.report.verdict is Verdict.FAIL
    assert [c.name for c in outcome.failed_checks] == ["no errors in the outage"], outcome.explain()
    events = [e.kind for e in outcome.report.events]
    assert "aborted" not in events  # the phases around the outage carry the abort conditions
    outage = next(p for p in outcome.report.phases if p.name == "outage")
    kinds = {e.kind for e in outage.errors}
    assert "http 500" in kinds, outage.errors  # deskapp's error page when Redis is gone
    assert outage.endpoints["ticket:form"].outcome_counts.get("error", 0) == 0  # no database


def test_a_proxy_pointing_elsewhere_is_refused_and_left_alone(
    deskapp_env: DeskappEnv, tmp_path: Path
) -> None:
    """The drill says deskapp_db goes to another port: exit 3, nothing changed, deskapp still works."""
    drill = _layout(
        tmp_path / "user", deskapp_env, {"name": "deskapp_db", "upstream": "127.0.0.1:9"}
    )
    before = httpx.get(f"{deskapp_env.toxiproxy_url}/proxies/deskapp_db", timeout=5).json()
    with pytest.raises(DrillRunError, match="exited 3") as refused:
        run_drill_in_child(drill, reports_dir=tmp_path / "r", timeout_s=DRILL_TIMEOUT_S)
    assert "never re-points an existing proxy" in str(refused.value)
    after = httpx.get(f"{deskapp_env.toxiproxy_url}/proxies/deskapp_db", timeout=5).json()
    assert after["upstream"] == before["upstream"]
    with deskapp_env.client() as http:
        assert http.get("/health/deep").status_code == 200
