"""Bad drill files: `harness validate` and `harness run` say what is wrong, exit 2, touch nothing.

Each problem is one sentence naming the file and line, the item and field, what
was seen and how to fix it; never a traceback. `harness run` is pointed at a live
Toxiproxy to show that nothing was injected.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.faults import ProxySpec, ToxiproxyAdapter
from tests.background import lower_priority

toxiserver = pytest.importorskip("toxiserver")

SCENARIO = str(Path(__file__).resolve().parents[3] / "scenarios" / "customer_journeys.py")
BASE = """\
name: t
target: {url: http://127.0.0.1:8080}
load:
  scenario: customer_journeys
  shape: {type: steady, level: 2}
phases:
  - name: baseline
    duration_s: 2
    checks:
      - {type: error_rate, max_ratio: 0.5}
""".replace("customer_journeys", SCENARIO)

# case: (drill text, fragments the one problem sentence must hold; {f} is the file)
CASES: dict[str, tuple[str, list[str]]] = {
    "bad_yaml": (
        BASE.replace(f"  scenario: {SCENARIO}", f"  scenario: [{SCENARIO}"),
        ["{f}:5: column 8: not valid YAML", "fix the syntax"],
    ),
    "unknown_field": (
        BASE.replace("  scenario:", "  scenaro: x\n  scenario:"),
        ["{f}:4: load > scenaro: is not a known field; remove it or check its spelling"],
    ),
    "wrong_type": (
        BASE.replace("duration_s: 2", "duration_s: two"),
        ["{f}:8: phase 'baseline' > duration_s: must be a number, got 'two'"],
    ),
    "negative_duration": (
        BASE.replace("duration_s: 2", "duration_s: -3"),
        ["{f}:8: phase 'baseline' > duration_s: must be greater than 0, got -3"],
    ),
    "missing_target": (
        BASE.replace("target: {url: http://127.0.0.1:8080}\n", ""),
        ["{f}:1: target: is required but missing; add it"],
    ),
    "unknown_check_type": (
        BASE.replace("type: error_rate,", "type: errorrate,"),
        [
            "{f}:10: phase 'baseline' > checks[0] > type: unknown type 'errorrate'; did you mean 'error_rate'? use one of",
            "'error_rate'",
        ],
    ),
    "unknown_fault_script": (
        BASE.replace("    duration_s: 2\n", "    duration_s: 2\n    faults: [no-such-fault]\n"),
        [
            "{f}:9: phase 'baseline': fault script 'no-such-fault' not found",
            "use one of those names or a path",
        ],
    ),
    "unknown_scenario": (
        BASE.replace(SCENARIO, "no_such_scenario"),
        ["{f}:4: load.scenario 'no_such_scenario' not found", "give a locustfile path"],
    ),
    "phase_not_multiple_of_bucket": (
        BASE.replace("duration_s: 2", "duration_s: 2.1"),
        ["{f}:8: phase 'baseline': duration_s 2.1 is not a multiple of bucket_s 0.25; round it"],
    ),
    "check_names_unknown_phase": (
        BASE + "checks:\n  - {type: error_rate, max_ratio: 0.5, phase: nope}\n",
        ["{f}:12: check 'error_rate' names phase 'nope', which does not exist (phases: baseline)"],
    ),
    "closed_model_corrected": (
        BASE.replace(
            "      - {type: error_rate, max_ratio: 0.5}\n",
            "      - {type: error_rate, max_ratio: 0.5}\n"
            "      - {type: latency, percentile: 99, max_ms: 500, corrected: true}\n",
        ),
        [
            "{f}:11: phase 'baseline' > checks[1] > corrected: true needs load.model 'open'",
            "not corrected for coordinated omission",
            "use load.model: open, or remove 'corrected'",
        ],
    ),
    "no_checks": (
        BASE.replace("    checks:\n      - {type: error_rate, max_ratio: 0.5}\n", ""),
        ["{f}:7: the drill has no checks, so it could never fail; add checks"],
    ),
}


@pytest.fixture(scope="module")
def drills(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One bad drill file per case."""
    folder = tmp_path_factory.mktemp("bad-drills")
    paths = {}
    for name, (text, _) in CASES.items():
        paths[name] = folder / f"{name}.yaml"
        paths[name].write_text(text, encoding="utf-8")
    return paths


def _harness(*args: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    lower_priority(proc.pid)  # twenty at once, judged on their words only
    return proc


def _problems(stderr: str, path: Path) -> list[str]:
    """The problem sentences reported for ``path``."""
    lines = stderr.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"harness: {path}:"))
    problems = []
    for line in lines[start + 1 :]:
        if not line.startswith("  - "):
            break
        problems.append(line[4:])
    return problems


