"""The command line as CI and a terminal use it: help, exit codes, formats, baseline, width.

Every command's help is a snapshot (a change to what a user reads is reviewed); every exit path
of the 0/1/2 contract is run, including an internal error injected into the pipeline; the rule
catalogue is shown and explained for every rule; `--format sarif` validates against the SARIF
schema; a baseline round trip marks one finding new and one fixed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from conftest import PROJECT_ROOT, SARIF_SCHEMA, grant_app_only, run_main, skip_or_fail
from conftest import run_cli as invoke
from syrupy.assertion import SnapshotAssertion

from auditor import cli
from auditor.policy import load_policy
from auditor.render.rule_doc import rule_markdown
from auditor.resources import examples_dir

AS_OF = "2026-11-26"
CATALOGUE = load_policy([]).rules


pytestmark = pytest.mark.usefixtures("fresh_cli")


@pytest.fixture
def inputs(tmp_path: Path) -> Path:
    """A copy of the bundled two-server example, to change."""
    target = tmp_path / "in"
    shutil.copytree(examples_dir(), target)
    return target


# --- help, version, completion ------------------------------------------------------------------

COMMANDS = [
    (),
    ("parse",),
    ("audit",),
    ("verify",),
    ("attest",),
    ("collect",),
    ("rules",),
    ("rules", "explain"),
    ("policy",),
    ("policy", "validate"),
    ("policy", "show"),
    ("policy", "init"),
    ("policy", "schema"),
    ("schema",),
    ("schema", "findings"),
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "auditor")
def test_help_snapshot(command: tuple[str, ...], snapshot: SnapshotAssertion) -> None:
    result = invoke(*command, "--help")

    assert result.exit_code == 0
    assert result.stdout == snapshot
    assert "<list[" not in result.stdout and "{" not in result.stdout.split("\n")[0]


def test_help_states_the_exit_codes_and_summaries_are_whole() -> None:
    text = invoke("--help").stdout

    assert "0  complete: nothing at or above --fail-on" in text
    assert "1  findings at or above --fail-on (verify, attest: a difference)" in text
    assert "2  could not complete" in text
    commands = text.split("Commands:")[1].split("Exit codes:")[0]
    for line in commands.strip().splitlines():
        assert not line.rstrip().endswith("..."), line  # no command summary is cut


def test_version() -> None:
    from auditor import __version__

    result = invoke("--version")

    assert (result.exit_code, result.stdout) == (0, f"auditor {__version__}\n")


def test_shell_completion_is_on() -> None:
    # What `--show-completion` prints once it knows the shell, asked the way the installed
    # script asks it (`--show-completion` alone detects the shell from the parent processes,
    # which a test runner's worker does not have).
    result = invoke(env={"_AUDITOR_COMPLETE": "source_bash"})

    assert result.exit_code == 0, result.output
    assert "_AUDITOR_COMPLETE=complete_bash" in result.stdout


# --- the rule catalogue -------------------------------------------------------------------------


def test_rules_lists_every_rule_of_the_catalogue() -> None:
    result = invoke("rules", env={"COLUMNS": "120"})

    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert [line.split()[:2] for line in lines] == [
        [info.id, info.severity.value] for info in CATALOGUE
    ]
    for line, info in zip(lines, CATALOGUE, strict=True):
        assert line.endswith(info.title)


@pytest.mark.parametrize("info", CATALOGUE, ids=lambda info: info.id)
def test_rules_explain_every_rule(info: object) -> None:
    from auditor.model import RuleInfo

    assert isinstance(info, RuleInfo)
    result = invoke("rules", "explain", info.id.lower())

    assert result.exit_code == 0
    assert result.stdout == rule_markdown(info)
    for part in ("## When it fires", "## Why it matters", "## Remediation", "## How to waive"):
        assert part in result.stdout
    assert info.rationale in result.stdout
    assert all(reference in result.stdout for reference in info.references)
    # The same text ships as docs/rules/<ID>.md (scripts/make_rule_docs.py writes it).
    page = PROJECT_ROOT / "docs" / "rules" / f"{info.id}.md"
    assert page.read_text(encoding="utf-8") == result.stdout, (
        f"{page} is out of date: run .venv/bin/python scripts/make_rule_docs.py"
    )


def test_docs_hold_a_page_for_each_rule_and_nothing_else() -> None:
    pages = sorted(path.stem for path in (PROJECT_ROOT / "docs" / "rules").glob("*.md"))

    assert pages == sorted(info.id for info in CATALOGUE)


def test_explain_an_unknown_rule_is_exit_2() -> None:
    result = invoke("rules", "explain", "XX999")

    assert result.exit_code == 2
    assert result.stderr == "error: unknown rule XX999; `auditor rules` lists every rule\n"


def test_sarif_rules_carry_the_explanation() -> None:
    result = invoke("audit", "--no-package", "--as-of", AS_OF, "--format", "sarif")

    rules = json.loads(result.stdout)["runs"][0]["tool"]["driver"]["rules"]
    by_id = {info.id: info for info in CATALOGUE}
    assert [rule["id"] for rule in rules] == list(by_id)
    for rule in rules:
        assert rule["help"]["markdown"] == rule_markdown(by_id[rule["id"]])


# --- exit codes ---------------------------------------------------------------------------------


def test_exit_0_when_nothing_is_at_or_above_fail_on(tmp_path: Path) -> None:
    # EX02 alone: web.config files only; its padded ' V1S2SAppOnly' is WC001 (high, a
    # forbidden token in another spelling) and WC002 (medium): nothing is critical.
    result = invoke(
        "audit",
        str(examples_dir() / "EX02"),
        "--out",
        "p",
        "--as-of",
        AS_OF,
        "--fail-on",
        "critical",
        "--scope",
        "web-config",
    )

    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("auditor ")
    assert (
        ": PASS for web.config of 1 of 1 server; partner applications and hybrid trust not "
        "assessed (--scope web-config) (as of 2026-11-26" in result.stdout.replace("\n    ", " ")
    )


def test_exit_1_for_findings_and_2_for_incomplete_evidence(tmp_path: Path) -> None:
    assert invoke("audit", "--out", "p", "--as-of", AS_OF).exit_code == 1
    (tmp_path / "empty").mkdir()
    result = invoke("audit", "empty", "--out", "q", "--as-of", AS_OF)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: empty: no partner-application export")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("audit", "--as-of", "26/11/2026"), "error: --as-of 26/11/2026: not a date"),
        (("audit", "nowhere"), "error: no such file or folder: nowhere"),
        (("audit", "--fail-on", "severe"), "Invalid value for '--fail-on'"),
        (("audit", "--bogus"), "No such option: --bogus"),
        (("audit", "--policy", "missing.yaml"), "error: missing.yaml: policy file not found"),
        (("audit", "--change-id", "../x"), "error: --change-id '../x' is not allowed"),
        (("audit", "--fail-on-new"), "error: --fail-on-new needs --baseline FILE"),
        (("audit", "--baseline", "none.json"), "error: none.json: the baseline does not exist"),
        (("audit", "-o", "-"), "error: --out -: a change package is a folder"),
        (("parse",), "error: give at least one export file or folder"),
        (("verify", "nowhere"), "error: nowhere: not a folder"),
        (("collect", "-o", "-"), "error: --out -: not a file name"),
        (("policy", "init", "--out", "/nonexistent/x.yaml"), "error: /nonexistent/x.yaml: cannot"),
        (("policy", "validate", "missing.yaml"), "error: missing.yaml: policy file not found"),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, tuple) else "",
)
def test_exit_2_when_the_command_cannot_complete(args: tuple[str, ...], message: str) -> None:
    result = invoke(*args)

    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_an_out_that_is_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("mine\n")

    result = invoke("audit", "--out", "afile", "--as-of", AS_OF)

    assert result.exit_code == 2
    assert result.stderr == "error: afile: exists and is not a folder; --out must be a folder\n"
    assert (tmp_path / "afile").read_text() == "mine\n"
    assert not (tmp_path / "-").exists()


def test_verify_and_attest_exit_1_on_a_difference(tmp_path: Path, inputs: Path) -> None:
    assert invoke("audit", str(inputs), "--out", "p", "--as-of", AS_OF).exit_code == 1
    assert invoke("verify", "p").exit_code == 0
    # After "the change" nothing changed: the planned change did not land.
    attested = invoke("attest", "--before", str(inputs), "--after", str(inputs), "--package", "p")
    assert attested.exit_code == 1
    assert "checks failed" in attested.stdout
    (tmp_path / "p" / "summary.md").write_text("tampered\n")
    verified = invoke("verify", "p")
    assert verified.exit_code == 1
    assert "DIFFERS  summary.md: sha256" in verified.stdout


def test_an_internal_error_is_one_line_naming_the_input_and_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import auditor.audit

    def broken(_request: object) -> None:
        raise RuntimeError("injected")

    monkeypatch.setattr(auditor.audit, "run_audit", broken)
    example = str(examples_dir())

    assert run_main(monkeypatch, "audit", "--no-package") == 2
    err = capsys.readouterr().err
    assert err.splitlines() == [
        f"error: internal error while auditing {example}: RuntimeError: injected; "
        "run `auditor --debug ...` for the traceback; please report it"
    ]

    assert run_main(monkeypatch, "--debug", "audit", "--no-package") == 2
    err = capsys.readouterr().err
    assert err.startswith("Traceback (most recent call last):")
    assert err.splitlines()[-1].startswith("error: internal error while auditing ")


def test_main_keeps_the_exit_codes_and_the_one_error_style(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_main(monkeypatch, "--version") == 0
    assert run_main(monkeypatch, "audit", "--no-package", "--as-of", AS_OF, "-q") == 1
    capsys.readouterr()
    assert run_main(monkeypatch, "audit", "--fail-on", "severe") == 2
    err = capsys.readouterr().err
    assert err.startswith("error: Invalid value for '--fail-on': ")
    assert "'severe' is not one of" in err and err.endswith("(see `auditor audit --help`)\n")
    assert run_main(monkeypatch, "audit", "--no-such-option") == 2
    assert capsys.readouterr().err == (
        "error: No such option: --no-such-option (see `auditor audit --help`)\n"
    )
    assert run_main(monkeypatch) == 2  # no command: the help, on stderr
    assert capsys.readouterr().err.startswith("Usage: auditor [OPTIONS] COMMAND")


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (("rules",), 0),
        (("policy", "schema"), 0),
        (("audit", "--no-package", "--as-of", AS_OF, "--format", "sarif"), 1),
        (("--help",), 0),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, tuple) else str(value),
)
def test_a_closed_stdout_ends_quietly_with_the_commands_exit_code(
    args: tuple[str, ...], code: int
) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "auditor", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "AUDITOR_POLICY": ""},
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # the reader (`| head`) has gone before the first write
    err = process.stderr.read()
    process.stderr.close()

    assert process.wait(timeout=60) == code
    assert err == b""


# --- CI use: formats, quiet, baseline, policy discovery -----------------------------------------


@pytest.mark.parametrize(
    ("output_format", "package_file"),
    [("json", "findings.json"), ("sarif", "findings.sarif"), ("markdown", "summary.md")],
)
def test_format_prints_the_package_document(
    output_format: str, package_file: str, tmp_path: Path
) -> None:
    result = invoke("audit", "--out", "p", "--as-of", AS_OF, "--format", output_format)

    assert result.exit_code == 1
    assert result.stdout.encode() == (tmp_path / "p" / package_file).read_bytes()


def test_format_sarif_validates_against_the_sarif_schema() -> None:
    if not SARIF_SCHEMA.is_file():
        skip_or_fail(f"SARIF schema not found at {SARIF_SCHEMA}")
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))

    result = invoke("audit", "--no-package", "--as-of", AS_OF, "--format", "sarif")

    assert result.exit_code == 1
    jsonschema.Draft4Validator(schema).validate(json.loads(result.stdout))


def test_no_package_writes_nothing_and_quiet_prints_nothing(tmp_path: Path) -> None:
    result = invoke("audit", "--no-package", "--quiet", "--as-of", AS_OF)

    assert (result.exit_code, result.stdout, result.stderr) == (1, "", "")
    assert list(tmp_path.iterdir()) == []


def test_baseline_round_trip_marks_new_unchanged_and_fixed(tmp_path: Path, inputs: Path) -> None:
    assert invoke("audit", str(inputs), "--out", "before", "--as-of", AS_OF).exit_code == 1
    # Fix the dropped token on EX02 (WC002) and add a duplicate key there (WC003).
    rest = inputs / "EX02" / "FrontEnd" / "HttpProxy" / "Rest" / "web.config"
    rest.write_bytes(rest.read_bytes().replace(b"|CallbackV2| V1S2SAppOnly", b"|CallbackV2"))
    ews = inputs / "EX02" / "FrontEnd" / "HttpProxy" / "EWS" / "web.config"
    duplicate = b'    <add key="WsSecurityEndpointEnabled" value="False" />\r\n'
    ews.write_bytes(ews.read_bytes().replace(b"  </appSettings>", duplicate + b"  </appSettings>"))

    result = invoke(
        "audit",
        str(inputs),
        "--out",
        "after",
        "--as-of",
        AS_OF,
        "--baseline",
        "before/findings.json",
    )

    assert result.exit_code == 1
    # Fixed: WC001 and WC002 on EX02's padded token; new: the duplicate key.
    assert "baseline: 1 new, 6 unchanged, 2 fixed" in result.stdout  # HT001 unchanged too
    (new,) = [line for line in result.stdout.splitlines() if line.startswith("  NEW ")]
    assert "WC003" in new
    fixed = [line for line in result.stdout.splitlines() if line.startswith("  FIXED ")]
    assert len(fixed) == 2
    assert any("WC001  web-config:EX02:Default Web Site/API" in line for line in fixed)
    assert any("WC002  web-config:EX02:Default Web Site/API" in line for line in fixed)
    # The package says the same: findings.json and SARIF carry each finding's state.
    after = json.loads((tmp_path / "after" / "findings.json").read_text(encoding="utf-8"))
    states = {(f["rule_id"], f["baseline"]) for f in after["findings"]}
    assert ("WC003", "new") in states and ("PA003", "unchanged") in states
    assert sorted(item["rule_id"] for item in after["baseline"]["fixed"]) == ["WC001", "WC002"]
    sarif = json.loads((tmp_path / "after" / "findings.sarif").read_text(encoding="utf-8"))
    results = sarif["runs"][0]["results"]
    assert [r["ruleId"] for r in results if r["baselineState"] == "new"] == ["WC003"]
    assert len(sarif["runs"][0]["properties"]["baseline"]["fixed"]) == 2
    # Only new findings at or above --fail-on fail the run: the new one is medium.
    gate = ("--baseline", "before/findings.json", "--fail-on-new", "--no-package", "-q")
    again = ("audit", str(inputs), "--as-of", AS_OF, *gate)
    assert invoke(*again).exit_code == 0
    assert invoke(*again, "--fail-on", "medium").exit_code == 1


def test_a_wider_grant_is_new_against_the_baseline(tmp_path: Path, inputs: Path) -> None:
    """Baseline: Graph holds one forbidden permission. Later: 28, 17 of them forbidden."""
    act_as = [
        "Mail.Read",
        "Mail.Write",
        "Mail.Send",
        "Calendars.Read",
        "Calendars.ReadWrite",
        "Contacts.Read",
        "Contacts.ReadWrite",
        "Mail.ReadWrite",
        "Sites.ReadWrite.All",
        "User.Read",
        "User.ReadWrite.All",
        "Group.ReadWrite.All",
    ]
    grant_app_only(inputs, ["Mail.Send"])
    assert invoke("audit", str(inputs), "--out", "before", "--as-of", AS_OF).exit_code == 1
    gate = ("--baseline", "before/findings.json", "--fail-on-new", "--no-package")
    assert invoke("audit", str(inputs), "--as-of", AS_OF, *gate).exit_code == 0  # nothing new

    grant_app_only(inputs, act_as)
    result = invoke("audit", str(inputs), "--as-of", AS_OF, *gate)

    assert result.exit_code == 1, result.stdout
    lines = result.stdout.splitlines()
    assert lines[0].startswith("auditor ") and ": FAIL for " in lines[0]  # the verdict first
    assert "2 new finding(s) at or above high (--fail-on-new)" in " ".join(result.stdout.split())
    severities = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO")
    findings = [line for line in lines if line.replace("NEW", "").lstrip().startswith(severities)]
    assert findings[0].startswith("  NEW CRITICAL PA003"), result.stdout  # then the new ones
    assert "Microsoft Graph" in findings[0]
    assert any(line.startswith("  FIXED    PA003") for line in lines)  # the narrower one


def test_the_same_permissions_in_another_order_are_unchanged(tmp_path: Path, inputs: Path) -> None:
    grant_app_only(inputs, ["Mail.Send", "Mail.Read"])
    assert invoke("audit", str(inputs), "--out", "before", "--as-of", AS_OF).exit_code == 1
    grant_app_only(inputs, ["Mail.Read", "Mail.Send"])
    result = invoke(
        "audit", str(inputs), "--as-of", AS_OF, "--baseline", "before/findings.json", "--no-package"
    )
    assert "baseline: 0 new" in result.stdout


def test_a_baseline_from_another_organisation_is_refused(tmp_path: Path, inputs: Path) -> None:
    assert invoke("audit", str(inputs), "--out", "before", "--as-of", AS_OF).exit_code == 1
    document = json.loads((tmp_path / "before" / "findings.json").read_text(encoding="utf-8"))
    assert document["organisation"] == {
        "directories": ["fabrikam.lab"],
        "servers": ["ex01", "ex02"],
        "partner_applications": sorted(document["organisation"]["partner_applications"]),
    }
    document["organisation"]["directories"] = ["contoso.example"]
    Path("other.json").write_text(json.dumps(document), encoding="utf-8")

    result = invoke(
        "audit", str(inputs), "--no-package", "--as-of", AS_OF, "--baseline", "other.json"
    )

    assert result.exit_code == 2
    text = " ".join(result.stderr.split())
    assert (
        "error: other.json: the baseline was written for another organisation: no Active "
        "Directory domain in common (these exports: fabrikam.lab; the baseline: contoso.example)"
    ) in text


def test_a_baseline_without_an_organisation_is_refused(tmp_path: Path, inputs: Path) -> None:
    assert invoke("audit", str(inputs), "--out", "before", "--as-of", AS_OF).exit_code == 1
    document = json.loads((tmp_path / "before" / "findings.json").read_text(encoding="utf-8"))
    del document["organisation"]
    Path("old.json").write_text(json.dumps(document), encoding="utf-8")

    result = invoke(
        "audit", str(inputs), "--no-package", "--as-of", AS_OF, "--baseline", "old.json"
    )

    assert result.exit_code == 2
    assert "the baseline names no organisation" in " ".join(result.stderr.split())


def test_the_policy_is_found_without_a_flag(tmp_path: Path) -> None:
    policy = (
        "name: org\nversion: 1\nextends: default\nrule_overrides:\n  FL001:\n    severity: high\n"
    )
    (tmp_path / "auditor.yaml").write_text(policy)
    args = ("audit", "--no-package", "--as-of", AS_OF)

    local = invoke(*args)
    assert "policy: org from auditor.yaml (found via the working folder)" in local.stdout
    assert "rules: " not in local.stdout
    assert "HIGH     FL001" in local.stdout

    (tmp_path / "elsewhere.yaml").write_text(policy.replace("org", "env-org"))
    from_env = invoke(*args, env={cli.POLICY_ENV: "elsewhere.yaml"})
    assert "policy: env-org from elsewhere.yaml (found via AUDITOR_POLICY)" in from_env.stdout

    given = invoke(*args, "--policy", "elsewhere.yaml", env={cli.POLICY_ENV: "auditor.yaml"})
    assert "policy: env-org from elsewhere.yaml (found via --policy)" in given.stdout
    assert "FL001  high" in invoke("rules").stdout  # the catalogue with the local overrides

    (tmp_path / "auditor.yaml").unlink()
    assert "policy: default (the shipped default" in invoke(*args).stdout


EMPTYING_POLICY = "name: planted\nversion: 1\nextends: default\nforbidden_app_only: []\n"


@pytest.mark.parametrize(
    ("where", "audited", "env"),
    [
        ("auditor.yaml", ".", None),  # the analyst runs auditor inside the evidence folder
        ("in/auditor.yaml", "in", "in/auditor.yaml"),  # $AUDITOR_POLICY points into it
        ("in/EX01/planted.yaml", "in", "in/EX01/planted.yaml"),  # below a folder argument
        ("in/EX01/planted.yaml", "in/EX01/planted.yaml", "in/EX01/planted.yaml"),  # an argument
    ],
)
def test_a_policy_found_inside_the_evidence_is_refused(
    inputs: Path, tmp_path: Path, where: str, audited: str, env: str | None
) -> None:
    (tmp_path / where).write_text(EMPTYING_POLICY)
    result = invoke("audit", audited, "--no-package", "--as-of", AS_OF, env={cli.POLICY_ENV: env})

    assert result.exit_code == 2
    origin = "the working folder" if env is None else "AUDITOR_POLICY"
    shown = where if env is not None else "auditor.yaml"
    assert result.stderr.startswith(
        f"error: {shown}: this policy (found via {origin}) lies inside the audit input {audited};"
    )
    assert f"Pass it with --policy {shown} if it is really wanted" in result.stderr
    assert result.stdout == ""


def test_a_policy_given_with_the_flag_may_lie_inside_the_evidence(inputs: Path) -> None:
    (inputs / "auditor.yaml").write_text(EMPTYING_POLICY)

    given = invoke("audit", "in", "--policy", "in/auditor.yaml", "--no-package", "--as-of", AS_OF)
    assert "policy: planted from in/auditor.yaml (found via --policy)" in given.stdout
    assert "lies inside" not in given.stderr
    # The policy in use is never read as an input (it is listed as excluded).
    assert "error:" not in given.stderr
    document = json.loads(
        invoke(
            "audit",
            "in",
            "--policy",
            "in/auditor.yaml",
            "--no-package",
            "--as-of",
            AS_OF,
            "--format",
            "json",
        ).stdout
    )
    assert {"path": "in/auditor.yaml", "reason": "the policy in use: never an input"} in (
        document["excluded_inputs"]
    )

    # Outside the inputs, the working folder's policy is still found without a flag.
    beside = invoke(
        "audit",
        "in/EX01",
        "--no-package",
        "--as-of",
        AS_OF,
        env={cli.POLICY_ENV: "in/auditor.yaml"},
    )
    assert "policy: planted from in/auditor.yaml (found via AUDITOR_POLICY)" in beside.stdout
    # EX01's Get-ExchangeServer export names EX02, whose files were not given: incomplete.
    assert beside.exit_code == 2
    assert "missing: the Default Web Site/API web.config of server EX02" in beside.stderr


# --- the terminal -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ("audit", "--no-package", "--as-of", AS_OF),
        ("parse", str(examples_dir())),
        ("rules",),
        ("--help",),
        ("audit", "--help"),
    ],
    ids=" ".join,
)
def test_columns_80_no_line_is_longer(args: tuple[str, ...]) -> None:
    result = invoke(*args)

    assert result.stdout
    assert max(len(line) for line in result.stdout.splitlines()) <= 80


def test_80_columns_when_unset_and_not_a_terminal() -> None:
    environment = {key: value for key, value in os.environ.items() if key != "COLUMNS"}
    completed = subprocess.run(
        [sys.executable, "-m", "auditor", "audit", "--no-package", "--as-of", AS_OF],
        capture_output=True,
        text=True,
        env={**environment, "AUDITOR_POLICY": ""},
        check=False,
    )

    assert completed.returncode == 1
    assert max(len(line) for line in completed.stdout.splitlines()) <= 80


def test_paths_are_shown_relative_to_the_working_folder(inputs: Path, tmp_path: Path) -> None:
    result = invoke("audit", str(inputs), "--no-package", "--as-of", AS_OF, env={"COLUMNS": "300"})

    assert "[in/EX01/PartnerApplication.xml:107]" in result.stdout
    assert str(tmp_path) not in result.stdout


def test_parse_output_holds_no_python_reprs() -> None:
    result = invoke("parse", str(examples_dir() / "EX01" / "PartnerApplication.xml"))

    assert result.exit_code == 0
    for word in ("None", "[]", "['", "()"):
        assert word not in result.stdout
    assert "    enabled: yes" in result.stdout


def test_problems_are_one_error_line_each(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "pa.json").write_text('{"ApplicationIdentifier": "x", "Name": }')

    result = invoke("parse", "in", env={"COLUMNS": "40"})

    assert result.exit_code == 2
    errors = result.stderr.splitlines()
    assert any(line.startswith("error: in/pa.json:1: ") for line in errors)
    assert all(line.startswith("error: ") for line in errors)  # one line each, never wrapped


# --- policy validate --as-of --------------------------------------------------------------------

WAIVER = """\
name: org
version: 1
extends: default
waivers:
  - rule: PA005
    subject: partner-application:11111111-1111-1111-1111-111111111111
    reason: known vendor app
    ticket: CHG-7
    owner: ops
    approver: ciso
    expires: {expires}
"""


@pytest.mark.parametrize(
    ("expires", "code", "expected"),
    [
        ("2027-06-01", 0, None),
        ("2026-12-10", 0, "warning: org.yaml:5: waiver of PA005 on"),
        ("2026-11-01", 1, "error: org.yaml:5: waiver of PA005 on"),
    ],
)
def test_policy_validate_reports_waiver_expiry(
    expires: str, code: int, expected: str | None, tmp_path: Path
) -> None:
    (tmp_path / "org.yaml").write_text(WAIVER.format(expires=expires))

    result = invoke("policy", "validate", "org.yaml", "--as-of", AS_OF)

    assert result.exit_code == code, result.output
    assert result.stdout.startswith("valid: org\n  sha256 ")
    if expected is None:
        assert "waiver" not in result.output
    else:
        assert expected in result.output and expires in result.output
