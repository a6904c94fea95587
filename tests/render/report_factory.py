"""Hand-built `Report` values for renderer tests and benchmarks (test-only, no pytest import).

`recipe_report()` is the situation of DESIGN.md section 1 after the widely copied recipe ran: two
servers EX01/EX02, "Microsoft Graph" with AppOnlyPermissions equal to its 29 ActAsPermissions,
"Exchange Online" untouched, `V1S2SAppOnly` appended to the API vdir on both servers. The policy
waives the EX02 web.config finding (pilot server) and holds a second waiver that runs out within
30 days. `hostile_report()` is the same report with markup, script URLs, control characters and
very long strings in every value that comes from an input or a policy, plus incomplete evidence.
`large_report(n)` builds `n` findings over many servers for the HTML benchmark.

This is a plain module: `benchmarks/html_report.py` imports it by putting `tests/render` on
`sys.path`, and tests import it as `report_factory`.
"""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import date, timedelta
from fnmatch import fnmatchcase

from conftest import GRAPH_ACT_AS

from auditor.model import (
    ApplicationJudgement,
    ApplicationPolicy,
    AppSetting,
    ChangeKind,
    ChangeSet,
    Evidence,
    Finding,
    InputFormat,
    Inventory,
    Judgements,
    Location,
    NotApplied,
    OAuthProfiles,
    PartnerApplication,
    PartnerApplicationChange,
    PermissionJudgement,
    PermissionList,
    PermissionMark,
    Policy,
    PolicySource,
    Presence,
    Problem,
    ProblemCode,
    ProfilesJudgement,
    Report,
    RuleId,
    RuleInfo,
    Script,
    Severity,
    SourceFile,
    TokenAction,
    TokenJudgement,
    TokenMark,
    VdirPolicy,
    Waiver,
    WebConfig,
    WebConfigChange,
)
from auditor.scope import assess_scope

AS_OF = date(2025, 6, 30)
CHANGE_ID = "CHG0042137"
GRAPH_ID = "00000003-0000-0000-c000-000000000000"
EXO_ID = "00000002-0000-0ff1-ce00-000000000000"

# The real ActAsPermissions of "Microsoft Graph" (exchange-domain.md section 3.1), stored order.


FORBIDDEN_APP_ONLY: tuple[str, ...] = ("Mail.Send", "*.ReadWrite.All", "Privilege.*")
API_DEFAULT: tuple[str, ...] = (
    "S2SAppActAs",
    "S2SAppOnly",
    "V1AppActAs",
    "V1AppOnly",
    "Callback",
    "V1S2SActAs",
    "CallbackV2",
)
EWS_DEFAULT: tuple[str, ...] = ("S2SAppActAs", "S2SAppOnly", "V1AppActAs", "V1AppOnly", "Callback")
API_VDIR = "Default Web Site/API"
EWS_VDIR = "Default Web Site/EWS"

_DOCS = "https://learn.microsoft.com/powershell/module/exchangepowershell"
_REST_BLOG = (
    "https://techcommunity.microsoft.com/t5/exchange-team-blog/"
    "on-premises-architectural-requirements-for-the-rest-api/ba-p/605609"
)

