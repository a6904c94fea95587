"""The scripts under test and the worlds they run in, for tests/pwsh.

Scripts come from the script author's public API only: `auditor.render.ps1.render_change_set`
(with change sets built from model classes, or planned by `auditor.audit.run_audit` from the
bundled example exports) and `render_collect_script`. `render` honours the test-only variable
`AUDITOR_TEST_PS1_TEMPLATES`: when set, the templates are read from that folder instead of
`templates/ps1` (used to prove that the suite catches a broken template; see README.md here).

web.config material: the real front-end files of the CSS-Exchange HealthChecker test data
(`DefaultWebSite-*_web.config` with an `OAuthHttpModule.Profiles` key), into which
`inject_profile` appends `|V1S2SAppOnly` as bytes, and this folder's own fixtures.
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import hashlib
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import harness
from conftest import GRAPH_ACT_AS, allow_lists_off

from auditor import layout
from auditor.model import (
    DEDICATED_APP_OVERRIDE_NAME,
    AuthServerChange,
    AuthServerProperty,
    ChangeKind,
    ChangeSet,
    Inventory,
    PartnerApplicationChange,
    Report,
    SettingOverrideChange,
    WebConfigChange,
)
from auditor.render import ps1, ps1_collect

TEMPLATES_OVERRIDE_VARIABLE = "AUDITOR_TEST_PS1_TEMPLATES"
FIXTURES = harness.PWSH_TESTS / "fixtures"
EXAMPLES = harness.PROJECT_ROOT / "auditor" / "examples"
PROFILES_KEY = b"OAuthHttpModule.Profiles"
APP_ONLY_TOKEN = "V1S2SAppOnly"

HEADER = ps1.ScriptHeader(
    change_id="CHG-2024-0042",
    tool_version="0.1.0",
    policy_name="default",
    policy_sha256="a" * 64,
    input_hashes=(("exports/EX01/PartnerApplication.xml", "b" * 64),),
    finding_ids=("PA001:" + "c" * 64, "PA003:" + "d" * 64),
    package_id="e" * 64,
)

# Microsoft Graph with the recipe's wholesale copy (29 delegated permissions, as in DESIGN.md),
# a line-of-business app whose policy approves one permission, and an app the change leaves alone.
GRAPH_PERMISSIONS = GRAPH_ACT_AS
HR_APP_ID = "6f1d2c3b-4a5e-4f60-8a7b-9c0d1e2f3a4b"
HR_AUDITED = ("Calendars.Read", "Mail.Read", "User.Read.All")
HR_TARGET = ("Calendars.Read",)

PARTNER_CHANGE_SET = ChangeSet(
    kind=ChangeKind.PARTNER_APPLICATIONS,
    slug="partner-applications",
    server=None,
    partner_applications=(
        PartnerApplicationChange(
            application_identifier=harness.GRAPH_APP_ID,
            name="Microsoft Graph",
            audited_app_only=GRAPH_PERMISSIONS,
            target_app_only=(),
            fixes=("c" * 64,),
        ),
        PartnerApplicationChange(
            application_identifier=HR_APP_ID,
            name="Contoso HR Sync",
            audited_app_only=HR_AUDITED,
            target_app_only=HR_TARGET,
            fixes=("d" * 64,),
        ),
    ),
)

# The dedicated hybrid app's override: created (the exports held none), or set from Enabled=false.
OVERRIDE_REASON = "auditor change CHG-2024-0042: enable the dedicated Exchange hybrid app"


def override_change_set(
    audited: tuple[str, ...] | None = None,
    servers: tuple[str, ...] | None = None,
    min_version: str | None = None,
    max_version: str | None = None,
) -> ChangeSet:
    """The change set that creates the override (`audited` None) or sets it from `audited`;
    with an audited scope (`servers`, versions) it clears that scope (HT004)."""
    scoped = servers is not None or min_version is not None or max_version is not None
    change = SettingOverrideChange(
        name=DEDICATED_APP_OVERRIDE_NAME,
        audited_parameters=audited,
        reason=OVERRIDE_REASON,
        fixes=("f" * 64,),
        subject="hybrid-trust:dedicated-app",
        audited_servers=servers,
        audited_min_version=min_version,
        audited_max_version=max_version,
        clears_scope=scoped,
    )
    return ChangeSet(
        kind=ChangeKind.DEDICATED_APP_OVERRIDE,
        slug="dedicated-app-override",
        server=None,
        setting_overrides=(change,),
    )


def override_state(
    parameters: list[str] | None = None,
    scope: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """Stand-in state with an unrelated override, the dedicated one when `parameters` is given
    (scoped by `scope`: Server, MinVersion, MaxVersion), and the diagnostic endpoint of this
    computer available."""
    overrides: list[dict[str, Any]] = [
        {
            "Name": "Contoso Mailbox Tweak",
            "ComponentName": "MailboxAssistants",
            "SectionName": "ElcAssistant",
            "Parameters": ["Enabled=false"],
            "Status": "Accepted",
        }
    ]
    if parameters is not None:
        overrides.append(
            {
                "Name": DEDICATED_APP_OVERRIDE_NAME,
                "ComponentName": "Global",
                "SectionName": "ExchangeOnpremAsThirdPartyAppId",
                "Parameters": parameters,
                "Server": None,
                "MinVersion": None,
                "MaxVersion": None,
                "Status": "Accepted",
                **(scope or {}),
            }
        )
    state = harness.default_state()
    state["setting_overrides"] = overrides
    state["variant_overrides"] = {"EX01": "<Diagnostics/>"}
    state.update(extra)
    return state


# The tenant's EvoSTS AuthServers: the one pointed at the dedicated app (from `audited`, HT007)
# and a duplicate disabled (HT008); names carry quotes and a subexpression on purpose.
TENANT = "6b1e4d2a-7c3f-4e59-9a1d-2f8e5c7b9a10"
DEDICATED_APP = "3c9d5e7f-1a2b-4c6d-8e0f-a1b2c3d4e5f6"
EVOSTS_NAME = "EvoSts - " + TENANT
# The duplicate is of a second tenant, whose valid EvoSTS (KEPT_NAME) the change keeps.
SECOND_TENANT = "2c4e6a8b-1d3f-4a5c-9e7b-0f2d4c6a8e1b"
SECOND_APP = "5e7a9c1b-3d5f-4b7d-8f1a-2c4e6a8b0d3f"
KEPT_NAME = "EvoSts - " + SECOND_TENANT
DUPLICATE_NAME = "EvoSts - old 'HCW' $(Stop-Computer)"


def auth_server_change_set(audited: str = "", *, duplicate: bool = True) -> ChangeSet:
    """The change set that sets the EvoSTS's ApplicationIdentifier from `audited` to the
    dedicated app, and (with `duplicate`) disables the duplicate EvoSTS."""
    changes = [
        AuthServerChange(
            name=EVOSTS_NAME,
            subject="hybrid-trust:evosts",
            setting=AuthServerProperty.APPLICATION_IDENTIFIER,
            audited_value=audited,
            target_value=DEDICATED_APP,
            realm=TENANT,
            source="exports/AuthServer.xml:2",
            fixes=("7" * 64,),
        )
    ]
    if duplicate:
        changes.append(
            AuthServerChange(
                name=DUPLICATE_NAME,
                subject=f"auth-server:{DUPLICATE_NAME}",
                setting=AuthServerProperty.ENABLED,
                audited_value="True",
                target_value="False",
                realm=SECOND_TENANT,
                source="exports/AuthServer.xml:48",
                fixes=("8" * 64,),
                kept_name=KEPT_NAME,
                kept_application_identifier=SECOND_APP,
            )
        )
    return ChangeSet(
        kind=ChangeKind.EVOSTS_AUTH_SERVERS,
        slug="evosts-auth-servers",
        server=None,
        auth_servers=tuple(changes),
    )


def auth_server_state(application_identifier: str | None = "", **extra: Any) -> dict[str, Any]:
    """Stand-in state with the tenant's EvoSTS (its ApplicationIdentifier as given), the
    second tenant's valid EvoSTS and its duplicate (enabled), and the ACS AuthServer the
    scripts must not touch."""

    def server(name: str, app: str | None, realm: str, kind: str = "AzureAD") -> dict[str, Any]:
        return {
            "Name": name,
            "Type": kind,
            "Enabled": True,
            "Realm": realm,
            "ApplicationIdentifier": app,
        }

    state = harness.default_state()
    state["auth_servers"] = [
        server(EVOSTS_NAME, application_identifier, TENANT),
        server(KEPT_NAME, SECOND_APP, SECOND_TENANT),
        server(DUPLICATE_NAME, "00000002-0000-0ff1-ce00-000000000000", SECOND_TENANT),
        server("ACS - " + TENANT, None, TENANT, "MicrosoftACS"),
    ]
    state.update(extra)
    return state


def partner_state(**overrides: Any) -> dict[str, Any]:
    """Stand-in state for PARTNER_CHANGE_SET as audited, plus an application it must not touch.

    `overrides` maps an ApplicationIdentifier to replacement AppOnlyPermissions (drift).
    """
    applications = [
        {
            "Name": "Microsoft Graph",
            "ApplicationIdentifier": harness.GRAPH_APP_ID,
            "ActAsPermissions": list(GRAPH_PERMISSIONS),
            "AppOnlyPermissions": list(GRAPH_PERMISSIONS),
            "LinkedAccount": None,
            "Enabled": True,
        },
        {
            "Name": "Exchange Online",
            "ApplicationIdentifier": harness.EXCHANGE_ONLINE_APP_ID,
            "ActAsPermissions": None,
            "AppOnlyPermissions": ["Mail.Read"],
            "LinkedAccount": "contoso.com/Users/Exchange Online-ApplicationAccount",
            "Enabled": True,
        },
        {
            "Name": "Contoso HR Sync",
            "ApplicationIdentifier": HR_APP_ID,
            "ActAsPermissions": ["Calendars.Read", "Mail.Read", "User.Read.All"],
            "AppOnlyPermissions": list(HR_AUDITED),
            "LinkedAccount": None,
            "Enabled": True,
        },
    ]
    for application in applications:
        key = application["ApplicationIdentifier"]
        if key in overrides:
            application["AppOnlyPermissions"] = overrides[key]
    return harness.default_state(applications)


# --- rendering --------------------------------------------------------------------------------


@contextlib.contextmanager
def _templates_override() -> Iterator[None]:
    folder = os.environ.get(TEMPLATES_OVERRIDE_VARIABLE)
    if not folder:
        yield
        return
    import jinja2

    saved = ps1._environment
    ps1._environment = ps1.environment().overlay(loader=jinja2.FileSystemLoader(folder))
    try:
        yield
    finally:
        ps1._environment = saved


def render(
    change_set: ChangeSet, header: ps1.ScriptHeader = HEADER, *, allow_lists: bool = True
) -> tuple[str, str]:
    """(remediation, rollback) texts from the script author's renderer; `allow_lists=False`
    pushes hostile values through the quoting alone (`conftest.allow_lists_off`)."""
    checks = contextlib.nullcontext() if allow_lists else allow_lists_off()
    with _templates_override(), checks:
        return ps1.render_change_set(change_set, header)


def render_collect(tool_version: str = "0.1.0") -> str:
    with _templates_override():
        return ps1_collect.render_collect_script(tool_version)


def write_script(folder: Path, name: str, text: str) -> Path:
    """Write a rendered script byte for byte (it is ASCII with CRLF already)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(text.encode("ascii"))
    return path


