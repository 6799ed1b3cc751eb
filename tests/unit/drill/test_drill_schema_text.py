"""The drill JSON Schema reads like documentation: every field has a description and a title
with its unit, not pydantic's "For S" made from the name."""

from __future__ import annotations

import json

from harness.drill.loader import drill_json_schema
from harness.drill.schema_text import bare_fields, title


def test_titles_carry_the_unit_in_words() -> None:
    """Field names become titles a person reads: units in brackets, "per s" spelled out."""
    assert title("for_s") == "For (s)"
    assert title("min_requests_per_s") == "Min requests per second"
    assert title("max_p95_ms") == "Max p95 (ms)"
    assert title("json_field") == "JSON field"


def test_every_field_of_the_schema_has_a_description() -> None:
    """No field is left bare: set Field(description=...) or add it to harness/drill/schema_text.py."""
    schema = json.loads(drill_json_schema())
    assert bare_fields(schema) == []
    for_s = schema["$defs"]["AbortCondition"]["properties"]["for_s"]
    assert for_s["title"] == "For (s)" and "seconds in a row" in for_s["description"]
    titles = [p["title"] for d in schema["$defs"].values()
              for p in d.get("properties", {}).values()]
    assert "For S" not in titles and "Min Requests Per S" not in titles
