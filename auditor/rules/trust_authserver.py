"""Rules HT007-HT009: the EvoSTS AuthServer of the dedicated app, and the AuthConfig.

HT007 and HT008 judge `Get-AuthServer` as the hybrid-oauth-trust notes (section 4, rules B and
H) define it: a valid EvoSTS is of Type `AzureAD`, enabled, with a tenant ID (a GUID; the
policy's `hybrid_trust.tenant_id` when set) as Realm and a dedicated application ID (a GUID that
is no first-party application; the policy's `expected_application_id` when set) as
ApplicationIdentifier (`auditor.rules.trust_facts.evosts_problem`). HT009 judges
`Get-AuthConfig`'s ServiceName and Realm against their documented values (notes section 2.2).
An export not read is an EV001 gap of the evidence model; these rules then say nothing.
"""

from __future__ import annotations

from collections.abc import Iterator

from auditor.model import Finding, Severity
from auditor.rules.context import RuleContext, listing, new_finding
from auditor.rules.declaration import Needs, Remediation, rule
from auditor.rules.trust_facts import (
    CONFIGURE_SCRIPT_SOURCE,
    CSS,
    DEDICATED_APP_DOC,
    EXCHANGE_ONLINE_ID,
    LEARN,
    enabled_evosts,
    enabled_override,
    evosts_problem,
    location,
)


@rule(
    "HT007",
    title="The dedicated app is enabled but no valid EvoSTS AuthServer names it",
    severity=Severity.HIGH,
    needs=Needs.HYBRID_TRUST,
    remediation=Remediation.EVOSTS_APPLICATION_IDENTIFIER,
    fires_when=(
        "The dedicated-app override enables the feature and no AuthServer is of Type AzureAD "
        "(EvoSTS), enabled, with a tenant ID GUID as Realm (the policy's tenant_id when set) "
        "and a GUID ApplicationIdentifier that is not a first-party application (the policy's "
        "expected_application_id when set)."
    ),
    rationale=(
        "With the override on, Exchange asks the EvoSTS AuthServer for the dedicated app's "
        "tokens; without a valid one, hybrid OAuth (free/busy, MailTips, mailbox moves) fails "
        "(HealthChecker: NoValidAuthServer). An EvoSTS naming a first-party id such as "
        "00000002-0000-0ff1-ce00-000000000000 still uses the shared Exchange Online app."
    ),
    references=(
        f"{LEARN}/set-authserver",
        f"{LEARN}/get-authserver",
        DEDICATED_APP_DOC,
        CONFIGURE_SCRIPT_SOURCE,
    ),
)
def check_ht007(context: RuleContext) -> Iterator[Finding]:
    """HT007: the feature on, the AuthServer export read, and no AuthServer valid for it."""
    override = enabled_override(context.inventory)
    servers = context.inventory.trust.auth_servers
    if override is None or not servers:
        return
    policy = context.policy.hybrid_trust
    reasons = []
    for server in servers:
        why = evosts_problem(server, policy)
        if why is None:
            return
        reasons.append(f"'{server.name}': {why}")
    yield new_finding(
        context,
        "HT007",
        subject="hybrid-trust:evosts",
        message=(
            f"Setting override '{override.name}' enables the dedicated hybrid app, but no "
            f"AuthServer of {servers[0].source.path} is a valid EvoSTS for it ("
            f"{listing(reasons, 4)})."
        ),
        location=location(servers[0].source),
        evidence=(override.source, *(server.source for server in servers)),
    )


@rule(
    "HT008",
    title="Duplicate enabled EvoSTS AuthServers for one tenant",
    severity=Severity.MEDIUM,
    needs=Needs.HYBRID_TRUST,
    remediation=Remediation.EVOSTS_DUPLICATE,
    fires_when="More than one enabled AuthServer of Type AzureAD (EvoSTS) has the same Realm.",
    rationale=(
        "Which EvoSTS issues the tenant's tokens is then undetermined, and Microsoft's "
        "ConfigureExchangeHybridApplication.ps1 stops on it ('More than one EvoSTS Auth "
        "Server... Re-run HCW or manually remove the duplicate')."
    ),
    references=(f"{LEARN}/set-authserver", CONFIGURE_SCRIPT_SOURCE),
)
def check_ht008(context: RuleContext) -> Iterator[Finding]:
    """HT008: one finding on each enabled EvoSTS after the first of its realm."""
    first: dict[str, str] = {}
    for server in enabled_evosts(context.inventory):
        realm = (server.realm or "").casefold()
        if realm not in first:
            first[realm] = server.name or "(no name)"
            continue
        yield new_finding(
            context,
            "HT008",
            subject=f"auth-server:{server.name or '(no name)'}",
            message=(
                f"AuthServer '{server.name}' is a second enabled EvoSTS for realm "
                f"'{server.realm or ''}' (the first is '{first[realm]}')."
            ),
            location=location(server.source),
            evidence=(server.source,),
        )


@rule(
    "HT009",
    title="AuthConfig ServiceName or Realm is not the documented value",
    severity=Severity.HIGH,
    needs=Needs.HYBRID_TRUST,
    remediation=None,
    fires_when=(
        "Get-AuthConfig's ServiceName is not 00000002-0000-0ff1-ce00-000000000000, or its Realm "
        "is not empty (or either is not given)."
    ),
    rationale=(
        "Set-AuthConfig: 'You shouldn't change this parameter. Changing the ServiceName "
        "parameter can result in server-to-server authentication with partner applications not "
        "functioning'; FreeBusyChecker expects the Realm blank. Either changed breaks or "
        "redirects the OAuth trust every partner application relies on."
    ),
    references=(
        f"{LEARN}/set-authconfig",
        f"{CSS}/blob/main/Diagnostics/FreeBusyChecker/Functions/OnPremOAuthFunctions.ps1",
    ),
    how_to_fix=(
        "Find out who changed the AuthConfig and why; restore the documented values "
        "(Set-AuthConfig -ServiceName 00000002-0000-0ff1-ce00-000000000000, an empty Realm) "
        "through a reviewed change and audit again."
    ),
)
def check_ht009(context: RuleContext) -> Iterator[Finding]:
    """HT009: each AuthConfig whose ServiceName or Realm is not the documented value."""
    for config in context.inventory.trust.auth_configs:
        wrong = []
        if (config.service_name or "").casefold() != EXCHANGE_ONLINE_ID:
            shown = "not given" if config.service_name is None else f"'{config.service_name}'"
            wrong.append(f"ServiceName is {shown}, not {EXCHANGE_ONLINE_ID}")
        if config.realm != "":
            shown = "not given" if config.realm is None else f"'{config.realm}'"
            wrong.append(f"Realm is {shown}, not empty")
        if wrong:
            yield new_finding(
                context,
                "HT009",
                subject=f"auth-config:{config.name or 'Auth Configuration'}",
                message=f"AuthConfig '{config.name}': {'; '.join(wrong)}.",
                location=location(config.source),
                evidence=(config.source,),
                discriminator="\x1e".join(wrong),
            )


RULES = (check_ht007, check_ht008, check_ht009)
