"""Running a drill in a child process (Locust must not be imported into pytest)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
REPORT_FILES = ("report.html", "summary.md", "junit.xml", "report.json")


DEFAULT_PHASE_CHECKS = [{"type": "error_rate", "max_ratio": 0.5}]


def write_drill(
    tmp_path: Path,
    target_url: str,
    load: dict[str, Any],
    duration_s: float,
    *,
    phase_checks: list[dict[str, Any]] | None = None,
    checks: list[dict[str, Any]] | None = None,
    target: dict[str, Any] | None = None,
) -> Path:
    drill: dict[str, Any] = {
        "name": "load-test",
        "target": {"url": target_url, "health_path": "/healthz", **(target or {})},
        "toxiproxy": {"url": "embedded"},
        "load": {"scenario": str(HERE / "load_scenario.py"), **load},
        "bucket_s": 0.25,
        "phases": [
            {
                "name": "load",
                "duration_s": duration_s,
                "checks": DEFAULT_PHASE_CHECKS if phase_checks is None else phase_checks,
            }
        ],
    }
    if checks:
        drill["checks"] = checks
    path = tmp_path / "drill.yaml"
    path.write_text(yaml.safe_dump(drill), encoding="utf-8")
    return path


def run_drill(drill: Path, reports: Path, timeout_s: float = 45) -> tuple[int, Path, str]:
    """Run ``harness run`` in its own process group; kill the group if it overruns or fails."""
    process = start_drill(drill, reports)
    try:
        output, _ = process.communicate(timeout=timeout_s)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
    return process.returncode, reports / "run", output


def start_drill(drill: Path, reports: Path) -> subprocess.Popen:
    """``harness run`` in its own process group, not waited for (the caller must end it)."""
    env = {**os.environ, "HARNESS_MASTER_PORT": "0", "HARNESS_MASTER_BIND_HOST": "127.0.0.1"}
    command = [
        sys.executable,
        "-m",
        "harness",
        "run",
        str(drill),
        "--reports-dir",
        str(reports),
        "--run-id",
        "run",
        "--live",
        "off",
    ]
    return subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def report(run_dir: Path) -> dict[str, Any]:
    return json.loads((run_dir / "report.json").read_text(encoding="utf-8"))


def counts_by_endpoint(run_dir: Path) -> Counter[str]:
    counts: Counter[str] = Counter()
    with (run_dir / "raw" / "metrics.jsonl").open(encoding="utf-8") as rows:
        for line in rows:
            row = json.loads(line)
            counts[row["endpoint"]] += row["count"]
    return counts


def counts_by_outcome(run_dir: Path, before_bucket: int | None = None) -> Counter[tuple[str, str]]:
    """Requests recorded per (endpoint, outcome) in ``metrics.jsonl`` (buckets before one)."""
    counts: Counter[tuple[str, str]] = Counter()
    with (run_dir / "raw" / "metrics.jsonl").open(encoding="utf-8") as rows:
        for line in rows:
            row = json.loads(line)
            if before_bucket is None or row["bucket"] < before_bucket:
                counts[row["endpoint"], row["outcome"]] += row["count"]
    return counts


def journal(run_dir: Path) -> list[dict[str, Any]]:
    with (run_dir / "raw" / "journal.jsonl").open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def is_alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def wait_gone(pids: list[int], timeout_s: float = 5.0) -> list[int]:
    deadline = time.monotonic() + timeout_s
    alive = [p for p in pids if is_alive(p)]
    while alive and time.monotonic() < deadline:
        time.sleep(0.1)
        alive = [p for p in alive if is_alive(p)]
    return alive