# id, title, severity, rationale, references, remediation template
_RULES: tuple[tuple[str, str, Severity, str, tuple[str, ...], str | None], ...] = (
    (
        "EV001",
        "Evidence a rule needs is incomplete",
        Severity.HIGH,
        "A truncated list (Format-List '...', ConvertTo-Json depth, CSV type names) hides values;"
        " the rule is not evaluated on guesses. Re-export with the collection script.",
        (f"{_DOCS}/get-partnerapplication",),
        None,
    ),
    (
        "EV002",
        "An input cannot be read or was refused",
        Severity.HIGH,
        "An unreadable or hostile input is not evidence; the audit cannot vouch for what it holds.",
        (),
        None,
    ),
    (
        "PA001",
        "AppOnlyPermissions are a wholesale copy of ActAsPermissions",
        Severity.CRITICAL,
        "Copying every delegated permission to app-only lets any holder of the application's"
        " credentials act on every on-premises mailbox; Exchange on-premises has no application"
        " access policies or RBAC for Applications to scope it.",
        (f"{_DOCS}/set-partnerapplication", _REST_BLOG),
        "partner-application-app-only",
    ),
    (
        "PA002",
        "AppOnlyPermissions hold permissions the policy does not approve",
        Severity.HIGH,
        "App-only grants apply to every mailbox; only permissions the change board approved for"
        " this application may be granted.",
        (f"{_DOCS}/set-partnerapplication",),
        "partner-application-app-only",
    ),
    (
        "PA003",
        "AppOnlyPermissions hold a forbidden permission",
        Severity.CRITICAL,
        "Mail.Send, *.ReadWrite.All and Privilege.* grant organisation-wide write or bypass"
        " rights to an unattended credential.",
        (
            f"{_DOCS}/set-partnerapplication",
            "https://learn.microsoft.com/graph/permissions-reference",
        ),
        "partner-application-app-only",
    ),
    (
        "PA004",
        "AppOnlyPermissions hold a name that is not among ActAsPermissions",
        Severity.MEDIUM,
        "A name outside the delegated set was added by hand and is unexplained.",
        (),
        "partner-application-app-only",
    ),
    (
        "PA005",
        "Unknown partner application",
        Severity.MEDIUM,
        "A partner application the policy does not know was created outside the reviewed baseline.",
        (f"{_DOCS}/get-partnerapplication",),
        None,
    ),
    (
        "WC001",
        "V1S2SAppOnly is enabled while no app-only access is approved",
        Severity.HIGH,
        "The profile accepts app-only tokens on the REST vdir. Microsoft blocks hybrid REST since"
        " March 2023, so a leftover profile is pure exposure.",
        (_REST_BLOG,),
        "web-config-profiles",
    ),
    (
        "WC002",
        "A profile token Exchange will silently drop",
        Severity.MEDIUM,
        "Exchange splits OAuthHttpModule.Profiles on '|' without trimming and drops unknown or"
        " mis-cased tokens; the file does not do what it appears to do.",
        (),
        "web-config-profiles",
    ),
    (
        "WC003",
        "An appSettings key is added more than once",
        Severity.MEDIUM,
        "The last add wins; earlier values mislead a reviewer reading the file.",
        (),
        None,
    ),
    (
        "FL001",
        "Servers disagree on OAuth profiles for the same vdir",
        Severity.MEDIUM,
        "Cumulative updates overwrite web.config files; drift between servers means a change was"
        " made by hand on some of them or an update was not applied everywhere.",
        (),
        None,
    ),
    (
        "WV001",
        "A waiver has expired or is malformed",
        Severity.MEDIUM,
        "An expired or malformed waiver no longer suppresses anything; renew it or fix the"
        " finding.",
        (),
        None,
    ),
)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _rules() -> tuple[RuleInfo, ...]:
    return tuple(
        RuleInfo(
            id=RuleId(rule_id),
            title=title,
            severity=severity,
            rationale=rationale,
            references=references,
            remediation=remediation,
        )
        for rule_id, title, severity, rationale, references, remediation in _RULES
    )


def _crlf(lines: list[str]) -> str:
    return "\r\n".join(lines) + "\r\n"


def _remediation_text(change_id: str, policy_sha: str, input_sha: str) -> str:
    permissions = ", ".join(f"'{name}'" for name in GRAPH_ACT_AS)
    return _crlf(
        [
            "#Requires -Version 5.1",
            "<#",
            ".SYNOPSIS",
            "    Remediation: set AppOnlyPermissions of partner applications to the approved set.",
            ".NOTES",
            f"    Change id  : {change_id}",
            "    Findings   : PA001, PA002, PA003",
            f"    Policy     : {policy_sha}",
            f"    Input      : {input_sha}",
            "    Generated by auditor 0.1.0. Review before running; run in the Exchange",
            "    Management Shell on a server of the organisation.",
            "#>",
            "[CmdletBinding(SupportsShouldProcess = $true, ConfirmImpact = 'High')]",
            "param(",
            "    [string] $BackupFolder = (Join-Path -Path $PWD -ChildPath 'auditor-backup')",
            ")",
            "Set-StrictMode -Version 3.0",
            "$ErrorActionPreference = 'Stop'",
            "",
            "$null = New-Item -ItemType Directory -Path $BackupFolder -Force",
            "Start-Transcript -Path (Join-Path -Path $BackupFolder -ChildPath 'remediation.log')",
            "try {",
            "    $command = Get-Command 'Set-PartnerApplication' -ErrorAction SilentlyContinue",
            "    if ($null -eq $command) {",
            "        throw 'Exchange cmdlets are not loaded: run this in the Exchange shell.'",
            "    }",
            "    $parameters = (Get-Command -Name 'Set-PartnerApplication').Parameters",
            "    if (-not $parameters.ContainsKey('AppOnlyPermissions')) {",
            "        throw 'Set-PartnerApplication has no AppOnlyPermissions parameter here.'",
            "    }",
            "",
            f"    $applicationId = '{GRAPH_ID}'",
            f"    $audited = @({permissions})",
            "    $target = @()",
            "    $app = Get-PartnerApplication -ErrorAction Stop |",
            "        Where-Object { $_.ApplicationIdentifier -eq $applicationId }",
            "    if ($null -eq $app) { throw ('No partner application ' + $applicationId) }",
            "    $live = @($app.AppOnlyPermissions)",
            "    if ($live.Count -eq 0) {",
            "        Write-Output 'Already compliant: AppOnlyPermissions is empty.'",
            "        return",
            "    }",
            "    if (Compare-Object $audited $live -SyncWindow 0) {",
            "        throw 'Drift: the live AppOnlyPermissions differ from the audited export.'",
            "    }",
            "    $app | Export-Clixml -Path (Join-Path -Path $BackupFolder -ChildPath 'graph.xml')",
            "    if ($PSCmdlet.ShouldProcess($app.Name, 'Set AppOnlyPermissions')) {",
            "        Set-PartnerApplication -Identity $app.Identity -AppOnlyPermissions $target"
            " -ErrorAction Stop",
            "        $after = Get-PartnerApplication -Identity $app.Identity -ErrorAction Stop",
            "        if (@($after.AppOnlyPermissions).Count -ne $target.Count) {",
            "            throw 'Verification failed: AppOnlyPermissions were not changed.'",
            "        }",
            "        Write-Output 'AppOnlyPermissions set to the approved (empty) set.'",
            "    }",
            "}",
            "finally {",
            "    Stop-Transcript",
            "}",
        ]
    )


