"""The runbook-only steps told from the plan: Microsoft's commands an operator runs by hand.

`manual_story(report, value)` turns `Report.manual_steps` (decided by the planner,
`auditor.remediation_manual`) into what RUNBOOK.md, the report's runbook and its plan table
print for each step, labelled M1, M2, ... in run order: what it answers, where and when it runs,
the exact command lines and where they come from, what it changes, how to prove it landed, and
its back-out, or why there is none (the key reset: re-adding the key recreates CVE-2025-53786).
Nothing here is written once for every package: a step appears only when its findings (or a
cloud rule left unassessed) are in the report, and names the servers, builds, floors and
certificates of this audit. Values from the exports pass through `value` (Markdown escaping for
RUNBOOK.md, plain text for the HTML report); thumbprints and GUIDs were checked by the planner.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from auditor.model import ManualKind, ManualStep, Report
from auditor.render.cloud_export import (
    FIRST_PARTY_APP_ID,
    GRAPH_REST_BY_ID,
    GRAPH_REST_LIST,
    GRAPH_SDK,
    GUID_PLACEHOLDER,
    SCUBAGEAR,
    SCUBAGEAR_COPY,
    pipeline,
)

_Value = Callable[[str | None], str]

CSS_EXCHANGE = "https://github.com/microsoft/CSS-Exchange/blob/main/docs"
CONFIGURE_DOCS = f"{CSS_EXCHANGE}/Hybrid/ConfigureExchangeHybridApplication.md"
MONITOR_DOCS = f"{CSS_EXCHANGE}/Admin/MonitorExchangeAuthCertificate.md"
SET_AUTHCONFIG_DOCS = "https://learn.microsoft.com/powershell/module/exchange/set-authconfig"
DEDICATED_APP_DOCS = (
    "https://learn.microsoft.com/exchange/hybrid-deployment/deploy-dedicated-hybrid-app"
)
NO_SCRIPT = "no generated script"
CONFIGURE_SOURCE = (
    f"ConfigureExchangeHybridApplication.ps1 of microsoft/CSS-Exchange ({CONFIGURE_DOCS})"
)
_GRAPH_HOST = (
    "in an elevated Windows PowerShell 5.1 session on a machine with outbound access to "
    "Microsoft Graph, signed in to Entra ID"
)


@dataclass(frozen=True, slots=True)
class ManualText:
    """One runbook-only step as every output prints it."""

    label: str  # M1, M2, ... in run order
    kind: ManualKind
    title: str
    rules: tuple[str, ...]
    fixes: tuple[str, ...]  # fingerprints of the findings it answers
    target: str  # what it changes, for the plan table
    place: str  # where, in a few words (the plan table's Where)
    where: str  # the host and session, as a sentence part
    when: str
    commands: tuple[str, ...]
    alternatives: tuple[str, ...]
    source: str
    effect: str  # what changes, one or more sentences
    restart: str  # what restarts, for the plan table
    proof: str
    back_out: str  # the back-out, or why there is none

    @property
    def line(self) -> str:
        """The runbook's line of this step."""
        run = "; then ".join(f"`{command}`" for command in self.commands)
        text = (
            f"{self.label}. {self.title} ({', '.join(self.rules)}; {NO_SCRIPT}): {self.where}. "
            f"When: {self.when}. "
        )
        if run:
            text += f"Run: {run}. "
        if self.alternatives:
            text += "Or: " + "; ".join(f"`{alt}`" for alt in self.alternatives) + ". "
        return (
            text + f"Source: {self.source}. {self.effect} Proof: {self.proof} "
            f"Back-out: {self.back_out}"
        )


def manual_story(
    report: Report, value: _Value, *, changes_only: bool = False
) -> tuple[ManualText, ...]:
    """The package's runbook-only steps, labelled in run order (`changes_only`: those that
    change something, the proposed change's rows; a cloud export only completes the evidence)."""
    scripts = bool(report.change_sets)
    steps = report.manual_changes if changes_only else report.manual_steps
    return tuple(_TELLERS[step.kind](step.label, step, value, scripts) for step in steps)


