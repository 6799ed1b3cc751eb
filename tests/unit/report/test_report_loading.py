"""load_report(): reads a run directory or a report.json, and explains every bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.errors import InputError, ValidationFailed
from harness.report import load_report, write_reports
from harness.results.model import RunReport


def test_loads_from_a_run_directory_and_from_the_file(report: RunReport, tmp_path: Path) -> None:
    """Both the run directory and its report.json give back the report."""
    write_reports(report, tmp_path, ["json"])
    assert load_report(tmp_path) == report
    assert load_report(str(tmp_path / "report.json")) == report


def test_missing_path(tmp_path: Path) -> None:
    """A path that does not exist names the path and what to pass instead."""
    with pytest.raises(InputError, match=r"nope: no such file or directory; pass a run directory"):
        load_report(tmp_path / "nope")


def test_directory_without_report_json(tmp_path: Path) -> None:
    """A directory without report.json is 'not a run directory' and lists what it holds."""
    (tmp_path / "drill.yaml").write_text("x: 1\n")
    with pytest.raises(InputError, match=r"not a run directory: no report.json inside "
                                         r"\(found: drill.yaml\)"):
        load_report(tmp_path)


def test_invalid_json_names_line_and_column(tmp_path: Path) -> None:
    """Broken JSON is reported with the file, its line and column."""
    file = tmp_path / "report.json"
    file.write_text('{\n  "schema_version": 1,\n  "run_id": \n}\n')
    with pytest.raises(InputError,
                       match=r"report.json: invalid JSON at line 4, column 1: Expecting value"):
        load_report(file)


def test_schema_version_mismatch(report: RunReport, tmp_path: Path) -> None:
    """A report of another schema version is refused with both versions and the fix."""
    data = json.loads(report.model_dump_json())
    data["schema_version"] = 99
    (tmp_path / "report.json").write_text(json.dumps(data))
    with pytest.raises(InputError, match=r"schema_version is 99, this harness reads version 1; "
                                         r"re-render"):
        load_report(tmp_path)


def test_fields_that_do_not_match_the_model(report: RunReport, tmp_path: Path) -> None:
    """Wrong or missing fields raise ValidationFailed listing each problem with its location."""
    data = json.loads(report.model_dump_json())
    data["verdict"] = "great"
    del data["run_id"]
    (tmp_path / "report.json").write_text(json.dumps(data))
    with pytest.raises(ValidationFailed) as info:
        load_report(tmp_path)
    assert str(tmp_path / "report.json") in str(info.value)
    assert any(p.startswith("run_id:") for p in info.value.problems)
    assert any(p.startswith("verdict:") for p in info.value.problems)


def test_json_that_is_not_an_object(tmp_path: Path) -> None:
    """A JSON array is refused as not a run report."""
    (tmp_path / "report.json").write_text("[]")
    with pytest.raises(InputError, match="expected a JSON object"):
        load_report(tmp_path)
