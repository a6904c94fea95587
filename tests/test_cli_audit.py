"""End to end through the command line, as a user runs it: audit, verify, parse, attest.

The bundled example is a two-server organisation where the article's recipe was applied; these
tests pin what a user relies on: the exit codes, the findings that must fire with their
evidence, the package layout and manifest, determinism and verification.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from auditor.cli import app
from auditor.resources import examples_dir

AS_OF = "2026-11-26"
runner = CliRunner()


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def audit_example(out: Path, *extra: str) -> tuple[int, str]:
    return run("audit", "--out", str(out), "--as-of", AS_OF, "--change-id", "CHG-1", *extra)


@pytest.fixture
def package(tmp_path: Path) -> Path:
    out = tmp_path / "pkg"
    code, output = audit_example(out)
    assert code == 1, output
    return out


def findings_of(package: Path) -> list[dict[str, object]]:
    document = json.loads((package / "findings.json").read_text(encoding="utf-8"))
    findings = document["findings"]
    assert isinstance(findings, list)
    return findings


def test_audit_of_the_example_finds_the_recipe(package: Path) -> None:
    findings = findings_of(package)
    fired = {(f["rule_id"], f["subject"]) for f in findings}
    graph = "partner-application:00000003-0000-0000-c000-000000000000"
    assert ("PA001", graph) in fired
    assert ("PA003", graph) in fired
    assert any(rule == "WC001" and "EX01" in subject for rule, subject in fired)
    # EX02 has " V1S2SAppOnly" (leading space): Exchange drops it, WC002 says so.
    assert any(rule == "WC002" and "EX02" in subject for rule, subject in fired)
    pa001 = next(f for f in findings if f["rule_id"] == "PA001")
    location = pa001["location"]
    assert isinstance(location, dict)
    assert location["path"].endswith("EX01/PartnerApplication.xml")
    assert isinstance(location["line"], int) and location["line"] > 1
    wc001 = next(f for f in findings if f["rule_id"] == "WC001")
    wc_location = wc001["location"]
    assert isinstance(wc_location, dict)
    assert wc_location["path"].endswith("EX01/FrontEnd/HttpProxy/Rest/web.config")
    assert wc_location["line"] == 10


def test_package_layout_and_manifest(package: Path) -> None:
    names = sorted(p.relative_to(package).as_posix() for p in package.rglob("*") if p.is_file())
    for expected in (
        "MANIFEST.sha256",
        "findings.json",
        "findings.sarif",
        "junit.xml",
        "plan.json",
        "report.html",
        "summary.md",
        "remediation/partner-applications.ps1",
        "rollback/partner-applications.ps1",
    ):
        assert expected in names
    assert any(re.fullmatch(r"remediation/web-config-ex01.*\.ps1", n) for n in names)
    manifest = (package / "MANIFEST.sha256").read_text(encoding="ascii").splitlines()
    assert sorted(line.split("  ", 1)[1] for line in manifest) == [
        n for n in names if n != "MANIFEST.sha256"
    ]
    findings = findings_of(package)
    pa001 = next(f for f in findings if f["rule_id"] == "PA001")
    assert pa001["remediation"] == "remediation/partner-applications.ps1"


def test_verify_passes_then_names_the_changed_file(package: Path) -> None:
    code, output = run("verify", str(package))
    assert code == 0, output
    assert "OK" in output
    script = package / "remediation" / "partner-applications.ps1"
    data = bytearray(script.read_bytes())
    data[200] = ord("X") if data[200] != ord("X") else ord("Y")
    script.write_bytes(bytes(data))
    code, output = run("verify", str(package))
    assert code == 1
    assert "remediation/partner-applications.ps1" in output


def test_verify_reports_an_extra_file(package: Path) -> None:
    (package / "remediation" / "extra.ps1").write_bytes(b"Stop-Computer\r\n")
    code, output = run("verify", str(package))
    assert code == 1
    assert "remediation/extra.ps1: present but not listed" in output


def run_unwrapped(*args: str) -> tuple[int, str]:
    """`run`, with the terminal's line wrapping undone (one space between words)."""
    code, output = run(*args)
    return code, " ".join(output.split())


SIGNATURE_BLOCK = (
    b"\r\n# SIG # Begin signature block\r\n"
    b"# MIIFuQYJKoZIhvcNAQcCoIIFqjCCBaYCAQExCzAJBgUrDgMCGgUAMGkGCisGAQQB\r\n"
    b"# gjcCAQSgWzBZMDQGCisGAQQBgjcCAR4wJgIDAQAABBAfzDtgWUsITrck0sYpfvNR\r\n"
    b"# SIG # End signature block\r\n"
)


