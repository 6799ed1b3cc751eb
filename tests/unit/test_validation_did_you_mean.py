"""Validation messages suggest the closest name for every enum: check, fault and shape types,
outcome names (not only fault script names)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from harness.drill.loader import load_drill
from harness.errors import InputError
from harness.faults.loader import load_fault_script

REPO = Path(__file__).resolve().parents[2]


def _problems(tmp_path: Path, **swaps: str) -> str:
    text = (REPO / "drills" / "orders-primary-outage.yaml").read_text(encoding="utf-8")
    for old, new in swaps.items():
        assert old in text
        text = text.replace(old, new, 1)
    drill = tmp_path / "drill.yaml"
    drill.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_drill(drill)
    return str(err.value)


def test_typos_in_check_shape_and_outcome_names_get_a_suggestion(tmp_path: Path) -> None:
    """'eror_rate', 'stedy' and 'falback' are answered with the name that was meant."""
    text = _problems(tmp_path, **{"type: error_rate": "type: eror_rate",
                                  "type: steady": "type: stedy",
                                  "outcome: fallback": "outcome: falback"})
    assert "unknown type 'eror_rate'; did you mean 'error_rate'?" in text
    assert "unknown type 'stedy'; did you mean 'steady'?" in text
    assert "did you mean 'fallback'? must be one of 'fallback', 'degraded' or 'error'" in text


def test_a_fault_type_typo_gets_a_suggestion(tmp_path: Path) -> None:
    """A fault script with type 'dwn' is told: did you mean 'down'?"""
    script = tmp_path / "orders-primary-outage.yaml"
    shutil.copyfile(REPO / "faults" / "orders-primary-outage.yaml", script)
    script.write_text(script.read_text(encoding="utf-8").replace("type: down", "type: dwn", 1),
                      encoding="utf-8")
    with pytest.raises(InputError, match="got 'dwn' - did you mean 'down'\\?"):
        load_fault_script(script)
