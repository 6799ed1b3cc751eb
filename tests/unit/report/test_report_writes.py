"""Writes in the reports: indeterminate writes and why nothing was tracked, in every text format."""

from __future__ import annotations

from harness.report import html, markdown
from harness.report.fmt import writes_line
from harness.results.model import RunReport, WriteRuleSeen, WritesSummary

INDETERMINATE = WritesSummary(
    acknowledged=412,
    verified=410,
    lost=["T-1041", "T-1077"],
    indeterminate=7,
    indeterminate_answers={"no answer: timeout": 5, "answered 500": 2},
    indeterminate_known_id=7,
    indeterminate_found=["K-1", "K-2", "K-3", "K-4", "K-5"],
)
UNTRACKED = WritesSummary(
    acknowledged=0,
    verified=0,
    rules=[
        WriteRuleSeen(
            endpoint="ticket:create",
            requests=27,
            acknowledged=0,
            indeterminate=0,
            not_acknowledged=["answered 302: not an acknowledgement (2xx)"],
        )
    ],
)


def test_the_writes_line_counts_indeterminate_and_created_despite_an_error() -> None:
    """One line: acknowledged, verified, lost; indeterminate with what the client saw; found."""
    assert writes_line(INDETERMINATE) == (
        "412 acknowledged, 410 verified, 2 lost; 7 indeterminate (answer lost: 5 no answer: "
        "timeout, 2 answered 500), 7 read back: 5 created although the client saw an error"
    )


def test_markdown_shows_the_line_with_the_lost_count_in_bold(report: RunReport) -> None:
    """summary.md: the writes line, lost in bold."""
    text = markdown.render(report.model_copy(update={"writes": INDETERMINATE}))
    assert "- Writes: 412 acknowledged, 410 verified, **2 lost**; 7 indeterminate" in text


def test_html_shows_indeterminate_and_created_despite_an_error(report: RunReport) -> None:
    """report.html: indeterminate count, created-despite-error count, what the client saw."""
    page = html.render(report.model_copy(update={"writes": INDETERMINATE}))
    assert 'id="indeterminate">7 ' in page and 'id="created-despite-error">5 ' in page
    assert "5 × no answer: timeout" in page and "K-1, K-2, K-3, K-4, K-5" in page


def test_html_says_why_a_rule_tracked_nothing(report: RunReport) -> None:
    """report.html: a rule that tracked nothing names its requests and the answers it saw."""
    page = html.render(report.model_copy(update={"writes": UNTRACKED}))
    assert 'id="untracked"' in page and "(27 requests)" in page
    assert "answered 302: not an acknowledgement (2xx)" in page
    assert 'id="indeterminate"' not in page
