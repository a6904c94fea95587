"""The cloud rules of the hybrid trust (HT121, HT122), judged on the optional cloud evidence
(a Graph JSON export, ScubaGear's ProviderSettingsExport.json; `auditor.parsers.cloud_json`).

Without cloud evidence neither rule is assessed: both are listed as not applied ("no cloud
evidence given", `trust_common.not_assessed`), never a pass. HT122 also needs a Graph export
(ScubaGear keeps no certificate thumbprint) and the AuthConfig.

The dedicated app is found by the enabled EvoSTS AuthServer's ApplicationIdentifier, else by
its display name `ExchangeServerApp-<OrganizationConfig.Guid>` (any `ExchangeServerApp-` name
when no organisation GUID was read); the certificates go on the app registration, so an
exported application is judged in preference to its service principal.
"""

from __future__ import annotations

from collections.abc import Iterator

from auditor.model import CloudPrincipal, Finding, Location, Severity
from auditor.rules.context import RuleContext, new_finding
from auditor.rules.declaration import Needs, rule
from auditor.rules.trust_certificates import auth_config, thumbprint

EXCHANGE_ONLINE_APP_ID = "00000002-0000-0ff1-ce00-000000000000"
DEDICATED_APP_PREFIX = "ExchangeServerApp-"

REFERENCES = (
    "https://learn.microsoft.com/exchange/hybrid-deployment/deploy-dedicated-hybrid-app",
    "https://www.cisa.gov/news-events/directives/ed-25-02-mitigate-microsoft-exchange-vulnerability",
    "https://github.com/microsoft/CSS-Exchange/blob/main/docs/Hybrid/ConfigureExchangeHybridApplication.md",
    "https://learn.microsoft.com/graph/api/resources/keycredential",
)


def _location(principal: CloudPrincipal) -> Location:
    return Location(principal.source.path, principal.source.line)


@rule(
    "HT121",
    title="The first-party Office 365 Exchange Online service principal still holds keys",
    severity=Severity.HIGH,
    needs=Needs.HYBRID_TRUST,
    remediation=None,
    fires_when=(
        "The cloud evidence shows key credentials on the tenant's service principal of "
        "Office 365 Exchange Online (00000002-0000-0ff1-ce00-000000000000), or does not hold "
        "that service principal at all (fails closed)."
    ),
    rationale=(
        "The Hybrid Configuration Wizard uploaded the on-premises auth certificate to the "
        "shared Exchange Online service principal, so anyone with admin rights on an Exchange "
        "server could sign tokens as Exchange Online itself (CVE-2025-53786). CISA ED 25-02 "
        "requires these key credentials reset once the dedicated hybrid app works."
    ),
    references=REFERENCES,
    how_to_fix=(
        "No script is generated (a cloud change): once every server runs the dedicated hybrid "
        "app, run `ConfigureExchangeHybridApplication.ps1 "
        "-ResetFirstPartyServicePrincipalKeyCredentials`, then export the service principal "
        "again as proof. There is no rollback: adding the key back recreates the vulnerability."
    ),
)
def check_ht121(context: RuleContext) -> Iterator[Finding]:
    principals = context.inventory.trust.cloud_principals
    first_party = [p for p in principals if (p.app_id or "").casefold() == EXCHANGE_ONLINE_APP_ID]
    if not first_party:
        yield _first_party_not_given(context, principals[0])
        return
    current = _auth_thumbprints(context)
    for principal in first_party:
        keys = principal.key_credentials
        if not _holds_keys(principal):
            continue
        matches = sorted({t for key in keys or () for t in key.thumbprints} & current)
        count = f"{len(keys)} key credential(s)" if keys is not None else "key credentials"
        if keys is None and principal.has_key_credentials is None:
            count = "key credentials the export does not show (taken as held: fail closed)"
        also = f", among them the auth certificate {', '.join(matches)}" if matches else ""
        yield new_finding(
            context,
            "HT121",
            subject=f"cloud:{EXCHANGE_ONLINE_APP_ID}",
            message=(
                f"the Office 365 Exchange Online service principal holds {count}{also} "
                f"({principal.origin} export): reset them once the dedicated app works"
            ),
            location=_location(principal),
            evidence=(principal.source,),
            discriminator=principal.source.path,
            details={
                "key_ids": [key.key_id for key in keys or ()],
                "matches_auth_certificate": matches,
                "origin": principal.origin,
            },
        )


def _holds_keys(principal: CloudPrincipal) -> bool:
    """True when the principal holds keys, or the export does not say (fail closed)."""
    if principal.key_credentials is not None:
        return bool(principal.key_credentials)
    return principal.has_key_credentials is not False


