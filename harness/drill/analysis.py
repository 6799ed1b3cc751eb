"""From a run directory's raw files to a :class:`RunReport`: figures, checks, verdict.

Used at the end of every run and by ``harness report``, so a report rebuilt from
the raw files alone is the same report. A run that never logged its end (a
crash, a SIGKILL) still gets a report, with the verdict 'inconclusive'.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from harness.checks import CheckContext
from harness.checks.resilience import report_timings
from harness.drill.loader import step_level
from harness.drill.model import Drill, LoadModel, WriteRule
from harness.errors import InputError
from harness.metrics.generator import GeneratorBounds, GeneratorStore
from harness.metrics.store import MetricStore
from harness.metrics.summary import PhaseSpan, phase_summaries, time_series
from harness.results.files import RAW, RUN, RunData
from harness.results.model import (
    CheckResult,
    EventKind,
    FaultWindowRecord,
    GeneratorSummary,
    LoadSummary,
    PhaseSummary,
    RunReport,
    TimelineEvent,
    TimeSeries,
    Verdict,
    WriteRuleSeen,
    WritesSummary,
)
from harness.results.raw import DROPPED_ENDPOINT, AckedWrite, LoadLevelRow, WriteKind
from harness.validation import validate

CLOSED_MODEL_NOTE = (
    "Closed model: latencies are as measured, not corrected for coordinated omission. Each "
    "user waits for its answer before its next request, so while the target is slow fewer "
    "requests are sent and the slow period is under-sampled; percentiles can look better than "
    "what customers arriving on their own schedule saw. Use load.model: open for corrected latency."
)


def build_report(run_dir: Path) -> RunReport:
    """The report of the run in ``run_dir``, built from its raw files alone."""
    data = RunData(run_dir)
    drill = _drill_of(data)
    spans = [
        PhaseSpan(name, start, end, faults=_phase_faults(drill, name))
        for name, start, end in drill.phase_windows()
    ]
    context = _context(data, drill, spans)
    store, faults, writes = context.store, context.faults, context.writes
    specs = scoped_checks(drill)
    checks = [spec.evaluate(context) for spec in specs]
    peak, capacity_check = _capacity(drill, checks)
    if capacity_check is not None:
        checks.append(capacity_check)
    verdict, reason = judge(
        data.events, checks, capacity=capacity_check is not None, damage=data.damage
    )
    ended = next((e for e in data.events if e.kind is EventKind.RUN_ENDED), None)
    duration_s = ended.t_s if ended else max((e.t_s for e in data.events), default=0.0)
    phases, series, generator = _with_generator(
        context,
        phase_summaries(store, spans),
        with_load_levels(time_series(store, drill.duration_s), data.load_levels),
        drill.duration_s,
    )
    return RunReport(
        run_id=data.meta.run_id,
        drill=drill.name,
        description=drill.description,
        drill_file=data.meta.drill_file,
        target_url=data.meta.target_url,
        toxiproxy_url=data.meta.toxiproxy_url,
        started_at=data.meta.started_at,
        duration_s=round(duration_s, 3),
        verdict=verdict,
        verdict_reason=reason,
        checks=checks,
        phases=phases,
        faults=faults,
        timings=report_timings(context, specs),
        writes=writes,
        load=_load_summary(drill, ended, store, _load_s(data.events, drill, duration_s)),
        series=series,
        events=data.events,
        server_samples=data.server_samples,
        lanes=drill.target.lanes,
        generator=generator,
        sustainable_peak=peak,
    )


def _context(data: RunData, drill: Drill, spans: list[PhaseSpan]) -> CheckContext:
    store = MetricStore.from_rows(data.metric_rows(), data.meta.bucket_s)
    return CheckContext(
        store=store,
        bucket_s=data.meta.bucket_s,
        phases=[(s.name, s.start_s, s.end_s) for s in spans],
        baseline_phase=drill.baseline,
        faults=fault_windows(data.events),
        writes=writes_summary(data, drill.writes, store),
        generator=_generator_store(data, drill),
        probe_runs=data.probe_runs,
    )


def _generator_store(data: RunData, drill: Drill) -> GeneratorStore | None:
    """The load generator's health rows (None for runs made before they were recorded)."""
    if not data.generator_rows:
        return None
    spec = drill.generator
    bounds = GeneratorBounds(lag_ms=spec.max_lag_ms, cpu_percent=spec.max_cpu_percent)
    return GeneratorStore.from_rows(data.generator_rows, data.meta.bucket_s, bounds)


