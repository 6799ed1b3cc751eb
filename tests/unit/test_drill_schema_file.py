"""The committed JSON Schema for editors matches the drill model."""

from __future__ import annotations

from pathlib import Path

from harness.drill.loader import drill_json_schema

SCHEMA = Path(__file__).resolve().parents[2] / "schemas" / "drill.schema.json"


def test_committed_schema_is_current() -> None:
    """schemas/drill.schema.json equals `harness schema` output; regenerate it when the model changes."""
    assert SCHEMA.read_text(encoding="utf-8").strip() == drill_json_schema().strip(), (
        "schemas/drill.schema.json is stale: run `harness schema > schemas/drill.schema.json`"
    )