def _rollback_text(change_id: str) -> str:
    return _crlf(
        [
            "#Requires -Version 5.1",
            "<#",
            ".SYNOPSIS",
            "    Rollback: restore AppOnlyPermissions from the backup the remediation wrote.",
            ".NOTES",
            f"    Change id  : {change_id}",
            "#>",
            "[CmdletBinding(SupportsShouldProcess = $true, ConfirmImpact = 'High')]",
            "param(",
            "    [string] $BackupFolder = (Join-Path -Path $PWD -ChildPath 'auditor-backup')",
            ")",
            "Set-StrictMode -Version 3.0",
            "$ErrorActionPreference = 'Stop'",
            "",
            "$backupFile = Join-Path -Path $BackupFolder -ChildPath 'graph.xml'",
            "if (-not (Test-Path -LiteralPath $backupFile)) { throw 'No backup found.' }",
            "$backup = Import-Clixml -LiteralPath $backupFile",
            f"$applicationId = '{GRAPH_ID}'",
            "$app = Get-PartnerApplication -ErrorAction Stop |",
            "    Where-Object { $_.ApplicationIdentifier -eq $applicationId }",
            "if ($PSCmdlet.ShouldProcess($app.Name, 'Restore AppOnlyPermissions from backup')) {",
            "    Set-PartnerApplication -Identity $app.Identity `",
            "        -AppOnlyPermissions @($backup.AppOnlyPermissions) -ErrorAction Stop",
            "    Write-Output 'AppOnlyPermissions restored from the backup.'",
            "}",
        ]
    )


def _script(name: str, kind: str, content: str, fixes: tuple[str, ...], pair: str) -> Script:
    return Script(
        name=name,
        kind=kind,
        content=content,
        sha256=_sha(content),
        fixes=fixes,
        pair=pair,
    )


def _web_config(
    server: str,
    vdir: str,
    relative: str,
    tokens: tuple[str, ...],
) -> WebConfig:
    path = f"exports/{server}/{relative}"
    raw_value = "|".join(tokens)
    text = f'<add key="OAuthHttpModule.Profiles" value="{raw_value}" />'
    sha = _sha(f"{path}\n{raw_value}")
    evidence = Evidence(path=path, line=42, raw=text, sha256=sha, format=InputFormat.WEB_CONFIG)
    return WebConfig(
        server=server,
        vdir=vdir,
        path=path,
        sha256=sha,
        app_settings=(
            AppSetting(key="OAuthHttpModule.Profiles", value=raw_value, line=42, raw=text),
            AppSetting(
                key="OAuthHttpModule.V1AppScopes",
                value="*",
                line=43,
                raw='<add key="OAuthHttpModule.V1AppScopes" value="*" />',
            ),
        ),
        oauth_profiles=OAuthProfiles(raw=raw_value, tokens=tokens, line=42, evidence=evidence),
    )


def _finding(
    policy: Policy,
    rule_id: str,
    subject: str,
    message: str,
    evidence: tuple[Evidence, ...],
    remediation: str | None,
    details: dict[str, object] | None = None,
) -> Finding:
    info = policy.rule(rule_id)
    first = evidence[0]
    return Finding(
        rule_id=rule_id,
        severity=info.severity,
        title=info.title,
        message=message,
        subject=subject,
        location=Location(path=first.path, line=first.line),
        evidence=evidence,
        fingerprint=_sha(f"{rule_id}\n{subject}\n{message}")[:32],
        details=dict(details or {}),
        remediation=remediation,
    )


# --- judgements as the rules make them (test data: the renderer must only display these) ------


