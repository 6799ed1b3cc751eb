"""Hostile input through the real CLI: exit 2 or 3 with file and line, never a traceback or a hang.

A handful of the cases the property test (tests/unit/drill/test_drill_hostile_inputs.py)
runs in-process, here through ``python -m harness`` in a child process: ``validate``
over many bad files at once (each reported, the good one still 'ok'), ``run`` refusing
a reused run directory and a FIFO before touching Toxiproxy, ``report`` on damaged raw
files, and scenarios that end or block the process that imports them.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.errors import InputError
from harness.load.probe import probe_user_classes
from tests.unit.drill.test_drill_damaged_runs import healthy_run

REPO = Path(__file__).resolve().parents[3]
TIMEOUT_S = 120  # a guard against hangs, not a speed target

GOOD = """\
name: good
target: {url: http://127.0.0.1:8080}
load:
  scenario: customer_journeys
  shape: {type: steady, level: 2}
phases:
  - name: baseline
    duration_s: 2
  - name: outage
    duration_s: 2
    faults: [flaps]
    checks:
      - {type: error_rate, max_ratio: 0.5}
"""
FLAPS = "name: flaps\nfaults:\n  - {name: f, proxy: p, type: down, flapping: {on_s: 0.5, off_s: 0.5}}\n"


def _bomb() -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    return "\n".join(lines) + "\n" + GOOD


# name: (content, words the report of that file holds; {f} is the file)
BAD: dict[str, tuple[bytes, str]] = {
    "bomb": (_bomb().encode(), "{f}:5: column 5: with its aliases (*name) expanded"),
    "deep": (GOOD.replace("{type: steady, level: 2}", "[" * 10_000 + "]" * 10_000).encode(),
             "{f}:5: column 40: nesting deeper than the limit MAX_YAML_DEPTH"),
    "huge_duration": (GOOD.replace("duration_s: 2\n  - name: outage", "duration_s: 1e308\n  - name: outage").encode(),
                      "{f}:8: phase 'baseline' > duration_s: must be at most 86400 (the limit MAX_DRILL_S"),
    "long_fault_name": (GOOD.replace("[flaps]", "[" + "a" * 300 + "]").encode(),
                        "{f}:11: phase 'outage': fault script 'aaaa"),
    "not_utf8": (GOOD.replace("good", "go\udcffod").encode("utf-8", "surrogateescape"),
                 "{f}:1: column 9: not UTF-8 text (byte 0xff)"),
    "duplicate_key": (GOOD.replace("max_ratio: 0.5}", "max_ratio: 0.5, max_ratio: 1}").encode(),
                      "{f}:13: column 44: duplicate key 'max_ratio' (first given on line 13)"),
    "tiny_bucket": (GOOD.replace("phases:", "bucket_s: 1e-9\nphases:").encode(),
                    "{f}:6: bucket_s: must be at least 0.01 (the limit MIN_BUCKET_S"),
    "tiny_flap": (GOOD.replace("[flaps]", "[tiny]").encode(),
                  "{f}:11: phase 'outage': fault script 'tiny': "),
    "scenario_exits": (GOOD.replace("customer_journeys", "exits").encode(),
                       "{f}:4: load.scenario: "),
}


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """drills/ with one good and many bad files, faults/ and scenarios/ beside it."""
    root = tmp_path_factory.mktemp("hostile-cli")
    for name in ("drills", "faults", "scenarios"):
        (root / name).mkdir()
    shutil.copy(REPO / "scenarios" / "customer_journeys.py", root / "scenarios")
    (root / "scenarios" / "exits.py").write_text("import os\nos._exit(0)\n")
    (root / "faults" / "flaps.yaml").write_text(FLAPS)
    (root / "faults" / "tiny.yaml").write_text(
        FLAPS.replace("flaps", "tiny").replace("on_s: 0.5", "on_s: 0.000001"))
    (root / "drills" / "good.yaml").write_text(GOOD)
    for name, (content, _) in BAD.items():
        (root / "drills" / f"{name}.yaml").write_bytes(content)
    os.mkfifo(root / "drills" / "fifo.yaml")
    return root


def _harness(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness", *args], capture_output=True, text=True,
        timeout=TIMEOUT_S, cwd=cwd, stdin=subprocess.DEVNULL,
    )


@pytest.fixture(scope="module")
def validated(folder: Path) -> subprocess.CompletedProcess[str]:
    drills = folder / "drills"
    files = [drills / "good.yaml", *(drills / f"{n}.yaml" for n in BAD), drills / "fifo.yaml"]
    return _harness("validate", *map(str, files))


def test_validate_reports_every_file_and_still_accepts_the_good_one(
    validated: subprocess.CompletedProcess[str], folder: Path
) -> None:
    """One `harness validate` over hostile files: exit 2, no traceback, the good file 'ok'."""
    assert validated.returncode == 2, validated.stderr
    assert "Traceback" not in validated.stderr + validated.stdout
    assert f"{folder / 'drills' / 'good.yaml'}: ok (2 phases, 4 s, 2 fault windows)" in validated.stdout
    assert f"{folder / 'drills' / 'fifo.yaml'}: is not a regular file" in validated.stderr


@pytest.mark.parametrize("case", list(BAD))
def test_validate_names_file_and_line_of_each_hostile_file(
    validated: subprocess.CompletedProcess[str], folder: Path, case: str
) -> None:
    """Each hostile file is reported with its file:line and what was wrong (see BAD)."""
    path = folder / "drills" / f"{case}.yaml"
    assert BAD[case][1].format(f=path) in validated.stderr, validated.stderr[-3000:]


def test_validate_names_the_limits_of_flapping_and_scenario_exits(
    validated: subprocess.CompletedProcess[str],
) -> None:
    """The flapping bound and a scenario that ends the process at import are named."""
    assert "field 'flapping.on_s' must be >= 0.1 (the limit MIN_FLAP_S" in validated.stderr
    # the line of the call (the import runs with os._exit turned into an error)
    assert "exits.py:2: the scenario ended the process while being imported (exit code 0" in (
        validated.stderr
    )


@pytest.fixture
def toxiproxy_port() -> Iterator[socket.socket]:
    """A listening socket standing in for Toxiproxy: a connection to it means something was touched."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.setblocking(False)
    try:
        yield listener
    finally:
        listener.close()


def _touched(listener: socket.socket) -> bool:
    try:
        connection, _ = listener.accept()
    except BlockingIOError:
        return False
    connection.close()
    return True


def test_run_refuses_an_existing_run_directory_before_touching_anything(
    folder: Path, tmp_path: Path, toxiproxy_port: socket.socket
) -> None:
    """`harness run --run-id X` where reports/X exists: exit 2 with both fixes; the earlier run's
    files unchanged and Toxiproxy never contacted."""
    earlier = tmp_path / "first" / "raw" / "metrics.jsonl"
    earlier.parent.mkdir(parents=True)
    earlier.write_text("{}\n")
    url = f"http://127.0.0.1:{toxiproxy_port.getsockname()[1]}"
    done = _harness("run", str(folder / "drills" / "good.yaml"), "--reports-dir", str(tmp_path),
                    "--run-id", "first", "--toxiproxy-url", url, "--live", "off")
    assert done.returncode == 2, done.stderr
    assert f"{tmp_path / 'first'} already exists" in done.stderr
    assert "choose another --run-id, or remove" in done.stderr
    assert earlier.read_text() == "{}\n"
    assert not _touched(toxiproxy_port)


def test_run_refuses_a_fifo_as_drill_file(folder: Path, tmp_path: Path,
                                           toxiproxy_port: socket.socket) -> None:
    """`harness run` on a FIFO: exit 2 at once (reading it would block), nothing touched."""
    url = f"http://127.0.0.1:{toxiproxy_port.getsockname()[1]}"
    done = _harness("run", str(folder / "drills" / "fifo.yaml"), "--reports-dir", str(tmp_path),
                    "--toxiproxy-url", url, "--live", "off")
    assert done.returncode == 2, done.stderr
    assert "is not a regular file" in done.stderr
    assert not _touched(toxiproxy_port) and not any(tmp_path.iterdir())


@pytest.mark.parametrize(("damage", "code", "words"), [
    (("metrics.jsonl", lambda b: b.replace(b'"count":5', b'"count":-1000', 1)), 3,
     "impossible record: a negative count (-1000)"),
    (("verification.json", lambda b: b""), 3, "verification.json: damaged"),
    (("run.json", lambda b: b[:40]), 2, "run.json: damaged"),
])
def test_report_on_damaged_raw_files(tmp_path: Path, damage: tuple, code: int, words: str) -> None:
    """`harness report` on damaged raw files: inconclusive (exit 3) or, for run.json, an input
    error (exit 2); the damage is named and there is no traceback."""
    run_dir = healthy_run(tmp_path)
    name, change = damage
    path = run_dir / "raw" / name
    path.write_bytes(change(path.read_bytes()))
    done = _harness("report", str(run_dir))
    assert done.returncode == code, done.stdout + done.stderr
    said = " ".join((done.stdout + done.stderr).split())  # the verdict line is wrapped
    assert words in said, said
    assert "Traceback" not in said


def test_a_scenario_that_blocks_at_import_is_stopped_at_the_time_limit(tmp_path: Path) -> None:
    """A locustfile that sleeps at import: InputError naming the limit; its process is gone."""
    scenario = tmp_path / "sleepy.py"
    marker = tmp_path / "pid"
    scenario.write_text(f"import os, time\nopen({str(marker)!r}, 'w').write(str(os.getpid()))\n"
                        "time.sleep(600)\n")
    with pytest.raises(InputError, match="longer than the limit SCENARIO_IMPORT_S"):
        probe_user_classes(scenario, [], timeout_s=3)
    pid = int(marker.read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
