"""The Kubernetes Job's and worker pods' commands, run here as local processes.

No cluster: the master runs the Job's ``args`` with its ``env`` and one ``harness worker``
runs the worker Deployment's ``args``, both read from deploy/kubernetes/ and both from
the repository's root (the image's WORKDIR). What a cluster would provide is mapped:
the Service name to 127.0.0.1, the port to a free one, ``*`` to 127.0.0.1, the replicas
to 1 (so HARNESS_EXPECT_WORKERS = 1 + load.workers), --target-url to the reference
system on loopback and /reports to a temporary folder. The drill is a copy of the Job's
drill with 1 s phases at 10-20 arrivals a second instead of minutes at 10,000.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import IO, Any

import pytest
import yaml

from harness import cli
from harness.demo import reference_environment
from harness.drill.loader import load_drill
from harness.drill.plan import plan_drill
from tests.deploy_manifests import REPO, Manifests, manifests, with_option
from tests.integration.load.load_helpers import counts_by_endpoint, journal, report

pytestmark = pytest.mark.slow

REPLICAS = 1  # the Deployment's replicas, here: one remote worker
SHORT = {  # the drill's load and phases, scaled down to seconds on loopback
    "shape": {"type": "ramp", "start": 10, "end": 20, "over_s": 1},
    "max_concurrency": 20,
    "drain_s": 2,
}
PHASE_S = 1
MASTER_TIMEOUT_S = 60
WORKER_EXIT_S = 10  # a worker serves one run, then exits by itself


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def short_drill(drill_path: Path, folder: Path) -> Path:
    """A copy of the drill with short phases and a low rate; its scenario as an absolute path."""
    plan = plan_drill(load_drill(drill_path), drill_file=drill_path, allow_remote=True)
    data: dict[str, Any] = yaml.safe_load(drill_path.read_text(encoding="utf-8"))
    data["load"].update(SHORT, scenario=str(plan.scenario_path))
    for phase in data["phases"]:
        phase["duration_s"] = PHASE_S
    copy = folder / drill_path.name
    copy.write_text(yaml.safe_dump(data), encoding="utf-8")
    return copy


def master_command(objects: Manifests, drill: Path, target_url: str, reports: Path) -> list[str]:
    args = objects.master_container["args"]
    args = with_option(args, "run", str(drill))  # `run <drill>`
    args = with_option(args, "--target-url", target_url)
    args = with_option(args, "--reports-dir", str(reports))
    return [sys.executable, "-m", "harness", *args]


def master_env(objects: Manifests, drill: Path, port: int) -> dict[str, str]:
    env = dict(objects.master_env)
    local_workers = load_drill(drill).load.workers
    env.update(
        HARNESS_MASTER_BIND_HOST="127.0.0.1",
        HARNESS_MASTER_PORT=str(port),
        HARNESS_EXPECT_WORKERS=str(REPLICAS + local_workers),
        HARNESS_WORKER_WAIT_S="30",
    )
    assert set(env) == set(objects.master_env)  # the Job's variables, mapped, none added
    return {**os.environ, **env}


def worker_command(objects: Manifests, port: int) -> list[str]:
    args = with_option(objects.worker_container["args"], "--master-host", "127.0.0.1")
    args = with_option(args, "--master-port", str(port))
    return [sys.executable, "-m", "harness", *args]


def start(command: list[str], log: IO[str], env: dict[str, str] | None = None) -> subprocess.Popen:
    """A process in its own group, from the repository's root (the image's WORKDIR)."""
    return subprocess.Popen(
        command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )


def exit_code(process: subprocess.Popen, timeout_s: float) -> int | None:
    """The process's exit code, or None if it is still running after ``timeout_s``."""
    try:
        return process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return None


def stop(process: subprocess.Popen) -> None:
    """Kill the process's whole group if it is still running (the test failed)."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(timeout=10)


def requests_recorded(run_dir: Path) -> int:
    """Requests in metrics.jsonl, dropped arrivals left out."""
    counts = counts_by_endpoint(run_dir)
    return sum(n for endpoint, n in counts.items() if endpoint != "harness:dropped")


def test_the_job_and_a_worker_pod_run_the_drill_on_loopback(tmp_path: Path) -> None:
    """The Job's command completes a judged run with a report, the remote worker issued
    its share of the arrivals and its requests are recorded, and it exits by itself."""
    objects = manifests()
    drill = short_drill(REPO / cli._parse(objects.master_container["args"]).drill, tmp_path)
    port, reports = free_port(), tmp_path / "reports"
    with (
        (tmp_path / "worker.log").open("w") as worker_log,
        (tmp_path / "master.log").open("w") as master_log,
    ):
        worker = start(worker_command(objects, port), worker_log)  # before the master, as pods
        try:
            with reference_environment(tmp_path / "helpdesk") as system:
                master = start(
                    master_command(objects, drill, system.target_url, reports),
                    master_log,
                    master_env(objects, drill, port),
                )
                try:
                    code = exit_code(master, MASTER_TIMEOUT_S)
                finally:
                    stop(master)
            worker_code = exit_code(worker, WORKER_EXIT_S)
        finally:
            stop(worker)
    output = (
        (tmp_path / "master.log").read_text()
        + "\n--- worker\n"
        + (tmp_path / "worker.log").read_text()
    )

    assert code in (0, 1), f"exit {code}\n{output}"  # pass or fail: a judged run
    (run_dir,) = reports.iterdir()
    assert report(run_dir)["verdict"] in ("pass", "fail"), output
    ended = next(e for e in journal(run_dir) if e["kind"] == "run_ended")["data"]
    remote = f"worker-{worker.pid}"
    assert remote in ended["workers"] and len(ended["workers"]) == 2, ended  # and the local one
    arrivals = {name: w["intended_arrivals"] for name, w in ended["workers"].items()}
    assert sum(arrivals.values()) == ended["intended_arrivals"], ended
    assert arrivals[remote] >= 0.3 * ended["intended_arrivals"] > 0, arrivals  # half each
    # ~1.2 requests an arrival: the local worker's half of the arrivals gives ~0.6 of this
    assert requests_recorded(run_dir) >= ended["intended_arrivals"] - ended["dropped_arrivals"]
    print(f"arrivals {arrivals}, recorded {requests_recorded(run_dir)}")  # -s or on failure
    assert worker_code == 0, f"worker exit {worker_code}\n{output}"  # it served one run and left
    worker_said = (tmp_path / "worker.log").read_text()  # a pod's log says what it waits for
    assert f"connecting to the harness master at 127.0.0.1:{port}" in worker_said, worker_said
    assert f"connected to the harness master at 127.0.0.1:{port}" in worker_said, worker_said
