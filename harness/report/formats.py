"""The registry of report formats: one contract (name, filename, render) per format.

To add a format, write ``render(report: RunReport) -> str`` in its own module and add
one :class:`ReportFormat` to ``_BUILTIN`` below; the contract tests in
tests/unit/report/test_report_formats.py then cover it automatically. Plugins add
formats through the ``cs_harness.reports`` entry-point group (``harness.plugins``),
read the first time :data:`FORMATS` is read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from harness.errors import InputError
from harness.plugins import Registry
from harness.report import html, json_format, junit, markdown
from harness.results.model import RunReport


@dataclass(frozen=True)
class ReportFormat:
    """One report format: written to ``filename`` in the run directory by ``render``."""

    name: str
    filename: str
    render: Callable[[RunReport], str]
    description: str = ""


def _validate(fmt: object, plugin: bool) -> str:
    """The format's name; InputError saying what is wrong with it (a path, a filename taken)."""
    if not isinstance(fmt, ReportFormat):
        raise TypeError(
            f"{fmt!r} is not a harness.report.ReportFormat(name, filename, render, description)"
        )
    if not fmt.name or not isinstance(fmt.name, str) or not callable(fmt.render):
        raise TypeError(f"report format {fmt.name!r}: needs a name and a callable render(report)")
    if "/" in fmt.filename or "\\" in fmt.filename or not fmt.filename.strip("."):
        raise InputError(
            f"report format {fmt.name!r}: filename {fmt.filename!r} must be a plain file name "
            "(it is written inside the run directory)"
        )
    taken = {f.filename: f.name for f in FORMATS.current().values() if f.name != fmt.name}
    if fmt.filename in taken:
        raise InputError(
            f"report format {fmt.name!r}: filename {fmt.filename!r} is already used by "
            f"format {taken[fmt.filename]!r}"
        )
    return fmt.name


FORMATS: Registry[ReportFormat] = Registry("report formats", _validate)


def register(fmt: ReportFormat) -> ReportFormat:
    """Add ``fmt`` to :data:`FORMATS`, refusing a duplicate name or filename, or a path."""
    return FORMATS.add(fmt)


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
