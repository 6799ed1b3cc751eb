"""The registry of report formats: one contract (name, filename, render) per format.

To add a format, write ``render(report: RunReport) -> str`` in its own module and add
one :class:`ReportFormat` to ``_BUILTIN`` below; the contract tests in
tests/unit/report/test_report_formats.py then cover it automatically.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from harness.errors import InputError
from harness.report import html, json_format, junit, markdown
from harness.results.model import RunReport


@dataclass(frozen=True)
class ReportFormat:
    """One report format: written to ``filename`` in the run directory by ``render``."""

    name: str
    filename: str
    render: Callable[[RunReport], str]
    description: str = ""


FORMATS: dict[str, ReportFormat] = {}


def register(fmt: ReportFormat) -> ReportFormat:
    """Add ``fmt`` to :data:`FORMATS`, refusing a duplicate name or filename, or a path."""
    if fmt.name in FORMATS:
        raise InputError(f"report format {fmt.name!r} is already registered; pick another name")
    if "/" in fmt.filename or "\\" in fmt.filename or not fmt.filename.strip("."):
        raise InputError(
            f"report format {fmt.name!r}: filename {fmt.filename!r} must be a plain file name "
            "(it is written inside the run directory)"
        )
    taken = {f.filename: f.name for f in FORMATS.values()}
    if fmt.filename in taken:
        raise InputError(
            f"report format {fmt.name!r}: filename {fmt.filename!r} is already used by "
            f"format {taken[fmt.filename]!r}"
        )
    FORMATS[fmt.name] = fmt
    return fmt


def get(name: str) -> ReportFormat:
    """Return the format called ``name``, or raise InputError listing the known ones."""
    try:
        return FORMATS[name]
    except KeyError:
        known = ", ".join(sorted(FORMATS))
        raise InputError(f"unknown report format {name!r} (known: {known})") from None


_BUILTIN = (
    ReportFormat("html", "report.html", html.render, "self-contained page with charts"),
    ReportFormat("markdown", "summary.md", markdown.render, "verdict, checks, phases (CI summary)"),
    ReportFormat("junit", "junit.xml", junit.render, "one testcase per check (CI test view)"),
    ReportFormat("json", "report.json", json_format.render, "the RunReport itself"),
)
for _fmt in _BUILTIN:
    register(_fmt)
