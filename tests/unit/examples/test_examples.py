"""examples/ parse and hang together (they are not executed here: no GitHub runner, no Docker)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.drill.loader import load_drill
from harness.drill.plan import plan_drill

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
WORKFLOW = EXAMPLES / "github-actions" / "resilience.yml"
COMPOSE = EXAMPLES / "compose" / "docker-compose.yml"


def _load(path: Path) -> dict[str, Any]:
    """``path`` read with yaml.safe_load; must be a mapping."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{path}: not a mapping"
    return data


def _steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    """The steps of a workflow job."""
    return job["steps"]


def _runs(job: dict[str, Any]) -> str:
    """Every shell script of a job, joined."""
    return "\n".join(step.get("run", "") for step in _steps(job))


def _uses(job: dict[str, Any]) -> list[str]:
    """The actions a job uses, without versions."""
    return [step["uses"].split("@")[0] for step in _steps(job) if "uses" in step]


@pytest.fixture(scope="module")
def workflow() -> dict[str, Any]:
    """The GitHub Actions workflow."""
    return _load(WORKFLOW)


def test_workflow_triggers_and_jobs(workflow: dict[str, Any]) -> None:
    """The workflow runs on pull requests and main, with tests -> drill -> gate."""
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert {"pull_request", "push"} <= set(triggers)
    jobs = workflow["jobs"]
    assert set(jobs) == {"tests", "drill", "gate"}
    assert jobs["drill"]["needs"] == "tests" and jobs["gate"]["needs"] == "drill"
    for job in jobs.values():
        assert job["runs-on"] == "ubuntu-latest" and job["timeout-minutes"] > 0
        assert all(("uses" in s) != ("run" in s) for s in _steps(job)), "one of uses/run per step"


def test_workflow_tests_job_runs_the_suite_and_publishes_junit(workflow: dict[str, Any]) -> None:
    """The tests job runs scripts/test with --junitxml and publishes it with action-junit-report."""
    job = workflow["jobs"]["tests"]
    assert "scripts/test --junitxml=test-results/pytest.xml" in _runs(job)
    assert "mikepenz/action-junit-report" in _uses(job)


def test_workflow_drill_job_publishes_everything(workflow: dict[str, Any]) -> None:
    """The drill job runs a drill, appends summary.md, publishes junit.xml, uploads report.html."""
    job = workflow["jobs"]["drill"]
    runs = _runs(job)
    assert "harness run" in runs and "--run-id candidate" in runs
    assert 'reports/candidate/summary.md >> "$GITHUB_STEP_SUMMARY"' in runs
    assert "harness system down" in runs, "the system is stopped"
    junit = next(s for s in _steps(job) if s.get("uses", "").startswith("mikepenz/"))
    assert junit["with"]["report_paths"] == "reports/candidate/junit.xml"
    upload = next(s for s in _steps(job) if s.get("uses", "").startswith("actions/upload-artifact"))
    assert upload["with"]["name"] == "drill-report"
    assert "reports/candidate/*.html" in upload["with"]["path"]
    assert "reports/candidate/*.json" in upload["with"]["path"], "compare needs report.json"
    for step in _steps(job)[-5:]:
        assert "if" in step, f"step {step.get('name')!r} must run after a failed drill too"


def test_workflow_gate_compares_with_a_baseline_artifact(workflow: dict[str, Any]) -> None:
    """The gate downloads this run's and main's drill-report and fails on `harness compare`."""
    job = workflow["jobs"]["gate"]
    runs = _runs(job)
    assert "actions/download-artifact" in _uses(job)
    assert "gh run download" in runs and "--name drill-report" in runs
    assert "harness compare baseline/report.json candidate/report.json" in runs
    assert "exit $code" in runs


def test_compose_runs_a_real_toxiproxy_with_its_config() -> None:
    """The compose file runs ghcr.io/shopify/toxiproxy with the populate config it mounts."""
    compose = _load(COMPOSE)
    toxiproxy = compose["services"]["toxiproxy"]
    assert toxiproxy["image"].startswith("ghcr.io/shopify/toxiproxy:")
    assert "127.0.0.1:8474:8474" in toxiproxy["ports"]
    config = next(v.split(":")[0] for v in toxiproxy["volumes"] if "toxiproxy.json" in v)
    assert f"-config=/config/{Path(config).name}" in toxiproxy["command"]
    proxies = json.loads((COMPOSE.parent / config).read_text(encoding="utf-8"))
    upstream_services = {p["upstream"].split(":")[0] for p in proxies}
    assert upstream_services <= set(compose["services"]), "every upstream is a compose service"
    app_env = " ".join(compose["services"]["app"]["environment"].values())
    for proxy in proxies:
        assert f"toxiproxy:{proxy['listen'].split(':')[1]}" in app_env, proxy["name"]


def test_compose_drill_points_at_the_container() -> None:
    """The example drill validates, uses the container's API URL and only proxies it creates."""
    drill_file = COMPOSE.parent / "drill.yaml"
    drill = load_drill(drill_file)
    assert drill.toxiproxy.url == "http://127.0.0.1:8474"
    created = {p["name"] for p in json.loads((COMPOSE.parent / "toxiproxy.json").read_text())}
    assert {p.name for p in drill.proxies} <= created
    plan = plan_drill(drill, drill_file=drill_file, allow_remote=True)
    assert {w.window.fault.proxy for w in plan.faults} <= created