def write_pair(folder: Path, change_set: ChangeSet) -> tuple[Path, Path]:
    """Render `change_set` and write its remediation.ps1 and rollback.ps1 into `folder`."""
    remediation_text, rollback_text = render(change_set)
    return (
        write_script(folder, "remediation.ps1", remediation_text),
        write_script(folder, "rollback.ps1", rollback_text),
    )


@functools.cache
def example_report() -> Report:
    """The audit of the bundled example exports, exactly as `auditor audit` makes it."""
    from auditor.audit import AuditRequest, run_audit

    with _templates_override():
        return run_audit(
            AuditRequest(
                paths=(EXAMPLES,), as_of=datetime.date(2025, 1, 15), change_id="CHG-EXAMPLE-1"
            )
        )


@functools.cache
def enabling_report() -> Report:
    """The example exports under the least-privilege example policy once its waiver expired:
    a partner change keeping app-only Mail.Read and an ENABLES change on EX02 (issue 22)."""
    from auditor.audit import AuditRequest, run_audit

    policy = harness.PROJECT_ROOT / "policies" / "examples" / "approve-graph-mail-read.yaml"
    with _templates_override():
        return run_audit(
            AuditRequest(paths=(EXAMPLES,), policy_paths=(policy,), as_of=datetime.date(2026, 7, 1))
        )