def _assert_one_clear_sentence(stderr: str, path: Path, case: str) -> None:
    assert "Traceback" not in stderr
    problems = _problems(stderr, path)
    assert len(problems) == 1, stderr
    for fragment in CASES[case][1]:
        assert fragment.format(f=path) in problems[0], problems[0]


@pytest.fixture(scope="module")
def validated(drills: dict[str, Path]) -> tuple[int, str]:
    """`harness validate` over every bad file at once: exit code and stderr."""
    proc = _harness("validate", *map(str, drills.values()))
    _out, err = proc.communicate(timeout=60)
    return proc.returncode, err


@pytest.fixture(scope="module")
def ran(drills: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """`harness run` on every bad file (in parallel) against a live Toxiproxy; results per case."""
    reports = tmp_path_factory.mktemp("bad-runs")
    with toxiserver.ToxiproxyServer(host="127.0.0.1") as server:
        adapter = ToxiproxyAdapter(server.url)
        adapter.ensure_proxies([ProxySpec("helpdesk_orders_primary", "127.0.0.1:9")])
        procs = {
            name: _harness(
                "run",
                str(path),
                "--toxiproxy-url",
                server.url,
                "--live",
                "off",
                "--reports-dir",
                str(reports),
                "--run-id",
                name,
            )
            for name, path in drills.items()
        }
        try:
            results = {name: (p.wait(60), p.communicate()[1]) for name, p in procs.items()}
        finally:
            for proc in procs.values():
                if proc.poll() is None:
                    proc.kill()
                proc.communicate()
        proxies = adapter.proxies().values()
        yield {
            "results": results,
            "clean": all(p.enabled and not p.toxics for p in proxies),
            "reports": reports,
        }


@pytest.mark.parametrize("case", list(CASES))
def test_validate_says_what_is_wrong_in_one_sentence(
    validated: tuple[int, str], drills: dict[str, Path], case: str
) -> None:
    """`harness validate` prints one sentence with file, line, item, field, value and fix; exit 2."""
    code, stderr = validated
    assert code == 2
    _assert_one_clear_sentence(stderr, drills[case], case)


@pytest.mark.parametrize("case", list(CASES))
def test_run_refuses_a_bad_drill_before_touching_anything(
    ran: dict, drills: dict[str, Path], case: str
) -> None:
    """`harness run` on a bad drill prints the same sentence, exits 2 and injects nothing."""
    code, stderr = ran["results"][case]
    assert code == 2, stderr
    _assert_one_clear_sentence(stderr, drills[case], case)
    assert ran["clean"]
    assert not (ran["reports"] / case).exists()


def test_validate_accepts_the_shipped_demo_drill() -> None:
    """The drill the demo runs validates cleanly (exit 0), so the cases above fail for their own reason."""
    proc = _harness("validate", "drills/orders-primary-outage.yaml")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "ok (3 phases" in out


def test_run_refuses_a_scenario_that_ends_the_process_at_import(tmp_path: Path) -> None:
    """os._exit(0) at import would be a silent exit 0 (a 'pass'): `harness run` exits 2 naming it."""
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "scenarios" / "exits.py").write_text("import os\n\nos._exit(0)\n")
    drill = tmp_path / "exits.yaml"
    drill.write_text(BASE.replace(SCENARIO, "exits"), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "harness", "run", str(drill), "--reports-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "exits.py:3: the scenario ended the process while being imported (exit code 0" in (
        done.stderr
    )
    assert "Traceback" not in done.stderr
