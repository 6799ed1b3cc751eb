"""Contract tests over the report-format registry: every format obeys the same rules."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

import harness.report as api
from harness.errors import InputError
from harness.report import FORMATS, ReportFormat, write_reports
from harness.report.formats import register
from harness.results.model import RunReport

ALL = sorted(FORMATS)


def test_public_api_matches_all() -> None:
    """harness.report's __all__ lists exactly the public names it defines."""
    public = {n for n, v in vars(api).items()
              if n.isidentifier() and not n.startswith("_") and not inspect.ismodule(v)}
    assert public == set(api.__all__)


def test_builtin_formats_are_registered() -> None:
    """The four built-in formats are registered under their documented file names."""
    assert {n: f.filename for n, f in FORMATS.builtin().items()} == {
        "html": "report.html", "markdown": "summary.md", "junit": "junit.xml",
        "json": "report.json",
    }


@pytest.mark.parametrize("name", ALL)
def test_render_returns_nonempty_text_ending_in_newline(name: str, report: RunReport) -> None:
    """Each format renders the sample report to non-empty text ending with a newline."""
    text = FORMATS[name].render(report)
    assert isinstance(text, str) and text.strip() and text.endswith("\n")


@pytest.mark.parametrize("name", ALL)
def test_render_is_deterministic(name: str, report: RunReport) -> None:
    """Rendering the same report twice gives the same bytes (reports can be diffed)."""
    assert FORMATS[name].render(report) == FORMATS[name].render(report)


@pytest.mark.parametrize("name", ALL)
def test_render_mentions_drill_and_verdict(name: str, report: RunReport) -> None:
    """Each format names the drill and its verdict."""
    text = FORMATS[name].render(report).lower()
    assert report.drill in text and report.verdict.value in text


@pytest.mark.parametrize("name", ALL)
def test_render_survives_an_aborted_run(name: str, aborted: RunReport) -> None:
    """Each format renders a report with no series, no writes and nothing measured."""
    assert "aborted" in FORMATS[name].render(aborted).lower()


@pytest.mark.parametrize("name", ALL)
def test_write_reports_writes_one_file(name: str, report: RunReport, tmp_path: Path) -> None:
    """write_reports with one format writes exactly its file, and nothing else."""
    written = write_reports(report, tmp_path / "run", [name])
    assert written == {name: tmp_path / "run" / FORMATS[name].filename}
    assert [p.name for p in (tmp_path / "run").iterdir()] == [FORMATS[name].filename]
    assert written[name].read_text(encoding="utf-8") == FORMATS[name].render(report)


def test_write_reports_writes_every_format_by_default(report: RunReport, tmp_path: Path) -> None:
    """Without a format list, write_reports writes every registered format."""
    written = write_reports(report, tmp_path)
    assert set(written) == set(FORMATS)
    assert all(p.is_file() for p in written.values())


def test_write_reports_rejects_an_unknown_format(report: RunReport, tmp_path: Path) -> None:
    """An unknown format name is an InputError listing the known ones, and nothing is written."""
    with pytest.raises(InputError, match=r"unknown report format 'pdf' \(known: (.*, )?html, json"):
        write_reports(report, tmp_path, ["json", "pdf"])
    assert list(tmp_path.iterdir()) == []


def test_register_rejects_a_duplicate_name() -> None:
    """Registering a second format under a taken name fails with a message naming it."""
    with pytest.raises(InputError, match="'json' is already registered"):
        register(ReportFormat("json", "other.json", lambda r: ""))


def test_register_rejects_a_path_as_filename() -> None:
    """A format's filename must be a plain file name inside the run directory."""
    with pytest.raises(InputError, match="must be a plain file name"):
        register(ReportFormat("csv", "../out.csv", lambda r: ""))
