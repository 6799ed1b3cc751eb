"""The error breakdown in every format: report.html, summary.md, junit.xml, the console verdict."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

from harness.console import print_verdict
from harness.report import errors, html, junit, markdown
from harness.results.model import Outcome, RunReport


class _Rows(HTMLParser):
    """The data-* attributes of every tr.error-kind, and the order of chart/errors sections."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict[str, str | None]] = []
        self.sections: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "tr" and "error-kind" in (a.get("class") or "").split():
            self.rows.append(a)
        if tag == "section" and a.get("id"):
            self.sections.append(a["id"] or "")


def _fault_errors_failed(report: RunReport) -> RunReport:
    checks = [
        c.model_copy(update={"passed": False, "measured": 0.09, "type": "error_rate"})
        if c.name == "fault-errors"
        else c
        for c in report.checks
    ]
    return report.model_copy(update={"checks": checks})


def test_phase_lines_are_largest_first_with_their_share(report: RunReport) -> None:
    """The fault phase's (endpoint, kind) counts, largest first; shares add up to 1."""
    lines = errors.phase_lines(next(p for p in report.phases if p.name == "fault"), None)
    assert [(x.endpoint, x.kind, x.count) for x in lines[:2]] == [
        ("GET /orders/{id}", "TimeoutError", 14),
        ("POST /chat/message", "http 503", 11),
    ]
    assert abs(sum(x.share for x in lines) - 1) < 1e-9


def test_html_lists_the_kinds_right_under_the_errors_chart(report: RunReport) -> None:
    """report.html: a row per (phase, endpoint, kind) with its count, after the ratios chart."""
    parser = _Rows()
    parser.feed(html.render(report))
    expected = [(x.phase, x.endpoint, x.kind, str(x.count)) for x in errors.report_lines(report)]
    seen = [
        (r["data-phase"], r["data-endpoint"], r["data-kind"], r["data-count"]) for r in parser.rows
    ]
    assert seen == expected and len(seen) == 7
    assert parser.sections.index("errors") == parser.sections.index("chart-ratios") + 1


def test_html_says_when_a_run_recorded_no_kinds(report: RunReport) -> None:
    """An old run (errors, no kinds) says so instead of an empty table; no errors says so too."""
    bare = [
        p.model_copy(
            update={
                "errors": [],
                "endpoints": {
                    n: e.model_copy(update={"errors": []}) for n, e in p.endpoints.items()
                },
            }
        )
        for p in report.phases
    ]
    page = html.render(report.model_copy(update={"phases": bare}))
    assert "recorded errors but not their kinds" in page
    no_errors = [
        p.model_copy(update={"outcome_counts": {**p.outcome_counts, Outcome.ERROR: 0}})
        for p in bare
    ]
    assert "No errors." in html.render(report.model_copy(update={"phases": no_errors}))


def test_markdown_has_an_errors_table(report: RunReport) -> None:
    """summary.md: '### Errors by kind' with phase, endpoint, kind, count and share."""
    text = markdown.render(report)
    assert "### Errors by kind" in text
    assert "| fault | `GET /orders/{id}` | `TimeoutError` | 14 | 37.8 % |" in text
    assert "`failure: ticket T-# not persisted`" in text


def test_junit_names_the_errors_of_a_failed_error_check(report: RunReport) -> None:
    """A failed error_rate check's <failure> text ends with the phase's top errors."""
    root = ET.fromstring(junit.render(_fault_errors_failed(report)))
    failures = {c.get("name"): c.find("failure") for c in root.iter("testcase")}
    text = failures["fault-errors"].text or ""
    assert re.search(
        r"Errors in phase 'fault': 14 x TimeoutError on GET /orders/\{id\}; "
        r"11 x http 503 on POST /chat/message;",
        text,
    ), text
    # a failed latency check is not about errors: no list
    assert "Errors in" not in (failures["fault-p99"].text or "")


def test_console_verdict_names_each_phase_top_errors(report: RunReport) -> None:
    """The verdict printed after a run names the largest error kinds of each phase."""
    out = io.StringIO()
    print_verdict(report, "/r", out)
    assert (
        "errors in fault: 14 x TimeoutError on GET /orders/{id}; 11 x http 503 on POST "
        "/chat/message; 6 x http 503 on GET /orders/{id}" in out.getvalue()
    )
