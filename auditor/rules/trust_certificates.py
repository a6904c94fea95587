"""The auth certificate rules (HT111-HT114): the certificate Exchange signs its OAuth tokens
with (`Get-AuthConfig` `CurrentCertificateThumbprint`), and the next one, judged against the
certificates each Client Access server holds (`Get-ExchangeCertificate`, read from the DER:
the thumbprint is the SHA-1 of the DER, the validity from the certificate itself).

Expiry is judged against the audit date (`--as-of`), never the clock, with the thresholds of
Microsoft's MonitorExchangeAuthCertificate.ps1 (CSS-Exchange
`Admin/MonitorExchangeAuthCertificate/DataCollection/Get-ExchangeAuthCertificateStatus.ps1`
l.161-191; notes section 3.3): `CURRENT_WARNING_DAYS` and `NEXT_WARNING_DAYS` below are the
defaults of the rules' parameters. A server without a certificate export fails closed.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator

from auditor.model import (
    CERTIFICATE_WARNING_DAYS,
    AuthConfig,
    ExchangeCertificate,
    Finding,
    Location,
    Severity,
)
from auditor.rules.context import RuleContext, new_finding
from auditor.rules.declaration import Needs, rule
from auditor.rules.trust_common import client_access_servers, edge_servers, server_key

# Warn when the current auth certificate has at most this many days left (the policy's
# `hybrid_trust.certificate_warning_days`, by default the model's) ...
CURRENT_WARNING_DAYS = CERTIFICATE_WARNING_DAYS
# ... and no next certificate is staged, or the staged one has at most this many days left.
NEXT_WARNING_DAYS = 120

REFERENCES = (
    "https://github.com/microsoft/CSS-Exchange/blob/main/docs/Admin/MonitorExchangeAuthCertificate.md",
    "https://github.com/microsoft/CSS-Exchange/blob/main/docs/Diagnostics/HealthChecker/AuthCertificateCheck.md",
    "https://learn.microsoft.com/powershell/module/exchangepowershell/set-authconfig",
)
RENEW = (
    "No script is generated: renew the auth certificate with MonitorExchangeAuthCertificate.ps1 "
    "(`-ValidateAndRenewAuthCertificate $true`, with `-IgnoreHybridConfig $true` in hybrid), "
    "or `Set-AuthConfig -NewCertificateThumbprint` and `-PublishCertificate`; in hybrid then "
    "run `ConfigureExchangeHybridApplication.ps1 -UpdateCertificate`. Audit again."
)


def auth_config(context: RuleContext) -> AuthConfig | None:
    """The organisation's AuthConfig (every server folder holds a copy; the first is used)."""
    configs = context.inventory.trust.auth_configs
    return configs[0] if configs else None


def thumbprint(value: str | None) -> str:
    """A thumbprint as compared: upper case, without spaces ("" when not set)."""
    return "".join((value or "").split()).upper()


def _certificates(context: RuleContext) -> dict[str, list[ExchangeCertificate]]:
    """Each judged server's certificates, by server key (Edge servers left out)."""
    edges = edge_servers(context.inventory)
    held: dict[str, list[ExchangeCertificate]] = {}
    for certificate in context.inventory.trust.exchange_certificates:
        if certificate.server and server_key(certificate.server) not in edges:
            held.setdefault(server_key(certificate.server), []).append(certificate)
    return held


def _servers(context: RuleContext) -> list[str]:
    named = [c.server for c in context.inventory.trust.exchange_certificates]
    return client_access_servers(context.inventory, named)


def _find(context: RuleContext, wanted: str) -> list[ExchangeCertificate]:
    return [
        certificate
        for certificate in context.inventory.trust.exchange_certificates
        if certificate.thumbprint == wanted
    ]


def days_left(certificate: ExchangeCertificate, as_of: datetime.date) -> int:
    """Whole days from the audit date to the certificate's NotAfter (negative: expired)."""
    not_after = datetime.datetime.fromisoformat(certificate.not_after.replace("Z", "+00:00"))
    return (not_after.date() - as_of).days


def _config_location(config: AuthConfig) -> Location:
    return Location(config.source.path, config.source.line)