def judge_application(
    app: PartnerApplication, policy: Policy, change: PartnerApplicationChange | None
) -> ApplicationJudgement:
    """The judgement of one application, made the way the rules make it (case-insensitive
    patterns), so that renderer tests have realistic judgements to display."""
    approval = policy.application(app.application_identifier)
    approved = approval.approved_app_only if approval else ()
    act_as, app_only = app.act_as_permissions, app.app_only_permissions
    after_values = change.target_app_only if change else app_only.values
    permissions = []
    for name in dict.fromkeys((*act_as.values, *app_only.values, *approved)):
        in_act_as = _presence(name, act_as.values, act_as.complete)
        in_app_only = _presence(name, app_only.values, app_only.complete)
        forbidden_by = next(
            (p for p in policy.forbidden_app_only if fnmatchcase(name.lower(), p.lower())), None
        )
        marks: list[PermissionMark] = []
        if in_app_only is Presence.YES:
            if forbidden_by:
                marks.append(PermissionMark.FORBIDDEN)
            if name not in approved:
                marks.append(PermissionMark.EXCESS)
            if in_act_as is Presence.NO:
                marks.append(PermissionMark.NOT_IN_ACT_AS)
            if not marks:
                marks.append(PermissionMark.APPROVED)
        elif in_app_only is Presence.NO and name in approved:
            marks.append(PermissionMark.NOT_GRANTED)
        if not app_only.complete:
            after = Presence.UNKNOWN
        else:
            after = Presence.YES if name in after_values else Presence.NO
        permissions.append(
            PermissionJudgement(
                name=name,
                act_as=in_act_as,
                app_only=in_app_only,
                approved=name in approved,
                forbidden_by=forbidden_by if in_app_only is Presence.YES else None,
                marks=tuple(marks),
                after=after,
            )
        )
    return ApplicationJudgement(
        subject=app.subject,
        application_identifier=app.application_identifier.lower(),
        name=app.name,
        known=approval is not None,
        judged=app_only.complete,
        approved=approved,
        permissions=tuple(permissions),
        target_app_only=change.target_app_only if change else None,
    )


def _presence(name: str, values: tuple[str, ...], complete: bool) -> Presence:
    if name in values:
        return Presence.YES
    return Presence.NO if complete else Presence.UNKNOWN


def judge_profiles(
    config: WebConfig, policy: Policy, change: WebConfigChange | None
) -> ProfilesJudgement:
    """The judgement of one Profiles value, made the way the rules make it."""
    vdir = policy.vdir(config.vdir)
    default = vdir.default_profiles if vdir else None
    allowed = set(vdir.allowed_profiles) if vdir else set()
    forbidden = {t.lower() for t in policy.forbidden_profiles_everywhere}
    if vdir:
        forbidden |= {t.lower() for t in vdir.forbidden_profiles}
    known = {t.lower(): t for t in (*policy.known_profile_tokens, *(default or ()))}
    profiles = config.oauth_profiles
    tokens = []
    for segment in profiles.tokens if profiles else ():
        canonical = known.get(segment.strip().lower())
        marks: list[TokenMark] = []
        drop_kind = None
        if segment in known.values():
            marks.append(TokenMark.HONOURED)
        else:
            marks.append(TokenMark.DROPPED)
            if not segment:
                drop_kind = "empty"
            elif segment != segment.strip():
                drop_kind = "whitespace"
            elif canonical:
                drop_kind = "case"
            else:
                drop_kind = "unknown"
                marks.append(TokenMark.UNKNOWN_TOKEN)
        if segment.strip().lower() in forbidden and segment.strip().lower() not in {
            a.lower() for a in allowed
        }:
            marks.insert(0, TokenMark.FORBIDDEN)
        if TokenMark.HONOURED in marks and default is not None and segment not in default:
            marks.append(TokenMark.ADDED)
        action = TokenAction.KEEP
        if change and segment in change.removes:
            action = TokenAction.REMOVE
        elif change and canonical in change.enables and segment != canonical:
            action = TokenAction.ENABLE
        tokens.append(TokenJudgement(segment, canonical, tuple(marks), drop_kind, action))
    honoured = {t.segment for t in tokens if TokenMark.HONOURED in t.marks}
    return ProfilesJudgement(
        subject=config.subject,
        server=config.server,
        vdir=config.vdir,
        path=config.path,
        line=profiles.line if profiles else None,
        raw=profiles.raw if profiles else None,
        tokens=tuple(tokens),
        default=default,
        missing_default=tuple(t for t in default or () if t not in honoured),
        target=change.target_value if change else None,
    )


def with_judgements(report: Report) -> Report:
    """`report` with the judgements its inventory, policy and plan call for."""
    app_changes = {
        change.application_identifier.lower(): change
        for change_set in report.change_sets
        for change in change_set.partner_applications
    }
    config_changes = {
        (change_set.server, change.vdir): change
        for change_set in report.change_sets
        for change in change_set.web_configs
    }
    scope, _ = assess_scope(report.inventory, report.policy)
    return dataclasses.replace(
        report,
        scope=scope,
        judgements=Judgements(
            applications=tuple(
                judge_application(
                    app, report.policy, app_changes.get(app.application_identifier.lower())
                )
                for app in report.inventory.partner_applications
            ),
            profiles=tuple(
                judge_profiles(
                    config, report.policy, config_changes.get((config.server, config.vdir))
                )
                for config in report.inventory.web_configs
            ),
        ),
    )