def _when(step: ManualStep, scripts: bool, extra: str = "") -> str:
    if not scripts:
        base = "in the order listed"
    elif step.before_scripts:
        base = "before step 1 (the generated scripts)"
    else:
        base = "after the last generated script"
    return f"{base}; {extra}" if extra else base


def _build(label: str, step: ManualStep, value: _Value, scripts: bool) -> ManualText:
    names = ", ".join(value(server.server) for server in step.servers)
    parts = []
    for server in step.servers:
        if server.build is None:
            parts.append(
                f"{value(server.server)}: no ExSetup version was read, so its hotfix level is "
                "not known; take ExSetup.xml on it with the collection script (`auditor "
                "collect`) before deciding"
            )
        else:
            parts.append(
                f"{value(server.server)}: ExSetup {value(server.build)}, below the floor "
                f"{value(server.required)} ({value(server.build_line)})"
            )
    return ManualText(
        label,
        step.kind,
        "Update the Exchange build of each server named",
        step.rules,
        step.fixes,
        target=names,
        place="each server named, one at a time",
        where=f"on each server named ({names}), one at a time",
        when=_when(step, scripts),
        commands=(),
        alternatives=(),
        source=(
            "the build table of Microsoft Learn, Deploy dedicated Exchange hybrid app "
            f"({DEDICATED_APP_DOCS}), as HT101 applies it"
        ),
        effect=(
            "Install the current Cumulative Update and then the latest Hotfix or Security Update "
            "for it (Microsoft's Exchange Update Wizard lists them); a server that cannot reach "
            "a supported build (Exchange 2013, 2016 before CU23, 2019 before CU14) is "
            "disconnected (CISA ED 25-02). " + "; ".join(parts) + "."
        ),
        restart="the server's Exchange services, while the update installs",
        proof=(
            "on each server `(Get-Command ExSetup).FileVersionInfo` shows a FileVersion at or "
            "above its floor; collect and audit again: HT101 no longer fires."
        ),
        back_out=(
            "none in this package: an update is not generated by auditor and is not rolled "
            "back by it; the server stays on the build it had until the update is installed."
        ),
    )


def _certificate(label: str, step: ManualStep, value: _Value, scripts: bool) -> ManualText:
    servers = ", ".join(value(server.server) for server in step.servers)
    thumbprints = ", ".join(step.thumbprints) or "(none set)"
    effect = (
        f"Answers {', '.join(step.rules)} about the auth certificate {thumbprints}: "
        "MonitorExchangeAuthCertificate.ps1 decides the action and performs it (a new "
        "certificate when the current one is invalid or expires within 60 days, a new next one "
        "when the next expires within 120 days, an import where a server lacks it)."
    )
    if servers:
        effect += f" Servers without the certificate: {servers}."
    if len(step.commands) > 1:
        effect += (
            " The organisation is (or may be) hybrid: -IgnoreHybridConfig $true lets it act, and "
            "the renewed certificate must then be uploaded to the dedicated hybrid app (the "
            "second command), or Exchange Online stops accepting the servers' tokens."
        )
    if step.rollback:
        back_out = (
            f"`{step.rollback_commands[0]}` makes the previous certificate current again, only "
            "while it is valid and present on every server; then upload it again "
            "(-UpdateCertificate)."
        )
    else:
        back_out = (
            "none: the current auth certificate has expired or is not set, so there is no "
            "valid certificate to go back to."
        )
    return ManualText(
        label,
        step.kind,
        "Renew or deploy the Exchange auth certificate",
        step.rules,
        step.fixes,
        target="AuthConfig and the auth certificate" + (f" ({servers})" if servers else ""),
        place="organisation (AuthConfig), each Client Access server",
        where=(
            "in an elevated Exchange Management Shell on a Mailbox server, as a member of "
            "Organization Management"
        ),
        when=_when(step, scripts),
        commands=step.commands,
        alternatives=step.alternatives,
        source=(
            f"MonitorExchangeAuthCertificate.ps1 of microsoft/CSS-Exchange ({MONITOR_DOCS}); "
            f"the alternative is Set-AuthConfig's documented sequence ({SET_AUTHCONFIG_DOCS})"
        ),
        effect=effect,
        restart=(
            "MSExchangeServiceHost, MSExchangeOWAAppPool and MSExchangeECPAppPool when the "
            "active certificate is replaced"
        ),
        proof=(
            "`.\\MonitorExchangeAuthCertificate.ps1` without parameters (validation only) shows "
            f"no renewal action; collect and audit again: {' and '.join(step.rules)} no longer "
            "fire."
        ),
        back_out=back_out,
    )


