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

Signals: SIGINT and SIGTERM are handled from the CLI entry on
(:mod:`harness.signals`); one that arrives before the run touches anything
ends it with :class:`AbortRequested` (exit 4, no run directory, no fault).

SIGKILL cannot be caught: the fault ledger lets the next run (or ``harness
cleanup``) remove what a killed run left.

What stops a run early, and the verdict it gets:

* SIGINT/SIGTERM (also during the write read-back) and abort conditions:
  journaled as ``aborted`` (verdict 'aborted', exit 4);
* Toxiproxy stops answering (watched every second), the target refuses
  connections for ``target.liveness.give_up_s`` or is gone at the end (a target
  that is merely slow is judged, see :mod:`harness.drill.watch`), a fault that
  cannot be applied, or any unexpected error inside the loop: journaled as
  ``infrastructure_error`` (verdict 'inconclusive', exit 3, never 'pass');
* the results disk refuses a write (after bounded retries,
  :mod:`harness.results.files`): the same, and :func:`run_plan` then raises
  :class:`ResultsWriteError` (exit 3) naming the file, what was kept and how to
  rebuild the report - no report is written on a disk that refuses writes.

Who does what: :mod:`harness.drill.preflight` checks before anything is touched,
:mod:`harness.drill.assembly` builds and wires the parts on one clock,
:class:`DrillRunner` runs the loop and cleans up, :mod:`harness.drill.journal`
words the events. :func:`run_plan` puts them in that order.
"""

from __future__ import annotations

import gc
import logging
import traceback
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import gevent

from harness.clock import DrillClock
from harness.drill.abort import abort_watches_of
from harness.drill.assembly import LATE_GRACE_S, DrillParts, assemble, close_parts
from harness.drill.live import LiveStatus
from harness.drill.model import AbortCondition
from harness.drill.plan import DrillPlan
from harness.drill.preflight import check_hosts, preflight, start_toxiproxy
from harness.drill.target import verify_writes
from harness.errors import AbortRequested, FaultActionError, ResultsWriteError, ToxiproxyError
from harness.faults.adapter import ToxiproxyAdapter
from harness.faults.timeline import FaultWindow
from harness.load.health import freeze_heap
from harness.load.scenario import load_user_classes
from harness.metrics.recorder import bucket_of
from harness.results.raw import LoadLevelRow, RunMeta, WriteVerification
from harness.signals import STOP

log = logging.getLogger(__name__)

TICK_S = 0.05


@dataclass
class RunSettings:
    """How to run a plan: where results go and what to override from the command line."""

    reports_dir: Path = Path("reports")
    run_id: str | None = None
    toxiproxy_url: str | None = None
    on_tick: Any = None  # callable(LiveStatus) for the live view
    health_timeout_s: float = 6.0  # preflight: how long the target may take to answer healthy


@dataclass
class RunState:
    """Why a run stops early, if it does (first cause wins)."""

    stop_reason: str | None = None  # a signal's name
    aborted_by: str | None = None
    infrastructure_error: str | None = None

    def stop(self, reason: str) -> None:
        self.stop_reason = self.stop_reason or reason


def new_run_id(drill_name: str) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{drill_name}-{uuid.uuid4().hex[:6]}"


def run_plan(plan: DrillPlan, settings: RunSettings) -> Path:
    """Preflight, assemble, run and read writes back; returns the run directory."""
    drill = plan.drill
    run_id = settings.run_id or new_run_id(drill.name)
    state = RunState()
    with ExitStack() as stack:
        stack.enter_context(STOP.listening(state.stop))  # also one received before the run
        _not_stopped(state, "the drill started")
        toxiproxy_url = settings.toxiproxy_url or plan.toxiproxy_url
        check_hosts(plan, toxiproxy_url)
        user_classes = load_user_classes(plan.scenario_path, drill.load.user_classes)
        url = start_toxiproxy(toxiproxy_url, drill.toxiproxy.seed, stack)
        adapter = stack.enter_context(ToxiproxyAdapter(url))
        preflight(plan, adapter, health_timeout_s=settings.health_timeout_s)
        _not_stopped(state, "the load started")
        runner = DrillRunner(plan, settings, state)
        parts = assemble(
            plan,
            run_id=run_id,
            run_dir=settings.reports_dir / run_id,
            clock=DrillClock(),
            adapter=adapter,
            user_classes=user_classes,
            on_gone=runner.infrastructure_error,
        )
        stack.callback(close_parts, parts)
        runner.run(parts, toxiproxy_url=url)
    if parts.files.failure:  # checked after close_parts: the last flush counts too
        raise ResultsWriteError(_results_lost(parts, parts.files.failure))
    return parts.files.run_dir


def _not_stopped(state: RunState, before: str) -> None:
    if state.stop_reason:
        raise AbortRequested(
            f"stopped by {state.stop_reason} before {before}; no fault was applied"
        )


def _results_lost(parts: DrillParts, failure: str) -> str:
    left = parts.injector.active
    faults = (
        "its faults were removed"
        if not left
        else f"faults still applied: {', '.join(left)} (in the ledger: `harness cleanup` removes "
        "them)"
    )
    run_dir = parts.files.run_dir
    return (
        f"{failure} - the drill stopped and {faults}; what was written is kept in "
        f"{parts.files.raw_dir}: once the disk takes writes again, `harness report {run_dir}` "
        "rebuilds its report (inconclusive)"
    )


class DrillRunner:
    """Runs one assembled drill once: starts the clock and the parts, runs the loop, cleans up."""

    def __init__(self, plan: DrillPlan, settings: RunSettings, state: RunState) -> None:
        self.plan = plan
        self.drill = plan.drill
        self.settings = settings
        self.state = state
        self._parts: DrillParts | None = None
        self._stop_journaled = False  # an 'aborted' entry names the signal already
        # local faults being acted on, by id() of the plan's window (windows may hold lists)
        self._acting: dict[int, gevent.Greenlet] = {}

    @property
    def parts(self) -> DrillParts:
        if self._parts is None:
            raise RuntimeError("DrillRunner.run(parts) has not been called")
        return self._parts

    def run(self, parts: DrillParts, *, toxiproxy_url: str) -> None:
        """t = 0 is now: the loop, then always cleanup, then the write read-back."""
        self._parts = parts
        drill = self.drill
        freeze_heap()  # before t = 0: a full collection mid-drill stalls every user
        parts.clock.start()
        parts.files.write_meta(
            RunMeta(
                run_id=parts.run_id,
                drill=drill.model_dump(mode="json", by_alias=True),
                drill_file=str(self.plan.drill_file) if self.plan.drill_file else None,
                started_at=datetime.fromtimestamp(parts.clock.t0_unix_s, UTC).isoformat(),
                started_at_unix_s=parts.clock.t0_unix_s,
                bucket_s=drill.bucket_s,
                target_url=drill.target.url,
                toxiproxy_url=toxiproxy_url,
            )
        )
        parts.journal.run_started(drill.name, drill.target.url)
        greenlets = [gevent.spawn(w.run) for w in parts.watchers]
        try:
            parts.engine.start()
            self._loop()
            self._check_target_at_end()
        except (ToxiproxyError, FaultActionError) as exc:
            self.infrastructure_error(str(exc))
        except Exception as exc:  # a bug or a surprise: faults still come off, the run is judged
            log.debug("the drill loop failed:\n%s", traceback.format_exc())
            self.infrastructure_error(
                f"the drill stopped on an unexpected error: {type(exc).__name__}: {exc} "
                "(run with -v for the traceback)"
            )
        finally:
            gevent.killall(greenlets, block=True, timeout=2.0)
            try:
                self._wait_for_local_actions()
                self._revert_all()  # faults first: they are what can hurt
            finally:
                try:
                    parts.engine.stop()
                finally:
                    try:
                        parts.recorder.flush_all()
                    finally:
                        gc.unfreeze()  # the heap frozen before t = 0 is the collector's again
        self._check_files()
        self._finish()

    def _check_files(self) -> None:
        """A results file the disk gave up on ends the run: inconclusive, with the reason."""
        failure = self.parts.files.failure
        if failure is not None:
            self.infrastructure_error(
                f"{failure}; the drill stopped (the data written so far is kept)"
            )

    def _loop(self) -> None:
        parts = self.parts
        drill = self.drill
        phases = drill.phase_windows()
        abort_watches = abort_watches_of(drill)
        current_phase: str | None = None
        last_flush_s = 0.0
        level_bucket = -1  # the last bucket whose load level was written
        while True:
            now = parts.clock.now_s()
            if now >= drill.duration_s:
                break
            self._check_files()
            if self.state.stop_reason or self.state.infrastructure_error:
                break
            phase, _start, end = next(w for w in phases if w[1] <= now < w[2] or w == phases[-1])
            if phase != current_phase:
                if current_phase is not None:
                    parts.journal.phase_ended(current_phase)
                parts.journal.phase_started(phase)
                current_phase = phase
            self._apply_due(now)
            level = drill.load.shape.level(now)
            parts.engine.set_level(level)
            if (bucket := bucket_of(now, drill.bucket_s)) != level_bucket:
                level_bucket = bucket
                users = parts.engine.user_count
                parts.files.load_level(LoadLevelRow(bucket=bucket, level=level, users=users))
            parts.engine.collect()  # requests ended since the last tick: before flush and abort
            if now - last_flush_s >= drill.bucket_s:
                parts.recorder.flush(now - LATE_GRACE_S)
                last_flush_s = now
            breached = next(
                (
                    (watch, condition)
                    for watch in abort_watches
                    if (condition := watch.breached(parts.live, now)) is not None
                ),
                None,
            )
            if breached is not None:
                watch, condition = breached
                where = f" in phase {watch.phase!r}" if watch.phase else ""
                self.state.aborted_by = condition.describe() + where
                parts.journal.aborted(f"abort condition met{where}: {condition.describe()}")
                break
            broken = parts.capacity.broken_step(now) if parts.capacity is not None else None
            if broken is not None:
                parts.journal.note(
                    f"capacity search: {broken} broke its checks; stopped during {phase}",
                    step=broken,
                )
                break
            self._report_tick(now, phase, end)
            gevent.sleep(TICK_S)
        if current_phase is not None:
            parts.journal.phase_ended(current_phase)
        if self.state.stop_reason:
            parts.journal.aborted(f"stopped by {self.state.stop_reason}")
            self._stop_journaled = True

    def _apply_due(self, now: float) -> None:
        """Revert the windows that ended, then apply those that started (the injector journals).

        Whether a window is applied is the injector's to say: a failed apply or
        revert leaves it applied, and ``revert_all`` takes it off at the end.
        """
        injector = self.parts.injector
        for planned in self.plan.faults:
            window = planned.window
            if id(window) in self._acting:
                continue
            if now >= window.end_s and injector.is_applied(window):
                self._act(injector.revert, window)
        for planned in self.plan.faults:
            window = planned.window
            if id(window) in self._acting:
                continue
            if window.start_s <= now < window.end_s and not injector.is_applied(window):
                self._act(injector.apply, window)

    def _act(self, action: Callable[[FaultWindow], None], window: FaultWindow) -> None:
        """Apply or revert ``window``: a toxic now, on the loop (one short HTTP call, timed
        right before it is sent); a local fault (a kill and restart, a command) in a greenlet
        of its own, so a restart that takes seconds never stalls the loop, the phases or the
        other faults. A failure of either is an infrastructure error."""
        if not window.fault.is_local:
            action(window)
            return

        def act() -> None:
            try:
                action(window)
            except Exception as exc:  # FaultActionError, or a surprise: the run is inconclusive
                self.infrastructure_error(f"fault {window.fault.name}: {exc}")
            finally:
                self._acting.pop(id(window), None)

        self._acting[id(window)] = gevent.spawn(act)

    def _wait_for_local_actions(self) -> None:
        """Let local actions in flight finish (each has its own time limit) before revert_all."""
        if self._acting:
            gevent.joinall(list(self._acting.values()))

    def _revert_all(self) -> None:
        """Take every applied fault off; each success or failure is journaled as it happens."""
        try:
            self.parts.injector.revert_all()
        except (ToxiproxyError, FaultActionError) as exc:
            self.state.infrastructure_error = self.state.infrastructure_error or str(exc)

    def _check_target_at_end(self) -> None:
        """A target that went away shortly before the end makes the run inconclusive, not failed."""
        if self.state.infrastructure_error:
            return
        reason = self.parts.target_watch.gone_at_end()
        if reason is not None:
            self.infrastructure_error(reason)

    def infrastructure_error(self, message: str) -> None:
        """Record the first infrastructure failure; the loop stops at its next tick."""
        if self.state.infrastructure_error:
            return
        self.state.infrastructure_error = message
        self.parts.journal.infrastructure_error(message)

    def _finish(self) -> None:
        parts = self.parts
        stopped_before = self.state.stop_reason
        if stopped_before and not self._stop_journaled:  # came while the load was stopping
            unread = " (acknowledged writes not read back)" if parts.writes.writes else ""
            parts.journal.aborted(f"stopped by {stopped_before} after the last phase{unread}")
        writes = parts.writes.writes
        if writes and not self.state.infrastructure_error and not stopped_before:
            results = verify_writes(
                self.drill.target,
                writes,
                self.drill.writes,
                should_stop=lambda: self.state.stop_reason is not None,
            )
            parts.files.write_verification(
                WriteVerification(checked_at_s=round(parts.clock.now_s(), 3), results=results)
            )
            if self.state.stop_reason:
                parts.journal.aborted(
                    f"stopped by {self.state.stop_reason} while reading acknowledged writes back"
                )
        parts.journal.run_ended(**parts.engine.arrival_totals)

    def _phase_abort(self, phase: str) -> list[AbortCondition]:
        return next((p.abort for p in self.drill.phases if p.name == phase), [])

    def _report_tick(self, now: float, phase: str, phase_end: float) -> None:
        if self.settings.on_tick is None:
            return
        parts = self.parts
        active = [f"{w.fault.name} on {w.fault.target}" for w in parts.injector.applied_windows]
        lag_ms, cpu_percent = parts.live.generator(now)
        self.settings.on_tick(
            LiveStatus(
                t_s=now,
                duration_s=self.drill.duration_s,
                phase=phase,
                phase_left_s=max(phase_end - now, 0.0),
                rps=parts.live.rps(now, 1.0),
                p95_ms=parts.live.p95_ms(now, 1.0),
                error_ratio=parts.live.error_ratio(now, 1.0),
                users=parts.engine.user_count,
                dropped_arrivals=parts.engine.arrival_totals.get("dropped_arrivals"),
                generator_lag_ms=lag_ms,
                generator_cpu_percent=cpu_percent,
                active_faults=active,
                abort_conditions=[c.describe() for c in self.drill.abort]
                + [f"{c.describe()} (in {phase})" for c in self._phase_abort(phase)],
            )
        )