def recipe_report() -> Report:
    """The recipe scenario: Graph app-only = its 29 ActAs permissions, V1S2SAppOnly on API."""
    as_of = AS_OF
    export_path = "exports/partner-applications.xml"
    export_sha = _sha("partner-applications export")

    def evidence(line: int, raw: str) -> Evidence:
        return Evidence(
            path=export_path, line=line, raw=raw, sha256=export_sha, format=InputFormat.CLIXML
        )

    act_as_raw = (
        '<Obj N="ActAsPermissions" RefId="7"><TNRef RefId="1" /><LST>'
        + "".join(f"<S>{name}</S>" for name in GRAPH_ACT_AS)
        + "</LST></Obj>"
    )
    app_only_raw = act_as_raw.replace("ActAsPermissions", "AppOnlyPermissions").replace(
        'RefId="7"', 'RefId="8"'
    )
    graph = PartnerApplication(
        name="Microsoft Graph",
        application_identifier=GRAPH_ID,
        enabled=True,
        act_as_permissions=PermissionList(GRAPH_ACT_AS, True, evidence(61, act_as_raw)),
        app_only_permissions=PermissionList(GRAPH_ACT_AS, True, evidence(92, app_only_raw)),
        linked_account=None,
        server="EX01",
        source=evidence(
            40, '<Obj RefId="5"><TNRef RefId="0" /><ToString>Microsoft Graph</ToString>'
        ),
    )
    exo = PartnerApplication(
        name="Exchange Online",
        application_identifier=EXO_ID,
        enabled=True,
        act_as_permissions=PermissionList((), True, evidence(23, '<Nil N="ActAsPermissions" />')),
        app_only_permissions=PermissionList(
            (), True, evidence(22, '<Nil N="AppOnlyPermissions" />')
        ),
        linked_account="contoso.lab/Users/Exchange Online-ApplicationAccount",
        server="EX01",
        source=evidence(3, '<Obj RefId="0"><TN RefId="0">'),
    )

    api_path = "FrontEnd/HttpProxy/Rest/web.config"
    ews_path = "FrontEnd/HttpProxy/EWS/web.config"
    web_configs = (
        _web_config("EX01", API_VDIR, api_path, (*API_DEFAULT, "V1S2SAppOnly")),
        _web_config("EX01", EWS_VDIR, ews_path, EWS_DEFAULT),
        _web_config("EX02", API_VDIR, api_path, (*API_DEFAULT, "V1S2SAppOnly")),
        _web_config("EX02", EWS_VDIR, ews_path, EWS_DEFAULT[:-1]),
    )
    inputs = (
        SourceFile(path=export_path, sha256=export_sha, format=InputFormat.CLIXML),
        *(
            SourceFile(path=config.path, sha256=config.sha256, format=InputFormat.WEB_CONFIG)
            for config in web_configs
        ),
    )

    wc_waiver = Waiver(
        rule="WC001",
        subject=f"web-config:EX02:{API_VDIR}",
        reason="EX02 is the pilot server for the Graph migration; profile removed after cut-over.",
        ticket="RISK-1187",
        owner="Dana Whitfield (Messaging)",
        approver="Priya Raman (CISO office)",
        expires=as_of + timedelta(days=75),
        line=88,
    )
    soon_waiver = Waiver(
        rule="PA005",
        subject="partner-application:7557eb47-c689-4224-abcf-aef9bd7573df",
        reason="TeamsScheduler kept disabled until the Teams integration review.",
        ticket="RISK-1203",
        owner="Tomás Ortega (Collaboration)",
        approver="Priya Raman (CISO office)",
        expires=as_of + timedelta(days=12),
        line=96,
    )
    policy = Policy(
        name="contoso-exchange on default",
        sha256=_sha("policy: contoso-exchange"),
        sources=("default", "contoso-exchange.yaml"),
        source_files=(
            PolicySource("default", _sha("policy file: default")),
            PolicySource("contoso-exchange.yaml", _sha("policy file: contoso-exchange")),
        ),
        rules=_rules(),
        applications=(
            ApplicationPolicy(application_identifier=GRAPH_ID, name="Microsoft Graph"),
            ApplicationPolicy(application_identifier=EXO_ID, name="Exchange Online"),
        ),
        forbidden_app_only=FORBIDDEN_APP_ONLY,
        known_profile_tokens=(
            *API_DEFAULT,
            "V1S2SAppOnly",
            "V1IdToken",
            "V1ExchangeSelfIssuedActAs",
        ),
        vdirs=(
            VdirPolicy(
                vdir=API_VDIR,
                default_profiles=API_DEFAULT,
                allowed_profiles=API_DEFAULT,
                forbidden_profiles=("V1S2SAppOnly",),
            ),
            VdirPolicy(vdir=EWS_VDIR, default_profiles=EWS_DEFAULT, allowed_profiles=EWS_DEFAULT),
        ),
        waivers=(wc_waiver, soon_waiver),
    )

    partner_script = "remediation/partner-applications.ps1"
    partner_rollback = "rollback/partner-applications.ps1"
    web_script = "remediation/web-config-ex01.ps1"
    forbidden = (
        "Mail.Send",
        "Sites.ReadWrite.All",
        "User.ReadWrite.All",
        "Group.ReadWrite.All",
        "Privilege.SkipClientAccessRules",
    )
    app_only_evidence = (graph.app_only_permissions.evidence, graph.act_as_permissions.evidence)
    findings = [
        _finding(
            policy,
            "PA001",
            graph.subject,
            "AppOnlyPermissions of 'Microsoft Graph' equal its 29 ActAsPermissions.",
            app_only_evidence,
            partner_script,
            {"count": len(GRAPH_ACT_AS)},
        ),
        _finding(
            policy,
            "PA003",
            graph.subject,
            "AppOnlyPermissions of 'Microsoft Graph' hold 5 forbidden permissions: "
            + ", ".join(forbidden)
            + ".",
            (graph.app_only_permissions.evidence,),
            partner_script,
            {"forbidden": list(forbidden)},
        ),
        _finding(
            policy,
            "PA002",
            graph.subject,
            "AppOnlyPermissions of 'Microsoft Graph' hold 29 permissions;"
            " the policy approves none.",
            (graph.app_only_permissions.evidence,),
            partner_script,
            {"excess": list(GRAPH_ACT_AS)},
        ),
    ]
    for config in web_configs:
        if config.oauth_profiles and "V1S2SAppOnly" in config.oauth_profiles.tokens:
            findings.append(
                _finding(
                    policy,
                    "WC001",
                    config.subject,
                    f"V1S2SAppOnly is enabled on {config.server} {config.vdir}; no app-only access"
                    " is approved.",
                    (config.oauth_profiles.evidence,),
                    web_script if config.server == "EX01" else None,
                )
            )
    ews = [config for config in web_configs if config.vdir == EWS_VDIR]
    findings.append(
        _finding(
            policy,
            "FL001",
            f"vdir:{EWS_VDIR}",
            "EX02 lacks 'Callback' in OAuthHttpModule.Profiles of Default Web Site/EWS;"
            " EX01 has it.",
            tuple(config.oauth_profiles.evidence for config in ews if config.oauth_profiles),
            None,
        )
    )
    findings = [
        dataclasses.replace(finding, suppressed=True, waiver=wc_waiver)
        if finding.rule_id == wc_waiver.rule and finding.subject == wc_waiver.subject
        else finding
        for finding in findings
    ]

    partner_fixes = tuple(f.fingerprint for f in findings if f.remediation == partner_script)
    web_fixes = tuple(f.fingerprint for f in findings if f.remediation == web_script)
    remediation = _remediation_text(CHANGE_ID, policy.sha256, export_sha)
    web_remediation = _crlf(
        [
            "#Requires -Version 5.1",
            f"# Change id: {CHANGE_ID}; finding WC001; server EX01",
            "[CmdletBinding(SupportsShouldProcess = $true, ConfirmImpact = 'High')]",
            "param()",
            "Set-StrictMode -Version 3.0",
            "$ErrorActionPreference = 'Stop'",
            "$file = Join-Path -Path $env:ExchangeInstallPath -ChildPath"
            " 'FrontEnd\\HttpProxy\\Rest\\web.config'",
            f"$audited = '{'|'.join((*API_DEFAULT, 'V1S2SAppOnly'))}'",
            f"$target = '{'|'.join(API_DEFAULT)}'",
            "$xml = New-Object -TypeName System.Xml.XmlDocument",
            "$xml.PreserveWhitespace = $true",
            "$xml.Load($file)",
            "$node = $xml.SelectSingleNode("
            "'/configuration/appSettings/add[@key=\"OAuthHttpModule.Profiles\"]')",
            "if ($node.value -ne $audited) { throw 'Drift: the live value differs.' }",
            "if ($PSCmdlet.ShouldProcess($file, 'Remove V1S2SAppOnly')) {",
            "    Copy-Item -LiteralPath $file -Destination ($file + '.auditor-backup')",
            "    $node.value = $target",
            "    $xml.Save($file)",
            "    Restart-WebAppPool -Name 'MSExchangeRestFrontEndAppPool'",
            "}",
        ]
    )
    web_rollback = _crlf(
        [
            "#Requires -Version 5.1",
            f"# Change id: {CHANGE_ID}; rollback of remediation/web-config-ex01.ps1",
            "[CmdletBinding(SupportsShouldProcess = $true, ConfirmImpact = 'High')]",
            "param()",
            "$ErrorActionPreference = 'Stop'",
            "$file = Join-Path -Path $env:ExchangeInstallPath -ChildPath"
            " 'FrontEnd\\HttpProxy\\Rest\\web.config'",
            "if ($PSCmdlet.ShouldProcess($file, 'Restore from backup')) {",
            "    Copy-Item -LiteralPath ($file + '.auditor-backup') -Destination $file -Force",
            "    Restart-WebAppPool -Name 'MSExchangeRestFrontEndAppPool'",
            "}",
        ]
    )
    scripts = (
        _script(partner_script, "remediation", remediation, partner_fixes, partner_rollback),
        _script(partner_rollback, "rollback", _rollback_text(CHANGE_ID), (), partner_script),
        _script(
            web_script, "remediation", web_remediation, web_fixes, "rollback/web-config-ex01.ps1"
        ),
        _script("rollback/web-config-ex01.ps1", "rollback", web_rollback, (), web_script),
    )
    change_sets = (
        ChangeSet(
            kind=ChangeKind.PARTNER_APPLICATIONS,
            slug="partner-applications",
            server=None,
            partner_applications=(
                PartnerApplicationChange(
                    application_identifier=GRAPH_ID,
                    name="Microsoft Graph",
                    audited_app_only=GRAPH_ACT_AS,
                    target_app_only=(),
                    fixes=partner_fixes,
                ),
            ),
        ),
        ChangeSet(
            kind=ChangeKind.WEB_CONFIG_PROFILES,
            slug="web-config-ex01",
            server="EX01",
            web_configs=(
                WebConfigChange(
                    vdir=API_VDIR,
                    relative_path="FrontEnd\\HttpProxy\\Rest\\web.config",
                    app_pool="MSExchangeRestFrontEndAppPool",
                    audited_sha256=web_configs[0].sha256,
                    audited_value="|".join((*API_DEFAULT, "V1S2SAppOnly")),
                    target_value="|".join(API_DEFAULT),
                    fixes=web_fixes,
                    removes=("V1S2SAppOnly",),
                ),
            ),
        ),
    )
    report = Report(
        tool_version="0.1.0",
        as_of=AS_OF,
        change_id=CHANGE_ID,
        fail_on=Severity.HIGH,
        policy=policy,
        inventory=Inventory(
            inputs=inputs,
            partner_applications=(exo, graph),
            web_configs=web_configs,
            problems=(),
        ),
        findings=tuple(findings),
        not_applied=(),
        change_sets=change_sets,
        scripts=scripts,
        complete=True,
    )
    return with_judgements(report)