def _dedicated_app(label: str, step: ManualStep, value: _Value, scripts: bool) -> ManualText:
    creates = "-CustomAppId" not in step.commands[0]
    missing = "HT001" in step.rules
    if creates:
        effect = (
            "Creates the app ExchangeServerApp-<organisation Guid> in Entra ID with Office 365 "
            "Exchange Online's full_access_as_app application permission, which needs "
            "tenant-wide admin consent (the script warns without it and will not enable the "
            "dedicated app), uploads the current (and next) auth certificate to it, and sets "
            "the EvoSTS AuthServer's ApplicationIdentifier to its id (it overwrites the "
            "AuthServer's DomainName)"
        )
        where = (
            "in an elevated Exchange Management Shell (Windows PowerShell 5.1) on an Exchange "
            "server with outbound access to Microsoft Graph, signed in to Entra ID with an "
            "account that may create applications and grant tenant-wide admin consent"
        )
    else:
        effect = (
            "Sets the EvoSTS AuthServer's ApplicationIdentifier to the policy's application id "
            "without any Graph call (the script does not check that the id is right); check in "
            "Entra ID that the app holds admin consent for full_access_as_app"
        )
        where = "in an elevated Exchange Management Shell on an Exchange server"
    if missing:
        effect += (
            ", and creates the EnableExchangeHybrid3PAppFeature setting override that enables "
            "the dedicated app."
        )
    else:
        effect += "."
    return ManualText(
        label,
        step.kind,
        "Create the dedicated Exchange hybrid app and point the EvoSTS AuthServer at it"
        if creates
        else "Point the EvoSTS AuthServer at the dedicated Exchange hybrid app",
        step.rules,
        step.fixes,
        target="ExchangeServerApp-<Guid> (Entra ID) and the EvoSTS AuthServer",
        place="Entra ID and the organisation",
        where=where,
        when=_when(step, scripts),
        commands=step.commands,
        alternatives=step.alternatives,
        source=CONFIGURE_SOURCE,
        effect=effect,
        restart="none (Exchange applies the override within an hour)",
        proof=(
            "collect and audit again: "
            + " and ".join(step.rules)
            + " no longer fire and the EvoSTS AuthServer names the app's id."
        ),
        back_out=(
            "no generated back-out: `.\\ConfigureExchangeHybridApplication.ps1 "
            "-DeleteApplication` deletes only the Entra app and leaves the AuthServer and the "
            "override as they are, which Microsoft warns can lead to a broken hybrid state."
        ),
    )


def _upload(label: str, step: ManualStep, value: _Value, scripts: bool) -> ManualText:
    thumbprints = ", ".join(step.thumbprints) or "the current auth certificate"
    return ManualText(
        label,
        step.kind,
        "Upload the auth certificate to the dedicated hybrid app",
        step.rules,
        step.fixes,
        target="ExchangeServerApp-<Guid> key credentials (Entra ID)",
        place="Entra ID (cloud)",
        where=(
            "in an elevated Exchange Management Shell (Windows PowerShell 5.1) on an Exchange "
            "server that holds the auth certificate, with outbound access to Microsoft Graph, "
            "signed in to Entra ID"
        ),
        when=_when(step, scripts, "after the auth certificate step, if there is one"),
        commands=step.commands,
        alternatives=(),
        source=CONFIGURE_SOURCE,
        effect=(
            f"Adds {thumbprints} (and the next auth certificate, if one is set) to the dedicated "
            "app's key credentials; it skips a certificate already there and drops expired ones."
        ),
        restart="none",
        proof=(
            "export the application again by its id (the cloud-export commands) and audit "
            "again: HT122 no longer fires."
        ),
        back_out=(
            "none needed: the upload only adds the certificate (and drops expired keys), so "
            "nothing that works stops working."
        ),
    )