def test_verify_accepts_a_script_signed_after_review(package: Path) -> None:
    """Set-AuthenticodeSignature appends a block; the text before it is what was reviewed."""
    script = package / "remediation" / "partner-applications.ps1"
    script.write_bytes(script.read_bytes() + SIGNATURE_BLOCK)
    code, output = run_unwrapped("verify", str(package))
    assert code == 0, output
    assert "remediation/partner-applications.ps1: signed (signature not checked here)" in output


@pytest.mark.parametrize(
    "tail",
    [
        pytest.param(SIGNATURE_BLOCK + b"Stop-Computer\r\n", id="code-after-the-block"),
        pytest.param(b"Stop-Computer\r\n" + SIGNATURE_BLOCK, id="code-before-the-block"),
        pytest.param(SIGNATURE_BLOCK.replace(b"# gjcC", b"Stop-Computer #"), id="code-inside"),
        pytest.param(
            SIGNATURE_BLOCK.replace(b"\r\n# SIG # End signature block\r\n", b""), id="no-end-line"
        ),
    ],
)
def test_verify_refuses_anything_else_beside_a_signature(package: Path, tail: bytes) -> None:
    script = package / "remediation" / "partner-applications.ps1"
    script.write_bytes(script.read_bytes() + tail)
    code, output = run_unwrapped("verify", str(package))
    assert code == 1, output
    assert "DIFFERS remediation/partner-applications.ps1" in output
    assert "signed (signature not checked here)" not in output


def _edit_manifest(package: Path, edit: object) -> None:
    manifest = package / "MANIFEST.sha256"
    lines = manifest.read_text(encoding="ascii").splitlines()
    assert callable(edit)
    manifest.write_text("\n".join(edit(lines)) + "\n", encoding="ascii")


def test_verify_refuses_a_duplicated_manifest_line(package: Path) -> None:
    _edit_manifest(package, lambda lines: [*lines, lines[0]])
    code, output = run_unwrapped("verify", str(package))
    assert code == 1, output
    assert "is listed again (first at line 1)" in output


def test_verify_refuses_a_differently_cased_entry(package: Path) -> None:
    def recase(lines: list[str]) -> list[str]:
        return [line.replace("  summary.md", "  SUMMARY.md") for line in lines]

    _edit_manifest(package, recase)
    code, output = run_unwrapped("verify", str(package))
    assert code == 1, output
    assert "SUMMARY.md: listed in the manifest but missing (present as summary.md" in output
    assert "summary.md: present but not listed" in output


def test_verify_refuses_a_case_twin_in_the_manifest(package: Path) -> None:
    def twin(lines: list[str]) -> list[str]:
        line = next(line for line in lines if line.endswith("  summary.md"))
        return [*lines, line.replace("summary.md", "Summary.md")]

    _edit_manifest(package, twin)
    code, output = run_unwrapped("verify", str(package))
    assert code == 1, output
    assert "Summary.md differs only in case from summary.md" in output


def test_verify_refuses_missing_entries_and_unlisted_folders(package: Path) -> None:
    (package / "findings.json").unlink()
    (package / "notes").mkdir()
    code, output = run_unwrapped("verify", str(package))
    assert code == 1, output
    assert "findings.json: listed in the manifest but missing" in output
    assert "notes/: a folder that holds no listed file" in output


