"""RunFiles when the disk refuses: bounded retries from where a write stopped, then a recorded failure."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest

from harness.errors import ResultsWriteError
from harness.results import files as files_module
from harness.results.files import WRITE_ATTEMPTS, RunFiles
from harness.results.model import EventKind, TimelineEvent


def _event(n: int) -> TimelineEvent:
    return TimelineEvent(t_s=float(n), kind=EventKind.NOTE, message=f"event {n}")


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_write_that_fails_then_succeeds_is_complete(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two refused writes, then one that takes half the line, then the rest: one whole line, no failure."""
    real_write = os.write
    script = ["refuse", "refuse", "half"]

    def flaky(fd: int, data: bytes) -> int:
        step = script.pop(0) if script else "all"
        if step == "refuse":
            raise OSError(errno.ENOSPC, "No space left on device")
        if step == "half":
            return real_write(fd, bytes(data[: len(data) // 2]))
        return real_write(fd, data)

    pauses: list[float] = []
    files = RunFiles(tmp_path / "run", sleep=pauses.append)
    monkeypatch.setattr(files_module.os, "write", flaky)
    files.event(_event(1))
    files.close()
    assert files.failure is None
    assert [e["message"] for e in _lines(tmp_path / "run" / "raw" / "journal.jsonl")] == ["event 1"]
    assert len(pauses) == 2


def test_a_file_the_disk_keeps_refusing_is_given_up_and_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After WRITE_ATTEMPTS refusals the file takes no more lines, `failure` names it; writers never raise."""
    files = RunFiles(tmp_path / "run", sleep=lambda s: None)
    files.event(_event(1))
    calls = []

    def full(fd: int, data: bytes) -> int:
        calls.append(fd)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files_module.os, "write", full)
    files.event(_event(2))
    files.event(_event(3))  # given up: not even tried
    monkeypatch.undo()
    files.close()
    assert len(calls) == WRITE_ATTEMPTS
    assert files.failure is not None
    assert "journal.jsonl" in files.failure and "No space left on device" in files.failure
    assert [e["message"] for e in _lines(tmp_path / "run" / "raw" / "journal.jsonl")] == ["event 1"]


def test_a_path_that_is_a_directory_fails_that_file_only(tmp_path: Path) -> None:
    """A results file replaced by a directory before it was opened: that file fails, the others go on."""
    files = RunFiles(tmp_path / "run", sleep=lambda s: None)
    (tmp_path / "run" / "raw" / "server.jsonl").mkdir()
    files.event(_event(1))
    files._append("server.jsonl", _event(9))  # any record: the file is what matters here
    files.event(_event(2))
    files.close()
    assert files.failure is not None and "server.jsonl" in files.failure
    assert len(_lines(tmp_path / "run" / "raw" / "journal.jsonl")) == 2


def test_an_unwritable_reports_dir_is_a_results_write_error(tmp_path: Path) -> None:
    """A run directory that cannot be made is refused at once (nothing was touched yet)."""
    (tmp_path / "reports").write_text("a file, not a folder")
    with pytest.raises(ResultsWriteError, match="cannot create the run directory"):
        RunFiles(tmp_path / "reports" / "run")
