"""auditor in a CI pipeline, the way Checkov or zizmor are run: `auditor audit .` at the root of
a repository, SARIF that links to the repository's files, baseline state in every output,
report-only runs, waivers that say when they waive nothing, and the conventions (`-h`, `-V`,
colour, `--debug` after the command, `rules --format json`, `schema findings`, github, gitlab
and junit on stdout).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote

import jsonschema
import pytest
from conftest import SARIF_SCHEMA, grant_app_only, skip_or_fail
from conftest import run_cli as invoke
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from auditor import cli
from auditor.parsers.ignore import IgnoreRules
from auditor.resources import document_schema, examples_dir

AS_OF = "2026-11-26"
EXPORTS = "sec/exchange/exports"
GRAPH = "partner-application:00000003-0000-0000-c000-000000000000"


pytestmark = pytest.mark.usefixtures("fresh_cli")


def sarif_schema() -> dict[str, object]:
    if not SARIF_SCHEMA.is_file():
        skip_or_fail(f"SARIF schema not found at {SARIF_SCHEMA}")
    document = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


# --- the repository -------------------------------------------------------------------------------


@pytest.fixture
def repository(tmp_path: Path) -> Path:
    """A git repository holding exports, its policy, notes, an earlier package, an ignore file."""
    if shutil.which("git") is None:
        skip_or_fail("git is not installed")
    shutil.copytree(examples_dir(), tmp_path / EXPORTS)
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "auditor.yaml").write_text(
        "name: contoso\nversion: 1\nextends: default\n", encoding="utf-8"
    )
    (tmp_path / "notes.txt").write_text("what we changed last quarter\n", encoding="utf-8")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "runbook.txt").write_text("not an export either\n", encoding="utf-8")
    (tmp_path / ".auditorignore").write_text(
        "# not evidence\nnotes.txt\n/docs/\n", encoding="utf-8"
    )
    earlier = invoke("audit", EXPORTS, "--out", "history/CHG-1", "--as-of", AS_OF)
    assert earlier.exit_code == 1, earlier.output
    (tmp_path / "history" / "notes.txt").write_text("kept beside the package\n")
    subprocess.run(["git", "-C", str(tmp_path), "add", "-A"], check=True)
    return tmp_path


def test_audit_dot_at_the_root_of_a_repository_links_every_sarif_location(
    repository: Path,
) -> None:
    result = invoke("audit", ".", "--format", "sarif", "--sarif-root", ".", "--as-of", AS_OF)

    assert result.exit_code == 1, result.stderr  # findings at or above high, nothing missing
    assert "error:" not in result.stderr
    assert "note: not read: history/CHG-1/: an auditor change package" in result.stderr
    log = json.loads(result.stdout)
    jsonschema.Draft4Validator(sarif_schema()).validate(log)
    (run,) = log["runs"]
    assert run["originalUriBaseIds"]["%SRCROOT%"]["description"]["text"]
    assert run["automationDetails"]["id"].startswith("auditor/AUDIT-20261126")
    uris: list[str] = []
    for result_item in run["results"]:
        for location in result_item["locations"]:
            physical = location.get("physicalLocation")
            if physical is not None:
                assert physical["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
                uris.append(physical["artifactLocation"]["uri"])
    uris += [artifact["location"]["uri"] for artifact in run["artifacts"]]
    assert uris
    for uri in uris:
        assert (repository / unquote(uri)).is_file(), uri
    assert all(uri.startswith(EXPORTS + "/") for uri in uris)
    tracked = subprocess.run(
        ["git", "-C", str(repository), "ls-files"], check=True, capture_output=True, text=True
    ).stdout.split()
    assert set(uris) <= set(tracked)


def _example_files() -> set[str]:
    """Every file of the bundled example, relative to it."""
    root = examples_dir()
    return {path.relative_to(root).as_posix() for path in root.rglob("*") if path.is_file()}


def test_the_repository_audit_reads_only_the_exports(repository: Path) -> None:
    result = invoke("audit", ".", "--out", "reports/now", "--as-of", AS_OF, "-v")

    assert result.exit_code == 1, result.stderr
    document = json.loads((repository / "reports/now/findings.json").read_text())
    assert {item["path"].split("/", 1)[1] for item in document["inputs"]} == {
        f"{EXPORTS}/{path}" for path in _example_files()
    }
    assert len(document["inputs"]) == 19  # the example's exports, web.configs, trust exports
    reasons = {
        item["path"].split("/", 1)[1]: item["reason"] for item in document["excluded_inputs"]
    }
    assert reasons == {
        ".auditorignore": "auditor's ignore file",
        "auditor.yaml": "the policy in use: never an input",
        "docs/": "excluded by .auditorignore /docs/",
        "notes.txt": "excluded by .auditorignore notes.txt",
        "history/notes.txt": "excluded by .auditorignore notes.txt",  # any depth, as in git
    }
    assert "policy: contoso from auditor.yaml (found via the working folder)" in result.stdout
    # the same audit again replaces its own package, reads only the exports and writes the
    # same package: what the first run left in the tree is not in it
    first = (repository / "reports/now/MANIFEST.sha256").read_bytes()
    again = invoke("audit", ".", "--out", "reports/now", "--force", "--as-of", AS_OF)
    assert again.exit_code == 1
    assert (repository / "reports/now/MANIFEST.sha256").read_bytes() == first


def test_without_the_ignore_file_a_stray_file_is_a_located_problem(repository: Path) -> None:
    (repository / ".auditorignore").unlink()

    result = invoke("audit", ".", "--no-package", "--as-of", AS_OF)
    assert result.exit_code == 2
    assert "error: notes.txt: not an export auditor reads" in result.stderr

    excluded = invoke(
        "audit", ".", "--no-package", "--as-of", AS_OF, "--exclude", "*.txt", "--exclude", "docs/"
    )
    assert excluded.exit_code == 1, excluded.stderr


def test_a_sarif_file_redirected_into_the_tree_is_not_read(repository: Path) -> None:
    command = [sys.executable, "-m", "auditor", "audit", ".", "--format", "sarif", "--as-of", AS_OF]
    env = {**os.environ, "COLUMNS": "80"}
    env.pop(cli.POLICY_ENV, None)
    for _ in range(2):  # the second run meets the first run's file
        with open(repository / "results.sarif", "w") as handle:
            done = subprocess.run(
                command, cwd=repository, stdout=handle, stderr=subprocess.PIPE, env=env, text=True
            )
        assert done.returncode == 1, done.stderr
        assert "error:" not in done.stderr
    log = json.loads((repository / "results.sarif").read_text())
    assert {artifact["location"]["uri"] for artifact in log["runs"][0]["artifacts"]} <= {
        f"{EXPORTS}/{path}" for path in _example_files()
    }


def test_sarif_root_defaults_to_the_working_folder_and_must_hold_the_inputs(
    repository: Path,
) -> None:
    default = json.loads(
        invoke("audit", EXPORTS, "--no-package", "--format", "sarif", "--as-of", AS_OF).stdout
    )
    uris = {a["location"]["uri"] for a in default["runs"][0]["artifacts"]}
    assert f"{EXPORTS}/EX01/PartnerApplication.xml" in uris

    inner = invoke(
        "audit", EXPORTS, "--no-package", "--format", "sarif", "--as-of", AS_OF,
        "--sarif-root", "sec",
    )  # fmt: skip
    uris = {a["location"]["uri"] for a in json.loads(inner.stdout)["runs"][0]["artifacts"]}
    assert "exchange/exports/EX01/PartnerApplication.xml" in uris

    outside = invoke("audit", EXPORTS, "--no-package", "--as-of", AS_OF, "--sarif-root", "history")
    assert outside.exit_code == 2
    assert "error: --sarif-root history: the inputs do not lie under it" in outside.stderr


def test_outside_a_repository_the_working_folder_policy_inside_the_input_is_still_refused(
    repository: Path,
) -> None:
    shutil.rmtree(repository / ".git")

    result = invoke("audit", ".", "--no-package", "--as-of", AS_OF)

    assert result.exit_code == 2
    assert "error: auditor.yaml: this policy (found via the working folder) lies inside" in (
        result.stderr
    )


def test_an_ignore_file_inside_the_evidence_is_not_trusted(tmp_path: Path) -> None:
    """Whoever wrote the evidence must not choose what is left out of it: only the working
    folder's `.auditorignore` is read, and inside an input only at a repository's root."""
    shutil.copytree(examples_dir(), tmp_path / "in")
    (tmp_path / "in" / ".auditorignore").write_text("EX02/\n")  # would hide a server

    planted = invoke("audit", "in", "--no-package", "--as-of", AS_OF, "--format", "json")
    assert planted.exit_code == 1
    servers = json.loads(planted.stdout)["organisation"]["servers"]
    assert {server.casefold() for server in servers} == {"ex01", "ex02"}

    os.chdir(tmp_path / "in")  # the analyst runs auditor inside the evidence folder
    inside = invoke("audit", ".", "--no-package", "--as-of", AS_OF, "--format", "json")
    assert inside.exit_code == 1
    assert "warning: .auditorignore: lies inside the audit input .;" in inside.stderr
    servers = json.loads(inside.stdout)["organisation"]["servers"]
    assert {server.casefold() for server in servers} == {"ex01", "ex02"}


def test_the_working_folder_ignore_file_is_relative_to_it(tmp_path: Path) -> None:
    shutil.copytree(examples_dir(), tmp_path / "in")
    (tmp_path / "in" / "notes.txt").write_text("not evidence\n")
    (tmp_path / ".auditorignore").write_text("# the analyst's own\n/in/notes.txt\n")

    result = invoke("audit", "in", "--no-package", "--as-of", AS_OF, "-v")

    assert result.exit_code == 1, result.stderr
    assert "note: not read: in/notes.txt: excluded by .auditorignore /in/notes.txt" in (
        result.stderr
    )


# --- gitignore syntax -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lines", "path", "folder", "excluded"),
    [
        (["notes.txt"], "notes.txt", False, True),
        (["notes.txt"], "a/b/notes.txt", False, True),
        (["/notes.txt"], "a/notes.txt", False, False),
        (["docs/"], "docs", True, True),
        (["docs/"], "docs", False, False),  # a file named docs
        (["a/*.xml"], "a/pa.xml", False, True),
        (["a/*.xml"], "b/a/pa.xml", False, False),  # anchored: a slash inside
        (["*.xml"], "a/b/pa.xml", False, True),
        (["*.txt", "!keep.txt"], "keep.txt", False, False),
        (["*.txt", "!keep.txt"], "other.txt", False, True),
        (["**/old"], "x/y/old", True, True),
        (["old/**"], "old/a/b", False, True),
        (["a/**/b"], "a/b", True, True),
        (["a/**/b"], "a/x/y/b", True, True),
        (["pa?.xml"], "pa1.xml", False, True),
        (["pa?.xml"], "pa/.xml", False, False),
        (["pa[0-9].xml"], "pa7.xml", False, True),
        (["pa[!0-9].xml"], "pa7.xml", False, False),
        (["# comment", "", "   "], "# comment", False, False),
        (["\\#notes"], "#notes", False, True),
        (["\\!important"], "!important", False, True),
        (["trailing   "], "trailing", False, True),
        (["*"], "anything/at/all", False, True),
        (["[z-a].xml"], "[z-a].xml", False, True),  # a class git cannot read: never an error
        (["[z-a].xml"], "b.xml", False, False),
        (["[].xml"], "[].xml", False, True),
        (["a[\\]b"], "a\\b", False, True),
    ],
)
def test_ignore_rules_follow_gitignore(
    lines: list[str], path: str, folder: bool, excluded: bool
) -> None:
    assert (IgnoreRules.parse(lines).match(path, folder=folder) is not None) is excluded


@settings(max_examples=300, deadline=None)
@given(line=st.text(max_size=40), path=st.text(alphabet="ab/.*?[]!\\-", max_size=20))
def test_any_ignore_line_compiles_and_matches_without_error(line: str, path: str) -> None:
    rules = IgnoreRules.parse([line])
    for folder in (True, False):
        rules.match(path, folder=folder)


# --- the baseline in every output -----------------------------------------------------------------


def test_baseline_state_reaches_every_output_and_an_escalation_is_new(tmp_path: Path) -> None:
    exports = tmp_path / "in"
    shutil.copytree(examples_dir(), exports)
    grant_app_only(exports, ["Mail.Send"])
    assert invoke("audit", "in", "--out", "before", "--as-of", AS_OF).exit_code == 1
    grant_app_only(exports, ["Mail.Send", "Mail.ReadWrite"])  # escalation: one more forbidden grant
    gate = ("--baseline", "before/findings.json", "--as-of", AS_OF)

    result = invoke("audit", "in", "--out", "after", *gate)

    assert result.exit_code == 1
    findings = json.loads((tmp_path / "after/findings.json").read_text())
    jsonschema.Draft202012Validator(document_schema("findings")).validate(findings)
    states = {(f["rule_id"], f["subject"]): f["baseline"] for f in findings["findings"]}
    assert states[("PA003", GRAPH)] == "new"
    assert states[("WC001", "web-config:EX01:Default Web Site/API")] == "unchanged"
    assert findings["baseline"]["file"] == "findings.json"
    assert findings["baseline"]["new"] == sum(1 for s in states.values() if s == "new")
    fixed = {
        (item["rule_id"], item["subject"], item["baseline"])
        for item in findings["baseline"]["fixed"]
    }
    assert ("PA003", GRAPH, "absent") in fixed  # the narrower grant's finding

    sarif = json.loads((tmp_path / "after/findings.sarif").read_text())
    jsonschema.Draft4Validator(sarif_schema()).validate(sarif)
    by_rule: dict[tuple[str, str], list[str]] = {}
    for item in sarif["runs"][0]["results"]:
        key = (item["ruleId"], item["properties"]["subject"])
        by_rule.setdefault(key, []).append(item["baselineState"])
    assert by_rule[("PA003", GRAPH)] == ["new"]
    assert by_rule[("WC001", "web-config:EX01:Default Web Site/API")] == ["unchanged"]
    sarif_fixed = sarif["runs"][0]["properties"]["baseline"]["fixed"]
    assert {(item["rule_id"], item["baseline"]) for item in sarif_fixed} >= {("PA003", "absent")}

    summary = (tmp_path / "after/summary.md").read_text()
    assert re.search(
        r"\| PA003 \| critical \| partner-application:[^|]+\|[^|]+\| \*\*NEW\*\* active", summary
    )
    assert "- FIXED PA003 partner-application:00000003-0000-0000-c000-000000000000" in summary
    html = (tmp_path / "after/report.html").read_text()
    assert '<strong class="new">NEW</strong>' in html
    assert f"Waiver subject: <code>{GRAPH}</code>" in html
    assert re.search(
        r'Against the baseline <code>findings.json</code>: <strong class="new">\d+ new', html
    )
    assert f"<li>FIXED PA003 <code>{GRAPH}</code></li>" in html

    junit = etree.fromstring((tmp_path / "after/junit.xml").read_bytes())
    (case,) = junit.xpath(f"//testcase[@name='PA003 {GRAPH}']")
    assert case.find("failure").text.endswith("baseline new")

    lines = result.stdout.splitlines()
    assert lines[0].startswith("auditor ") and "FAIL for" in lines[0]
    new_lines = [line for line in lines if line.startswith("  NEW ")]
    assert any("PA003" in line for line in new_lines)

    github = invoke("audit", "in", "--no-package", "--format", "github", *gate).stdout
    assert re.search(
        r"^::error file=in/EX01/PartnerApplication.xml,line=\d+,title=NEW PA003 ", github, re.M
    )
    gitlab = json.loads(invoke("audit", "in", "--no-package", "--format", "gitlab", *gate).stdout)
    assert any(i["check_name"] == "PA003" and i["description"].startswith("NEW ") for i in gitlab)


def test_new_findings_are_never_elided_and_the_headline_says_when_none_is_new(
    tmp_path: Path,
) -> None:
    exports = tmp_path / "in"
    shutil.copytree(examples_dir(), exports)
    assert invoke("audit", "in", "--out", "before", "--as-of", AS_OF).exit_code == 1
    before = json.loads((tmp_path / "before/findings.json").read_text())
    before["findings"] = []  # every finding is new now
    (tmp_path / "empty.json").write_text(json.dumps(before))

    result = invoke(
        "audit", "in", "--no-package", "--as-of", AS_OF, "--baseline", "empty.json", "--fail-on-new"
    )

    assert result.exit_code == 1
    marked = [line for line in result.stdout.splitlines() if line.startswith("  NEW ")]
    assert len(marked) == len(
        before["findings"]
        or json.loads(
            invoke("audit", "in", "--no-package", "--as-of", AS_OF, "--format", "json").stdout
        )["findings"]
    )
    assert "more in the report" not in result.stdout

    passing = invoke(
        "audit", "in", "--no-package", "--as-of", AS_OF,
        "--baseline", "before/findings.json", "--fail-on-new",
    )  # fmt: skip
    assert passing.exit_code == 0
    headline = " ".join(passing.stdout.split("scope:")[0].split())
    assert "no new findings at or above high since the baseline (--fail-on-new: exit 0)" in (
        headline
    )


# --- report only ----------------------------------------------------------------------------------


def test_exit_zero_never_fails_on_findings_but_still_on_an_incomplete_audit(
    tmp_path: Path,
) -> None:
    result = invoke("audit", "--no-package", "--as-of", AS_OF, "--exit-zero")
    assert result.exit_code == 0
    assert "report only (--exit-zero: exit 0)" in " ".join(result.stdout.split())

    (tmp_path / "empty").mkdir()
    incomplete = invoke("audit", "empty", "--no-package", "--as-of", AS_OF, "--exit-zero")
    assert incomplete.exit_code == 2
    (tmp_path / "empty" / "stray.txt").write_text("not an export\n")
    annotated = invoke(
        "audit", "empty", "--no-package", "--as-of", AS_OF, "--exit-zero", "--format", "github"
    )
    assert annotated.exit_code == 2
    assert (
        "::error file=empty/stray.txt,title=auditor could not read this input::not an export"
        in (annotated.stdout)
    )

    assert invoke("audit", "--out", "before", "--as-of", AS_OF).exit_code == 1
    gate = ("--baseline", "before/findings.json", "--fail-on-new", "--exit-zero")
    nothing_new = invoke("audit", "--no-package", "--as-of", AS_OF, *gate)
    assert nothing_new.exit_code == 0
    headline = " ".join(nothing_new.stdout.split("scope:")[0].split())
    assert headline.endswith("since the baseline (--fail-on-new: exit 0)")


# --- waivers --------------------------------------------------------------------------------------


WAIVERS = """\
name: waived
version: 1
extends: default
waivers:
  - rule: WC002
    subject: web-config:EX02:Default Web Site/API
    reason: accepted until the CU
    ticket: CHG-7
    owner: ops
    approver: ciso
    expires: 2027-06-30
  - rule: WC001
    subject: web-confg:EX02:Default Web Site/API
    reason: a typo
    ticket: CHG-8
    owner: ops
    approver: ciso
    expires: 2027-06-30