def test_two_runs_are_byte_identical(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    assert audit_example(first)[0] == 1
    assert audit_example(second)[0] == 1
    files_a = {p.relative_to(first): p.read_bytes() for p in first.rglob("*") if p.is_file()}
    files_b = {p.relative_to(second): p.read_bytes() for p in second.rglob("*") if p.is_file()}
    assert files_a == files_b


def test_non_empty_out_is_refused_without_force(package: Path) -> None:
    before = (package / "findings.json").read_bytes()
    code, output = audit_example(package)
    assert code == 2
    assert "not empty" in output
    assert (package / "findings.json").read_bytes() == before
    code, _ = audit_example(package, "--force")
    assert code == 1


def test_fail_on_critical_still_fails_and_info_only_passes(tmp_path: Path) -> None:
    code, _ = audit_example(tmp_path / "c", "--fail-on", "critical")
    assert code == 1


def test_bad_as_of_is_a_clear_error(tmp_path: Path) -> None:
    code, output = run("audit", "--out", str(tmp_path / "x"), "--as-of", "26.11.2026")
    assert code == 2
    assert "expected YYYY-MM-DD" in output
    assert not (tmp_path / "x").exists()


def test_hostile_change_id_is_refused(tmp_path: Path) -> None:
    code, output = run(
        "audit", "--out", str(tmp_path / "x"), "--as-of", AS_OF, "--change-id", "a'; rm -rf /"
    )
    assert code == 2
    assert "--change-id" in output


def test_missing_input_is_exit_2(tmp_path: Path) -> None:
    code, output = run("audit", str(tmp_path / "nope"), "--out", str(tmp_path / "x"))
    assert code == 2
    assert "no such file" in output


def test_parse_json_contract_on_the_example() -> None:
    code, output = run("parse", str(examples_dir()), "--json")
    assert code == 0, output
    document = json.loads(output)
    assert document["schema_version"] == 1
    graph = next(
        app
        for app in document["partner_applications"]
        if app["application_identifier"] == "00000003-0000-0000-c000-000000000000"
    )
    assert len(graph["act_as_permissions"]) == 29
    assert graph["app_only_permissions"] == graph["act_as_permissions"]
    assert graph["act_as_complete"] is True
    assert graph["source"]["format"] == "clixml"
    servers = sorted({(c["server"], c["vdir"]) for c in document["web_configs"]})
    assert ("EX01", "Default Web Site/API") in servers
    assert ("EX02", "Default Web Site/API") in servers


def test_parse_article_sample_shows_truncation(article_sample: Path) -> None:
    result = runner.invoke(app, ["parse", str(article_sample), "--json"])
    assert result.exit_code == 2
    document = json.loads(result.stdout)  # the problems are also on stderr, one line each
    (graph,) = document["partner_applications"]
    assert graph["name"] == "Microsoft Graph"
    assert graph["act_as_complete"] is False
    assert "Mail.Write…" not in graph["act_as_permissions"]
    assert any(
        problem["code"] == "incomplete-evidence" and "FormatEnumerationLimit" in problem["message"]
        for problem in document["problems"]
    )


def test_audit_of_truncated_evidence_is_incomplete(tmp_path: Path, article_sample: Path) -> None:
    code, output = run("audit", str(article_sample), "--out", str(tmp_path / "p"), "--as-of", AS_OF)
    assert code == 2, output
    assert "INCOMPLETE" in output
    code, _ = run(
        "audit",
        str(article_sample),
        "--out",
        str(tmp_path / "q"),
        "--as-of",
        AS_OF,
        "--allow-incomplete",
    )
    assert code == 1  # EV001 is high: still a failing finding, never a clean pass
    rules = {f["rule_id"] for f in findings_of(tmp_path / "q")}
    assert "EV001" in rules


def _apply_plan(source: Path, target: Path) -> None:
    """Simulate the approved change on a copy of the example exports."""
    shutil.copytree(source, target)
    for server in ("EX01", "EX02"):
        rest = target / server / "FrontEnd" / "HttpProxy" / "Rest" / "web.config"
        data = rest.read_bytes()
        rest.write_bytes(data.replace(b"|V1S2SAppOnly", b"").replace(b"| V1S2SAppOnly", b""))
    clixml = target / "EX01" / "PartnerApplication.xml"
    text = clixml.read_bytes().decode("utf-16")
    start = text.index('<Obj N="AppOnlyPermissions"', text.index("Microsoft Graph"))
    end = text.index("</Obj>", start) + len("</Obj>")
    text = text[:start] + '<Nil N="AppOnlyPermissions" />' + text[end:]
    clixml.write_bytes(b"\xff\xfe" + text.encode("utf-16-le"))


@pytest.fixture
def narrow_package(tmp_path: Path) -> Path:
    """The example's package for the partner applications and web.config alone (the hybrid
    trust left out on purpose: its override is attested in tests/rules/test_attest_trust.py);
    the trust exports, unchanged after, are still compared."""
    out = tmp_path / "narrow"
    code, output = audit_example(out, "--scope", "partner-applications,web-config")
    assert code == 1, output
    return out


@pytest.fixture
def after(tmp_path: Path) -> Path:
    """The example exports with the approved change applied: the "after" exports."""
    target = tmp_path / "after"
    _apply_plan(examples_dir(), target)
    return target


def _attest(package: Path, after: Path) -> tuple[int, str]:
    code, output = run(
        "attest", "--before", str(examples_dir()), "--after", str(after), "--package", str(package)
    )
    return code, " ".join(output.split())


def test_attest_accepts_exactly_the_planned_change(narrow_package: Path, after: Path) -> None:
    code, output = _attest(narrow_package, after)
    assert code == 0, output
    assert "all" in output and "checks passed" in output


def test_attest_rejects_an_unplanned_change(narrow_package: Path, after: Path) -> None:
    ews = after / "EX01" / "FrontEnd" / "HttpProxy" / "EWS" / "web.config"
    ews.write_bytes(ews.read_bytes().replace(b'value="True"', b'value="False"'))
    code, output = _attest(narrow_package, after)
    assert code == 1
    assert "FAIL" in output and "EWS" in output


def _edit_application(after: Path, edit: Callable[[str], str], name: str) -> None:
    """Apply `edit` to the properties of application `name` in the after CLIXML export."""
    clixml = after / "EX01" / "PartnerApplication.xml"
    text = clixml.read_bytes().decode("utf-16")
    start = text.index(f"<ToString>{name}</ToString>")
    end = text.index("</Props>", start)
    text = text[:start] + edit(text[start:end]) + text[end:]
    clixml.write_bytes(b"\xff\xfe" + text.encode("utf-16-le"))


def _edit_graph(after: Path, edit: Callable[[str], str]) -> None:
    _edit_application(after, edit, "Microsoft Graph")


@pytest.mark.parametrize(
    ("application", "edited", "failure"),
    [
        # The planned app's AppOnlyPermissions landed, but its auth server changed too.
        (
            "Microsoft Graph",
            ("AuthMetadataUrl", "https://evil.example/meta"),
            "FAIL 00000003-0000-0000-c000-000000000000 (Microsoft Graph): AuthMetadataUrl "
            'changed from "" to "https://evil.example/meta"',
        ),
        # An application the plan does not touch changed one property.
        (
            "Exchange Online",
            ("Realm", "contoso.example"),
            "FAIL 00000002-0000-0ff1-ce00-000000000000 (Exchange Online): Realm changed from "
            '"" to "contoso.example"',
        ),
    ],
    ids=["beside-the-planned-change", "of-an-unplanned-application"],
)
def test_attest_names_the_one_property_that_changed(
    narrow_package: Path, after: Path, application: str, edited: tuple[str, str], failure: str
) -> None:
    name, value = edited
    _edit_application(
        after,
        lambda text: text.replace(f'<S N="{name}"></S>', f'<S N="{name}">{value}</S>', 1),
        application,
    )
    code, output = _attest(narrow_package, after)
    assert code == 1, output
    assert failure in output
    assert "attest: 1 of" in output


def test_attest_passes_names_what_it_compared_and_allows_the_write_stamp(
    narrow_package: Path, after: Path
) -> None:
    _edit_graph(
        after,
        lambda text: re.sub(
            r'<DT N="WhenChanged">[^<]*</DT>',
            '<DT N="WhenChanged">2026-12-01T10:00:00+01:00</DT>',
            text,
        ),
    )
    code, output = _attest(narrow_package, after)
    assert code == 0, output
    assert re.search(
        r"ok 00000003-0000-0000-c000-000000000000 \(Microsoft Graph\): no exported property "
        r"but AppOnlyPermissions \(and AD's WhenChanged stamps\) changed \(\d+ compared: "
        r"AcceptSecurityIdentifierInformation, AccountType, ActAsPermissions, ",
        output,
    )
    assert "AuthMetadataUrl, " in output and "Realm, " in output
    assert (
        "ok EX01 Default Web Site/API: the whole document (elements, attributes, text; comments "
        "and white space between elements aside) equals the audited one with only "
        "OAuthHttpModule.Profiles set to the target"
    ) in output


def test_attest_fails_a_module_added_to_a_planned_web_config(
    narrow_package: Path, after: Path
) -> None:
    rest = after / "EX01" / "FrontEnd" / "HttpProxy" / "Rest" / "web.config"
    text = rest.read_text(encoding="utf-8-sig")
    module = '<add name="Evil" type="Evil.Module, Evil" />'
    if "<modules>" in text:
        text = text.replace("<modules>", "<modules>" + module, 1)
    else:
        text = text.replace(
            "</configuration>",
            f"<system.webServer><modules>{module}</modules></system.webServer></configuration>",
        )
    rest.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    code, output = _attest(narrow_package, after)
    assert code == 1, output
    assert re.search(
        r"FAIL EX01 Default Web Site/API: the whole document .* \(first difference at "
        r"/configuration(/system\.webServer)?[^ ]* \([^)]*Rest/web\.config:\d+\)",
        output,
    ), output
    assert (
        "ok EX01 Default Web Site/API: after, OAuthHttpModule.Profiles equals the target" in output
    )


def test_attest_ignores_only_comments_and_white_space_in_a_planned_web_config(
    narrow_package: Path, after: Path
) -> None:
    rest = after / "EX01" / "FrontEnd" / "HttpProxy" / "Rest" / "web.config"
    data = rest.read_bytes().replace(b"<appSettings>", b"<appSettings>\r\n  <!-- edited -->", 1)
    rest.write_bytes(data)
    code, output = _attest(narrow_package, after)
    assert code == 0, output


def test_attest_fails_two_after_copies_that_disagree(narrow_package: Path, after: Path) -> None:
    ews = after / "EX01" / "FrontEnd" / "HttpProxy" / "EWS" / "web.config"
    copy = after / "again" / "EX01" / "FrontEnd" / "HttpProxy" / "EWS" / "web.config"
    copy.parent.mkdir(parents=True)
    copy.write_bytes(ews.read_bytes().replace(b'value="True"', b'value="False"', 1))
    assert copy.read_bytes() != ews.read_bytes()
    code, output = _attest(narrow_package, after)
    assert code == 1, output
    assert re.search(
        r"FAIL after: EX01 Default Web Site/EWS: the copies after/EX01/FrontEnd/HttpProxy/EWS/"
        r"web\.config and after/again/EX01/FrontEnd/HttpProxy/EWS/web\.config disagree",
        output,
    ), output


def test_attest_fails_two_after_exports_of_one_application_that_disagree(
    narrow_package: Path, after: Path
) -> None:
    """One export per server: the copies fold into one record, but never silently."""
    clixml = after / "EX01" / "PartnerApplication.xml"
    text = clixml.read_bytes().decode("utf-16")
    text = text.replace('<S N="Realm"></S>', '<S N="Realm">contoso.example</S>', 1)
    (after / "EX02" / "PartnerApplication.xml").write_bytes(b"\xff\xfe" + text.encode("utf-16-le"))
    code, output = _attest(narrow_package, after)
    assert code == 1, output
    assert re.search(
        r"FAIL after: two copies of partner application 00000002-0000-0ff1-ce00-000000000000 "
        r"disagree: Realm is '' in after/EX01/PartnerApplication\.xml:\d+ but "
        r"'contoso\.example' in after/EX02/PartnerApplication\.xml:\d+",
        output,
    ), output


def test_policy_commands() -> None:
    code, output = run("policy", "schema")
    assert code == 0
    assert json.loads(output)["$schema"].startswith("https://json-schema.org/draft/2020-12")
    code, output = run("policy", "show")
    assert code == 0 and "PA001" in output
    code, output = run("policy", "init")
    assert code == 0 and "extends" in output


def test_policy_init_output_validates(tmp_path: Path) -> None:
    target = tmp_path / "org.yaml"
    assert run("policy", "init", "--out", str(target))[0] == 0
    code, output = run("policy", "validate", str(target))
    assert code == 0, output


def test_collect_writes_an_ascii_script(tmp_path: Path) -> None:
    target = tmp_path / "collect.ps1"
    code, _ = run("collect", "--out", str(target))
    assert code == 0
    data = target.read_bytes()
    data.decode("ascii")
    assert b"Export-Clixml" in data
    assert run("collect", "--out", str(target))[0] == 2  # never overwritten


def test_requester_and_reviewers_reach_the_approval_block(tmp_path: Path) -> None:
    out = tmp_path / "pkg"
    code, _ = audit_example(
        out, "--requester", "Alice <script>x</script>", "--reviewer", "Bob", "--reviewer", "Eve"
    )
    assert code == 1
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "Alice &lt;script&gt;x&lt;/script&gt;" in html
    assert "<script>x</script>" not in html
    assert html.count(">Reviewer</th>") == 2
    document = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    assert document["requester"] == "Alice <script>x</script>"
    assert document["reviewers"] == ["Bob", "Eve"]
