"""Rules WC001-WC003: one web.config's appSettings and OAuthHttpModule.Profiles.

Exchange splits `OAuthHttpModule.Profiles` on `|` without trimming and keeps only tokens that
match a profile exactly (case-sensitive). Each segment is judged once in `auditor.rules.judge`
(`ProfilesJudgement`); these rules raise findings from that judgement. WC001 reports every
segment that is a forbidden token, honoured or not: a token that equals a forbidden one after
case folding and removing Unicode spaces and format characters (`v1s2sapponly`, a trailing
NBSP, a zero-width space inside) is WC001 too, since the next edit that "repairs" it enables it.
WC002 reports every segment Exchange would drop: an empty segment, whitespace or an invisible
character, a known token in the wrong case, an unknown token. An empty value (`value=""`, OAuth
off for the vdir) has no segments.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import PurePath

from auditor.appsettings import fold_key
from auditor.matching import FORBIDDEN_BY_POLICY
from auditor.model import (
    AppSetting,
    Evidence,
    Finding,
    Location,
    OAuthProfiles,
    ProfilesJudgement,
    Severity,
    TokenJudgement,
    TokenMark,
    WebConfig,
)
from auditor.rules.context import RuleContext, new_finding
from auditor.rules.declaration import Needs, Remediation, rule
from auditor.rules.judge import DROP_CASE, DROP_EMPTY, DROP_WHITESPACE


def _profiles_location(config: WebConfig, profiles: OAuthProfiles) -> Location:
    return Location(profiles.evidence.path or config.path, profiles.line)


def _judged(context: RuleContext) -> Iterator[tuple[WebConfig, OAuthProfiles, ProfilesJudgement]]:
    configs = context.inventory.web_configs
    for config, judgement in zip(configs, context.judgements.profiles, strict=True):
        if config.oauth_profiles is not None:
            yield config, config.oauth_profiles, judgement


def _forbidden_why(token: TokenJudgement, vdir: str) -> str:
    if token.forbidden_reason == FORBIDDEN_BY_POLICY:
        return f"the policy forbids it on {vdir}"
    return "it accepts app-only tokens and the policy approves no app-only permission"


@rule(
    "WC001",
    title="A forbidden OAuth profile is enabled",
    severity=Severity.HIGH,
    needs=Needs.WEB_CONFIGS,
    remediation=Remediation.WEB_CONFIG_OAUTH_PROFILES,
    fires_when=(
        "`OAuthHttpModule.Profiles` of a vdir holds a profile the policy forbids there (by "
        "default `V1S2SAppOnly`, everywhere), in any spelling: also padded, mis-cased or with "
        "invisible characters, since an edit could switch it on; or an app-only profile while the "
        "policy approves no app-only permission."
    ),
    rationale=(
        "The recipe appends V1S2SAppOnly to OAuthHttpModule.Profiles of the Rest web.config "
        "(Default Web Site/API) so that app-only tokens are accepted; no Exchange 2016 or 2019 "
        "default configuration contains that profile. While no application is approved for "
        "app-only access, the profile only widens the attack surface, and hybrid REST it was "
        "added for is blocked by Microsoft since March 2023."
    ),
    references=(
        "https://blog.thenetw.org/2019/05/13/using-client_credentials-with-microsoft-graph-in-hybrid-exchange-setup/",
        "https://blog.markdepalma.com/?p=782",
        "https://techcommunity.microsoft.com/t5/exchange-team-blog/on-premises-architectural-requirements-for-the-rest-api/ba-p/605609",
        "https://github.com/microsoftgraph/microsoft-graph-docs-contrib/blob/main/concepts/hybrid-rest-support.md",
    ),
)
def check_wc001(context: RuleContext) -> Iterator[Finding]:
    """WC001: a forbidden profile, or an app-only profile while no app-only access is approved."""
    for config, profiles, judgement in _judged(context):
        reported: set[str] = set()
        for token in judgement.tokens:
            if TokenMark.FORBIDDEN not in token.marks or token.segment in reported:
                continue
            reported.add(token.segment)
            yield _wc001_finding(context, config, profiles, token)


def _wc001_finding(
    context: RuleContext, config: WebConfig, profiles: OAuthProfiles, token: TokenJudgement
) -> Finding:
    why = _forbidden_why(token, config.vdir)
    if TokenMark.HONOURED in token.marks:
        what = f"enables {token.segment}"
    else:
        what = (
            f"holds {token.segment!r}, which is {token.canonical} written so that "
            "Exchange drops it today; an edit that repairs it enables it"
        )
    return new_finding(
        context,
        "WC001",
        subject=config.subject,
        message=f"Server {config.server}, {config.vdir}: OAuthHttpModule.Profiles {what}; {why}.",
        location=_profiles_location(config, profiles),
        evidence=(profiles.evidence,),
        discriminator=token.segment,
        details={
            "token": token.segment,
            "canonical": token.canonical,
            "vdir": config.vdir,
            "server": config.server,
            "reason": token.forbidden_reason,
            "profiles": list(profiles.tokens),
            "raw": profiles.raw,
        },
    )


_DROP_WHY = {
    DROP_EMPTY: "is empty (a doubled, leading or trailing '|')",
    DROP_CASE: "is {intended} in the wrong case",
}


def _drop_why(token: TokenJudgement) -> str:
    if token.drop_kind == DROP_WHITESPACE:
        if token.segment.strip() != token.segment and token.segment.strip().isprintable():
            return "has leading or trailing whitespace"
        return "holds a space, an invisible or a format character"
    if token.drop_kind in _DROP_WHY:
        return _DROP_WHY[token.drop_kind].format(intended=token.canonical)
    return "is not a profile token the policy knows"


@rule(
    "WC002",
    title="An OAuth profile token will be silently dropped",
    severity=Severity.MEDIUM,
    needs=Needs.WEB_CONFIGS,
    remediation=Remediation.WEB_CONFIG_OAUTH_PROFILES,
    fires_when=(
        "A segment of `OAuthHttpModule.Profiles` is one Exchange silently drops: empty, padded "
        "with whitespace, a known token in the wrong case, or a token the policy does not know."
    ),
    rationale=(
        'Exchange splits OAuthHttpModule.Profiles on "|" without trimming and keeps only tokens '
        "that match a known profile exactly (case-sensitive); an empty segment, a padded or "
        "mis-cased token or a misspelling is dropped without any error. The configuration then "
        "does not do what its author believes, and an edit that looks like a fix may have no "
        "effect at all."
    ),
    references=(
        "https://github.com/microsoft/CSS-Exchange/blob/main/docs/Diagnostics/HealthChecker/IISWebConfigCheck.md",
    ),
)
def check_wc002(context: RuleContext) -> Iterator[Finding]:
    """WC002: a profile segment Exchange silently drops."""
    for config, profiles, judgement in _judged(context):
        reported: set[tuple[str | None, str]] = set()
        for token in judgement.tokens:
            if TokenMark.DROPPED not in token.marks:
                continue
            if (token.drop_kind, token.segment) in reported:
                continue
            reported.add((token.drop_kind, token.segment))
            intended = token.canonical if TokenMark.UNKNOWN_TOKEN not in token.marks else None
            yield new_finding(
                context,
                "WC002",
                subject=config.subject,
                message=(
                    f"Server {config.server}, {config.vdir}: OAuthHttpModule.Profiles segment "
                    f"{token.segment!r} {_drop_why(token)}; Exchange drops it without an error."
                ),
                location=_profiles_location(config, profiles),
                evidence=(profiles.evidence,),
                discriminator=f"{token.drop_kind}:{token.segment}",
                details={
                    "token": token.segment,
                    "kind": token.drop_kind,
                    "intended": intended,
                    "vdir": config.vdir,
                    "server": config.server,
                    "profiles": list(profiles.tokens),
                    "raw": profiles.raw,
                },
            )


@rule(
    "WC003",
    title="An appSettings key is added more than once",
    severity=Severity.MEDIUM,
    needs=Needs.WEB_CONFIGS,
    remediation=None,
    fires_when=(
        "The same appSettings key (compared ignoring case, as .NET reads it) is added more than "
        "once in one scope; the last one wins."
    ),
    rationale=(
        "When the same appSettings key is added twice, IIS silently uses the last one. A reviewer "
        "reading the first entry sees a value that is not in effect, and a later edit to the "
        "wrong entry changes nothing."
    ),
    references=(
        "https://github.com/microsoft/CSS-Exchange/blob/main/docs/Diagnostics/HealthChecker/IISWebConfigCheck.md",
    ),
)
def check_wc003(context: RuleContext) -> Iterator[Finding]:
    """WC003: the same appSettings key added more than once in one scope.

    Keys compare as .NET compares them (`auditor.appsettings.fold_key`), `<location>` paths
    ignoring case; the finding names the key as the effective (last) entry spells it.
    """
    # The fleet's web.configs repeat the same keys: each spelling folded once, not per file
    # (the grouping of the 500-server fleet's 351,000 settings: 41 -> 30 ms).
    folded: dict[str, str] = {}
    for config in context.inventory.web_configs:
        for settings in _same_key_groups(config, folded).values():
            if len(settings) < 2:
                continue
            effective = settings[-1]
            scope, key = effective.location, effective.key
            evidence = tuple(config.setting_evidence(setting) for setting in settings)
            where = f" (location {scope!r})" if scope is not None else ""
            yield new_finding(
                context,
                "WC003",
                subject=config.subject,
                message=(
                    f"Server {config.server}, {config.vdir}: appSettings key {key!r}{where} is "
                    f"added {len(settings)} times ({_lines(config, evidence)}); IIS uses the "
                    f"last one, value {effective.value!r}."
                ),
                location=Location(evidence[-1].path, effective.line),
                evidence=evidence,
                discriminator=f"{scope or ''}:{key}",
                details={
                    "key": key,
                    "location": scope,
                    "lines": [setting.line for setting in settings],
                    "values": [setting.value for setting in settings],
                    "effective": effective.value,
                    "vdir": config.vdir,
                    "server": config.server,
                },
            )


def _same_key_groups(
    config: WebConfig, folded: dict[str, str]
) -> dict[tuple[str | None, str], list[AppSetting]]:
    """The file's settings by scope (location, ignoring case) and folded key, in file order;
    `folded` keeps each key spelling's fold across files."""
    groups: dict[tuple[str | None, str], list[AppSetting]] = {}
    for setting in config.app_settings:
        key = folded.get(setting.key)
        if key is None:
            key = folded[setting.key] = fold_key(setting.key)
        location = setting.location
        scope_key = (None if location is None else location.casefold(), key)
        groups.setdefault(scope_key, []).append(setting)
    return groups


def _lines(config: WebConfig, evidence: tuple[Evidence, ...]) -> str:
    """`lines 4, 9` when every add is in the web.config; else each add's file name and line."""
    if all(item.path == config.path for item in evidence):
        return "lines " + ", ".join(str(item.line) for item in evidence)
    return ", ".join(f"{PurePath(item.path).name} line {item.line}" for item in evidence)


RULES = (check_wc001, check_wc002, check_wc003)
