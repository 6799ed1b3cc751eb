"""Running a drill safely: load on a schedule, faults on a timeline, always cleaned up.

The order of a run:
1. preflight (no side effects until it passes): the plan is already validated;
   Toxiproxy answers, leftovers of killed runs are removed, the drill's proxies
   exist, the target is healthy;
2. the raw files are opened and the run is journaled as it goes;
3. the loop (every 50 ms): phase changes, faults applied/reverted on time, load
   level from the shape, closed buckets flushed, abort conditions, signals;
4. always, in ``finally``: load stopped, every fault reverted (also after an
   exception, Ctrl-C or SIGTERM), files flushed;
5. acknowledged writes read back; the report is built from the raw files.

SIGKILL cannot be caught: the fault ledger lets the next run (or ``harness
cleanup``) remove what a killed run left.

What stops a run early, and the verdict it gets:

* SIGINT/SIGTERM (also during the write read-back) and abort conditions:
  journaled as ``aborted`` (verdict 'aborted', exit 4);
* Toxiproxy stops answering (watched every second), the target refuses
  connections for ``UNREACHABLE_GRACE_S`` or is gone at the end, a fault that
  cannot be applied, or any unexpected error inside the loop: journaled as
  ``infrastructure_error`` (verdict 'inconclusive', exit 3, never 'pass').

Preflight failures leave nothing behind and no run directory: a Toxiproxy or
target that does not answer, and a proxy the drill needs that the server lacks
(the message names the proxy, the server URL and the proxies it has), are
infrastructure errors (exit 3) - the drill file may be right for another
Toxiproxy, so it is not judged invalid input.
"""

from __future__ import annotations

import logging
import signal
import time
import traceback
import uuid
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import gevent

from harness.drill.abort import AbortWatch
from harness.drill.capacity import CapacityJudge
from harness.drill.live import LiveStatus, LiveWindow
from harness.drill.model import EMBEDDED
from harness.drill.plan import DrillPlan, PlannedFault, ledger_dir
from harness.drill.target import (
    is_reachable,
    require_loopback,
    scrape,
    verify_writes,
    wait_healthy,
)
from harness.errors import InfrastructureError, ToxiproxyError
from harness.faults.adapter import ToxiproxyAdapter
from harness.faults.injector import FaultEvent, FaultEventKind, FaultInjector, remove_leftovers
from harness.faults.specs import ProxySpec as ToxiproxyProxySpec
from harness.load.engine import LoadEngine, RequestClassifier, RequestSample
from harness.load.scenario import load_user_classes
from harness.metrics.recorder import Recorder
from harness.results.files import RunFiles
from harness.results.model import EventKind, ServerSample, TimelineEvent
from harness.results.raw import AckedWrite, RunMeta, WriteVerification

log = logging.getLogger(__name__)

TICK_S = 0.05
LATE_GRACE_S = 2.0  # a bucket is flushed this long after it closes; later requests add rows
UNREACHABLE_GRACE_S = 5.0
CAPACITY_SETTLE_S = 1.5  # capacity search: extra wait after a step's rows are flushed (workers lag)
TOXIPROXY_WATCH_S = 1.0  # how often a running drill checks that Toxiproxy still answers


@dataclass
class RunSettings:
    """How to run a plan: where results go and what to override from the command line."""

    reports_dir: Path = Path("reports")
    run_id: str | None = None
    toxiproxy_url: str | None = None
    on_tick: Any = None  # callable(LiveStatus) for the live view
    settle_timeout_s: float = 10.0
    health_timeout_s: float = 6.0  # preflight: how long the target may take to answer healthy


@dataclass
class _State:
    stop_reason: str | None = None
    aborted_by: str | None = None
    infrastructure_error: str | None = None
    target_unreachable_since_s: float | None = None


def new_run_id(drill_name: str) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{drill_name}-{uuid.uuid4().hex[:6]}"


