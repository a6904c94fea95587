"""auditor.render.ps1: snapshots of every template, parse and shape checks, hostile values, hygiene.

Snapshots are the scripts themselves (`__snapshots__/test_ps1_render/*.ps1`, byte for byte,
CRLF), so a reviewer reads them like the change board would.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ps1_support import (
    API,
    GRAPH_ACT_AS,
    GRAPH_ID,
    HOSTILE_PIECES,
    analyse,
    header_for,
    parse,
    render_unchecked,
    sentinel_change_set,
    sentinel_header,
    shape_and_values,
    syntax_problems,
)
from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode

from auditor import resources
from auditor.model import (
    DEDICATED_APP_OVERRIDE_NAME,
    AuthServerChange,
    AuthServerProperty,
    ChangeKind,
    ChangeSet,
    PartnerApplicationChange,
    SettingOverrideChange,
    WebConfigChange,
)
from auditor.psquote import decode_ps_literal
from auditor.remediation import script_names
from auditor.render.ps1 import (
    TEMPLATES,
    ScriptHeader,
    backup_folder_name,
    render_change_set,
)
from auditor.render.ps1_collect import render_collect_script

RECIPE_PROFILES = (
    "S2SAppActAs|S2SAppOnly|V1AppActAs|V1AppOnly|Callback|V1S2SActAs|CallbackV2|V1S2SAppOnly"
)


class PowerShellSnapshot(SingleFileSnapshotExtension):
    file_extension = "ps1"
    _write_mode = WriteMode.BINARY


@pytest.fixture
def ps1_snapshot(snapshot):  # type: ignore[no-untyped-def]
    return snapshot.use_extension(PowerShellSnapshot)


# --- scenarios: change sets as the planner hands them over ------------------------------------
# Built directly (the planner is tested in test_ps1_remediation.py): what a script must do with
# a change does not depend on how the change was planned.

API_PATH = "FrontEnd\\HttpProxy\\Rest\\web.config"
REST_POOL = "MSExchangeRestFrontEndAppPool"
DEFAULT_API = "S2SAppActAs|S2SAppOnly|V1AppActAs|V1AppOnly|Callback|V1S2SActAs|CallbackV2"


def _partner(target: tuple[str, ...]) -> ChangeSet:
    return ChangeSet(
        ChangeKind.PARTNER_APPLICATIONS,
        "partner-applications",
        None,
        partner_applications=(
            PartnerApplicationChange(
                GRAPH_ID, "Microsoft Graph", GRAPH_ACT_AS, target, ("pa001-copy", "pa003-send")
            ),
        ),
    )


def _server(server: str, audited: str, target: str, **plan_item: tuple[str, ...]) -> ChangeSet:
    change = WebConfigChange(
        API,
        API_PATH,
        REST_POOL,
        f"{len(server):02d}" * 32,
        audited,
        target,
        (f"wc-{server}",),
        **plan_item,
    )
    return ChangeSet(
        ChangeKind.WEB_CONFIG_PROFILES,
        f"web-config-{server.lower()}",
        server,
        web_configs=(change,),
    )


def _recipe() -> tuple[ChangeSet, ...]:
    return (_partner(()),)


def _approved_mail_read() -> tuple[ChangeSet, ...]:
    return (_partner(("Mail.Read",)),)


def _two_servers() -> tuple[ChangeSet, ...]:
    return tuple(
        _server(server, RECIPE_PROFILES, DEFAULT_API, removes=("V1S2SAppOnly",))
        for server in ("EX01", "EX02")
    )


def _padded_removed() -> tuple[ChangeSet, ...]:
    # EX02's padded " V1S2SAppOnly" is dropped by Exchange; by default it is removed.
    return (
        _server("EX02", DEFAULT_API + "| V1S2SAppOnly", DEFAULT_API, removes=(" V1S2SAppOnly",)),
    )


def _approved_enables() -> tuple[ChangeSet, ...]:
    # With a policy that approves V1S2SAppOnly on the vdir: its own ENABLES plan item.
    return (
        _server(
            "EX02",
            DEFAULT_API + "| V1S2SAppOnly",
            DEFAULT_API + "|V1S2SAppOnly",
            removes=(" V1S2SAppOnly",),
            enables=("V1S2SAppOnly",),
        ),
    )


def _override(audited: tuple[str, ...] | None, **scope: Any) -> ChangeSet:
    change = SettingOverrideChange(
        DEDICATED_APP_OVERRIDE_NAME,
        audited,
        "auditor change CHG-2024-001: enable the dedicated Exchange hybrid app",
        ("ht001-missing",),
        "hybrid-trust:dedicated-app",
        **scope,
    )
    return ChangeSet(
        ChangeKind.DEDICATED_APP_OVERRIDE,
        "dedicated-app-override",
        None,
        setting_overrides=(change,),
    )


def _override_create() -> tuple[ChangeSet, ...]:
    return (_override(None),)


def _override_set() -> tuple[ChangeSet, ...]:
    # The override exists but says Enabled=false (HT003): set, and rolled back, verbatim.
    return (_override(("Enabled=false",)),)


def _override_scope() -> tuple[ChangeSet, ...]:
    # Disabled (HT003) and scoped (HT004): one call sets Enabled=true and clears the scope; the
    # rollback writes the audited Server list and MaxVersion back.
    scope = {"audited_servers": ("EX01", "ex02"), "audited_max_version": "15.2.1544.0"}
    return (_override(("Enabled=false",), clears_scope=True, **scope),)


TENANT = "6b1e4d2a-7c3f-4e59-9a1d-2f8e5c7b9a10"
DEDICATED_APP = "3c9d5e7f-1a2b-4c6d-8e0f-a1b2c3d4e5f6"
FIRST_PARTY_EXO = "00000002-0000-0ff1-ce00-000000000000"
_EVOSTS_APP = AuthServerChange(
    f"EvoSts - {TENANT}",
    "hybrid-trust:evosts",
    AuthServerProperty.APPLICATION_IDENTIFIER,
    "",
    DEDICATED_APP,
    TENANT,
    "exports/AuthServer.xml:2",
    ("ht007-first-party",),
)
_EVOSTS_DUPLICATE = AuthServerChange(
    "EvoSts - old",
    "auth-server:EvoSts - old",
    AuthServerProperty.ENABLED,
    "True",
    "False",
    TENANT,
    "exports/AuthServer.xml:48",
    ("ht008-duplicate",),
    f"EvoSts - {TENANT}",
    DEDICATED_APP,
)


def _evosts(*changes: AuthServerChange) -> ChangeSet:
    return ChangeSet(
        ChangeKind.EVOSTS_AUTH_SERVERS, "evosts-auth-servers", None, auth_servers=changes
    )


def _evosts_both() -> tuple[ChangeSet, ...]:
    # An empty ApplicationIdentifier (its rollback is the manual step) and a duplicate disabled.
    return (_evosts(_EVOSTS_APP, _EVOSTS_DUPLICATE),)


def _evosts_restorable() -> tuple[ChangeSet, ...]:
    return (_evosts(dataclasses.replace(_EVOSTS_APP, audited_value=FIRST_PARTY_EXO)),)


SCENARIOS: dict[str, Callable[[], tuple[ChangeSet, ...]]] = {
    "recipe": _recipe,
    "approved_mail_read": _approved_mail_read,
    "two_servers": _two_servers,
    "padded_removed": _padded_removed,
    "approved_enables": _approved_enables,
    "override_create": _override_create,
    "override_set": _override_set,
    "override_scope": _override_scope,
    "evosts_both": _evosts_both,
    "evosts_restorable": _evosts_restorable,
}


def scenario_scripts(name: str) -> list[tuple[str, str]]:
    """(package-relative script name, text) of every script a scenario produces."""
    scripts: list[tuple[str, str]] = []
    for change_set in SCENARIOS[name]():
        remediation, rollback = render_change_set(change_set, header_for(change_set))
        names = script_names(change_set)
        scripts += [(names[0], remediation), (names[1], rollback)]
    return scripts


ALL_SCRIPTS = [
    pytest.param(script_name, text, id=f"{scenario}:{script_name}")
    for scenario in SCENARIOS
    for script_name, text in scenario_scripts(scenario)
] + [pytest.param("collect.ps1", render_collect_script("0.1.0"), id="collect")]


def data_block(text: str) -> str:
    """The lines of a script that carry data: every top-level `$Auditor... = ...` assignment."""
    kept: list[str] = []
    inside = False
    for line in text.split("\r\n"):
        if inside:
            kept.append(line)
            inside = line not in (")", "}")
        elif line.startswith("$Auditor") and " = " in line:
            kept.append(line)
            inside = line.endswith(("@(", "@{"))
    return "\n".join(kept) + "\n"


@pytest.mark.parametrize("kind", list(ChangeKind))
def test_template_snapshots(kind: ChangeKind, ps1_snapshot) -> None:  # type: ignore[no-untyped-def]
    """One whole-script snapshot per template, rendered from the first scenario of its kind."""
    scenario = {
        ChangeKind.PARTNER_APPLICATIONS: "recipe",
        ChangeKind.WEB_CONFIG_PROFILES: "approved_enables",
        ChangeKind.DEDICATED_APP_OVERRIDE: "override_create",
        ChangeKind.EVOSTS_AUTH_SERVERS: "evosts_both",
    }[kind]
    (change_set,) = SCENARIOS[scenario]()
    remediation, rollback = render_change_set(change_set, header_for(change_set))
    assert remediation.encode("ascii") == ps1_snapshot(name=f"{kind.value}.remediation")
    assert rollback.encode("ascii") == ps1_snapshot(name=f"{kind.value}.rollback")


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_scenario_data_snapshots(scenario: str, snapshot) -> None:  # type: ignore[no-untyped-def]
    """Per scenario only what differs between scenarios: each script's data block."""
    blocks = {name: data_block(text) for name, text in scenario_scripts(scenario)}
    assert blocks == snapshot


