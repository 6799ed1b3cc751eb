"""Probes: a drill's side checks (HTTP, command, Prometheus metric), each in its own greenlet.

A probe runs at drill time 0 and every ``every_s``, and/or when each phase starts
(``at_phase_start``). Each run is a :class:`~harness.results.raw.ProbeRun` in
``raw/probes.jsonl``; a ``probe`` check judges the share that passed, and the
journal notes when a probe starts failing and when it passes again (so the
report's timeline shows it).

Nothing here may block the gevent loop that runs every Locust user
(harness.drill.watch says why): an HTTP or metric probe keeps one long-lived
``httpx.Client`` with the probe's timeout, made once and closed at the end; a
command runs through gevent's subprocess with the probe's timeout (killed when it
passes); /metrics text is parsed in gevent's native thread pool.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Iterator

import gevent
import gevent.subprocess
import httpx

from harness.clock import DrillClock
from harness.drill.journal import Journal
from harness.drill.model import CommandProbe, HttpProbe, MetricProbe, ProbeSpec, TargetSpec
from harness.drill.target import metric_value
from harness.results.raw import ProbeRun

OUTPUT_TAIL_CHARS = 160  # of a failing command's output, in its run's detail

Verdict = tuple[bool, str]  # passed, what was seen


def schedule(every_s: float | None, phase_starts: Iterable[float]) -> Iterator[float]:
    """Drill times to run at, in order: 0, every_s, 2 every_s, ... and each phase start (once)."""
    starts = sorted(set(phase_starts))
    i = k = 0
    while True:
        periodic = k * every_s if every_s else math.inf
        start = starts[i] if i < len(starts) else math.inf
        if math.isinf(periodic) and math.isinf(start):
            return
        if start <= periodic:
            i += 1
            if math.isclose(start, periodic, abs_tol=1e-9):
                k += 1
            yield start
        else:
            k += 1
            yield periodic


class ProbeWatch:
    """Runs one probe on its schedule until killed; ``close`` frees its client."""

    def __init__(
        self,
        spec: ProbeSpec,
        target: TargetSpec,
        phase_starts: list[float],
        clock: DrillClock,
        journal: Journal,
        sink: Callable[[ProbeRun], None],
        *,
        sleep: Callable[[float], None] = gevent.sleep,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.spec = spec
        self.target = target
        self.phase_starts = phase_starts if spec.at_phase_start else []
        self.clock = clock
        self.journal = journal
        self.sink = sink
        self.sleep = sleep
        self.client = (
            httpx.Client(
                timeout=spec.timeout_s,
                transport=transport,
                follow_redirects=False,
                trust_env=False,  # like every peer's client: no proxy from the environment
            )
            if spec.command is None
            else None
        )
        self.failing = False

    def run(self) -> None:
        for due in schedule(self.spec.every_s, self.phase_starts):
            wait_s = due - self.clock.now_s()
            if self.spec.every_s and wait_s < -self.spec.every_s:
                continue  # a run overran: skip the periodic runs it missed
            if wait_s > 0:
                self.sleep(wait_s)
            self.run_once()

    def run_once(self) -> ProbeRun:
        """One run: judged, recorded, and journalled when the probe starts or stops failing."""
        t_s = self.clock.now_s()
        started = time.perf_counter()
        passed, detail = self._attempt()
        run = ProbeRun(
            t_s=round(t_s, 3),
            probe=self.spec.name,
            kind=self.spec.kind,
            passed=passed,
            duration_ms=round((time.perf_counter() - started) * 1000, 3),
            detail=detail,
        )
        self.sink(run)
        if passed == self.failing:
            self.failing = not passed
            what = f"failing: {detail}" if self.failing else "passing again"
            self.journal.note(f"probe '{self.spec.name}' {what}", probe=self.spec.name)
        return run

    def _attempt(self) -> Verdict:
        try:
            if self.spec.http is not None:
                return self._http(self.spec.http)
            if self.spec.command is not None:
                return self._command(self.spec.command)
            assert self.spec.metric is not None
            return self._metric(self.spec.metric)
        except httpx.TimeoutException:
            return False, f"no answer within {self.spec.timeout_s:g} s"
        except httpx.HTTPError as exc:
            return False, f"{type(exc).__name__}: {exc}"

    def _url(self, path: str) -> str:
        return path if not path.startswith("/") else f"{self.target.url}{path}"

    def _http(self, probe: HttpProbe) -> Verdict:
        assert self.client is not None
        answer = self.client.request(probe.method, self._url(probe.path))
        if answer.status_code not in probe.status:
            wanted = " or ".join(map(str, probe.status))
            return False, f"status {answer.status_code}, expected {wanted}"
        if probe.body_contains is not None and probe.body_contains not in answer.text:
            return False, f"status {answer.status_code} without {probe.body_contains!r} in the body"
        return True, f"status {answer.status_code}"

    def _command(self, probe: CommandProbe) -> Verdict:
        try:
            done = gevent.subprocess.run(
                probe.argv,
                capture_output=True,
                text=True,
                errors="replace",
                timeout=self.spec.timeout_s,
                check=False,
            )
        except gevent.subprocess.TimeoutExpired:
            return False, f"no exit within {self.spec.timeout_s:g} s (killed)"
        except OSError as exc:
            return False, f"cannot run {probe.argv[0]!r}: {exc.strerror or exc}"
        output = (done.stdout or "") + (done.stderr or "")
        tail = output.strip()[-OUTPUT_TAIL_CHARS:]
        if done.returncode != probe.exit_code:
            seen = f": {tail!r}" if tail else ""
            return False, f"exit {done.returncode}, expected {probe.exit_code}{seen}"
        if probe.output_contains is not None and probe.output_contains not in output:
            return False, f"exit {done.returncode} without {probe.output_contains!r} in the output"
        return True, f"exit {done.returncode}"

    def _metric(self, probe: MetricProbe) -> Verdict:
        assert self.client is not None and self.target.metrics_path is not None
        answer = self.client.get(self._url(self.target.metrics_path))
        if answer.status_code != 200:
            return False, f"{self.target.metrics_path} answered status {answer.status_code}"
        value = gevent.get_hub().threadpool.apply(
            metric_value, (answer.text, probe.name, probe.labels)
        )
        series = probe.name + (
            "{" + ",".join(f'{k}="{v}"' for k, v in sorted(probe.labels.items())) + "}"
            if probe.labels
            else ""
        )
        if value is None:
            return False, f"no series {series} in {self.target.metrics_path}"
        if probe.min is not None and value < probe.min:
            return False, f"{series} = {value:g}, expected ≥ {probe.min:g}"
        if probe.max is not None and value > probe.max:
            return False, f"{series} = {value:g}, expected ≤ {probe.max:g}"
        return True, f"{series} = {value:g}"

    def close(self) -> None:
        if self.client is not None:
            self.client.close()


def probe_watches(
    probes: list[ProbeSpec],
    target: TargetSpec,
    phase_starts: list[float],
    clock: DrillClock,
    journal: Journal,
    sink: Callable[[ProbeRun], None],
) -> list[ProbeWatch]:
    """One watcher per probe of the drill."""
    return [ProbeWatch(p, target, phase_starts, clock, journal, sink) for p in probes]