def _with_generator(
    context: CheckContext, phases: list[PhaseSummary], series: TimeSeries, duration_s: float
) -> tuple[list[PhaseSummary], TimeSeries, GeneratorSummary | None]:
    """Phases, series and the summary with the load generator's health added, when recorded."""
    generator, store = context.generator, context.store
    if generator is None:
        return phases, series, None
    phases = [
        p.model_copy(
            update={"generator": generator.health(*store.bucket_range(p.start_s, p.end_s))}
        )
        for p in phases
    ]
    lag_ms, cpu_percent = generator.series(len(series.t_s))
    series = series.model_copy(
        update={"generator_lag_ms": lag_ms, "generator_cpu_percent": cpu_percent}
    )
    limited = [p.name for p in phases if p.generator is not None and p.generator.limited]
    summary = generator.summary(*store.bucket_range(0.0, duration_s), limited_phases=limited)
    return phases, series, summary


def with_load_levels(series: TimeSeries, rows: list[LoadLevelRow]) -> TimeSeries:
    """``series`` with the load level and users of each bucket (left empty in old runs)."""
    if not rows:
        return series
    by_bucket = {row.bucket: row for row in rows}
    picked = [by_bucket.get(b) for b in range(len(series.t_s))]
    return series.model_copy(
        update={
            "load_level": [r.level if r is not None else None for r in picked],
            "users": [r.users if r is not None else None for r in picked],
        }
    )


def scoped_checks(drill: Drill) -> list:
    """Every check of the drill, those listed under a phase scoped to that phase."""
    specs = list(drill.checks)
    for phase in drill.phases:
        specs += [spec.model_copy(update={"phase": phase.name}) for spec in phase.checks]
    return specs


def fault_windows(events: list[TimelineEvent]) -> list[FaultWindowRecord]:
    """Each fault as it really happened, from the journal's applied/reverted entries."""
    records: dict[tuple, dict] = {}
    for event in events:
        if event.kind not in (EventKind.FAULT_APPLIED, EventKind.FAULT_REVERTED):
            continue
        d = event.data
        key = (d["script"], d["fault"], d["planned_start_s"])
        record = records.setdefault(
            key,
            {
                "fault": d["fault"],
                "script": d["script"],
                "proxy": d["proxy"],
                "type": d["type"],
                "planned_start_s": d["planned_start_s"],
                "planned_end_s": d["planned_end_s"],
                "applied_s": None,
                "reverted_s": None,
            },
        )
        field = "applied_s" if event.kind is EventKind.FAULT_APPLIED else "reverted_s"
        if record[field] is None:
            record[field] = event.t_s
    return [
        FaultWindowRecord(**r) for r in sorted(records.values(), key=lambda r: r["planned_start_s"])
    ]


def writes_summary(
    data: RunData, rules: list[WriteRule] | None = None, store: MetricStore | None = None
) -> WritesSummary | None:
    """The writes seen and read back; None when the drill has no write rules and saw no write.

    Lost: acknowledged and absent. An indeterminate write (its answer was lost) is never
    lost; read back (its id came from the request) and present, it was created although
    the client saw an error.
    """
    rules = rules or []
    if not data.writes and not rules:
        return None
    results = {r.write_id: r for r in (data.verification.results if data.verification else [])}
    acked = [w.write_id for w in data.writes if w.kind is WriteKind.ACKNOWLEDGED and w.write_id]
    lost = [i for i in acked if i in results and results[i].found is False]
    unverifiable = [i for i in acked if i not in results or results[i].found is None]
    unsure = [w for w in data.writes if w.kind is WriteKind.INDETERMINATE]
    known = list(dict.fromkeys(w.write_id for w in unsure if w.write_id))
    return WritesSummary(
        acknowledged=len(acked),
        verified=sum(1 for i in acked if i in results and results[i].found),
        lost=lost,
        unverifiable=unverifiable,
        indeterminate=len(unsure),
        indeterminate_answers=dict(Counter(w.note for w in unsure).most_common()),
        indeterminate_known_id=len(known),
        indeterminate_found=[i for i in known if i in results and results[i].found],
        rules=[_rule_seen(rule, data.writes, store) for rule in rules],
    )


def _rule_seen(
    rule: WriteRule, writes: list[AckedWrite], store: MetricStore | None
) -> WriteRuleSeen:
    mine = [w for w in writes if w.endpoint == rule.endpoint]
    requests = 0
    if store is not None:
        requests = sum(store.counts(0, store.end_bucket, [rule.endpoint]).values())
    return WriteRuleSeen(
        endpoint=rule.endpoint,
        requests=requests,
        acknowledged=sum(1 for w in mine if w.kind is WriteKind.ACKNOWLEDGED),
        indeterminate=sum(1 for w in mine if w.kind is WriteKind.INDETERMINATE),
        not_acknowledged=list(dict.fromkeys(w.note for w in mine if w.kind is WriteKind.UNMATCHED)),
    )