def test_collect_snapshot(ps1_snapshot) -> None:  # type: ignore[no-untyped-def]
    assert render_collect_script("0.1.0").encode("ascii") == ps1_snapshot


def test_enablement_must_be_its_own_plan_item() -> None:
    (approved,) = _approved_enables()
    (change,) = approved.web_configs
    hidden = dataclasses.replace(change, enables=())
    with pytest.raises(ValueError, match="ENABLES"):
        render_change_set(
            dataclasses.replace(approved, web_configs=(hidden,)), header_for(approved)
        )
    # A repaired (trimmed, re-cased) token takes effect too: the same rule.
    repaired = dataclasses.replace(
        change,
        audited_value="S2SAppActAs| V1AppActAs",
        target_value="S2SAppActAs|V1AppActAs",
        enables=(),
    )
    with pytest.raises(ValueError, match="V1AppActAs"):
        render_change_set(
            dataclasses.replace(approved, web_configs=(repaired,)), header_for(approved)
        )
    remediation, _ = render_change_set(approved, header_for(approved))
    assert "Enables = [string[]] @('V1S2SAppOnly')" in remediation
    assert "Removes = [string[]] @(' V1S2SAppOnly')" in remediation


def test_every_change_kind_has_its_templates() -> None:
    folder = resources.templates_dir() / "ps1"
    assert set(TEMPLATES) == set(ChangeKind)
    for remediation, rollback in TEMPLATES.values():
        assert (folder / remediation).is_file()
        assert (folder / rollback).is_file()