class DrillRunner:
    """Runs one plan once; :meth:`run` returns the run directory."""

    def __init__(self, plan: DrillPlan, settings: RunSettings) -> None:
        drill = plan.drill
        self.plan = plan
        self.drill = drill
        self.settings = settings
        self.run_id = settings.run_id or new_run_id(drill.name)
        self.run_dir = settings.reports_dir / self.run_id
        self.toxiproxy_url = settings.toxiproxy_url or plan.toxiproxy_url
        self.live = LiveWindow()
        self.state = _State()
        self._t0_mono = 0.0
        self._injector: FaultInjector | None = None  # what is applied: ask it, nobody else

    # -- the run -----------------------------------------------------------------------

    def run(self) -> Path:
        self._check_hosts()
        user_classes = load_user_classes(self.plan.scenario_path, self.drill.load.user_classes)
        with ExitStack() as stack:
            stack.enter_context(_SignalGuard(self._on_signal))
            url = self._start_toxiproxy(stack)
            adapter = ToxiproxyAdapter(url)
            self._preflight(adapter)
            self._user_classes = user_classes
            files = RunFiles(self.run_dir)
            stack.callback(files.close)
            self._files = files
            self._execute(adapter, url, files)
        return self.run_dir

    def _check_hosts(self) -> None:
        """Loopback rules again, for URLs overridden after planning (e.g. ``--toxiproxy-url``)."""
        rules = {
            "allow_hosts": self.drill.target.allow_hosts,
            "allow_remote": self.plan.allow_remote,
        }
        require_loopback(self.drill.target.url, what="target", **rules)
        if self.toxiproxy_url != EMBEDDED:
            require_loopback(self.toxiproxy_url, what="Toxiproxy", **rules)

    def _start_toxiproxy(self, stack: ExitStack) -> str:
        if self.toxiproxy_url != EMBEDDED:
            return self.toxiproxy_url
        from toxiserver import ToxiserverError, start_subprocess

        try:
            process = start_subprocess(port=0, seed=self.drill.toxiproxy.seed)
        except (ToxiserverError, OSError) as exc:
            raise InfrastructureError(
                f"the embedded Toxiproxy did not start ({exc}); pass --toxiproxy-url of a running one"
            ) from exc
        stack.callback(process.stop)
        return process.url

    def _preflight(self, adapter: ToxiproxyAdapter) -> None:
        adapter.version()
        removed = remove_leftovers(adapter, ledger_dir=ledger_dir())
        if removed:
            log.warning(
                "removed faults left by an earlier run that was killed: %s", ", ".join(removed)
            )
        with_upstream = [p for p in self.drill.proxies if p.upstream]
        if with_upstream:
            adapter.ensure_proxies(
                [
                    ToxiproxyProxySpec(
                        name=p.name, upstream=p.upstream, listen=p.listen or "127.0.0.1:0"
                    )
                    for p in with_upstream
                ]
            )
        needed = {p.name for p in self.drill.proxies} | {
            f.window.fault.proxy for f in self.plan.faults
        }
        adapter.require_proxies(sorted(needed))
        wait_healthy(self.drill.target, timeout_s=self.settings.health_timeout_s)

    def _execute(self, adapter: ToxiproxyAdapter, toxiproxy_url: str, files: RunFiles) -> None:
        drill = self.drill
        self._capacity = (
            CapacityJudge(drill, settle_s=LATE_GRACE_S + CAPACITY_SETTLE_S)
            if drill.capacity_search is not None
            else None
        )
        rows_sink = self._capacity.tee(files.metric_rows) if self._capacity else files.metric_rows
        recorder = Recorder(bucket_s=drill.bucket_s, sink=rows_sink)
        writes: list[AckedWrite] = []

        def on_sample(sample: RequestSample) -> None:
            recorder.record(
                t_s=sample.t_s,
                endpoint=sample.endpoint,
                outcome=sample.outcome,
                latency_us=sample.latency_us,
                intended_latency_us=sample.intended_latency_us,
                retry_after_missing=sample.retry_after_missing,
            )
            self.live.add(sample.t_s, sample.outcome, sample.latency_us / 1000)

        def on_write(write: AckedWrite) -> None:
            writes.append(write)
            files.write(write)

        # Before t0: with load.workers > 0 this starts the worker processes (~1-2 s).
        classifier = RequestClassifier(drill.outcomes, drill.writes, 0.0)
        engine = LoadEngine(
            drill.load,
            self._user_classes,
            target_url=drill.target.url,
            classifier=classifier,
            on_sample=on_sample,
            on_write=on_write,
            on_rows=rows_sink,  # load.workers > 0: the workers' rows and live data
            on_live=self.live.add,
            scenario_path=self.plan.scenario_path,
            bucket_s=drill.bucket_s,
        )
        t0_unix = time.time()
        classifier.t0_unix_s = t0_unix
        # Journal t_s (monotonic) and request t_s (wall clock - t0_unix) share this instant.
        self._t0_mono = time.monotonic()
        files.write_meta(
            RunMeta(
                run_id=self.run_id,
                drill=drill.model_dump(mode="json", by_alias=True),
                drill_file=str(self.plan.drill_file) if self.plan.drill_file else None,
                started_at=datetime.fromtimestamp(t0_unix, UTC).isoformat(),
                started_at_unix_s=t0_unix,
                bucket_s=drill.bucket_s,
                target_url=drill.target.url,
                toxiproxy_url=toxiproxy_url,
            )
        )
        # The injector journals each change itself, timed on the drill clock right before
        # the Toxiproxy request that made it (failover is measured from that instant).
        injector = FaultInjector(
            adapter,
            self.run_id,
            ledger_dir=ledger_dir(),
            on_event=self._on_fault_event,
            clock=self.now_s,
        )
        self._injector = injector
        self._event(EventKind.RUN_STARTED, f"drill {drill.name} started against {drill.target.url}")
        watchers = [gevent.spawn(self._watch_target), gevent.spawn(self._watch_toxiproxy, adapter)]
        try:
            engine.start()
            self._loop(engine, injector, recorder)
            self._check_target_at_end()
        except ToxiproxyError as exc:
            self._infrastructure_error(str(exc))
        except Exception as exc:  # a bug or a surprise: faults still come off, the run is judged
            log.debug("the drill loop failed:\n%s", traceback.format_exc())
            self._infrastructure_error(
                f"the drill stopped on an unexpected error: {type(exc).__name__}: {exc} "
                "(run with -v for the traceback)"
            )
        finally:
            for watcher in watchers:
                watcher.kill(block=False)
            try:
                self._revert_all(injector)  # faults first: they are what can hurt
            finally:
                try:
                    engine.stop()
                finally:
                    recorder.flush_all()
        self._finish(writes, engine)

    def _loop(self, engine: LoadEngine, injector: FaultInjector, recorder: Recorder) -> None:
        drill = self.drill
        phases = drill.phase_windows()
        abort_watch = AbortWatch(drill.abort)
        capacity = self._capacity
        current_phase: str | None = None
        last_flush_s = 0.0
        while True:
            now = self.now_s()
            if now >= drill.duration_s:
                break
            if self.state.stop_reason or self.state.infrastructure_error:
                break
            phase, _start, end = next(w for w in phases if w[1] <= now < w[2] or w == phases[-1])
            if phase != current_phase:
                if current_phase is not None:
                    self._event(
                        EventKind.PHASE_ENDED, f"phase {current_phase} ended", phase=current_phase
                    )
                self._event(EventKind.PHASE_STARTED, f"phase {phase} started", phase=phase)
                current_phase = phase
            self._apply_due(injector, now)
            engine.set_level(drill.load.shape.level(now))
            if now - last_flush_s >= drill.bucket_s:
                recorder.flush(now - LATE_GRACE_S)
                last_flush_s = now
            breached = abort_watch.breached(self.live, now)
            if breached is not None:
                self.state.aborted_by = breached.describe()
                self._event(EventKind.ABORTED, f"abort condition met: {breached.describe()}")
                break
            broken = capacity.broken_step(now) if capacity is not None else None
            if broken is not None:
                self._event(
                    EventKind.NOTE,
                    f"capacity search: {broken} broke its checks; stopped during {phase}",
                    step=broken,
                )
                break
            self._report_tick(engine, now, phase, end)
            gevent.sleep(TICK_S)
        if current_phase is not None:
            self._event(EventKind.PHASE_ENDED, f"phase {current_phase} ended", phase=current_phase)
        if self.state.stop_reason:
            self._event(EventKind.ABORTED, f"stopped by {self.state.stop_reason}")

    def _apply_due(self, injector: FaultInjector, now: float) -> None:
        """Revert the windows that ended, then apply those that started (the injector journals).

        Whether a window is applied is the injector's to say: a failed apply or
        revert leaves it applied, and ``revert_all`` takes it off at the end.
        """
        for planned in self.plan.faults:
            if now >= planned.window.end_s and injector.is_applied(planned.window):
                injector.revert(planned.window)
        for planned in self.plan.faults:
            window = planned.window
            if window.start_s <= now < window.end_s and not injector.is_applied(window):
                injector.apply(window)

    def _revert_all(self, injector: FaultInjector) -> None:
        """Take every applied fault off; each success or failure is journaled as it happens."""
        try:
            injector.revert_all()
        except ToxiproxyError as exc:
            self.state.infrastructure_error = self.state.infrastructure_error or str(exc)

    def _watch_target(self) -> None:
        """Scrape the target's metrics and notice when it stops accepting connections at all."""
        target = self.drill.target
        while True:
            now = self.now_s()
            if is_reachable(target):
                self.state.target_unreachable_since_s = None
            elif self.state.target_unreachable_since_s is None:
                self.state.target_unreachable_since_s = now
            elif now - self.state.target_unreachable_since_s >= UNREACHABLE_GRACE_S:
                self._infrastructure_error(
                    f"target {target.url} refused connections for {UNREACHABLE_GRACE_S:g} s; "
                    "the drill cannot judge a target that is gone"
                )
            if target.metrics_path:
                self._scrape_once(target)
            gevent.sleep(min(target.scrape_every_s, 1.0))

    def _watch_toxiproxy(self, adapter: ToxiproxyAdapter) -> None:
        """Notice a Toxiproxy that stops answering: faults can then be neither applied nor removed."""
        probe = ToxiproxyAdapter(adapter.url, timeout_s=2.0, attempts=2)
        while True:
            gevent.sleep(TOXIPROXY_WATCH_S)
            try:
                probe.version()
            except ToxiproxyError as exc:
                self._infrastructure_error(f"Toxiproxy stopped answering during the drill: {exc}")
                return

    def _check_target_at_end(self) -> None:
        """A target that went away shortly before the end makes the run inconclusive, not failed."""
        since = self.state.target_unreachable_since_s
        if since is None or self.state.infrastructure_error or is_reachable(self.drill.target):
            return
        self._infrastructure_error(
            f"target {self.drill.target.url} stopped accepting connections at {since:.1f} s "
            "and did not come back before the end; the drill cannot judge a target that is gone"
        )

    def _infrastructure_error(self, message: str) -> None:
        """Record the first infrastructure failure; the loop stops at its next tick."""
        if self.state.infrastructure_error:
            return
        self.state.infrastructure_error = message
        self._event(EventKind.INFRASTRUCTURE_ERROR, message)

    def _scrape_once(self, target: Any) -> None:
        try:
            values = scrape(target)
        except Exception as exc:  # a failed scrape is noted, never fatal
            log.debug("scrape failed: %s", exc)
            return
        sample = ServerSample(t_s=round(self.now_s(), 3), values=values)
        previous = getattr(self, "_last_scrape", {})
        for key, value in values.items():
            if "state" in key and key in previous and previous[key] != value:
                self._event(
                    EventKind.SERVER_STATE,
                    f"{key} changed {previous[key]:g} -> {value:g}",
                    series=key,
                    before=previous[key],
                    after=value,
                )
        self._last_scrape = values
        self._files.server_sample(sample)

    def _finish(self, writes: list[AckedWrite], engine: LoadEngine) -> None:
        stopped_before = self.state.stop_reason
        if writes and not self.state.infrastructure_error and not stopped_before:
            results = verify_writes(
                self.drill.target,
                writes,
                self.drill.writes,
                settle_timeout_s=self.settings.settle_timeout_s,
                should_stop=lambda: self.state.stop_reason is not None,
            )
            self._files.write_verification(
                WriteVerification(checked_at_s=round(self.now_s(), 3), results=results)
            )
            if self.state.stop_reason:
                self._event(
                    EventKind.ABORTED,
                    f"stopped by {self.state.stop_reason} while reading acknowledged writes back",
                )
        gate = engine.gate
        data: dict[str, Any] = {}
        if gate is not None:
            data = {"intended_arrivals": gate.issued, "dropped_arrivals": gate.dropped}
        self._event(EventKind.RUN_ENDED, "drill ended", **data)

    # -- helpers -----------------------------------------------------------------------

    def now_s(self) -> float:
        return time.monotonic() - self._t0_mono

    def _event(self, kind: EventKind, message: str, **data: Any) -> None:
        event = TimelineEvent(t_s=round(self.now_s(), 3), kind=kind, message=message, data=data)
        self._files.event(event)

    def _on_fault_event(self, event: FaultEvent) -> None:
        """The injector's ``on_event``: journal the change at the time the injector took."""
        if event.window is None:
            return
        planned = next(
            (p for p in self.plan.faults if p.window == event.window),
            PlannedFault("", event.window),  # not planned (cannot happen): journal it anyway
        )
        kind, extra = {
            FaultEventKind.APPLIED: (EventKind.FAULT_APPLIED, {}),
            FaultEventKind.REVERTED: (EventKind.FAULT_REVERTED, {}),
            FaultEventKind.REVERT_FAILED: (EventKind.FAULT_REVERT_FAILED, {"error": event.detail}),
            FaultEventKind.APPLY_UNDONE: (EventKind.NOTE, {"detail": event.detail}),
        }[event.kind]
        if event.kind is FaultEventKind.APPLIED and event.detail:
            extra = {"detail": event.detail}
        self._fault_event(kind, planned, t_s=event.t_s, **extra)

    def _fault_event(
        self, kind: EventKind, planned: PlannedFault, *, t_s: float | None = None, **extra: Any
    ) -> None:
        fault = planned.window.fault
        verb = {
            EventKind.FAULT_APPLIED: "applied",
            EventKind.FAULT_REVERTED: "removed",
            EventKind.FAULT_REVERT_FAILED: "could not be removed",
            EventKind.NOTE: "undone after its apply failed",
        }[kind]
        data = {
            "fault": fault.name,
            "script": planned.script,
            "proxy": fault.proxy,
            "type": str(fault.type),
            "planned_start_s": planned.window.start_s,
            "planned_end_s": planned.window.end_s,
            **extra,
        }
        when = self.now_s() if t_s is None else t_s
        message = f"fault {fault.name} ({fault.type} on {fault.proxy}) {verb}"
        self._files.event(TimelineEvent(t_s=round(when, 3), kind=kind, message=message, data=data))

    def _on_signal(self, name: str) -> None:
        self.state.stop_reason = self.state.stop_reason or name

    def _report_tick(self, engine: LoadEngine, now: float, phase: str, phase_end: float) -> None:
        if self.settings.on_tick is None:
            return
        windows = self._injector.applied_windows if self._injector is not None else []
        active = [f"{w.fault.name} on {w.fault.proxy}" for w in windows]
        self.settings.on_tick(
            LiveStatus(
                t_s=now,
                duration_s=self.drill.duration_s,
                phase=phase,
                phase_left_s=max(phase_end - now, 0.0),
                rps=self.live.rps(now, 1.0),
                p95_ms=self.live.p95_ms(now, 1.0),
                error_ratio=self.live.error_ratio(now, 1.0),
                users=engine.user_count,
                active_faults=active,
                abort_conditions=[c.describe() for c in self.drill.abort],
            )
        )


class _SignalGuard:
    """Turns SIGINT and SIGTERM into a polite stop request for the duration of a run."""

    def __init__(self, callback: Any) -> None:
        self.callback = callback
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> _SignalGuard:
        for signum in (signal.SIGINT, signal.SIGTERM):
            self._previous[signum] = signal.getsignal(signum)
            signal.signal(signum, self._handle)
        return self

    def _handle(self, signum: int, _frame: Any) -> None:
        self.callback(signal.Signals(signum).name)

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
