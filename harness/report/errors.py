"""The error breakdown every format shows: which kinds of error, on which endpoint, how many.

Read from the report alone (``PhaseSummary.endpoints[...].errors``, the top kinds per
endpoint and phase), so report.html, summary.md, junit.xml and the console agree.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from harness.results.model import CheckResult, PhaseSummary, RunReport

ROWS_PER_PHASE = 10  # report.html and summary.md: the largest (endpoint, kind) rows of a phase
ERROR_CHECK_TYPES = frozenset({"error_rate", "availability"})  # checks whose failure lists errors


@dataclass(frozen=True)
class ErrorLine:
    """How many errors of one kind one endpoint had in one phase."""

    phase: str
    endpoint: str
    kind: str
    count: int
    share: float  # of the phase's errors (0..1)


def phase_lines(phase: PhaseSummary, limit: int | None = ROWS_PER_PHASE) -> list[ErrorLine]:
    """The phase's (endpoint, kind) counts, largest first (ties: endpoint, kind)."""
    total = sum(e.count for summary in phase.endpoints.values() for e in summary.errors)
    lines = [
        ErrorLine(phase.name, endpoint, e.kind, e.count, e.count / total if total else 0.0)
        for endpoint, summary in phase.endpoints.items()
        for e in summary.errors
    ]
    lines.sort(key=lambda line: (-line.count, line.endpoint, line.kind))
    return lines if limit is None else lines[:limit]


def report_lines(report: RunReport, limit: int | None = ROWS_PER_PHASE) -> list[ErrorLine]:
    """Every phase's lines, phase by phase."""
    return [line for phase in report.phases for line in phase_lines(phase, limit)]


def check_errors(report: RunReport, check: CheckResult, limit: int = 5) -> str:
    """For a failed error-type check: its scope's top errors as one sentence ("" if none).

    E.g. ``Errors in phase 'fault': 120 x http 500 on POST /tickets; 31 x ReadTimeout on
    GET /orders/{id}.`` A drill-wide check lists every phase's together.
    """
    if check.passed or check.type not in ERROR_CHECK_TYPES:
        return ""
    phases = [p for p in report.phases if check.phase in (None, p.name)]
    lines = _merged(line for p in phases for line in phase_lines(p, None))[:limit]
    if not lines:
        return ""
    scope = f"phase '{check.phase}'" if check.phase else "the drill"
    return f"Errors in {scope}: " + "; ".join(describe(line) for line in lines) + "."


def describe(line: ErrorLine) -> str:
    """``120 x http 500 on POST /tickets``."""
    return f"{line.count:,} x {line.kind} on {line.endpoint}"


def _merged(lines: Iterable[ErrorLine]) -> list[ErrorLine]:
    """Lines of several phases summed per (endpoint, kind), largest first."""
    counts: dict[tuple[str, str], int] = {}
    for line in lines:
        counts[line.endpoint, line.kind] = counts.get((line.endpoint, line.kind), 0) + line.count
    total = sum(counts.values())
    merged = [
        ErrorLine("", endpoint, kind, n, n / total if total else 0.0)
        for (endpoint, kind), n in counts.items()
    ]
    merged.sort(key=lambda line: (-line.count, line.endpoint, line.kind))
    return merged
