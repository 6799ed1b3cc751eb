"""Wiring one drill run: build every part and connect them, start nothing.

:func:`assemble` makes the run files, the journal, the recorder (teed into the
capacity judge when the drill searches for capacity), the load engine, the
fault injector and the watchers, all on one :class:`DrillClock` that is
passed in. The runner (:mod:`harness.drill.runner`) starts the clock and the
parts and runs the loop; :func:`close_parts` frees what the parts hold.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from harness.clock import DrillClock
from harness.drill.capacity import CapacityJudge
from harness.drill.journal import Journal
from harness.drill.live import LiveWindow
from harness.drill.plan import DrillPlan, ledger_dir
from harness.drill.probes import probe_watches
from harness.drill.target import TargetClient
from harness.drill.watch import GoneSink, MetricsScraper, TargetWatch, ToxiproxyWatch, Watcher
from harness.faults.adapter import ToxiproxyAdapter
from harness.faults.injector import FaultInjector
from harness.load.engine import LoadEngine, RequestClassifier, RequestSample
from harness.load.health import HealthSink
from harness.metrics.recorder import Recorder
from harness.results.files import RunFiles
from harness.results.raw import AckedWrite, GeneratorRow

if TYPE_CHECKING:
    from locust import User

LATE_GRACE_S = 2.0  # a bucket is flushed this long after it closes; later requests add rows
CAPACITY_SETTLE_S = 1.5  # capacity search: extra wait after a step's rows are flushed (workers lag)


class RequestPipeline:
    """Where every classified request goes in the drill process: the recorder and the live view."""

    def __init__(self, recorder: Recorder, live: LiveWindow) -> None:
        self.recorder = recorder
        self.live = live
        self._record, self._add_live = recorder.record_sample, live.add  # bound once

    def __call__(self, samples: list[RequestSample]) -> None:
        # runs for every request of the drill process: no attribute walks, no property
        record, add_live = self._record, self._add_live
        for sample in samples:
            record(sample)
            latency_us = sample.latency_us
            add_live(sample.t_s, sample.outcome, None if latency_us is None else latency_us / 1000)


class WriteLog:
    """Acknowledged writes: kept for the read-back and written to the raw files as they come."""

    def __init__(self, files: RunFiles) -> None:
        self.files = files
        self.writes: list[AckedWrite] = []

    def __call__(self, write: AckedWrite) -> None:
        self.writes.append(write)
        self.files.write(write)


@dataclass
class DrillParts:
    """Every part of one run, wired together and not yet started."""

    run_id: str
    clock: DrillClock
    files: RunFiles
    journal: Journal
    recorder: Recorder
    live: LiveWindow
    writes: WriteLog
    engine: LoadEngine
    injector: FaultInjector
    capacity: CapacityJudge | None
    target_watch: TargetWatch
    watchers: list[Watcher] = field(default_factory=list)


def assemble(
    plan: DrillPlan,
    *,
    run_id: str,
    run_dir: Path,
    clock: DrillClock,
    adapter: ToxiproxyAdapter,
    user_classes: list[type[User]],
    on_gone: GoneSink,
) -> DrillParts:
    """Build and wire the parts of one run (with load.workers > 0 this starts the workers).

    ``on_gone`` is told, once per cause, when the target or Toxiproxy goes away
    or a Locust worker is lost mid-drill.
    On an exception nothing built here is left open.
    """
    drill = plan.drill
    files = RunFiles(run_dir)
    journal = Journal(files.event, clock, plan.faults)
    capacity = (
        CapacityJudge(drill, settle_s=LATE_GRACE_S + CAPACITY_SETTLE_S)
        if drill.capacity_search is not None
        else None
    )
    rows_sink = capacity.tee(files.metric_rows) if capacity else files.metric_rows
    recorder = Recorder(bucket_s=drill.bucket_s, sink=rows_sink)
    live = LiveWindow()
    writes = WriteLog(files)
    closers: list[Watcher] = []
    try:
        injector = FaultInjector(
            adapter, run_id, ledger_dir=ledger_dir(), on_event=journal.fault, clock=clock.now_s
        )
        liveness = drill.target.liveness
        target_watch = TargetWatch(
            TargetClient(drill.target, timeout_s=liveness.timeout_s),
            liveness,
            clock,
            journal,
            on_gone,
        )
        closers.append(target_watch)
        watchers: list[Watcher] = [target_watch]
        if drill.target.metrics_path:
            scraper = MetricsScraper(
                TargetClient(drill.target, timeout_s=2.0),
                drill.target.scrape_every_s,
                clock,
                journal,
                files.server_sample,
            )
            closers.append(scraper)
            watchers.append(scraper)
        probes = probe_watches(
            drill.probes,
            drill.target,
            [start_s for _, start_s, _ in drill.phase_windows()],
            clock,
            journal,
            files.probe_run,
        )
        closers.extend(probes)
        watchers.extend(probes)
        toxiproxy_watch = ToxiproxyWatch(adapter.url, on_gone)
        closers.append(toxiproxy_watch)
        watchers.append(toxiproxy_watch)
        engine = LoadEngine(
            drill.load,
            user_classes,
            target_url=drill.target.url,
            classifier=RequestClassifier(drill.outcomes, drill.writes, clock),
            on_samples=RequestPipeline(recorder, live),
            on_write=writes,
            on_rows=rows_sink,  # load.workers > 0: the workers' rows and live data
            on_live=live.add,
            scenario_path=plan.scenario_path,
            bucket_s=drill.bucket_s,
            on_health=_health_sink(files, live, drill.bucket_s),  # own lag and CPU
            on_lost=on_gone,  # a Locust worker lost mid-drill: the run cannot be judged
        )
    except BaseException:
        for part in closers:
            part.close()
        files.close()
        raise
    return DrillParts(
        run_id=run_id,
        clock=clock,
        files=files,
        journal=journal,
        recorder=recorder,
        live=live,
        writes=writes,
        engine=engine,
        injector=injector,
        capacity=capacity,
        target_watch=target_watch,
        watchers=watchers,
    )


def close_parts(parts: DrillParts) -> None:
    """Free the watchers' clients and close the run files (after the run and the read-back)."""
    try:
        for watcher in parts.watchers:
            watcher.close()
    finally:
        parts.files.close()


def _health_sink(files: RunFiles, live: LiveWindow, bucket_s: float) -> HealthSink:
    """Each load process's health row to raw/generator.jsonl and to the live view."""

    def sink(row: GeneratorRow) -> None:
        files.generator_row(row)
        live.add_health(row.bucket * bucket_s, row)

    return sink
