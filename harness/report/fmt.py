"""Number formatting shared by every report format: one value, one unit, one way to print it."""

from __future__ import annotations

from datetime import datetime

from harness.figures import SIGNIFICANT, number  # noqa: F401 (re-exported: the one rule)
from harness.results.model import CheckResult, RunReport, WritesSummary

MISSING = "–"


def value(number_: float | None, unit: str) -> str:
    """Format ``number_`` in ``unit`` ("ms", "s", "ratio", "rps", "count") for a person to read.

    Three significant digits; a ratio is shown as a percentage; a count as a whole number.
    """
    if number_ is None:
        return MISSING
    if unit == "ratio":
        return percent(number_)
    if unit == "count":
        return f"{number_:,.0f}"
    return f"{number(number_)} {unit}".rstrip()


def percent(ratio: float | None) -> str:
    """Format a ratio (0..1) as a percentage, three significant digits: ``23.5 %``, ``0.25 %``."""
    if ratio is None:
        return MISSING
    return f"{number(ratio * 100)} %"


def unit_label(unit: str) -> str:
    """The unit as figures are shown: a ratio is shown as a percentage."""
    return "%" if unit == "ratio" else unit


def when(stamp: datetime | str | None) -> str:
    """A timestamp for people: ``2026-11-25 23:05:38 UTC`` (seconds, the zone named)."""
    if stamp is None:
        return MISSING
    if isinstance(stamp, str):
        try:
            stamp = datetime.fromisoformat(stamp)
        except ValueError:
            return stamp
    zone = stamp.strftime("%Z") or ("UTC" if stamp.utcoffset() is None else stamp.strftime("%z"))
    return f"{stamp:%Y-%m-%d %H:%M:%S} {zone}"


def fault_names(report: RunReport, scripts: list[str]) -> list[str]:
    """The faults of ``scripts`` by their own names (what the charts and timings say).

    One name per fault in every format: the fault's name (``orders-primary-down``); its
    script (``orders-primary-outage``) is named only where it is described. A script with no
    recorded window (never applied) is shown by its script name.
    """
    names: list[str] = []
    for script in scripts:
        found = [f.fault for f in report.faults if f.script == script]
        names += [n for n in dict.fromkeys(found) if n not in names] or [script]
    return names


def ms(number_: float | None) -> str:
    """Format milliseconds without the unit (for tables whose header names it)."""
    return number(number_)


def seconds(number_: float | None) -> str:
    """Format seconds with the unit, three significant digits: ``0.9 s``, ``13.6 s``."""
    return MISSING if number_ is None else f"{number(number_)} s"


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