# --- every generated script ---------------------------------------------------------------------


@pytest.mark.parametrize(("script_name", "text"), ALL_SCRIPTS)
def test_script_is_ascii_crlf_and_tidy(script_name: str, text: str) -> None:
    assert text.isascii()
    assert re.search(r"\r(?!\n)|(?<!\r)\n", text) is None, "bare CR or LF"
    assert text.endswith("\r\n") and not text.endswith("\r\n\r\n")
    assert re.search(r"[ \t]\r\n", text) is None, "trailing whitespace"
    assert "\t" not in text
    lines = text.split("\r\n")
    assert lines[0] == "#Requires -Version 5.1"
    # Comment-based help after the #Requires lines and one blank line (Get-Help finds it).
    help_start = lines.index("<#")
    assert all(line.startswith("#Requires ") for line in lines[: help_start - 1])
    assert lines[help_start - 1] == "" and lines[help_start + 1] == ".SYNOPSIS"
    assert "Set-StrictMode -Version 3.0" in lines
    assert "$ErrorActionPreference = 'Stop'" in lines
    if script_name != "collect.ps1":
        assert "[CmdletBinding(SupportsShouldProcess = $true, ConfirmImpact = 'High')]" in lines
        parameter = "    [string] $BackupDirectory = ''"
        assert {parameter, parameter + ","} & set(lines)