# --- hostile variant ---------------------------------------------------------------------------

XSS = "<script>alert(1)</script>"
IMG = '"><img src=x onerror="window.__pwned=1;alert(1)">'
SVG = "<svg onload=window.__pwned=2>"
JS_URL = "javascript:window.__pwned=3"
STYLE_BREAK = "</style><script>window.__pwned=4</script>"
QUOTES = 'it\'s "quoted" ‘curly’ “double” `tick`'
NON_ASCII = "Ünïcödé 名前 Ελληνικά \u202eRTL-override\u202c"
CONTROL = "NUL\x00CR\rESC\x1b[31mBEL\x07"
LONG = "Very" + "Long" * 400 + "Value"
HOSTILE = f"{XSS}{IMG}{SVG} {QUOTES} {NON_ASCII} {CONTROL} {STYLE_BREAK}"


def _hostile_text(text: str) -> str:
    return f"{text} {HOSTILE}"


def hostile_report() -> Report:
    """The recipe report with hostile text in every value that comes from input or policy.

    Also carries incomplete evidence (a truncated AppOnly list), an input problem and a rule
    that was not applied, so the report is INCOMPLETE.
    """
    base = recipe_report()

    def evidence(item: Evidence) -> Evidence:
        return dataclasses.replace(
            item, path=_hostile_text(item.path), raw=_hostile_text(item.raw) + LONG
        )

    apps = []
    for app in base.inventory.partner_applications:
        act_as = app.act_as_permissions
        app_only = app.app_only_permissions
        apps.append(
            dataclasses.replace(
                app,
                name=_hostile_text(app.name),
                linked_account=JS_URL,
                server=IMG,
                act_as_permissions=dataclasses.replace(
                    act_as,
                    values=(*act_as.values, XSS, IMG),
                    evidence=evidence(act_as.evidence),
                ),
                app_only_permissions=dataclasses.replace(
                    app_only,
                    values=(*app_only.values[:4], STYLE_BREAK, LONG),
                    complete=False,
                    evidence=evidence(app_only.evidence),
                ),
                source=evidence(app.source),
            )
        )
    web_configs = []
    for config in base.inventory.web_configs:
        profiles = config.oauth_profiles
        assert profiles is not None
        web_configs.append(
            dataclasses.replace(
                config,
                server=_hostile_text(config.server),
                path=_hostile_text(config.path),
                oauth_profiles=dataclasses.replace(
                    profiles,
                    tokens=(*profiles.tokens, " V1AppOnly", "", XSS, IMG, CONTROL),
                    evidence=evidence(profiles.evidence),
                ),
            )
        )
    inputs = tuple(
        dataclasses.replace(source, path=_hostile_text(source.path))
        for source in base.inventory.inputs
    )
    problem = Problem(
        code=ProblemCode.INCOMPLETE_EVIDENCE,
        message=_hostile_text("AppOnlyPermissions ends in '...': the list was truncated."),
        path=_hostile_text("exports/partner-applications.txt"),
        line=17,
        subject=_hostile_text("partner-application"),
    )

    def waiver(item: Waiver) -> Waiver:
        return dataclasses.replace(
            item,
            reason=_hostile_text(item.reason),
            ticket=JS_URL,
            owner=_hostile_text(item.owner),
            approver=IMG,
            subject=_hostile_text(item.subject),
        )

    rules = tuple(
        dataclasses.replace(
            info,
            title=_hostile_text(info.title),
            rationale=_hostile_text(info.rationale),
            references=(*info.references, JS_URL, f"https://example.invalid/{XSS}", LONG),
        )
        for info in base.policy.rules
    )
    policy = dataclasses.replace(
        base.policy,
        name=_hostile_text(base.policy.name),
        sources=tuple(_hostile_text(source) for source in base.policy.sources),
        source_files=tuple(
            dataclasses.replace(source, name=_hostile_text(source.name))
            for source in base.policy.source_files
        ),
        rules=rules,
        waivers=tuple(waiver(item) for item in base.policy.waivers),
        applications=(
            *base.policy.applications,
            ApplicationPolicy(
                application_identifier=GRAPH_ID, name=XSS, approved_app_only=(XSS, "Mail.Read")
            ),
        ),
    )
    findings = tuple(
        dataclasses.replace(
            finding,
            title=_hostile_text(finding.title),
            message=_hostile_text(finding.message) + LONG,
            subject=_hostile_text(finding.subject),
            location=Location(path=_hostile_text(finding.location.path), line=None),
            evidence=tuple(evidence(item) for item in finding.evidence),
            waiver=waiver(finding.waiver) if finding.waiver else None,
            remediation=(
                _hostile_text(finding.remediation)
                if finding.rule_id == "PA002"
                else finding.remediation
            ),
        )
        for finding in base.findings
    )
    ev001 = Finding(
        rule_id="EV001",
        severity=Severity.HIGH,
        title=_hostile_text("Evidence incomplete"),
        message=problem.message,
        subject=_hostile_text("partner-application"),
        location=Location(path=problem.path, line=17),
        evidence=(
            Evidence(
                path=problem.path,
                line=17,
                raw=_hostile_text("AppOnlyPermissions : {Mail.Read, Mail.Write, Mail.Send...}"),
                sha256="0" * 64,
                format=InputFormat.FORMAT_LIST,
            ),
        ),
        fingerprint="ev001" + "0" * 27,
    )
    scripts = tuple(
        dataclasses.replace(
            script,
            content=script.content + f"# {HOSTILE}\r\n'{XSS}' | Out-Null\r\n",
            fixes=(*script.fixes, IMG),
            pair=_hostile_text(script.pair or ""),
        )
        for script in base.scripts
    )
    hostile = dataclasses.replace(
        base,
        change_id=_hostile_text(base.change_id),
        tool_version=IMG,
        policy=policy,
        inventory=Inventory(
            inputs=inputs,
            partner_applications=tuple(apps),
            web_configs=tuple(web_configs),
            problems=(problem,),
        ),
        findings=(*findings, ev001),
        not_applied=(
            NotApplied(rule_id="PA001", reason=_hostile_text("AppOnlyPermissions incomplete")),
        ),
        scripts=scripts,
        complete=False,
    )
    return with_judgements(hostile)


