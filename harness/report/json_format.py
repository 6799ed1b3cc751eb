"""report.json: the :class:`RunReport` itself (schema in docs/report-json.md)."""

from __future__ import annotations

from harness.results.model import RunReport


def render(report: RunReport) -> str:
    """Return the report as indented JSON, ending with a newline."""
    return report.model_dump_json(indent=2) + "\n"
