"""The ``csv`` report format: one row per check, and a last row with the verdict (checks.csv)."""

from __future__ import annotations

import csv
import io

from harness.report import ReportFormat
from harness.results.model import RunReport, Verdict

COLUMNS = ["drill", "run_id", "row", "name", "type", "phase", "passed", "measured",
           "comparator", "threshold", "unit"]


def render(report: RunReport) -> str:
    """``report``'s checks as CSV with a header; the last row carries the verdict."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for c in report.checks:
        writer.writerow([report.drill, report.run_id, "check", c.name, c.type, c.phase or "",
                         c.passed, "" if c.measured is None else c.measured, c.comparator,
                         "" if c.threshold is None else c.threshold, c.unit])
    writer.writerow([report.drill, report.run_id, "verdict", report.verdict.value, "", "",
                     report.verdict is Verdict.PASS, "", "", "", ""])
    return out.getvalue()


CSV = ReportFormat("csv", "checks.csv", render, "one row per check, then the verdict (CSV)")
