"""`junit.xml`: one test case per evaluated rule and per finding, for CI dashboards.

A rule with no active finding is a passing case; every active finding a failing case; a waived
finding a skipped case naming its waiver; a rule that could not be applied a skipped case.
The audit's scope comes first: the suite's properties carry the verdict line, and each piece of
evidence a complete audit needs is a case (`auditor.scope`): passing when it was read and
assessed, failing when it is missing or was not assessed, skipped when it was left out of the
scope on purpose.
"""

from __future__ import annotations

import re

from lxml import etree

from auditor.model import EvidenceState, ExpectedEvidence, Finding, Report

# Characters XML 1.0 cannot carry at all; shown as \uXXXX so nothing is silently lost.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(value: str) -> str:
    """`value` with every character XML 1.0 forbids written as a visible `\\uXXXX` escape."""
    return _XML_INVALID.sub(lambda match: f"\\u{ord(match.group()):04x}", value)


def _finding_case(suite: etree._Element, finding: Finding, report: Report) -> tuple[int, int]:
    case = etree.SubElement(
        suite,
        "testcase",
        classname=f"auditor.{finding.rule_id}",
        name=xml_text(f"{finding.rule_id} {finding.subject}"),
    )
    if finding.suppressed:
        waiver = finding.waiver
        reason = "suppressed"
        if waiver is not None:
            reason = f"waived until {waiver.expires} (ticket {waiver.ticket}, owner {waiver.owner})"
        etree.SubElement(case, "skipped", message=xml_text(reason))
        return 0, 1
    failure = etree.SubElement(
        case,
        "failure",
        message=xml_text(finding.message),
        type=finding.severity.value,
    )
    state = report.baseline_state(finding)
    baseline = "" if state is None else f"\nbaseline {state.value}"
    failure.text = xml_text(
        f"{finding.title}\nat {finding.location.place}\nfingerprint {finding.fingerprint}{baseline}"
    )
    return 1, 0


def _evidence_case(suite: etree._Element, item: ExpectedEvidence) -> tuple[int, int]:
    case = etree.SubElement(
        suite, "testcase", classname="auditor.scope", name=xml_text(f"evidence {item.what}")
    )
    if item.state is EvidenceState.NOT_IN_SCOPE:
        etree.SubElement(case, "skipped", message="not in the audit's scope")
        return 0, 1
    if not item.assessed:
        failure = etree.SubElement(
            case, "failure", message=xml_text(f"{item.state.value}: {item.note}"), type="scope"
        )
        failure.text = xml_text(f"expected at {item.path}")
        return 1, 0
    return 0, 0


def render_junit(report: Report) -> str:
    """The JUnit XML document of one audit."""
    root = etree.Element("testsuites", name="auditor")
    suite_name = f"auditor policy {xml_text(report.policy.name)}"
    suite = etree.SubElement(root, "testsuite", name=suite_name)
    properties = etree.SubElement(suite, "properties")
    scope = report.scope
    for name, value in (
        ("verdict", report.verdict_line),
        ("scope.servers_known", ", ".join(scope.servers)),
        ("scope.servers_assessed", ", ".join(scope.servers_assessed)),
        ("scope.classes_read", ", ".join(c.value for c in scope.classes_read)),
        ("scope.classes_missing", ", ".join(c.value for c in scope.classes_missing)),
        ("scope.not_in_scope", ", ".join(c.value for c in scope.narrowed)),
        *(("policy.weakens", weakening.text) for weakening in report.policy.weakenings),
    ):
        etree.SubElement(properties, "property", name=name, value=xml_text(value))
    tests = failures = skipped = 0
    for item in scope.expected:
        failed, was_skipped = _evidence_case(suite, item)
        tests += 1
        failures += failed
        skipped += was_skipped
    by_rule: dict[str, list[Finding]] = {}
    for finding in report.findings:
        by_rule.setdefault(finding.rule_id, []).append(finding)
    not_applied: dict[str, str] = {item.rule_id: item.reason for item in report.not_applied}
    for info in report.policy.rules:
        findings = by_rule.get(info.id, [])
        if findings:
            for finding in findings:
                failed, was_skipped = _finding_case(suite, finding, report)
                tests += 1
                failures += failed
                skipped += was_skipped
            continue
        case = etree.SubElement(
            suite, "testcase", classname=f"auditor.{info.id}", name=f"{info.id} {info.title}"
        )
        tests += 1
        if info.id in not_applied:
            etree.SubElement(case, "skipped", message=xml_text(not_applied[info.id]))
            skipped += 1
    for element in (root, suite):
        element.set("tests", str(tests))
        element.set("failures", str(failures))
        element.set("errors", "0")
        element.set("skipped", str(skipped))
    body = etree.tostring(root, pretty_print=True, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body
