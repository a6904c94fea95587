"""One definition of every name format (issue 21 item 3): `auditor.names`.

The policy schema, the script generator's allow-lists and the folder layout all read the same
formats, so a name `auditor policy validate` accepts is a name the scripts can carry: a policy
that validates always produces the scripts it implies, and a name the scripts would refuse is
refused at `policy validate` with its line (before, `Mail-ReadBasic` validated, then the whole
Graph remediation was skipped and PA003 stayed unfixed).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from conftest import GRAPH_ACT_AS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from report_support import audit_report
from typer.testing import CliRunner

from auditor import cli, layout, names, psquote
from auditor.matching import forbidden_pattern
from auditor.model import (
    Evidence,
    InputFormat,
    Inventory,
    PartnerApplication,
    PermissionList,
    Policy,
)
from auditor.policy import PolicyError, load_policy, policy_schema

GRAPH_ID = "00000003-0000-0000-c000-000000000000"
SCHEMA = policy_schema()


def _schema_accepts(definition: str, value: Any) -> bool:
    validator = Draft202012Validator({"$defs": SCHEMA["$defs"], "$ref": f"#/$defs/{definition}"})
    return validator.is_valid(value)


def test_the_schema_patterns_are_the_name_formats() -> None:
    for definition, name_format in names.SCHEMA_DEFS.items():
        assert SCHEMA["$defs"][definition]["pattern"] == name_format.schema_pattern, definition
        assert SCHEMA["$defs"][definition]["maxLength"] == name_format.max_length, definition


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        # real names: reference notes, CSS-Exchange exports, Microsoft Graph's reference
        ("Mail.Read", True),
        ("Mail.ReadBasic", True),
        ("User.ReadBasic.All", True),
        ("full_access_as_app", True),
        ("EWS.AccessAsUser.All", True),
        ("Privilege.SkipClientAccessRules", True),
        ("UserWorkloadManager.PermitSynchronousTaskExecution", True),
        ("User-Mail.ReadWrite.All", True),
        ("Mail-ReadBasic", True),
        ("M" * 200, True),
        # not a name a script may carry, so not a name a policy may approve
        ("M" * 201, False),
        ("", False),
        ("Mail.", False),
        (".Read", False),
        ("Mail..Read", False),
        ("1Mail", False),
        ("Mail Read", False),
        ("Mail.Read'", False),
        ("Mail.Read\u2019", False),
        ("M\u00e4il.Read", False),
        ("Mail.Read\n", False),
    ],
)
def test_a_permission_name_means_the_same_to_the_schema_and_the_scripts(
    name: str, valid: bool
) -> None:
    assert names.PERMISSION.matches(name) is valid
    assert psquote.is_valid_permission_name(name) is valid
    assert _schema_accepts("permission", name) is valid


@pytest.mark.parametrize(
    ("token", "valid"),
    [
        ("V1S2SAppOnly", True),
        ("S2SAppActAs", True),
        ("V1ExchangeSelfIssuedSessionActAs", True),
        ("T" * 64, True),
        ("T" * 65, False),
        ("1Token", False),
        ("V1|AppOnly", False),
        (" V1AppActAs", False),
        ("V1AppOnly\n", False),
        ("", False),
    ],
)
def test_a_profile_token_means_the_same_to_the_schema_and_the_scripts(
    token: str, valid: bool
) -> None:
    assert psquote.is_valid_profile_token(token) is valid
    assert _schema_accepts("profile_token", token) is valid


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("00000003-0000-0000-c000-000000000000", True),
        ("00000002-0000-0FF1-CE00-000000000000", True),
        ("{00000003-0000-0000-c000-000000000000}", False),
        ("00000003-0000-0000-c000-000000000000\n", False),
        ("00000003-0000-0000-c000-00000000000g", False),
    ],
)
def test_a_guid_means_the_same_to_the_schema_and_the_scripts(value: str, valid: bool) -> None:
    assert psquote.is_valid_guid(value) is valid
    assert _schema_accepts("guid", value) is valid


@pytest.mark.parametrize(
    ("name", "valid"),
    [("EX01", True), ("ex01.contoso.com", True), ("EX 01", True), ("..", False), ("-x", False)],
)
def test_a_server_name_is_read_from_the_folder_layout_by_the_same_definition(
    name: str, valid: bool
) -> None:
    assert (layout.clean_server_name(name) == name) is valid
    assert names.is_server_name(name) is valid


NAME_TEXT = st.text(alphabet="AaMl.R_-1 '\n\u00e4", max_size=12)


@settings(max_examples=400, deadline=None)
@given(NAME_TEXT)
def test_the_schema_accepts_exactly_the_permission_names_the_scripts_accept(name: str) -> None:
    assert _schema_accepts("permission", name) is psquote.is_valid_permission_name(name)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="Vv1S|A ' \n", max_size=10))
def test_the_schema_accepts_exactly_the_profile_tokens_the_scripts_accept(token: str) -> None:
    assert _schema_accepts("profile_token", token) is psquote.is_valid_profile_token(token)


# --- a policy that validates produces the scripts it implies ---------------------------------


def _policy_text(approved: str) -> str:
    return (
        "name: org\nversion: 1\nextends: default\napplications:\n"
        f"  - application_identifier: {GRAPH_ID}\n"
        f"    approved_app_only: [{json.dumps(approved)}]\n"
    )


def _policy(folder: Path, approved: str) -> Policy:
    path = folder / "org.yaml"
    path.write_text(_policy_text(approved), encoding="utf-8")
    return load_policy([path], strict_waivers=True)


def _graph(app_only: tuple[str, ...]) -> Inventory:
    source = Evidence(
        path="exports/PartnerApplication.xml",
        line=1,
        raw="",
        sha256="ab" * 32,
        format=InputFormat.CLIXML,
    )
    app = PartnerApplication(
        name="Microsoft Graph",
        application_identifier=GRAPH_ID,
        enabled=True,
        act_as_permissions=PermissionList((*GRAPH_ACT_AS, *app_only), True, source),
        app_only_permissions=PermissionList(app_only, True, source),
        linked_account=None,
        server=None,
        source=source,
    )
    return Inventory(inputs=(), partner_applications=(app,), web_configs=())


def _assert_scripts_carry(policy: Policy, approved: str) -> None:
    """The approved name, held with a forbidden one, gives a script that keeps exactly it."""
    report = audit_report(_graph((approved, "Mail.Send")), policy)
    assert report.skipped == ()
    (change_set,) = report.change_sets
    (change,) = change_set.partner_applications
    assert change.target_app_only == (approved,)
    remediation = next(s for s in report.scripts if s.name.startswith("remediation/"))
    assert psquote.ps_literal(approved) in remediation.content


@pytest.mark.parametrize(
    "approved",
    ["Mail.Read", "Mail.ReadBasic", "Mail-ReadBasic", "User.Read.All", "Calendars.Read.Shared"],
)
def test_an_approved_name_that_validates_is_kept_by_the_script(
    approved: str, tmp_path: Path
) -> None:
    _assert_scripts_carry(_policy(tmp_path, approved), approved)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet="AaMl.R_-1 \u00e4", min_size=1, max_size=10))
def test_every_policy_that_validates_produces_the_scripts_it_implies(approved: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        try:
            policy = _policy(Path(folder), approved)
        except PolicyError:
            assert not psquote.is_valid_permission_name(approved)
            return
    if forbidden_pattern(approved, policy.forbidden_app_only) is not None:
        return  # forbidden whatever the approval: rightly removed, not kept
    _assert_scripts_carry(policy, approved)


@pytest.mark.parametrize("approved", ["Mail..Read", "1Mail", "Mail.", ".Read"])
def test_policy_validate_refuses_a_name_the_scripts_cannot_carry_with_its_line(
    approved: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "org.yaml").write_text(_policy_text(approved), encoding="utf-8")
    result = CliRunner().invoke(cli.app, ["policy", "validate", "org.yaml"], prog_name="auditor")

    assert result.exit_code == 2
    assert result.stderr.startswith(
        "error: org.yaml:6:25: applications[0].approved_app_only[0]: expected a permission name"
    )
    assert repr(approved) in result.stderr
