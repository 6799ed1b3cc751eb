"""Test HTTP servers in child processes: started, waited for, and always stopped.

A server script prints its port on its first line (see tests/integration/load/load_server.py)
and answers ``health_path`` once it serves.
"""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

READY_S = 10.0


@contextmanager
def served(script: Path, *, health_path: str = "/healthz") -> Iterator[str]:
    """``python script`` in a child process; its base URL once ``health_path`` answers."""
    process = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        assert process.stdout is not None
        url = f"http://127.0.0.1:{int(process.stdout.readline())}"
        deadline = time.monotonic() + READY_S
        while True:
            try:
                urllib.request.urlopen(f"{url}{health_path}", timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        if process.stdout is not None:
            process.stdout.close()