@pytest.mark.parametrize(("script_name", "text"), ALL_SCRIPTS)
def test_script_parses_without_error(script_name: str, text: str) -> None:
    assert syntax_problems(text) == []


# Node types and tokens that must never appear: PowerShell 7-only syntax and string forms that
# can hold data unsafely (tree-sitter-powershell names).
FORBIDDEN_NODE_TYPES = {
    "expandable_string_literal",
    "expandable_here_string_literal",
    "verbatim_here_string_characters",
    "&&",
    "||",
    "??",
    "??=",
    "?.",
    "?[",
    "?",
    "clean",
}
FORBIDDEN_COMMANDS = {"invoke-expression", "iex", "add-pssnapin", "write-host", "out-host"}
FORBIDDEN_PARAMETERS = {"-ashashtable", "-parallel", "-noenumerate"}


def _nodes(text: str) -> list[tuple[str, str]]:
    """(type, source text) of every node of the parse tree."""
    data = text.encode("ascii")
    found: list[tuple[str, str]] = []
    stack = [parse(text).root_node]
    while stack:
        node = stack.pop()
        found.append((node.type, data[node.start_byte : node.end_byte].decode("ascii")))
        stack.extend(node.children)
    return found


@pytest.mark.parametrize(("script_name", "text"), ALL_SCRIPTS)
def test_script_uses_only_windows_powershell_51_constructs(script_name: str, text: str) -> None:
    nodes = _nodes(text)
    assert {kind for kind, _ in nodes} & FORBIDDEN_NODE_TYPES == set()
    commands = {source.lower() for kind, source in nodes if kind == "command_name"}
    assert commands & FORBIDDEN_COMMANDS == set()
    parameters = {source.lower() for kind, source in nodes if kind == "command_parameter"}
    assert parameters & FORBIDDEN_PARAMETERS == set()
    assert "@'" not in text and '@"' not in text


EXCHANGE_AND_IIS_COMMANDS = {
    "get-partnerapplication",
    "set-partnerapplication",
    "get-exchangeserver",
    "restart-webapppool",
    # the hybrid OAuth trust, read by the collection script
    "get-authserver",
    "get-authconfig",
    "get-settingoverride",
    "get-hybridconfiguration",
    "get-intraorganizationconnector",
    "get-organizationrelationship",
    "get-organizationconfig",
    "get-exchangecertificate",
    "get-exchangediagnosticinfo",
}


@pytest.mark.parametrize(("script_name", "text"), ALL_SCRIPTS)
def test_every_exchange_and_iis_call_stops_on_error(script_name: str, text: str) -> None:
    data = text.encode("ascii")
    calls = 0
    stack = [parse(text).root_node]
    while stack:
        node = stack.pop()
        stack.extend(node.children)
        if node.type != "command":
            continue
        name = node.child_by_field_name("command_name") or node.children[0]
        if (
            data[name.start_byte : name.end_byte].decode("ascii").lower()
            in EXCHANGE_AND_IIS_COMMANDS
        ):
            calls += 1
            assert b"-ErrorAction Stop" in data[node.start_byte : node.end_byte]
    assert calls > 0


@pytest.mark.parametrize(("script_name", "text"), ALL_SCRIPTS)
def test_double_quotes_only_inside_single_quoted_constants(script_name: str, text: str) -> None:
    _, values = shape_and_values(text)
    stripped = text
    for value in sorted(set(values), key=len, reverse=True):
        stripped = stripped.replace(value, "VALUE")
    assert '"' not in stripped


@pytest.mark.parametrize(("script_name", "text"), ALL_SCRIPTS)
def test_comments_are_fixed_template_text(script_name: str, text: str) -> None:
    comments = [source for kind, source in _nodes(text) if kind == "comment"]
    for comment in comments:
        for data in ("CHG-2024-001", "Microsoft Graph", "EX01", "EX02", GRAPH_ID, "exports/"):
            assert data not in comment


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_shape_equals_sentinel_render(scenario: str) -> None:
    for change_set in SCENARIOS[scenario]():
        real = render_change_set(change_set, header_for(change_set))
        sentinel = render_unchecked(
            sentinel_change_set(change_set), sentinel_header(header_for(change_set))
        )
        for real_text, sentinel_text in zip(real, sentinel, strict=True):
            assert shape_and_values(real_text)[0] == shape_and_values(sentinel_text)[0]