def _cloud_export(label: str, step: ManualStep, value: _Value, scripts: bool) -> ManualText:
    guid = step.organisation_guid or GUID_PLACEHOLDER

    def filled(text: str) -> str:
        return text.replace(GUID_PLACEHOLDER, guid)

    rules = " and ".join(step.rules)
    return ManualText(
        label,
        step.kind,
        "Take the cloud export",
        step.rules,
        step.fixes,
        target=(
            "none (read only): the Office 365 Exchange Online service principal and "
            f"ExchangeServerApp-{guid}"
        ),
        place="Entra ID (cloud), read only",
        where=(
            "on a workstation with Microsoft Graph read access (Application.Read.All), not in "
            "the Exchange Management Shell"
        ),
        when=_when(step, scripts, "it changes nothing, so it may also run at any time before"),
        commands=tuple(filled(pipeline(command)) for command in GRAPH_SDK),
        alternatives=(
            *(filled(request) for request in GRAPH_REST_LIST),
            *GRAPH_REST_BY_ID,
            SCUBAGEAR,
        ),
        source=(
            "the collection script's help (`Get-Help .\\collect.ps1 -Full`, NOTES), the same "
            "commands; a Graph list query leaves out each certificate's key, the by-id requests "
            f"return it; with ScubaGear, {SCUBAGEAR_COPY}"
        ),
        effect=(
            f"{rules} are not assessed until it is given: whether the first-party service "
            "principal still holds keys (CVE-2025-53786), or the dedicated app the current "
            "auth certificate, is not known."
        ),
        restart="none",
        proof=(
            "save the files in the collection folder beside the server folders and audit "
            f"again: {rules} are assessed."
        ),
        back_out="none needed: it only reads.",
    )


def _key_reset(label: str, step: ManualStep, value: _Value, scripts: bool) -> ManualText:
    matched = (
        f" The keys include the on-premises auth certificate {', '.join(step.thumbprints)}."
        if step.thumbprints
        else ""
    )
    return ManualText(
        label,
        step.kind,
        "Reset the key credentials of the first-party service principal",
        step.rules,
        step.fixes,
        target=f"the Office 365 Exchange Online service principal ({FIRST_PARTY_APP_ID})",
        place="Entra ID (cloud)",
        where=(
            f"{_GRAPH_HOST} with a role that may change the service principal's credentials; "
            "it needs no Exchange Management Shell"
        ),
        when=_when(
            step,
            scripts,
            "last, and only once the on-premises trust is verified working with the dedicated "
            "app: every server at or above the build floor, the override enabled and accepted, "
            "hybrid free/busy answered (Microsoft: servers that do not run a supported build "
            "may end up in a broken hybrid state)",
        ),
        commands=step.commands,
        alternatives=step.alternatives,
        source=(f"{CONFIGURE_SOURCE}; CISA ED 25-02 requires this reset"),
        effect=(
            "Empties the keyCredentials of the service principal (the -CertificateInformation "
            f"form removes only that certificate and every expired one).{matched}"
        ),
        restart="none",
        proof=(
            "the script checks only that Graph accepted the change (HTTP 204) and reads "
            "nothing back: take the first-party service principal's cloud export again "
            f"(`{pipeline(GRAPH_SDK[1])}`) and audit again: HT121 no longer fires."
        ),
        back_out=(
            "none, on purpose: adding the key back to the first-party service principal "
            "recreates CVE-2025-53786 (an on-premises admin could again sign tokens that "
            "Exchange Online accepts as itself, without logs). If hybrid features fail after "
            "the reset, fix the dedicated app instead (upload its certificate: "
            "-UpdateCertificate)."
        ),
    )


_Teller = Callable[[str, ManualStep, _Value, bool], ManualText]
_TELLERS: dict[ManualKind, _Teller] = {
    ManualKind.BUILD_UPGRADE: _build,
    ManualKind.AUTH_CERTIFICATE: _certificate,
    ManualKind.DEDICATED_APP: _dedicated_app,
    ManualKind.CERTIFICATE_UPLOAD: _upload,
    ManualKind.CLOUD_EXPORT: _cloud_export,
    ManualKind.KEY_RESET: _key_reset,
}