def _drill_of(data: RunData) -> Drill:
    """The drill ``run.json`` describes; InputError naming the file when it is damaged."""
    source = f"{data.run_dir / RAW / RUN} > drill"
    drill = validate(Drill, data.meta.drill, source=source)
    if abs(drill.bucket_s - data.meta.bucket_s) > 1e-9:
        raise InputError(
            f"{source}: damaged: bucket_s {drill.bucket_s:g} differs from the run's "
            f"{data.meta.bucket_s:g}; restore the file or re-run the drill"
        )
    return drill


def judge(
    events: list[TimelineEvent],
    checks: list[CheckResult],
    *,
    capacity: bool = False,
    damage: list[str] | None = None,
) -> tuple[Verdict, str]:
    """The verdict and one sentence saying why; damaged raw files (``damage``) make any run
    that was not aborted or failed by its infrastructure inconclusive."""
    kinds = {e.kind for e in events}
    aborted = next((e for e in events if e.kind is EventKind.ABORTED), None)
    if aborted is not None:
        return Verdict.ABORTED, aborted.message
    infra = next(
        (
            e
            for e in events
            if e.kind in (EventKind.INFRASTRUCTURE_ERROR, EventKind.FAULT_REVERT_FAILED)
        ),
        None,
    )
    if infra is not None:
        return Verdict.INCONCLUSIVE, infra.message
    if damage:
        more = f" (and {len(damage) - 1} more)" if len(damage) > 1 else ""
        return Verdict.INCONCLUSIVE, (
            f"the run's raw files are damaged, so its figures cannot be trusted: {damage[0]}"
            f"{more} - restore the files or re-run the drill"
        )
    if EventKind.RUN_ENDED not in kinds:
        return Verdict.INCONCLUSIVE, "the run did not record its end (it crashed or was killed)"
    # a capacity search is judged on its peak and the drill-wide checks; each step's checks
    # are for reading (the step above the peak fails them by design)
    judged = [c for c in checks if c.type == "capacity" or c.phase is None] if capacity else checks
    failed = [c for c in judged if not c.passed]
    if failed:
        names = ", ".join(c.name for c in failed[:3]) + (" ..." if len(failed) > 3 else "")
        return Verdict.FAIL, f"{len(failed)} of {len(judged)} checks failed: {names}"
    return Verdict.PASS, f"all {len(judged)} checks passed"


def _phase_faults(drill: Drill, phase_name: str) -> list[str]:
    return list(next(p for p in drill.phases if p.name == phase_name).faults)


def _capacity(drill: Drill, checks: list[CheckResult]) -> tuple[float | None, CheckResult | None]:
    search = drill.capacity_search
    if search is None:
        return None, None
    peak: float | None = None
    for phase in drill.phases:
        if all(c.passed for c in checks if c.phase == phase.name):
            peak = step_level(search, phase.name)
        else:
            break
    threshold = search.min_sustainable if search.min_sustainable is not None else search.start
    passed = peak is not None and peak >= threshold
    return peak, CheckResult(
        name=f"sustainable peak >= {threshold:g}",
        type="capacity",
        comparator=">=",
        threshold=threshold,
        measured=peak,
        unit="level",
        passed=passed,
        detail=(
            f"the checks held up to load level {peak:g}"
            if peak is not None
            else "the checks failed already at the first load step"
        ),
    )


def _load_s(events: list[TimelineEvent], drill: Drill, duration_s: float) -> float:
    """How long arrivals were issued: until the loop ended (its last phase_ended), not
    until run_ended, which also counts the drain, the workers' stop and the read-back."""
    ended = [e.t_s for e in events if e.kind is EventKind.PHASE_ENDED]
    return min(max(ended, default=duration_s), drill.duration_s)


def _load_summary(
    drill: Drill, ended: TimelineEvent | None, store: MetricStore, duration_s: float
) -> LoadSummary:
    """``duration_s``: how long the load ran (see :func:`_load_s`); rates are per that."""
    data = ended.data if ended else {}
    summary = {
        "model": drill.load.model.value,
        "shape": drill.load.shape.describe(),
        "scenario": drill.load.scenario,
        "workers": max(drill.load.workers, 1),
        "notes": [CLOSED_MODEL_NOTE] if drill.load.model is LoadModel.CLOSED else [],
    }
    if drill.load.model is LoadModel.OPEN and duration_s > 0:
        b0, b1 = store.bucket_range(0, duration_s)
        sent = [e for e in store.endpoints if e != DROPPED_ENDPOINT]  # drops were never sent
        total = sum(store.counts(b0, b1, endpoints=sent).values())
        summary |= {
            "intended_rps": data.get("intended_arrivals", 0) / duration_s,
            "achieved_rps": total / duration_s,
            "dropped_arrivals": data.get("dropped_arrivals"),
        }
    return LoadSummary(**summary)
