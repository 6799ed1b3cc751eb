"""Compare two runs of a drill: which figures got worse (or better) beyond given tolerances.

    comparison = compare(load_report("reports/base"), load_report("reports/new"), Tolerances())
    print(comparison.to_text()); comparison.ok

Phases are matched by name, faults (failover/recovery timings) by fault name, checks by
check name. A figure missing on either side is not compared; it is listed in ``notes``.

A per-phase figure is a regression only when it moved beyond its tolerance AND beyond
the run-to-run spread (``harness.report.spread``: percentile confidence intervals from
the runs' histograms, significance tests on counts), so two runs of the same healthy
drill compare clean. Two runs of different drill definitions get a warning in ``notes``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path

from rich.console import Group
from rich.table import Table
from rich.text import Text

from harness.errors import InputError
from harness.metrics.histogram import Latency
from harness.report import fmt
from harness.report.loading import load_report
from harness.report.markdown import cell, table
from harness.report.spread import (
    MIN_TAIL,
    percentile_interval,
    phase_latencies,
    proportion_z,
    rate_drop_z,
    z_limit,
)
from harness.report.verdicts import style
from harness.results.model import CheckResult, PhaseSummary, RunReport

__all__ = ["Change", "Comparison", "Improvement", "Regression", "Tolerances", "compare",
           "load_report"]

Value = float | str | None


@dataclass(frozen=True)
class Tolerances:
    """How much worse a candidate may be before a figure counts as a regression.

    Latency counts only when it grows by more than ``latency_rel`` (relative) AND by
    more than ``latency_floor_ms``, so 2 ms -> 3 ms is noise, not a regression. The
    same margins, mirrored, decide what counts as an improvement.
    """

    latency_rel: float = 0.10
    latency_floor_ms: float = 5.0
    error_ratio_abs: float = 0.01
    fallback_ratio_abs: float = 0.05
    shed_ratio_abs: float = 0.02
    rps_drop_rel: float = 0.10
    failover_slack_s: float = 1.0
    recovery_slack_s: float = 1.0
    lost_writes: int = 0

    def __post_init__(self) -> None:
        bad = [f"{f.name}={getattr(self, f.name)!r}" for f in fields(self)
               if getattr(self, f.name) < 0]
        if bad:
            raise InputError(f"tolerances: {', '.join(bad)}: tolerances must be >= 0 "
                             "(0 means any change counts)")


@dataclass(frozen=True)
class Change:
    """One figure that moved beyond its tolerance, baseline versus candidate.

    ``limit`` is the worst candidate value still tolerated (for a regression) or the
    value the candidate had to beat (for an improvement). ``phase`` is None for
    drill-wide figures; ``fault`` names the fault for failover and recovery times.
    """

    metric: str
    phase: str | None
    baseline: Value
    candidate: Value
    limit: Value
    unit: str
    fault: str | None = None

    @property
    def scope(self) -> str:
        """Where the figure was measured: a phase, a fault, or the whole drill."""
        if self.fault is not None:
            return f"fault {self.fault}"
        return self.phase or "whole drill"

    def show(self, v: Value) -> str:
        """Format one of this change's values in its unit."""
        if v is None:
            return "never" if self.unit == "s" else fmt.MISSING
        return v if isinstance(v, str) else fmt.value(v, self.unit)

    @property
    def delta(self) -> str:
        """The change as a phrase: ``+52 %`` for latency and rps, ``+3.1 s`` or ``+2.0 %`` else."""
        b, c = self.baseline, self.candidate
        if not isinstance(b, float | int) or not isinstance(c, float | int):
            return f"{self.show(b)} → {self.show(c)}"
        if self.unit in ("ms", "rps") and b:
            return f"{(c - b) / b * 100:+.0f} %"
        if self.unit == "ratio":
            return f"{(c - b) * 100:+.2f} pp"
        return f"{c - b:+,.1f}{' ' + self.unit if self.unit not in ('count', '') else ''}"

    def row(self) -> list[str]:
        """The change as table cells: metric, scope, baseline, candidate, limit, change."""
        return [self.metric, self.scope, self.show(self.baseline), self.show(self.candidate),
                self.show(self.limit), self.delta]


class Regression(Change):
    """A figure that got worse than the tolerance allows."""


class Improvement(Change):
    """A figure that got better by more than the tolerance."""


_HEADER = ["Metric", "Where", "Baseline", "Candidate", "Limit", "Change"]


