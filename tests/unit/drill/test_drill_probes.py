"""Probes: when they run, what each kind judges, what they record, and how drills declare them."""

from __future__ import annotations

import itertools
import sys
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from harness.clock import DrillClock
from harness.drill.model import Drill, ProbeSpec, TargetSpec
from harness.drill.probes import ProbeWatch, schedule
from harness.results.raw import ProbeRun

TARGET = TargetSpec(url="http://127.0.0.1:9", metrics_path="/metrics")
METRICS = '# TYPE app_up gauge\napp_up{role="api",zone="a"} 1\napp_up{role="db"} 0\n'


class Notes:
    """A journal that keeps its notes."""

    def __init__(self) -> None:
        self.notes: list[str] = []

    def note(self, message: str, **_: Any) -> None:
        self.notes.append(message)


class FakeTime:
    """Drill time that moves only when the probe sleeps."""

    def __init__(self) -> None:
        self.now = 0.0

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def watch(spec: dict[str, Any], answers: dict[str, httpx.Response] | None = None):
    """A ProbeWatch on a fake clock and transport; returns it with its runs and notes."""
    fake = FakeTime()
    clock = DrillClock(monotonic=lambda: fake.now, wall=lambda: 1e9 + fake.now)
    clock.start()
    runs: list[ProbeRun] = []
    notes = Notes()
    transport = httpx.MockTransport(lambda request: answers[request.url.path]) if answers else None
    probe = ProbeWatch(
        ProbeSpec.model_validate({"name": "p", "every_s": 1, **spec}),
        TARGET, [0.0, 2.5], clock, notes, runs.append,  # type: ignore[arg-type]
        sleep=fake.sleep, transport=transport,
    )
    return probe, runs, notes


def test_schedule_merges_period_and_phase_starts() -> None:
    """Runs at 0, every_s, ... and at each phase start, in order, a shared instant once."""
    assert list(itertools.islice(schedule(1.0, [0.0, 2.5, 3.0]), 6)) == [0, 1, 2, 2.5, 3, 4]
    assert list(schedule(None, [5.0, 0.0])) == [0.0, 5.0]


def test_http_probe_passes_then_fails_and_the_journal_says_when() -> None:
    """Status and body are judged; the journal notes the first failure and the recovery once."""
    answers = {"/status": httpx.Response(200, text="all ok")}
    probe, runs, notes = watch({"http": {"path": "/status", "body_contains": "ok"}}, answers)
    probe.run_once()
    answers["/status"] = httpx.Response(503, text="down")
    probe.run_once()
    probe.run_once()
    answers["/status"] = httpx.Response(200, text="nope")
    probe.run_once()
    answers["/status"] = httpx.Response(200, text="ok")
    probe.run_once()
    assert [(r.passed, r.detail) for r in runs] == [
        (True, "status 200"),
        (False, "status 503, expected 200"),
        (False, "status 503, expected 200"),
        (False, "status 200 without 'ok' in the body"),
        (True, "status 200"),
    ]
    assert notes.notes == ["probe 'p' failing: status 503, expected 200", "probe 'p' passing again"]
    assert {r.kind for r in runs} == {"http"} and all(r.probe == "p" for r in runs)


def test_http_probe_timeout_is_a_failed_run() -> None:
    """No answer within timeout_s is a failed run saying so, never an exception."""

    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    probe, runs, _ = watch({"http": {"path": "/x"}, "timeout_s": 0.5})
    probe.client = httpx.Client(transport=httpx.MockTransport(slow))
    probe.run_once()
    assert runs[0].passed is False and runs[0].detail == "no answer within 0.5 s"


def test_metric_probe_matches_labels_and_bounds() -> None:
    """A metric probe finds the series by name and labels and compares it with min/max."""
    answers = {"/metrics": httpx.Response(200, text=METRICS)}
    up, runs, _ = watch({"metric": {"name": "app_up", "labels": {"role": "api"}, "min": 1}}, answers)
    up.run_once()
    db, runs_db, _ = watch({"metric": {"name": "app_up", "labels": {"role": "db"}, "min": 1}}, answers)
    db.run_once()
    gone, runs_gone, _ = watch({"metric": {"name": "app_gone", "max": 0}}, answers)
    gone.run_once()
    assert (runs[0].passed, runs[0].detail) == (True, 'app_up{role="api"} = 1')
    assert (runs_db[0].passed, runs_db[0].detail) == (False, 'app_up{role="db"} = 0, expected ≥ 1')
    assert runs_gone[0].detail == "no series app_gone in /metrics"


