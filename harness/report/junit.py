"""junit.xml: one testsuite per drill, one testcase per check, so CI shows SLA breaches as tests.

Shape (the common Jenkins/Surefire JUnit XML)::

    <testsuites name tests failures errors time>
      <testsuite name=drill tests failures errors skipped time timestamp>
        <properties><property name value/>...</properties>
        <testcase name=check classname="drill.phase" time>
          <failure message="2,380 ms > 1,500 ms" type="fault-p99">detail</failure>
        </testcase>
        <testcase name="verdict" ...><error message=verdict_reason type=aborted/></testcase>
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from harness.report import errors, fmt
from harness.results.model import CheckResult, RunReport, Verdict

_ERROR_VERDICTS = (Verdict.ABORTED, Verdict.INCONCLUSIVE)


def render(report: RunReport) -> str:
    """Return the JUnit XML document for ``report``."""
    suite = ET.Element("testsuite", name=report.drill, timestamp=report.started_at,
                       time=f"{report.duration_s:.3f}", skipped="0")
    props = ET.SubElement(suite, "properties")
    for name, val in (("run_id", report.run_id), ("target_url", report.target_url),
                      ("verdict", report.verdict.value), ("verdict_reason", report.verdict_reason)):
        ET.SubElement(props, "property", name=name, value=val)
    for check in report.checks:
        _check_case(suite, report.drill, check, errors.check_errors(report, check))
    if report.verdict in _ERROR_VERDICTS:
        case = ET.SubElement(suite, "testcase", name="verdict", classname=report.drill, time="0")
        error = ET.SubElement(case, "error", type=report.verdict.value,
                              message=f"drill {report.verdict.value}: {report.verdict_reason}")
        error.text = (f"The drill ended {report.verdict.value}: {report.verdict_reason} "
                      "Checks measured over an incomplete drill may not be meaningful.")

    cases = suite.findall("testcase")
    counts = {
        "tests": str(len(cases)),
        "failures": str(sum(c.find("failure") is not None for c in cases)),
        "errors": str(sum(c.find("error") is not None for c in cases)),
    }
    suite.attrib.update(counts)
    root = ET.Element("testsuites", name="harness", time=suite.get("time", "0"), **counts)
    root.append(suite)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _check_case(suite: ET.Element, drill: str, check: CheckResult, error_kinds: str) -> None:
    """One check's testcase; a failed error-type check's text ends with its top errors."""
    case = ET.SubElement(suite, "testcase", name=check.name,
                         classname=f"{drill}.{check.phase or 'drill'}", time="0")
    if check.passed:
        return
    failure = ET.SubElement(case, "failure", type=check.type,
                            message=f"{check.name}: measured {fmt.check_outcome(check)}")
    failure.text = check.detail or (
        f"{check.type} measured {fmt.value(check.measured, check.unit)}, "
        f"expected {fmt.check_expectation(check)}"
    )
    if error_kinds:
        failure.text += "\n" + error_kinds
