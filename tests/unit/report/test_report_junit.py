"""junit.xml: one testsuite per drill, one testcase per check, failures and errors counted."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from harness.report import junit
from harness.results.model import RunReport, Verdict


def _parse(report: RunReport) -> ET.Element:
    return ET.fromstring(junit.render(report).encode("utf-8"))


def test_shape_and_counts(report: RunReport) -> None:
    """testsuites > testsuite > testcase, with tests/failures/errors/time that match the cases."""
    root = _parse(report)
    assert root.tag == "testsuites"
    (suite,) = root.findall("testsuite")
    cases = suite.findall("testcase")
    assert suite.get("name") == "orders-failover"
    assert len(cases) == len(report.checks) == int(suite.get("tests", ""))
    assert suite.get("failures") == "1" and suite.get("errors") == "0"
    assert root.get("tests") == "9" and root.get("failures") == "1" and root.get("errors") == "0"
    assert float(suite.get("time", "")) == report.duration_s
    for element in (root, suite, *cases):
        assert {"time"} <= set(element.attrib)
    assert all({"name", "classname"} <= set(c.attrib) for c in cases)


def test_classname_is_drill_and_phase(report: RunReport) -> None:
    """A check's classname is the drill name and its phase ('drill' for drill-wide checks)."""
    names = {c.get("name"): c.get("classname") for c in _parse(report).iter("testcase")}
    assert names["fault-p99"] == "orders-failover.fault"
    assert names["failover-time"] == "orders-failover.drill"


def test_failed_check_is_a_failure_with_measured_and_threshold(report: RunReport) -> None:
    """The failed check has a <failure> whose message holds measured value and threshold."""
    failures = list(_parse(report).iter("failure"))
    assert len(failures) == 1
    assert failures[0].get("message") == "fault-p99: measured 2,380 ms > 1,500 ms"
    assert "client timeout" in (failures[0].text or "")


def test_aborted_verdict_adds_an_error_case(aborted: RunReport) -> None:
    """An aborted drill adds a 'verdict' testcase with an <error> explaining why."""
    root = _parse(aborted)
    errors = list(root.iter("error"))
    assert len(errors) == 1 and root.get("errors") == "1"
    assert "error ratio 0.62" in (errors[0].get("message") or "")
    assert root.get("tests") == str(len(aborted.checks) + 1)
    assert "nothing measured" in (next(root.iter("failure")).get("message") or "")


def test_inconclusive_verdict_adds_an_error_case(report: RunReport) -> None:
    """An inconclusive drill is reported as a JUnit error too."""
    root = _parse(report.model_copy(update={"verdict": Verdict.INCONCLUSIVE}))
    assert root.get("errors") == "1"


def test_passing_drill_has_no_failures(report: RunReport) -> None:
    """A drill whose checks all passed has zero failures and errors."""
    checks = [c.model_copy(update={"passed": True}) for c in report.checks]
    root = _parse(report.model_copy(update={"checks": checks, "verdict": Verdict.PASS}))
    assert root.get("failures") == "0" and root.get("errors") == "0"
