"""summary.md: verdict line, GitHub-flavoured check table and per-phase table."""

from __future__ import annotations

from harness.report import markdown
from harness.results.model import RunReport


def _table_after(text: str, heading: str) -> list[str]:
    lines = text.split(heading, 1)[1].strip().splitlines()
    return [line for line in lines[: next((i for i, x in enumerate(lines) if not x.startswith("|")),
                                          len(lines))]]


def test_headline_has_verdict_drill_and_reason(report: RunReport) -> None:
    """The first line names the verdict and the drill; the reason follows in bold."""
    text = markdown.render(report)
    assert text.startswith("## ❌ FAIL: orders-failover\n")
    assert f"**{report.verdict_reason}**" in text


def test_check_table_has_a_row_per_check(report: RunReport) -> None:
    """The check table has a header, an alignment row and one row per check."""
    rows = _table_after(markdown.render(report), "### Checks")
    assert rows[0] == "|  | Check | Phase | Measured | Threshold | Unit |"
    assert rows[1].startswith("| :-- |")
    assert len(rows) == 2 + len(report.checks)
    failed = [r for r in rows if "FAIL" in r]
    assert failed == ["| ❌ **FAIL** | fault-p99 | fault | 2,380 ms | <= 1,500 ms | ms |"]


def test_phase_table_has_a_row_per_phase(report: RunReport) -> None:
    """The phase table lists each phase with its ratios and percentiles."""
    rows = _table_after(markdown.render(report), "### Phases")
    assert len(rows) == 2 + len(report.phases)
    assert rows[3].startswith("| fault | 10–30 s | 958 | 47.9 | 3.8 % | 23 % | 6 % |")


def test_pipes_in_names_do_not_break_the_table(report: RunReport) -> None:
    """A pipe in a check name is escaped so the table keeps its columns."""
    checks = [report.checks[0].model_copy(update={"name": "a|b"})]
    rows = _table_after(markdown.render(report.model_copy(update={"checks": checks})),
                        "### Checks")
    assert "a\\|b" in rows[2]
