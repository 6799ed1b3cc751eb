"""A run directory is never reused: a second run would blend into the first one's verdict."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import InputError
from harness.results.files import new_run_dir


def test_an_existing_run_directory_is_refused(tmp_path: Path) -> None:
    """`--run-id` of an existing folder: InputError naming it and both fixes; the earlier run is
    left as it was (`harness run` checks this before it plans: tests/integration/cli)."""
    earlier = tmp_path / "run1" / "raw" / "metrics.jsonl"
    earlier.parent.mkdir(parents=True)
    earlier.write_text("{}\n")
    with pytest.raises(InputError) as info:
        new_run_dir(tmp_path, "run1")
    message = str(info.value)
    assert f"{tmp_path / 'run1'} already exists" in message
    assert "choose another --run-id, or remove" in message
    assert earlier.read_text() == "{}\n"


@pytest.mark.parametrize("run_id", ["", ".", "..", "../x", "a/b", "-x", "a" * 201, "x\n", "é"])
def test_a_run_id_must_be_a_plain_folder_name(tmp_path: Path, run_id: str) -> None:
    """A run id that is no plain folder name (a path, '..', too long) is refused."""
    with pytest.raises(InputError, match="a run id names a folder"):
        new_run_dir(tmp_path, run_id)


def test_a_new_run_id_is_accepted(tmp_path: Path) -> None:
    """A fresh, plain run id gives its folder (not created yet)."""
    assert new_run_dir(tmp_path, "20260101T000000Z-d-1a2b3c") == tmp_path / "20260101T000000Z-d-1a2b3c"
    assert not any(tmp_path.iterdir())
