"""Running a benchmark script as CI's smoke does: its own process group, stopped on failure."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[3] / "benchmarks"


def run_bench(script: str, *args: str, timeout_s: float = 60) -> str:
    """Run ``benchmarks/<script> <args>``; its stdout. Fails the test on a non-zero exit.

    On a timeout (or any failure of the test while it runs) the script gets SIGINT, so it
    stops what it started and exits; SIGKILL for its whole group if it does not.
    """
    process = subprocess.Popen(
        [sys.executable, str(BENCHMARKS / script), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        output, errors = process.communicate(timeout=timeout_s)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)
            try:
                process.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.communicate()
    assert process.returncode == 0, errors[-3000:]
    return output
