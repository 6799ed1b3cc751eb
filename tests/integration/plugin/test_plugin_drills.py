"""The pytest plugin end to end: drills run as tests in pytester subprocesses, real load."""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree

import pytest
from plugin_drills import FAILING_DRILL_YAML, PYTHON_DRILL_TEST, SHIPPED_DRILL

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.slow


def _check_names(drill_file: Path) -> list[str]:
    """The test names the plugin gives the checks of ``drill_file``."""
    from harness.drill.analysis import scoped_checks
    from harness.drill.loader import load_drill

    return [spec.display_name for spec in scoped_checks(load_drill(drill_file))]


def _against(env: object) -> list[str]:
    """Options pointing the inner pytest at the already running reference system."""
    return [
        f"--harness-target-url={env.target_url}",  # type: ignore[attr-defined]
        f"--harness-toxiproxy-url={env.toxiproxy_url}",  # type: ignore[attr-defined]
    ]


def test_shipped_drill_checks_are_passed_tests(
    pytester: pytest.Pytester, shipped_reports: Path
) -> None:
    """With --harness-reference every check of the shipped drill, and its verdict, is a passed test."""
    result = pytester.runpytest_subprocess(
        str(SHIPPED_DRILL),
        "--harness-reference",
        f"--harness-reports-dir={shipped_reports}",
        "-v",
        "-p",
        "no:cacheprovider",
        timeout=110,
    )
    names = _check_names(SHIPPED_DRILL)
    assert result.ret == 0, result.stdout.str()
    result.assert_outcomes(passed=len(names) + 1)
    passed = {
        line.split("::", 1)[1].rsplit(" PASSED", 1)[0]
        for line in result.outlines
        if "orders-primary-outage.yaml::" in line and " PASSED" in line
    }
    assert passed == {*names, "verdict"}
    n = len(names)
    result.stdout.fnmatch_lines([f"PASS*orders-primary-outage: {n}/{n} checks passed*report.html"])
    assert len(list(shipped_reports.glob("*/report.html"))) == 1


def test_failed_check_is_a_failed_test(
    pytester: pytest.Pytester, reference_environment: object
) -> None:
    """A breached check fails its test with measured value, threshold and report path; junit too."""
    drill = pytester.path / "short.yaml"
    drill.write_text(FAILING_DRILL_YAML, encoding="utf-8")
    junit = pytester.path / "junit.xml"
    result = pytester.runpytest_subprocess(
        str(drill), *_against(reference_environment), "-v", f"--junitxml={junit}", timeout=60
    )
    assert result.ret == 1, result.stdout.str()
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*short.yaml::p50 latency ≤ 0.001 ms [[]steady[]] FAILED*",
            "*short.yaml::error ratio ≤ 0.5 [[]steady[]] PASSED*",
            "*short.yaml::verdict PASSED*",
            "*p50 latency ≤ 0.001 ms [[]steady[]]: measured * ms, required <= 0.001 ms*",
            "report: */report.html",
        ]
    )
    failures = ElementTree.parse(junit).getroot().iter("failure")
    assert ["required <= 0.001 ms" in f.get("message", "") for f in failures] == [True]


def test_run_drill_fixture_with_a_python_drill(
    pytester: pytest.Pytester, reference_environment: object
) -> None:
    """run_drill runs a Drill built in Python; check() and assert_passed() explain the outcome."""
    pytester.makepyfile(test_python_drill=PYTHON_DRILL_TEST)
    result = pytester.runpytest_subprocess(*_against(reference_environment), "-s", timeout=60)
    assert result.ret == 0, result.stdout.str()
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*EXPLAINED: drill python-built: FAIL*report: */report.html"])


def test_harness_marker_and_collection_rules(pytester: pytest.Pytester) -> None:
    """YAML is collected only by name or under harness_drills; drill tests carry the harness marker."""
    pytester.makepyfile(test_python_drill=PYTHON_DRILL_TEST)
    pytester.makepyfile(test_plain="def test_plain():\n    pass\n")
    (pytester.path / "drills").mkdir()
    (pytester.path / "drills" / "short.yaml").write_text(FAILING_DRILL_YAML, encoding="utf-8")
    (pytester.path / "other.yaml").write_text("not: a drill\n", encoding="utf-8")

    plain = pytester.runpytest_subprocess("--collect-only", "-q")
    plain.stdout.fnmatch_lines(["test_plain.py::test_plain", "test_python_drill.py::*"])
    plain.stdout.no_fnmatch_line("*.yaml*")

    pytester.makeini("[pytest]\nharness_drills = drills\n")
    listed = pytester.runpytest_subprocess("--collect-only", "-q", "-m", "harness")
    listed.stdout.fnmatch_lines(
        ["drills/short.yaml::p50 latency*", "drills/short.yaml::verdict", "test_python_drill.py::*"]
    )
    listed.stdout.no_fnmatch_line("*test_plain*")
    listed.stdout.no_fnmatch_line("*other.yaml*")

    bad = pytester.runpytest_subprocess("--collect-only", "-q", "other.yaml")
    assert bad.ret == 2
    bad.stdout.fnmatch_lines(["*other.yaml: not a valid drill file*"])