def test_command_probe_exit_code_output_and_time_limit() -> None:
    """A command passes on its exit code (and output); a slow one is killed at timeout_s."""
    py = sys.executable
    ok, runs, _ = watch({"command": {"argv": [py, "-c", "print('ready')"], "output_contains": "ready"}})
    ok.run_once()
    bad, runs_bad, _ = watch({"command": {"argv": [py, "-c", "print('no'); raise SystemExit(3)"]}})
    bad.run_once()
    slow, runs_slow, _ = watch(
        {"command": {"argv": [py, "-c", "import time; time.sleep(30)"]}, "timeout_s": 0.5}
    )
    slow.run_once()
    missing, runs_missing, _ = watch({"command": {"argv": ["/no/such/tool"]}})
    missing.run_once()
    assert (runs[0].passed, runs[0].detail) == (True, "exit 0")
    assert (runs_bad[0].passed, runs_bad[0].detail) == (False, "exit 3, expected 0: 'no'")
    assert runs_slow[0].detail == "no exit within 0.5 s (killed)" and runs_slow[0].duration_ms < 5000
    assert runs_missing[0].detail.startswith("cannot run '/no/such/tool': ")


class Enough(Exception):
    """Ends a probe's endless loop in a test."""


def test_run_follows_the_schedule_on_drill_time() -> None:
    """run() sleeps until each due time; runs are stamped with drill time."""
    answers = {"/s": httpx.Response(200)}
    probe, runs, _ = watch({"http": {"path": "/s"}, "at_phase_start": True}, answers)

    def five(run: ProbeRun) -> None:
        runs.append(run)
        if len(runs) == 5:
            raise Enough

    probe.sink = five
    with pytest.raises(Enough):
        probe.run()
    assert [r.t_s for r in runs] == [0, 1, 2, 2.5, 3]


DRILL = {
    "name": "d",
    "target": {"url": "http://127.0.0.1:8080"},
    "load": {"scenario": "s", "shape": {"type": "steady", "level": 1}},
    "phases": [{"name": "a", "duration_s": 1}],
}


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"probes": [{"name": "p", "every_s": 1}]}, "give exactly one of http, command, metric (got none)"),
        ({"probes": [{"name": "p", "http": {"path": "/"}}]}, "give every_s, at_phase_start: true"),
        ({"probes": [{"name": "p", "every_s": 1, "http": {"path": "x"}}]}, "must be a path starting with /"),
        ({"probes": [{"name": "p", "every_s": 1, "metric": {"name": "up", "min": 1}}]},
         "a metric probe reads the target's /metrics: set target.metrics_path"),
        ({"probes": [{"name": "p", "every_s": 1, "metric": {"name": "up"}}]}, "give min or max"),
        ({"checks": [{"type": "probe", "probe": "nope"}]},
         "check 'probe' names probe 'nope', which does not exist (probes: none)"),
        ({"probes": [{"name": "p", "every_s": 1, "command": {"argv": ["true"]}}] * 2},
         "probe names must be unique; repeated: p"),
    ],
)
def test_drill_probe_mistakes_are_refused(change: dict[str, Any], words: str) -> None:
    """Each way of declaring a probe wrongly is a validation error saying what to fix."""
    with pytest.raises(ValidationError, match=words.replace("(", r"\(").replace(")", r"\)")):
        Drill.model_validate({**DRILL, **change})


def test_drill_with_probes_and_probe_checks_validates() -> None:
    """A drill with all three kinds of probe and probe checks per phase is valid."""
    drill = Drill.model_validate({
        **DRILL,
        "target": {"url": "http://127.0.0.1:8080", "metrics_path": "/metrics"},
        "probes": [
            {"name": "api", "every_s": 0.5, "http": {"path": "/healthz", "status": [200, 204]}},
            {"name": "db", "at_phase_start": True, "command": {"argv": ["pg_isready"]}},
            {"name": "up", "every_s": 1, "metric": {"name": "app_up", "labels": {"role": "api"}, "min": 1}},
        ],
        "phases": [{"name": "a", "duration_s": 1, "checks": [{"type": "probe", "probe": "api"}]}],
    })
    assert [p.kind for p in drill.probes] == ["http", "command", "metric"]


def test_http_probe_ignores_a_proxy_from_the_environment(
    ok_server: str, refused_proxy_env: None
) -> None:
    """With HTTP_PROXY pointing nowhere, a probe of a loopback target still reaches it."""
    clock = DrillClock()
    clock.start()
    runs: list[ProbeRun] = []
    probe = ProbeWatch(
        ProbeSpec.model_validate({"name": "p", "every_s": 1, "http": {"path": "/status"}}),
        TargetSpec(url=ok_server), [], clock, Notes(), runs.append,  # type: ignore[arg-type]
    )  # fmt: skip
    assert probe.run_once().passed, runs
