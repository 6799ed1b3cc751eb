"""Importing a scenario in a child process with a time limit (``harness validate``).

Without Locust in this process: the child (``python -m harness.load.scenario``)
imports it. A locustfile that blocks at import, ends the process (``os._exit(0)``)
or fails is named with its file and line; the child and whatever it started are
killed when the time is up.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from harness.errors import InputError
from harness.limits import LIMITS_DOC, SCENARIO_IMPORT_S


def probe_user_classes(
    path: Path, wanted: list[str], *, timeout_s: float = SCENARIO_IMPORT_S
) -> list[str]:
    """The names of the user classes :func:`load_user_classes` would return, found by importing
    the locustfile in a child process (its own process group) that gets ``timeout_s``.

    InputError when the import fails, ends the process, or takes longer; the child and
    anything it started are killed then.
    """
    with tempfile.TemporaryDirectory(prefix="harness-probe-") as folder:
        result, output = Path(folder) / "result.json", Path(folder) / "output.txt"
        with open(output, "wb") as out:
            child = subprocess.Popen(
                [sys.executable, "-m", "harness.load.scenario", str(path), str(result), *wanted],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                start_new_session=True,
            )
            try:
                code = child.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                code = None
            finally:
                _kill_group(child)
        if code is None:
            raise InputError(
                f"{path}:1: importing the scenario took longer than the limit SCENARIO_IMPORT_S "
                f"({timeout_s:g} s, {LIMITS_DOC}); a locustfile must not block or wait at "
                "import - move that work into on_start or a task"
            )
        answer = _answer(result)
        if answer is None:
            tail = output.read_bytes()[-300:].decode("utf-8", "replace").strip()
            raise InputError(
                f"{path}:1: the scenario ended the process while being imported (exit code "
                f"{code}) without loading - remove the exit at import"
                + (f"; its output ended with: {tail}" if tail else "")
            )
        if "error" in answer:
            raise InputError(str(answer["error"]))
        return [str(name) for name in answer.get("classes", [])]


def _kill_group(child: subprocess.Popen[bytes]) -> None:
    """Kill ``child``'s process group (the scenario may have started processes) and reap it."""
    try:
        os.killpg(child.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    child.wait()


def _answer(result: Path) -> dict | None:
    try:
        answer = json.loads(result.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return answer if isinstance(answer, dict) else None
