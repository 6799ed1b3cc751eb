"""Number formatting shared by every report format: one value, one unit, one way to print it."""

from __future__ import annotations

from harness.results.model import CheckResult, WritesSummary

MISSING = "–"


def value(number: float | None, unit: str) -> str:
    """Format ``number`` in ``unit`` ("ms", "s", "ratio", "rps", "count") for a person to read."""
    if number is None:
        return MISSING
    if unit == "ms":
        return f"{number:,.0f} ms" if abs(number) >= 10 else f"{number:,.1f} ms"
    if unit == "s":
        return f"{number:,.1f} s" if abs(number) < 100 else f"{number:,.0f} s"
    if unit == "ratio":
        return percent(number)
    if unit == "rps":
        return f"{number:,.1f} rps"
    if unit == "count":
        return f"{number:,.0f}"
    return f"{number:,.4g} {unit}".rstrip()


def percent(ratio: float | None) -> str:
    """Format a ratio (0..1) as a percentage with sensible precision."""
    if ratio is None:
        return MISSING
    pct = ratio * 100
    if pct == 0:
        return "0 %"
    if abs(pct) < 1:
        return f"{pct:.2f} %"
    return f"{pct:.1f} %"


def ms(number: float | None) -> str:
    """Format milliseconds without the unit (for tables whose header names it)."""
    return MISSING if number is None else f"{number:,.0f}"


def seconds(number: float | None) -> str:
    """Format seconds with the unit, one decimal."""
    return MISSING if number is None else f"{number:,.1f} s"


def timing(number: float | None, no_data: str | None) -> str:
    """A failover or recovery figure: seconds, "no data" (nothing to judge) or "never"."""
    if number is not None:
        return seconds(number)
    return "no data" if no_data else "never"


def check_expectation(check: CheckResult) -> str:
    """The check's rule as a phrase, e.g. ``<= 1,500 ms``."""
    return f"{check.comparator} {value(check.threshold, check.unit)}"


def check_outcome(check: CheckResult) -> str:
    """One phrase comparing measured and threshold, e.g. ``2,380 ms > 1,500 ms``."""
    if check.measured is None:
        return f"nothing measured (expected {check_expectation(check)})"
    if check.passed:
        relation = check.comparator
    else:
        relation = ">" if check.comparator == "<=" else "<"
    return f"{value(check.measured, check.unit)} {relation} {value(check.threshold, check.unit)}"


def writes_line(writes: WritesSummary) -> str:
    """``27 acknowledged, 27 verified, 0 lost; 5 indeterminate (...)``: one line for text formats."""
    line = (
        f"{writes.acknowledged:,} acknowledged, {writes.verified:,} verified, "
        f"{len(writes.lost):,} lost"
    )
    if writes.unverifiable:
        line += f", {len(writes.unverifiable):,} unverifiable"
    if writes.indeterminate:
        answers = ", ".join(f"{n:,} {seen}" for seen, n in writes.indeterminate_answers.items())
        line += f"; {writes.indeterminate:,} indeterminate (answer lost: {answers})"
        if writes.indeterminate_known_id:
            line += (
                f", {writes.indeterminate_known_id:,} read back: "
                f"{len(writes.indeterminate_found):,} created although the client saw an error"
            )
    return line