def test_rendering_is_deterministic() -> None:
    for scenario in SCENARIOS:
        assert scenario_scripts(scenario) == scenario_scripts(scenario)
    assert render_collect_script("0.1.0") == render_collect_script("0.1.0")


# --- allow-lists --------------------------------------------------------------------------------

_PA = ChangeSet(
    ChangeKind.PARTNER_APPLICATIONS,
    "partner-applications",
    None,
    partner_applications=(
        PartnerApplicationChange(
            GRAPH_ID, "Microsoft Graph", ("Mail.Send",), ("Mail.Read",), ("f",)
        ),
    ),
)
_WC = ChangeSet(
    ChangeKind.WEB_CONFIG_PROFILES,
    "web-config-ex01",
    "EX01",
    web_configs=(
        WebConfigChange(
            API,
            "FrontEnd\\HttpProxy\\Rest\\web.config",
            "MSExchangeRestFrontEndAppPool",
            "11" * 32,
            RECIPE_PROFILES,
            "S2SAppActAs",
            ("f",),
        ),
    ),
)


def _with_app(**changes: object) -> ChangeSet:
    app = dataclasses.replace(_PA.partner_applications[0], **changes)  # type: ignore[arg-type]
    return dataclasses.replace(_PA, partner_applications=(app,))


def _with_file(**changes: object) -> ChangeSet:
    file = dataclasses.replace(_WC.web_configs[0], **changes)  # type: ignore[arg-type]
    return dataclasses.replace(_WC, web_configs=(file,))


@pytest.mark.parametrize(
    ("change_set", "message"),
    [
        (_with_app(application_identifier="Microsoft Graph"), "ApplicationIdentifier"),
        (_with_app(target_app_only=("Mail.Read'",)), "permission name"),
        (_with_file(target_value="S2SAppActAs| V1AppActAs"), "profile token"),
        (_with_file(relative_path="FrontEnd\\..\\web.config"), "path segment"),
        (_with_file(app_pool="Pool'"), "application pool"),
        (_with_file(audited_sha256="x" * 64), "SHA-256"),
        (dataclasses.replace(_PA, slug="Partner Apps"), "script slug"),
        (_evosts(dataclasses.replace(_EVOSTS_APP, name="EvoSts\nx")), "AuthServer name"),
        (_evosts(dataclasses.replace(_EVOSTS_APP, target_value="app")), "ApplicationIdentifier"),
        (_evosts(dataclasses.replace(_EVOSTS_APP, realm="contoso")), "AuthServer Realm"),
        (_evosts(dataclasses.replace(_EVOSTS_APP, audited_value="x\u2019")), "audited Applic"),
        (_evosts(dataclasses.replace(_EVOSTS_DUPLICATE, target_value="$false")), "Enabled"),
    ],
)
def test_values_written_to_exchange_are_allow_listed(change_set: ChangeSet, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        render_change_set(change_set, header_for(change_set))


def test_audited_values_and_names_are_free_text() -> None:
    change_set = _with_app(name="Graph'; Stop-Computer; '", audited_app_only=("Mail Send\u2019",))
    remediation, _ = render_change_set(change_set, header_for(change_set))
    assert "Name = 'Graph''; Stop-Computer; '''" in remediation


@pytest.mark.parametrize(
    ("change_id", "folder"),
    [
        ("CHG-2024-001", "CHG-2024-001"),
        ("AUDIT-20240501", "AUDIT-20240501"),
        ("CON", "con-change"),
        ("lpt1.txt", "lpt1-txt-"),
        ("..", "x-"),
        ("a/b", "a-b-"),
    ],
)
def test_backup_folder_name_is_safe(change_id: str, folder: str) -> None:
    name = backup_folder_name(change_id)
    assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name)
    assert name.startswith(folder)


# --- hostile values -----------------------------------------------------------------------------

hostile = st.lists(st.one_of(st.sampled_from(HOSTILE_PIECES), st.text(max_size=4)), max_size=6).map(
    "".join
)