def _first_party_not_given(context: RuleContext, first: CloudPrincipal) -> Finding:
    return new_finding(
        context,
        "HT121",
        subject=f"cloud:{EXCHANGE_ONLINE_APP_ID}",
        message=(
            "the cloud evidence does not hold the Office 365 Exchange Online service "
            "principal: whether it still holds keys is not known (export it as the "
            "collection script's help says)"
        ),
        location=Location(first.source.path, None),
        discriminator="missing",
        details={"evidence": "missing"},
    )


def _auth_thumbprints(context: RuleContext) -> set[str]:
    config = auth_config(context)
    if config is None:
        return set()
    values = (
        config.current_certificate_thumbprint,
        config.next_certificate_thumbprint,
        config.previous_certificate_thumbprint,
    )
    return {thumbprint(value) for value in values if thumbprint(value)}


def dedicated_apps(context: RuleContext) -> list[CloudPrincipal]:
    """The dedicated hybrid app in the Graph evidence (see the module docstring)."""
    trust = context.inventory.trust
    graph = [p for p in trust.cloud_principals if p.origin == "graph"]
    app_ids = {
        (server.application_identifier or "").casefold()
        for server in trust.auth_servers
        if server.type == "AzureAD" and server.enabled and server.application_identifier
    }
    guids = {config.guid.casefold() for config in trust.organization_configs if config.guid}
    names = {f"{DEDICATED_APP_PREFIX}{guid}".casefold() for guid in guids}
    found = [p for p in graph if (p.app_id or "").casefold() in app_ids]
    if not found:
        found = [
            p
            for p in graph
            if (name := (p.display_name or "").casefold()) in names
            or (not names and name.startswith(DEDICATED_APP_PREFIX.casefold()))
        ]
    applications = [p for p in found if p.kind == "application"]
    return applications or found


@rule(
    "HT122",
    title="The dedicated Exchange hybrid app lacks the current auth certificate",
    severity=Severity.HIGH,
    needs=Needs.HYBRID_TRUST,
    remediation=None,
    fires_when=(
        "In a Graph export, the dedicated hybrid app (ExchangeServerApp-<organisation GUID>, "
        "or the EvoSTS AuthServer's ApplicationIdentifier) has no key credential matching "
        "AuthConfig's CurrentCertificateThumbprint (by the SHA-1 of its key, or its "
        "customKeyIdentifier), or the export holds no dedicated app (fails closed)."
    ),
    rationale=(
        "In dedicated-app mode Exchange Online accepts the on-premises servers' tokens only "
        "when they are signed by a certificate registered on the dedicated app. After an auth "
        "certificate renewal the new certificate must be uploaded again, or hybrid free/busy, "
        "MailTips and mailbox moves stop."
    ),
    references=REFERENCES,
    how_to_fix=(
        "No script is generated (a cloud change): run `ConfigureExchangeHybridApplication.ps1 "
        "-UpdateCertificate`, then export the application again and audit again."
    ),
)
def check_ht122(context: RuleContext) -> Iterator[Finding]:
    config = auth_config(context)
    current = thumbprint(config.current_certificate_thumbprint) if config else ""
    if config is None or not current:
        return  # HT111 reports an unset certificate
    apps = dedicated_apps(context)
    if not apps:
        yield _no_dedicated_app(context, current)
        return
    for app in apps:
        held = {t for key in app.key_credentials or () for t in key.thumbprints}
        if current in held:
            continue
        yield new_finding(
            context,
            "HT122",
            subject=f"cloud:{app.app_id}",
            message=(
                f"the dedicated hybrid app {app.display_name} ({app.app_id}) has no key "
                f"credential for the current auth certificate {current}"
            ),
            location=_location(app),
            evidence=(config.source, app.source),
            discriminator=current,
            details={"app_id": app.app_id, "thumbprint": current, "evidence": "absent"},
        )


def _no_dedicated_app(context: RuleContext, current: str) -> Finding:
    graph = [p for p in context.inventory.trust.cloud_principals if p.origin == "graph"]
    return new_finding(
        context,
        "HT122",
        subject="cloud:dedicated-app",
        message=(
            "the Graph export holds no dedicated hybrid app (ExchangeServerApp-<GUID>, or "
            "the EvoSTS ApplicationIdentifier): whether it holds the current auth "
            f"certificate {current} is not known"
        ),
        location=Location(graph[0].source.path, None),
        discriminator="missing",
        details={"thumbprint": current, "evidence": "missing"},
    )


RULES = (check_ht121, check_ht122)
