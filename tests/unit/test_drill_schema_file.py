"""The committed JSON Schema for editors matches the drill model (built-in types only)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from harness.plugins import DISABLE_ENV

SCHEMA = Path(__file__).resolve().parents[2] / "schemas" / "drill.schema.json"


def test_committed_schema_is_current() -> None:
    """schemas/drill.schema.json equals `harness schema` with plugins off; regenerate it when the model changes.

    Installed plugins (the example plugin is) add their checks and shapes to the
    schema, so it is made in a child process with CS_HARNESS_DISABLE_PLUGINS=1.
    """
    made = subprocess.run(
        [sys.executable, "-m", "harness", "schema"],
        env={**os.environ, DISABLE_ENV: "1"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert SCHEMA.read_text(encoding="utf-8").strip() == made.stdout.strip(), (
        "schemas/drill.schema.json is stale: run "
        f"`{DISABLE_ENV}=1 harness schema > schemas/drill.schema.json`"
    )