# --- large report for the benchmark ------------------------------------------------------------

_LARGE_RULES = ("PA002", "WC001", "WC002", "WC003", "FL001", "PA004", "PA005", "EV001")


def large_report(finding_count: int = 5000) -> Report:
    """The recipe report grown to `finding_count` findings spread over many servers and rules."""
    base = recipe_report()
    policy = base.policy
    servers = max(1, finding_count // 20)
    web_configs = list(base.inventory.web_configs)
    for index in range(servers):
        server = f"EXS{index:04d}"
        web_configs.append(
            _web_config(
                server,
                API_VDIR,
                "FrontEnd/HttpProxy/Rest/web.config",
                (*API_DEFAULT, "V1S2SAppOnly") if index % 3 == 0 else API_DEFAULT,
            )
        )
        web_configs.append(
            _web_config(server, EWS_VDIR, "FrontEnd/HttpProxy/EWS/web.config", EWS_DEFAULT)
        )
    extra: list[Finding] = []
    for index in range(finding_count - len(base.findings)):
        config = web_configs[4 + 2 * (index % servers)]
        assert config.oauth_profiles is not None
        rule_id = _LARGE_RULES[index % len(_LARGE_RULES)]
        extra.append(
            _finding(
                policy,
                rule_id,
                f"{config.subject}:{index}",
                f"Finding {index} of rule {rule_id} on {config.server} {config.vdir}.",
                (config.oauth_profiles.evidence,),
                "remediation/web-config-ex01.ps1" if rule_id.startswith("WC") else None,
            )
        )
    inputs = tuple(
        SourceFile(path=config.path, sha256=config.sha256, format=InputFormat.WEB_CONFIG)
        for config in web_configs
    )
    return with_judgements(
        dataclasses.replace(
            base,
            inventory=dataclasses.replace(
                base.inventory,
                inputs=(base.inventory.inputs[0], *inputs),
                web_configs=tuple(web_configs),
            ),
            findings=(*base.findings, *extra),
        )
    )