"""


def test_unused_waivers_are_warned_and_waived_findings_listed(tmp_path: Path) -> None:
    (tmp_path / "waived.yaml").write_text(WAIVERS)
    args = ("audit", "--no-package", "--as-of", AS_OF, "--policy", "waived.yaml", "-v")

    result = invoke(*args)

    assert result.exit_code == 1
    assert (
        "warning: waived.yaml:12: waiver of WC001 on web-confg:EX02:Default Web Site/API "
        "matched no finding"
    ) in result.stderr
    waived = "WAIVED WC002 web-config:EX02:Default Web Site/API (ticket CHG-7, until 2027-06-30)"
    assert waived in " ".join(result.stdout.split())
    assert "waiver subject: web-config:EX01:Default Web Site/API (rule WC001)" in result.stdout
    strict = invoke(*args, "--strict")
    assert strict.exit_code == 2
    assert "error: waived.yaml:12: waiver of WC001" in strict.stderr

    validate = invoke("policy", "validate", "waived.yaml", "--as-of", AS_OF)
    assert validate.exit_code == 0
    assert (
        "warning: waived.yaml:12: waiver of WC001 on web-confg:EX02:Default Web Site/API can "
        in (validate.stderr)
    )
    assert invoke("policy", "validate", "waived.yaml", "--as-of", AS_OF, "--strict").exit_code == 1
    # a waiver of a rule the audit did not apply had nothing to match: not unused
    narrowed = invoke(*args, "--scope", "partner-applications", "--strict")
    assert "matched no finding" not in narrowed.stderr


def test_policy_validate_reports_every_error_by_line_and_finds_the_policy(tmp_path: Path) -> None:
    (tmp_path / "auditor.yaml").write_text(
        "name: broken\nversion: 1\nextends: default\ncolour: blue\nforbidden_app_only: 7\n"
        "csv_list_separator: ''\nvdirs: nope\n"
    )

    result = invoke("policy", "validate")

    assert result.exit_code == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 4, result.stderr
    numbers = [int(re.match(r"error: auditor\.yaml:(\d+)", line).group(1)) for line in errors]  # type: ignore[union-attr]
    assert numbers == sorted(numbers) == [4, 5, 6, 7]


def test_policy_validate_reports_every_semantic_error_too(tmp_path: Path) -> None:
    (tmp_path / "twice.yaml").write_text(
        "name: twice\nversion: 1\nextends: default\napplications:\n"
        "  - application_identifier: 00000003-0000-0000-c000-000000000000\n"
        "  - application_identifier: 00000003-0000-0000-C000-000000000000\n"
        "vdirs:\n  - vdir: Default Web Site/Nope\n"
        "rule_overrides:\n  ZZ999:\n    enabled: false\n"
    )

    result = invoke("policy", "validate", "twice.yaml")

    assert result.exit_code == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 3, result.stderr
    assert "listed twice" in errors[0] and "unknown vdir" in errors[1] and "ZZ999" in errors[2]


# --- conventions ----------------------------------------------------------------------------------


def test_short_help_and_version() -> None:
    from auditor import __version__

    assert invoke("-V").stdout == f"auditor {__version__}\n"
    assert invoke("audit", "-h").stdout == invoke("audit", "--help").stdout


def test_debug_and_color_may_follow_the_command() -> None:
    given = ["audit", "x", "--debug", "--color", "never", "--", "--debug"]
    moved = ["--debug", "--color", "never", "audit", "x", "--", "--debug"]
    assert cli._global_options_first(given) == moved
    assert cli._global_options_first(["rules", "--color=always"]) == ["--color=always", "rules"]


def test_colour_follows_no_color_force_color_and_the_option(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert "\x1b[" in invoke("--color", "auto", "audit", "--no-package", "--as-of", AS_OF).stdout
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\x1b[" not in invoke("audit", "--no-package", "--as-of", AS_OF).stdout
    forced = invoke("--color", "always", "audit", "--no-package", "--as-of", AS_OF).stdout
    assert forced.startswith("\x1b[")
    plain = invoke(
        "--color", "never", "audit", "--no-package", "--as-of", AS_OF, env={"NO_COLOR": None}
    )
    assert "\x1b[" not in plain.stdout


def test_messages_are_cut_to_the_terminal_width() -> None:
    narrow = invoke("audit", "--no-package", "--as-of", AS_OF).stdout
    wide = invoke("audit", "--no-package", "--as-of", AS_OF, env={"COLUMNS": "2000"}).stdout
    pa003 = next(line for line in wide.splitlines() if " PA003 " in line)
    assert len(pa003) > 200 and "..." not in pa003  # the whole message fits
    assert all(len(line) <= 80 for line in narrow.splitlines())


def test_rules_as_json_is_the_catalogue_unwrapped() -> None:
    result = invoke("rules", "--format", "json", env={"COLUMNS": "40"})

    rules = json.loads(result.stdout)
    assert [rule["id"] for rule in rules][:3] == ["EV001", "EV002", "FL001"] or rules
    assert {"id", "title", "severity", "rationale", "references", "enabled"} <= set(rules[0])
    assert all("\n" not in rule["title"] for rule in rules)


def test_schema_findings_is_the_schema_findings_json_follows() -> None:
    schema = json.loads(invoke("schema", "findings").stdout)
    jsonschema.Draft202012Validator.check_schema(schema)

    document = json.loads(
        invoke("audit", "--no-package", "--as-of", AS_OF, "--format", "json").stdout
    )

    jsonschema.Draft202012Validator(schema).validate(document)
    document["findings"][0]["surprise"] = 1
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(schema).validate(document)


def test_junit_on_stdout_is_the_package_file(tmp_path: Path) -> None:
    result = invoke("audit", "--out", "p", "--as-of", AS_OF, "--format", "junit")

    assert result.stdout.encode() == (tmp_path / "p" / "junit.xml").read_bytes()
    assert etree.fromstring(result.stdout.encode()).tag == "testsuites"


def test_help_uri_comes_from_the_policy_docs_url(tmp_path: Path) -> None:
    (tmp_path / "docs.yaml").write_text(
        "name: d\nversion: 1\nextends: default\n"
        "docs_url: https://git.example/sec/auditor/blob/main/docs/rules\n"
    )
    log = json.loads(
        invoke(
            "audit", "--no-package", "--as-of", AS_OF, "--format", "sarif", "-p", "docs.yaml"
        ).stdout
    )
    rules = log["runs"][0]["tool"]["driver"]["rules"]
    assert (
        rules[0]["helpUri"]
        == f"https://git.example/sec/auditor/blob/main/docs/rules/{rules[0]['id']}.md"
    )
    assert all(rule["help"]["markdown"] for rule in rules)
    jsonschema.Draft4Validator(sarif_schema()).validate(log)


def test_the_readme_names_every_option_of_every_command() -> None:
    import typer.main
    from conftest import PROJECT_ROOT

    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    group = typer.main.get_command(cli.app)
    missing: list[str] = []

    def walk(command: object, path: str) -> None:
        for param in getattr(command, "params", []):
            for name in getattr(param, "opts", []):
                if name.startswith("-") and name not in ("--help", "-h") and name not in readme:
                    missing.append(f"{path} {name}")
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, f"{path} {name}")

    walk(group, "auditor")
    assert missing == []


def test_parse_lists_what_it_left_out(repository: Path) -> None:
    result = invoke("parse", ".", "--exclude", "history/")

    assert result.exit_code == 0, result.stderr
    assert "  notes.txt: excluded by .auditorignore notes.txt" in result.stdout
    assert "  history/: excluded by --exclude history/" in result.stdout


def test_debug_after_the_command_is_accepted(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "auditor", "audit", "--no-package", "--as-of", AS_OF, "--debug"],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "80"},
    )
    assert done.returncode == 1, done.stderr
    assert done.stderr == ""


def test_schema_policy_and_plan_are_the_shipped_schemas() -> None:
    assert invoke("schema", "policy").stdout == invoke("policy", "schema").stdout
    plan = json.loads(invoke("schema", "plan").stdout)
    assert plan == document_schema("plan")
    jsonschema.Draft202012Validator.check_schema(plan)


@pytest.mark.parametrize(
    ("output_format", "what"),
    [
        ("sarif", "SARIF written by auditor"),
        ("json", "a findings.json written by auditor"),
        ("junit", "a junit.xml written by auditor"),
        ("gitlab", "a code-quality report written by auditor"),
        ("github", "GitHub annotations written by auditor"),
    ],
)
def test_every_format_auditor_writes_is_told_from_an_export(
    repository: Path, output_format: str, what: str
) -> None:
    from auditor.parsers.ignore import auditor_output

    written = invoke("audit", EXPORTS, "--no-package", "--format", output_format, "--as-of", AS_OF)
    assert written.exit_code == 1, written.stderr
    data = written.stdout.encode("utf-8")
    assert auditor_output(data) == what
    # as Windows PowerShell 5.1's `>` or `Out-File -Encoding utf8` saves it
    assert auditor_output(b"\xef\xbb\xbf\r\n" + data) == what
    # every export of the example is an input, never auditor's output
    for path in (repository / EXPORTS).rglob("*"):
        if path.is_file():
            assert auditor_output(path.read_bytes()) is None, path


def test_a_web_config_that_quotes_a_junit_root_is_still_an_input() -> None:
    from auditor.parsers.ignore import auditor_output

    quoted = (
        b'<?xml version="1.0" encoding="utf-8"?>\n<configuration>\n  <appSettings>\n'
        b'    <add key="Note" value="&lt;testsuites name=&quot;auditor&quot;&gt;" />\n'
        b'  </appSettings>\n  <!-- <testsuites name="auditor"><testsuite -->\n</configuration>\n'
    )
    assert auditor_output(quoted) is None
