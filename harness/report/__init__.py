"""Report formats (HTML, Markdown, JUnit XML, JSON) and run comparison.

    write_reports(report, run_dir)              -> {format name: path written}
    load_report(run_dir_or_report_json)         -> RunReport
    compare(baseline, candidate, Tolerances())  -> Comparison (.ok, .regressions, .improvements)

New formats are added to the registry in ``harness.report.formats``.
"""

from harness.report.compare import (
    Change,
    Comparison,
    Improvement,
    Regression,
    Tolerances,
    compare,
)
from harness.report.formats import FORMATS, ReportFormat
from harness.report.loading import load_report
from harness.report.writer import write_reports

__all__ = [
    "FORMATS",
    "Change",
    "Comparison",
    "Improvement",
    "Regression",
    "ReportFormat",
    "Tolerances",
    "compare",
    "load_report",
    "write_reports",
]