def state_from_inventory(inventory: Inventory) -> dict[str, Any]:
    """A stand-in state holding the inventory's partner applications as they were exported."""
    applications = []
    for app in inventory.partner_applications:
        applications.append(
            {
                "Name": app.name,
                "ApplicationIdentifier": app.application_identifier,
                "ActAsPermissions": list(app.act_as_permissions.values) or None,
                "AppOnlyPermissions": list(app.app_only_permissions.values) or None,
                "LinkedAccount": app.linked_account,
                "Enabled": True if app.enabled is None else app.enabled,
            }
        )
    return harness.default_state(applications)


# --- web.config material ----------------------------------------------------------------------

_ADD_TAG = re.compile(rb"<add\b(?:[^>\"']|\"[^\"]*\"|'[^']*')*>")
_ATTRIBUTE = re.compile(rb"\s([^\s=/>]+)\s*=\s*(\"[^\"]*\"|'[^']*')")


def profiles_value_span(data: bytes) -> tuple[int, int]:
    """Byte span of the value of the one `add` tag whose key is OAuthHttpModule.Profiles.

    Comments are blanked first, so a key inside a comment does not count. Raises when there is
    not exactly one such tag (the test then cannot say which bytes may change).
    """
    blanked = re.sub(rb"<!--.*?-->", lambda m: b" " * len(m.group(0)), data, flags=re.S)
    spans = []
    for tag in _ADD_TAG.finditer(blanked):
        key = None
        value_span = None
        for attribute in _ATTRIBUTE.finditer(tag.group(0)):
            name, quoted = attribute.group(1), attribute.group(2)
            if name == b"key":
                key = quoted[1:-1]
            if name == b"value":
                start = tag.start() + attribute.start(2) + 1
                value_span = (start, start + len(quoted) - 2)
        if key == PROFILES_KEY and value_span is not None:
            spans.append(value_span)
    if len(spans) != 1:
        raise ValueError(f"expected one OAuthHttpModule.Profiles value, found {len(spans)}")
    return spans[0]


