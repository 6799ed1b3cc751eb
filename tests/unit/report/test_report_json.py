"""report.json round-trips, and docs/report-json.md documents every field of the schema."""

from __future__ import annotations

import re
from pathlib import Path

from harness.report import json_format
from harness.results.model import RunReport

DOC = Path(__file__).resolve().parents[3] / "docs" / "report-json.md"


def test_json_round_trips_to_an_equal_report(report: RunReport) -> None:
    """Parsing report.json gives back a RunReport equal to the one rendered."""
    assert RunReport.model_validate_json(json_format.render(report)) == report


def test_json_round_trips_an_aborted_report(aborted: RunReport) -> None:
    """Reports with None fields and empty series round-trip too."""
    assert RunReport.model_validate_json(json_format.render(aborted)) == aborted


def test_doc_lists_every_field_of_every_model() -> None:
    """Each model of the schema has a section in docs/report-json.md listing all its fields."""
    schema = RunReport.model_json_schema()
    models = {"RunReport": schema, **schema["$defs"]}
    doc = DOC.read_text(encoding="utf-8")
    for name, model in models.items():
        if "properties" not in model:
            continue
        section = re.search(rf"^### `{name}`\n(.*?)(?=^### |\Z)", doc, re.S | re.M)
        assert section, f"docs/report-json.md has no '### `{name}`' section"
        documented = set(re.findall(r"^\| `(\w+)` \|", section.group(1), re.M))
        assert documented == set(model["properties"]), name
