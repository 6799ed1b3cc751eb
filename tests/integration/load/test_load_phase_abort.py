"""Abort conditions per phase: an expected outage runs to its end; the same condition drill-wide aborts it."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
import yaml
from load_helpers import journal, report, run_drill, write_drill

pytestmark = pytest.mark.slow

ERRORS = {"metric": "error_ratio", "above": 0.5, "for_s": 1}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _drill(tmp_path: Path, upstream_url: str, *, per_phase: bool) -> Path:
    """Hitter through a proxy that is down for the 2 s 'outage' phase; abort on errors."""
    port = _free_port()
    (tmp_path / "faults").mkdir(exist_ok=True)
    (tmp_path / "faults" / "down.yaml").write_text(
        "name: down\nfaults:\n  - {name: ls-down, proxy: ls, type: down}\n", encoding="utf-8"
    )
    path = write_drill(
        tmp_path,
        f"http://127.0.0.1:{port}",
        {"user_classes": ["Hitter"], "shape": {"type": "steady", "level": 2}, "drain_s": 1},
        2.0,
    )
    drill: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    upstream = upstream_url.removeprefix("http://")
    drill["proxies"] = [{"name": "ls", "upstream": upstream, "listen": f"127.0.0.1:{port}"}]
    abort = [ERRORS] if per_phase else []
    drill["phases"] = [
        {"name": "base", "duration_s": 2, "abort": abort},
        {"name": "outage", "duration_s": 2, "faults": ["down"]},
        {
            "name": "after",
            "duration_s": 2,
            "abort": abort,
            "checks": [{"type": "error_rate", "max_ratio": 0.5}],
        },
    ]
    if not per_phase:
        drill["abort"] = [ERRORS]
    path.write_text(yaml.safe_dump(drill), encoding="utf-8")
    return path


def test_an_expected_outage_does_not_abort_when_the_condition_is_per_phase(
    target: Any, tmp_path: Path
) -> None:
    """Errors only in 'outage', whose phase has no abort: the drill runs its 'after' phase, exit 0."""
    code, run_dir, output = run_drill(_drill(tmp_path, target.url, per_phase=True), tmp_path / "r")
    assert code == 0, output
    events = journal(run_dir)
    assert not [e for e in events if e["kind"] == "aborted"]
    assert any(e["kind"] == "phase_started" and e["data"]["phase"] == "after" for e in events)
    outage = next(p for p in report(run_dir)["phases"] if p["name"] == "outage")
    assert outage["error_ratio"] > 0.5  # the outage really broke the requests


def test_the_same_condition_drill_wide_aborts_in_the_outage(target: Any, tmp_path: Path) -> None:
    """Drill-wide, the outage's errors abort the drill (exit 4) before 'after' begins."""
    code, run_dir, output = run_drill(_drill(tmp_path, target.url, per_phase=False), tmp_path / "r")
    assert code == 4, output
    events = journal(run_dir)
    aborted = [e for e in events if e["kind"] == "aborted"]
    assert aborted and "abort condition met" in aborted[0]["message"]
    assert not any(e["kind"] == "phase_started" and e["data"]["phase"] == "after" for e in events)