@rule(
    "HT111",
    title="The current auth certificate has expired or is not set",
    severity=Severity.CRITICAL,
    needs=Needs.HYBRID_TRUST,
    remediation=None,
    fires_when=(
        "AuthConfig's CurrentCertificateThumbprint is empty, or the certificate with that "
        "thumbprint (in any server's certificate export) expired before the audit date."
    ),
    rationale=(
        "Exchange signs every server-to-server OAuth token with the current auth certificate. "
        "Without a valid one, OAuth fails: OWA and ECP, hybrid free/busy and mailbox moves, "
        "and every partner application break (Health Checker reports it red)."
    ),
    references=REFERENCES,
    how_to_fix=RENEW,
)
def check_ht111(context: RuleContext) -> Iterator[Finding]:
    config = auth_config(context)
    if config is None:
        return
    current = thumbprint(config.current_certificate_thumbprint)
    if not current:
        yield new_finding(
            context,
            "HT111",
            subject="authconfig:current",
            message="AuthConfig has no CurrentCertificateThumbprint: OAuth cannot sign tokens",
            location=_config_location(config),
            evidence=(config.source,),
            discriminator="not set",
            details={"thumbprint": None},
        )
        return
    expired = [c for c in _find(context, current) if days_left(c, context.as_of) < 0]
    if expired:
        certificate = expired[0]
        yield new_finding(
            context,
            "HT111",
            subject=f"authconfig:current:{current}",
            message=(
                f"the current auth certificate {current} expired on {certificate.not_after} "
                f"(before the audit date {context.as_of.isoformat()})"
            ),
            location=Location(certificate.source.path, certificate.source.line),
            evidence=(config.source, certificate.source),
            discriminator="expired",
            details={"thumbprint": current, "not_after": certificate.not_after},
        )


@rule(
    "HT112",
    title="The current auth certificate expires soon and no valid next one is staged",
    severity=Severity.MEDIUM,
    needs=Needs.HYBRID_TRUST,
    remediation=None,
    fires_when=(
        f"The current auth certificate has {CURRENT_WARNING_DAYS} days or fewer left on the "
        f"audit date, and no next certificate is set, or the next one has {NEXT_WARNING_DAYS} "
        "days or fewer left (MonitorExchangeAuthCertificate's ConfigureNextAuthRequired)."
    ),
    rationale=(
        "An auth certificate that expires without a published successor breaks OAuth on the "
        "day it expires. Microsoft's monitoring script asks for the next certificate inside "
        "this window, because publishing it takes time to reach every server and the cloud."
    ),
    references=REFERENCES,
    how_to_fix=RENEW,
)
def check_ht112(context: RuleContext) -> Iterator[Finding]:
    days = context.policy.hybrid_trust.certificate_warning_days
    return expiring_current(context, current_warning_days=days)


def expiring_current(
    context: RuleContext,
    *,
    current_warning_days: int = CURRENT_WARNING_DAYS,
    next_warning_days: int = NEXT_WARNING_DAYS,
) -> Iterator[Finding]:
    """HT112's findings with the warning window as parameters (HT112 passes the policy's
    `hybrid_trust.certificate_warning_days`; the defaults are MonitorExchangeAuthCertificate's)."""
    config = auth_config(context)
    if config is None:
        return
    current = thumbprint(config.current_certificate_thumbprint)
    found = _find(context, current) if current else []
    if not found:
        return  # not set or not held anywhere: HT111 and HT113 say so
    left = days_left(found[0], context.as_of)
    if left < 0 or left > current_warning_days:
        return
    staged = thumbprint(config.next_certificate_thumbprint)
    next_found = _find(context, staged) if staged else []
    next_left = days_left(next_found[0], context.as_of) if next_found else None
    if next_left is not None and next_left > next_warning_days:
        return
    why = (
        "no next certificate is set"
        if not staged
        else f"the next certificate {staged} is not in any certificate export read"
        if next_left is None
        else f"the next certificate {staged} has only {next_left} day(s) left"
    )
    yield new_finding(
        context,
        "HT112",
        subject=f"authconfig:current:{current}",
        message=(
            f"the current auth certificate {current} expires on {found[0].not_after}, "
            f"{left} day(s) after the audit date, and {why}"
        ),
        location=Location(found[0].source.path, found[0].source.line),
        evidence=(config.source, found[0].source),
        discriminator="expiring",
        details={"thumbprint": current, "days_left": left, "next_days_left": next_left},
    )


