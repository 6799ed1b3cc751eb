"""Error kinds end to end: a real drill against a server that fails on purpose, counted server-side.

The report (report.json, raw/metrics.jsonl, summary.md, junit.xml, report.html, the
console verdict) lists exactly the kinds the scenario provoked, with the counts the
server saw: a 500, a timeout, a refused connection, a ``failure()`` with ticket ids,
and a KeyError in the scenario's own code; and that KeyError alone fails an
error_rate check (it passes with the raise switched off).
"""

from __future__ import annotations

import json
import socket
import urllib.request
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from load_helpers import report, run_drill, write_drill

from tests.servers import served

pytestmark = pytest.mark.slow

HERE = Path(__file__).resolve().parent
SCENARIO = str(HERE / "errors_scenario.py")
JOURNEYS = 3  # errors_scenario.JOURNEYS
USERS = 2


class ErrorsServer:
    def __init__(self, url: str) -> None:
        self.url = url

    def counts(self) -> Counter[str]:
        with urllib.request.urlopen(f"{self.url}/counts", timeout=5) as response:
            return Counter(json.loads(response.read()))


@pytest.fixture(scope="module")
def errors_server() -> Iterator[ErrorsServer]:
    """errors_server.py in a child process, always stopped."""
    with served(HERE / "errors_server.py") as url:
        yield ErrorsServer(url)


@pytest.fixture
def closed_port(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """A loopback port that is bound but never listens: connecting to it is refused."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    monkeypatch.setenv("ERRORS_REFUSED_PORT", str(port))
    try:
        yield port
    finally:
        sock.close()


def kinds_in_raw(run_dir: Path) -> tuple[Counter[tuple[str, str]], list[dict]]:
    """Errors per (endpoint, kind) summed over raw/metrics.jsonl, and the error rows."""
    counts: Counter[tuple[str, str]] = Counter()
    error_rows = []
    for line in (run_dir / "raw" / "metrics.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if row["outcome"] == "error":
            error_rows.append(row)
        for kind, n in row.get("errors", {}).items():
            counts[row["endpoint"], kind] += n
    return counts, error_rows


@pytest.mark.parametrize("workers", [0, 1], ids=["in-process", "one-worker"])
def test_the_report_lists_each_error_kind_with_the_count_the_server_saw(
    errors_server: ErrorsServer, closed_port: int, tmp_path: Path, workers: int
) -> None:
    """500, timeout, refused, failure() and a task's KeyError: each kind, exactly the server's count."""
    load = {
        "scenario": SCENARIO,
        "user_classes": ["Broken"],
        "shape": {"type": "steady", "level": USERS},
        "spawn_rate_per_s": 50,
        "workers": workers,
    }
    checks = [{"type": "error_rate", "max_ratio": 0.01}]
    drill = write_drill(tmp_path, errors_server.url, load, 4.0, phase_checks=checks)
    before = errors_server.counts()
    code, run_dir, output = run_drill(drill, tmp_path / "reports")
    served = errors_server.counts() - before
    assert code == 1, output  # the error_rate check fails: errors are errors

    # every journey ran to its end before the drill did: the server's counts are the truth
    for path in ("/ok", "/err500", "/slow", "/before-refused", "/reject", "/before-keyerror"):
        assert served[path] == USERS * JOURNEYS, (path, served, output)
    expected = {
        ("err500", "http 500"): served["/err500"],
        ("slow", "TimeoutError"): served["/slow"],
        ("refused", "ConnectionRefusedError"): served["/before-refused"],
        ("reject", "failure: ticket T-# rejected"): served["/reject"],
        ("task:Broken.journey", "task exception: KeyError"): served["/before-keyerror"],
    }

    phase = report(run_dir)["phases"][0]
    endpoints = phase["endpoints"]
    listed = {(name, e["kind"]): e["count"] for name, ep in endpoints.items() for e in ep["errors"]}
    assert listed == expected
    for name, ep in endpoints.items():  # every error has its kind, nothing else is an error
        assert sum(e["count"] for e in ep["errors"]) == ep["outcome_counts"]["error"], name
    assert endpoints["ok"]["outcome_counts"]["error"] == 0
    assert {(e["kind"], e["count"]) for e in phase["errors"]} == {
        (kind, n) for (_, kind), n in expected.items()
    }
    task = endpoints["task:Broken.journey"]
    assert task["requests"] == served["/before-keyerror"] and task["p50_ms"] is None

    in_raw, error_rows = kinds_in_raw(run_dir)
    assert dict(in_raw) == expected
    assert all(sum(r["errors"].values()) == r["count"] for r in error_rows)

    # every format names them
    summary = (run_dir / "summary.md").read_text(encoding="utf-8")
    page = (run_dir / "report.html").read_text(encoding="utf-8")
    for (endpoint, kind), n in expected.items():
        assert f"| load | `{endpoint}` | `{kind}` | {n} |" in summary, summary
        assert f'data-endpoint="{endpoint}" data-kind="{kind}" data-count="{n}"' in page
    failure = next(
        c.find("failure")
        for c in ET.parse(run_dir / "junit.xml").getroot().iter("testcase")
        if c.find("failure") is not None
    )
    assert f"{served['/before-keyerror']} x task exception: KeyError on task:Broken.journey" in (
        failure.text or ""
    )
    assert "errors in load:" in output


@pytest.mark.parametrize("raises", [True, False], ids=["task-raises", "raise-switched-off"])
def test_an_exception_in_a_task_fails_an_error_rate_check(
    errors_server: ErrorsServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, raises: bool
) -> None:
    """Every request succeeds; a KeyError after each fails error_rate (<= 10 %), and only it."""
    monkeypatch.setenv("ERRORS_RAISE", "1" if raises else "0")
    load = {
        "scenario": SCENARIO,
        "user_classes": ["Raiser"],
        "shape": {"type": "steady", "level": 2},
        "spawn_rate_per_s": 50,
    }
    checks = [{"type": "error_rate", "max_ratio": 0.1}]
    drill = write_drill(tmp_path, errors_server.url, load, 2.5, phase_checks=checks)
    code, run_dir, output = run_drill(drill, tmp_path / "reports")
    result = report(run_dir)
    (check,) = result["checks"]
    phase = result["phases"][0]
    assert phase["endpoints"]["ok"]["outcome_counts"]["error"] == 0
    if raises:
        assert code == 1 and not check["passed"], output
        assert check["measured"] == pytest.approx(0.5, abs=0.1)  # one request, one exception
        assert [e["kind"] for e in phase["errors"]] == ["task exception: KeyError"]
        assert phase["endpoints"]["task:Raiser.lookup"]["requests"] > 10
    else:
        assert code == 0 and check["passed"] and check["measured"] == 0.0, output
        assert phase["errors"] == [] and "task:Raiser.lookup" not in phase["endpoints"]