@dataclass(frozen=True)
class Comparison:
    """The result of :func:`compare`; ``ok`` when nothing regressed."""

    drill: str
    baseline_run_id: str
    candidate_run_id: str
    regressions: list[Regression] = field(default_factory=list)
    improvements: list[Improvement] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the candidate has no regression beyond the tolerances."""
        return not self.regressions

    @property
    def headline(self) -> str:
        """One sentence: the outcome of the comparison."""
        outcome = ("no regressions" if self.ok
                   else f"{len(self.regressions)} regression(s)")
        return (f"{self.drill}: {outcome}, {len(self.improvements)} improvement(s) "
                f"({self.candidate_run_id} vs baseline {self.baseline_run_id})")

    def to_text(self) -> str:
        """Plain-text rendering (no colour, no box drawing) for logs and terminals."""
        lines = [("OK: " if self.ok else "REGRESSED: ") + self.headline]
        for title, changes in (("Regressions", self.regressions),
                               ("Improvements", self.improvements)):
            if changes:
                lines += ["", f"{title}:", *_columns([_HEADER, *(c.row() for c in changes)])]
        if self.notes:
            lines += ["", "Notes:", *(f"  - {n}" for n in self.notes)]
        return "\n".join(lines) + "\n"

    def to_markdown(self) -> str:
        """GitHub-flavoured Markdown rendering, for a PR comment or CI step summary."""
        mark = "✅" if self.ok else "❌"
        lines = [f"### {mark} Comparison: {cell(self.headline)}"]
        for title, changes in (("Regressions", self.regressions),
                               ("Improvements", self.improvements)):
            if changes:
                lines += ["", f"**{title}**", "",
                          *table(_HEADER, ([cell(x) for x in c.row()] for c in changes),
                                 align="llrrrr")]
        if self.notes:
            lines += ["", *(f"- {cell(n)}" for n in self.notes)]
        return "\n".join(lines) + "\n"

    def __str__(self) -> str:
        return self.to_text()

    def __rich__(self) -> Group:
        """Rich rendering: a coloured headline and one table per kind of change."""
        parts: list[Text | Table] = [
            Text(("OK: " if self.ok else "REGRESSED: ") + self.headline,
                 style="bold green" if self.ok else "bold red")
        ]
        for title, changes, colour in (("Regressions", self.regressions, "red"),
                                       ("Improvements", self.improvements, "green")):
            if changes:
                t = Table(title=title, title_style=f"bold {colour}", title_justify="left")
                for i, name in enumerate(_HEADER):
                    t.add_column(name, justify="right" if i >= 2 else "left")
                for c in changes:
                    t.add_row(*c.row())
                parts.append(t)
        parts += [Text(f"note: {n}", style="dim") for n in self.notes]
        return Group(*parts)


def compare(baseline: RunReport, candidate: RunReport, tolerances: Tolerances,
            baseline_dir: Path | None = None, candidate_dir: Path | None = None) -> Comparison:
    """Compare ``candidate`` with ``baseline`` and list what moved beyond ``tolerances``
    and beyond the run-to-run spread.

    ``baseline_dir``/``candidate_dir``: the run directories, whose ``raw/metrics.jsonl``
    gives each phase's latency histogram (percentile confidence intervals).
    """
    notes: list[str] = []
    if baseline.drill != candidate.drill:
        notes.append(f"different drills: baseline {baseline.drill!r}, "
                     f"candidate {candidate.drill!r}; matching phases by name anyway")
    notes += [f"WARNING: the drill definitions differ: {d}" for d in
              definition_differences(baseline, candidate)]
    spread = (
        phase_latencies(baseline_dir, baseline) if baseline_dir else None,
        phase_latencies(candidate_dir, candidate) if candidate_dir else None,
    )
    changes = [
        *_phases(baseline, candidate, tolerances, notes, spread),
        *_timings(baseline, candidate, tolerances, notes),
        *_writes(baseline, candidate, tolerances, notes),
        *_checks(baseline, candidate),
        *_verdict(baseline, candidate),
    ]
    return Comparison(
        drill=candidate.drill,
        baseline_run_id=baseline.run_id,
        candidate_run_id=candidate.run_id,
        regressions=[c for c in changes if isinstance(c, Regression)],
        improvements=[c for c in changes if isinstance(c, Improvement)],
        notes=notes,
    )


def _judge(metric: str, phase: str | None, base: float, cand: float, margin: float, unit: str,
           *, lower_is_better: bool = True, fault: str | None = None) -> Change | None:
    """Regression when ``cand`` is worse than ``base`` by more than ``margin``; mirrored: better."""
    sign = 1 if lower_is_better else -1
    limit = base + sign * margin
    if sign * (cand - limit) > 1e-12:
        return Regression(metric, phase, base, cand, limit, unit, fault)
    better = base - sign * margin
    if sign * (better - cand) > 1e-12:
        return Improvement(metric, phase, base, cand, better, unit, fault)
    return None


def definition_differences(base: RunReport, cand: RunReport) -> list[str]:
    """What differs between the two runs' drill definitions, as seen in their reports:
    phases (names, times), checks (type, phase, limit), faults (type, planned window), load."""
    def phases(r: RunReport) -> list[str]:
        return [f"{p.name} {fmt.number(p.start_s)}-{fmt.number(p.end_s)} s" for p in r.phases]

    def checks(r: RunReport) -> list[str]:
        return [f"{c.name} ({c.type}, {c.phase or 'drill'}) {c.comparator} "
                f"{fmt.value(c.threshold, c.unit)}" for c in r.checks]

    def faults(r: RunReport) -> list[str]:
        return [f"{f.fault} ({f.type} on {f.proxy}) {fmt.number(f.planned_start_s)}-"
                f"{fmt.number(f.planned_end_s)} s" for f in r.faults]

    def load(r: RunReport) -> list[str]:
        return [f"{r.load.model}, intended {fmt.value(r.load.intended_rps, 'rps')}"]

    out = []
    for what, get in (("phases", phases), ("checks", checks), ("faults", faults),
                      ("load", load)):
        b, c = get(base), get(cand)
        if b != c:
            only_b = [x for x in b if x not in c] or ["(order)"]
            only_c = [x for x in c if x not in b] or ["(order)"]
            out.append(f"{what}: baseline has {'; '.join(only_b)}, candidate has "
                       f"{'; '.join(only_c)}")
    return out


_Spread = tuple[dict[str, Latency] | None, dict[str, Latency] | None]


def _phases(base: RunReport, cand: RunReport, tol: Tolerances,
            notes: list[str], spread: _Spread = (None, None)) -> Iterator[Change | None]:
    cand_phases = {p.name: p for p in cand.phases}
    for b in base.phases:
        c = cand_phases.get(b.name)
        if c is None:
            notes.append(f"phase {b.name!r} is only in the baseline; not compared")
            continue
        hists = (spread[0].get(b.name) if spread[0] else None,
                 spread[1].get(b.name) if spread[1] else None)
        yield from _phase(b, c, tol, notes, hists, z_limit(4 * len(base.phases)))
    for name in cand_phases.keys() - {p.name for p in base.phases}:
        notes.append(f"phase {name!r} is only in the candidate; not compared")


def _phase(b: PhaseSummary, c: PhaseSummary, tol: Tolerances, notes: list[str],
           hists: tuple[Latency | None, Latency | None] = (None, None),
           z_min: float = z_limit(1)) -> Iterator[Change | None]:
    for metric, q in (("p95_ms", 0.95), ("p99_ms", 0.99)):
        bv, cv = getattr(b, metric), getattr(c, metric)
        if bv is None or cv is None:
            notes.append(f"phase {b.name!r}: {metric} missing in the "
                         f"{'baseline' if bv is None else 'candidate'}; not compared")
            continue
        margin = max(bv * tol.latency_rel, tol.latency_floor_ms)
        change = _judge(metric, b.name, bv, cv, margin, "ms")
        if change is not None and not _latency_beyond_spread(b, c, q, hists):
            notes.append(f"phase {b.name!r}: {metric} {fmt.value(bv, 'ms')} -> "
                         f"{fmt.value(cv, 'ms')} is within the run-to-run spread; not counted")
            change = None
        yield change
    for metric, margin in (("error_ratio", tol.error_ratio_abs),
                           ("fallback_ratio", tol.fallback_ratio_abs),
                           ("shed_ratio", tol.shed_ratio_abs)):
        bv, cv = getattr(b, metric), getattr(c, metric)
        change = _judge(metric, b.name, bv, cv, margin, "ratio")
        kb, kc = round(bv * b.requests), round(cv * c.requests)
        z = proportion_z(kb, b.requests, kc, c.requests)
        if change is not None and abs(z) <= z_min:
            notes.append(f"phase {b.name!r}: {metric} {fmt.percent(bv)} -> {fmt.percent(cv)} "
                         f"({kb:,} of {b.requests:,} vs {kc:,} of {c.requests:,}) is within "
                         f"the run-to-run spread (z = {fmt.number(z)}); not counted")
            change = None
        yield change
    change = _judge("rps", b.name, b.rps, c.rps, b.rps * tol.rps_drop_rel, "rps",
                    lower_is_better=False)
    db, dc = b.end_s - b.start_s, c.end_s - c.start_s
    z = rate_drop_z(round(b.rps * db), db, round(c.rps * dc), dc)
    if change is not None and abs(z) <= z_min:
        notes.append(f"phase {b.name!r}: rps {fmt.value(b.rps, 'rps')} -> "
                     f"{fmt.value(c.rps, 'rps')} is within the run-to-run spread; not counted")
        change = None
    yield change


def _latency_beyond_spread(b: PhaseSummary, c: PhaseSummary, q: float,
                           hists: tuple[Latency | None, Latency | None]) -> bool:
    """True when both phases have at least MIN_TAIL requests above the percentile and,
    with histograms, the two percentiles' 99 % intervals do not overlap.

    Requests of a phase are not independent (a slow second slows many), so a percentile
    resting on a handful of requests is not judged even when its interval looks narrow.
    """
    if min(b.requests, c.requests) * (1 - q) < MIN_TAIL:
        return False
    hb, hc = hists
    if hb is not None and hc is not None and hb.count and hc.count:
        ib, ic = percentile_interval(hb, q), percentile_interval(hc, q)
        if ib is None or ic is None:
            return False
        return ic.low_ms > ib.high_ms if ic.value_ms >= ib.value_ms else ic.high_ms < ib.low_ms
    return True


def _timings(base: RunReport, cand: RunReport, tol: Tolerances,
             notes: list[str]) -> Iterator[Change | None]:
    cand_t = {t.fault: t for t in cand.timings}
    for b in base.timings:
        c = cand_t.get(b.fault)
        if c is None:
            notes.append(f"fault {b.fault!r} is only in the baseline; timings not compared")
            continue
        for metric, slack in (("failover_s", tol.failover_slack_s),
                              ("recovery_s", tol.recovery_slack_s)):
            bv, cv = getattr(b, metric), getattr(c, metric)
            if bv is not None and cv is not None:
                yield _judge(metric, None, bv, cv, slack, "s", fault=b.fault)
            elif bv is not None:  # never reached in the candidate
                yield Regression(metric, None, bv, None, bv + slack, "s", b.fault)
            elif cv is not None:  # reached now, never before
                yield Improvement(metric, None, None, cv, None, "s", b.fault)


def _writes(base: RunReport, cand: RunReport, tol: Tolerances,
            notes: list[str]) -> Iterator[Change | None]:
    if base.writes is None or cand.writes is None:
        if base.writes is not None or cand.writes is not None:
            notes.append("writes were tracked in only one of the runs; lost writes not compared")
        return
    yield _judge("lost_writes", None, float(len(base.writes.lost)), float(len(cand.writes.lost)),
                 float(tol.lost_writes), "count")


def _checks(base: RunReport, cand: RunReport) -> Iterator[Change]:
    cand_checks = {c.name: c for c in cand.checks}
    for b in base.checks:
        c = cand_checks.get(b.name)
        if c is None or b.passed == c.passed:
            continue
        cls = Regression if b.passed else Improvement
        limit = f"{b.comparator} {fmt.value(c.threshold, c.unit)}"
        yield cls(f"check {b.name}", b.phase, _check_value(b), _check_value(c), limit, b.unit)


def _check_value(check: CheckResult) -> str:
    word = "pass" if check.passed else "FAIL"
    return f"{word} ({fmt.value(check.measured, check.unit)})"


def _verdict(base: RunReport, cand: RunReport) -> Iterator[Change]:
    b, c = style(base.verdict), style(cand.verdict)
    if c.rank > b.rank:
        yield Regression("verdict", None, base.verdict.value, cand.verdict.value,
                         base.verdict.value, "")
    elif c.rank < b.rank:
        yield Improvement("verdict", None, base.verdict.value, cand.verdict.value,
                          base.verdict.value, "")


def _columns(rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = []
    for n, r in enumerate(rows):
        cells = [v.ljust(w) if i < 2 else v.rjust(w) for i, (v, w) in enumerate(zip(r, widths,
                                                                                      strict=True))]
        out.append("  " + "  ".join(cells).rstrip())
        if n == 0:
            out.append("  " + "  ".join("-" * w for w in widths))
    return out