@given(
    change_id=hostile,
    name=hostile,
    audited=st.lists(hostile, max_size=3),
    target=st.lists(hostile, max_size=3),
    policy_name=hostile,
    input_path=hostile,
)
@settings(max_examples=60, deadline=None, derandomize=True)
def test_hostile_partner_application_values_stay_literals(
    change_id: str,
    name: str,
    audited: list[str],
    target: list[str],
    policy_name: str,
    input_path: str,
) -> None:
    change_set = _with_app(
        name=name, audited_app_only=tuple(audited), target_app_only=tuple(target)
    )
    header = ScriptHeader(
        change_id,
        "0.1.0",
        policy_name,
        "ab" * 32,
        ((input_path, "cd" * 32),),
        ("PA001:f",),
        "9a" * 32,
    )
    _check_hostile_render(
        change_set, header, [change_id, name, *audited, *target, policy_name, input_path]
    )


@given(
    change_id=hostile,
    audited_value=hostile,
    target_value=hostile,
    server=hostile,
    vdir=hostile,
    finding_id=hostile,
)
@settings(max_examples=60, deadline=None, derandomize=True)
def test_hostile_web_config_values_stay_literals(
    change_id: str,
    audited_value: str,
    target_value: str,
    server: str,
    vdir: str,
    finding_id: str,
) -> None:
    change_set = dataclasses.replace(
        _with_file(audited_value=audited_value, target_value=target_value, vdir=vdir), server=server
    )
    header = ScriptHeader(change_id, "0.1.0", "default", "ab" * 32, (), (finding_id,), "9a" * 32)
    _check_hostile_render(
        change_set, header, [change_id, audited_value, target_value, server, vdir, finding_id]
    )


@given(name=hostile, audited=hostile, source=hostile, change_id=hostile)
@settings(max_examples=60, deadline=None, derandomize=True)
def test_hostile_auth_server_values_stay_literals(
    name: str, audited: str, source: str, change_id: str
) -> None:
    change_set = _evosts(
        dataclasses.replace(_EVOSTS_APP, name=name, audited_value=audited or "x", source=source),
        dataclasses.replace(_EVOSTS_DUPLICATE, name=name + "'$(d)", source=source),
    )
    header = dataclasses.replace(header_for(change_set), change_id=change_id)
    _check_hostile_render(change_set, header, [name, audited or "x", source, change_id])


@given(servers=st.lists(hostile, min_size=1, max_size=3), version=hostile, change_id=hostile)
@settings(max_examples=60, deadline=None, derandomize=True)
def test_hostile_override_scope_values_stay_literals(
    servers: list[str], version: str, change_id: str
) -> None:
    # Server names with quotes, $(), newlines: the planner refuses what it cannot write back,
    # the templates must keep anything as a literal all the same.
    change_set = _override(
        ("Enabled=false",),
        audited_servers=tuple(servers),
        audited_min_version=version or "x",
        clears_scope=True,
    )
    header = dataclasses.replace(header_for(change_set), change_id=change_id)
    _check_hostile_render(change_set, header, [*servers, version or "x", change_id])


def _check_hostile_render(change_set: ChangeSet, header: ScriptHeader, inputs: list[str]) -> None:
    texts = render_unchecked(change_set, header)
    sentinels = render_unchecked(sentinel_change_set(change_set), sentinel_header(header))
    decoded: set[str] = set()
    for text, sentinel in zip(texts, sentinels, strict=True):
        assert text.isascii()
        assert re.search(r"\r(?!\n)|(?<!\r)\n", text) is None
        analysis = analyse(text)
        assert analysis.problems == ()
        assert analysis.shape == analyse(sentinel).shape
        decoded.update(decode_ps_literal(value) for value in analysis.values)
    for value in inputs:
        assert value in decoded


def test_shape_check_catches_a_value_that_escapes_its_literal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The oracle itself: with quoting switched off, an injected value changes the shape.
    import auditor.render.ps1 as ps1

    hostile_name = "x'; Stop-Computer; '"
    change_set = _with_app(name=hostile_name)
    header = header_for(change_set)
    sentinel = render_unchecked(sentinel_change_set(change_set), sentinel_header(header))[0]
    monkeypatch.setattr(ps1, "ps_literal", lambda value: "'" + value + "'")
    broken = render_unchecked(change_set, header)[0]
    assert analyse(broken).shape != analyse(sentinel).shape
    monkeypatch.undo()
    fixed = render_unchecked(change_set, header)[0]
    assert analyse(fixed).shape == analyse(sentinel).shape