@rule(
    "HT113",
    title="A Client Access server lacks the current auth certificate",
    severity=Severity.HIGH,
    needs=Needs.HYBRID_TRUST,
    remediation=None,
    fires_when=(
        "A Client Access server's certificate export does not hold the certificate whose "
        "thumbprint is AuthConfig's CurrentCertificateThumbprint, or no certificate export of "
        "the server was read (fails closed)."
    ),
    rationale=(
        "Every Mailbox and Client Access server signs and validates OAuth tokens with the "
        "current auth certificate. A server without it fails OAuth for every request it "
        'serves; Health Checker reports "No valid Auth Certificate found" for it.'
    ),
    references=REFERENCES,
    how_to_fix=(
        "No script is generated: publish the certificate again (`Set-AuthConfig "
        "-PublishCertificate`) or import it on the server, then collect and audit again."
    ),
)
def check_ht113(context: RuleContext) -> Iterator[Finding]:
    config = auth_config(context)
    current = thumbprint(config.current_certificate_thumbprint) if config else ""
    if config is None or not current:
        return  # HT111 reports an unset certificate
    yield from _missing_on_servers(context, config, "HT113", current, "current")


@rule(
    "HT114",
    title="The next auth certificate is not deployed on every server, or has expired",
    severity=Severity.MEDIUM,
    needs=Needs.HYBRID_TRUST,
    remediation=None,
    fires_when=(
        "AuthConfig's NextCertificateThumbprint is set and a Client Access server's "
        "certificate export lacks that certificate (or no export of the server was read), or "
        "the next certificate expired before the audit date."
    ),
    rationale=(
        "On its effective date the next certificate becomes the current one. A server without "
        "it then fails OAuth, and an expired next certificate would replace a working one "
        "with a dead one (MonitorExchangeAuthCertificate: NextAuthCertificateImportRequired)."
    ),
    references=REFERENCES,
    how_to_fix=RENEW,
)
def check_ht114(context: RuleContext) -> Iterator[Finding]:
    config = auth_config(context)
    staged = thumbprint(config.next_certificate_thumbprint) if config else ""
    if config is None or not staged:
        return
    yield from _missing_on_servers(context, config, "HT114", staged, "next")
    expired = [c for c in _find(context, staged) if days_left(c, context.as_of) < 0]
    if expired:
        yield new_finding(
            context,
            "HT114",
            subject=f"authconfig:next:{staged}",
            message=f"the next auth certificate {staged} expired on {expired[0].not_after}",
            location=Location(expired[0].source.path, expired[0].source.line),
            evidence=(config.source, expired[0].source),
            discriminator="expired",
            details={"thumbprint": staged, "not_after": expired[0].not_after},
        )


def _missing_on_servers(
    context: RuleContext, config: AuthConfig, rule_id: str, wanted: str, which: str
) -> Iterator[Finding]:
    held = _certificates(context)
    for server in _servers(context):
        certificates = held.get(server_key(server))
        if certificates and any(c.thumbprint == wanted for c in certificates):
            continue
        if certificates:
            source = certificates[0].source
            message = (
                f"{server}'s certificate export ({len(certificates)} certificate(s)) does not "
                f"hold the {which} auth certificate {wanted}"
            )
            location, state = Location(source.path, None), "absent"
        else:
            message = (
                f"no certificate export of {server} was read: whether it holds the {which} "
                f"auth certificate {wanted} is not known (export ExchangeCertificate.xml on it "
                "with `auditor collect`)"
            )
            location, state = _config_location(config), "missing"
        yield new_finding(
            context,
            rule_id,
            subject=f"server:{server}",
            message=message,
            location=location,
            evidence=(config.source,),
            discriminator=f"{which}:{wanted}",
            details={"server": server, "thumbprint": wanted, "evidence": state},
        )


RULES = (check_ht111, check_ht112, check_ht113, check_ht114)