def inject_profile(original: bytes, token: str = APP_ONLY_TOKEN) -> bytes:
    """`original` with `|<token>` appended to the Profiles value; every other byte identical."""
    _start, end = profiles_value_span(original)
    return original[:end] + b"|" + token.encode("ascii") + original[end:]


def profiles_value(data: bytes) -> str:
    start, end = profiles_value_span(data)
    return data[start:end].decode("utf-8")


@dataclass(frozen=True, slots=True)
class WebConfigCase:
    """One web.config for a server change set: where it goes, audited bytes, original bytes."""

    label: str
    vdir: str
    relative_path: str
    app_pool: str | None
    original: bytes  # what the file held before the recipe (the remediation's target)
    audited: bytes  # what the audit saw: the original with V1S2SAppOnly injected

    def change(self) -> WebConfigChange:
        return WebConfigChange(
            vdir=self.vdir,
            relative_path=self.relative_path,
            app_pool=self.app_pool,
            audited_sha256=hashlib.sha256(self.audited).hexdigest(),
            audited_value=profiles_value(self.audited),
            target_value=profiles_value(self.original),
            fixes=(hashlib.sha256(self.label.encode()).hexdigest(),),
        )


def vdir_for_healthchecker_name(file_name: str) -> layout.Vdir:
    """The layout table entry of a HealthChecker `<Site>-<VDir>_web.config` file name."""
    stem = file_name.removesuffix("_web.config")
    for vdir in layout.VDIRS:
        if stem.lower() in (name.lower() for name in vdir.healthchecker_names):
            return vdir
    raise KeyError(file_name)


def css_exchange_cases(version: str) -> list[WebConfigCase]:
    """Every front-end web.config of one CSS-Exchange server folder (E16, E19) with Profiles."""
    folder = harness.PROJECT_ROOT.parent / "shared" / "reference" / "css-exchange" / version / "IIS"
    cases = []
    for path in sorted(folder.glob("DefaultWebSite-*_web.config")):
        original = path.read_bytes()
        if PROFILES_KEY not in original:
            continue
        cases.append(
            _case(f"{version}/{path.name}", vdir_for_healthchecker_name(path.name), original)
        )
    return cases


def _case(label: str, vdir: layout.Vdir, original: bytes) -> WebConfigCase:
    """The case of one shipped web.config: as audited, it carries the injected V1S2SAppOnly."""
    assert vdir.install_path is not None
    return WebConfigCase(
        label=label,
        vdir=vdir.id,
        relative_path=vdir.install_path,
        app_pool=vdir.app_pool,
        original=original,
        audited=inject_profile(original),
    )


def fixture_cases() -> list[WebConfigCase]:
    """This folder's own web.config fixtures (CRLF without BOM, single quotes, comments...)."""
    cases = []
    for path, vdir_id in (
        (FIXTURES / "rest-crlf-no-bom.config", "Default Web Site/API"),
        (FIXTURES / "ews-single-quoted.config", "Default Web Site/EWS"),
    ):
        cases.append(_case(f"fixtures/{path.name}", layout.vdir_by_id(vdir_id), path.read_bytes()))
    return cases


def web_config_change_set(server: str, cases: Sequence[WebConfigCase]) -> ChangeSet:
    return ChangeSet(
        kind=ChangeKind.WEB_CONFIG_PROFILES,
        slug=f"web-config-{layout.safe_slug(server)}",
        server=server,
        web_configs=tuple(case.change() for case in cases),
    )


def lay_out(standin: harness.StandIn, files: Mapping[str, bytes]) -> None:
    """Place each (relative path -> bytes) below the stand-in's ExchangeInstallPath."""
    for relative_path, content in files.items():
        standin.place(relative_path, content)


def read_installed(standin: harness.StandIn, relative_paths: Sequence[str]) -> dict[str, bytes]:
    return {path: standin.install_file(path).read_bytes() for path in relative_paths}
