"""Rules WC001-WC003: one web.config's appSettings and OAuthHttpModule.Profiles.

Exchange splits `OAuthHttpModule.Profiles` on `|` without trimming and keeps only tokens that
match a profile exactly (case-sensitive). So WC001 judges only tokens Exchange honours (an exact
match of a forbidden token), while WC002 reports every segment Exchange would drop: an empty
segment, surrounding whitespace, a known token in the wrong case, an unknown token. An empty
value (`value=""`, OAuth off for the vdir) is not a dropped segment.
"""

from __future__ import annotations

from collections.abc import Iterator

from auditor.model import (
    AppSetting,
    Evidence,
    Finding,
    InputFormat,
    Location,
    OAuthProfiles,
    WebConfig,
)
from auditor.rules.context import RuleContext, new_finding


def _profiles_location(config: WebConfig, profiles: OAuthProfiles) -> Location:
    return Location(profiles.evidence.path or config.path, profiles.line)


def forbidden_tokens(context: RuleContext, vdir: str) -> frozenset[str]:
    """The profiles the policy forbids on `vdir`: its own and everywhere's, minus allowed."""
    vdir_policy = context.vdir_policy(vdir)
    forbidden = set(context.policy.forbidden_profiles_everywhere)
    if vdir_policy is not None:
        forbidden.update(vdir_policy.forbidden_profiles)
        forbidden.difference_update(vdir_policy.allowed_profiles)
    return frozenset(forbidden)


def check_wc001(context: RuleContext) -> Iterator[Finding]:
    """WC001: a forbidden profile, or an app-only profile while no app-only access is approved."""
    forbidden_by_vdir: dict[str, frozenset[str]] = {}
    app_only_tokens = frozenset(context.policy.app_only_profile_tokens)
    for config in context.inventory.web_configs:
        profiles = config.oauth_profiles
        if profiles is None:
            continue
        key = config.vdir.casefold()
        if key not in forbidden_by_vdir:
            forbidden_by_vdir[key] = forbidden_tokens(context, config.vdir)
        forbidden = forbidden_by_vdir[key]
        for token in dict.fromkeys(profiles.tokens):
            if token in forbidden:
                reason = "forbidden"
                why = f"the policy forbids it on {config.vdir}"
            elif token in app_only_tokens and not context.any_app_only_approved:
                reason = "no-approved-app-only"
                why = "it accepts app-only tokens and the policy approves no app-only permission"
            else:
                continue
            yield new_finding(
                context,
                "WC001",
                subject=config.subject,
                message=(
                    f"Server {config.server}, {config.vdir}: OAuthHttpModule.Profiles enables "
                    f"{token}; {why}."
                ),
                location=_profiles_location(config, profiles),
                evidence=(profiles.evidence,),
                discriminator=token,
                details={
                    "token": token,
                    "vdir": config.vdir,
                    "server": config.server,
                    "reason": reason,
                    "profiles": list(profiles.tokens),
                    "raw": profiles.raw,
                },
            )


def check_wc002(context: RuleContext) -> Iterator[Finding]:
    """WC002: a profile segment Exchange silently drops."""
    for config in context.inventory.web_configs:
        profiles = config.oauth_profiles
        if profiles is None or profiles.raw == "":
            continue
        reported: set[tuple[str, str]] = set()
        for segment in profiles.tokens:
            judged = _dropped(context, segment)
            if judged is None:
                continue
            kind, why, intended = judged
            if (kind, segment) in reported:
                continue
            reported.add((kind, segment))
            yield new_finding(
                context,
                "WC002",
                subject=config.subject,
                message=(
                    f"Server {config.server}, {config.vdir}: OAuthHttpModule.Profiles segment "
                    f"{segment!r} {why}; Exchange drops it without an error."
                ),
                location=_profiles_location(config, profiles),
                evidence=(profiles.evidence,),
                discriminator=f"{kind}:{segment}",
                details={
                    "token": segment,
                    "kind": kind,
                    "intended": intended,
                    "vdir": config.vdir,
                    "server": config.server,
                    "profiles": list(profiles.tokens),
                    "raw": profiles.raw,
                },
            )


def _dropped(context: RuleContext, segment: str) -> tuple[str, str, str | None] | None:
    """(kind, why, intended token) when Exchange drops `segment`, else None."""
    if segment in context.known_profile_tokens:
        return None
    if segment == "":
        return "empty", "is empty (a doubled, leading or trailing '|')", None
    stripped = segment.strip()
    if stripped != segment:
        intended = context.known_profile_tokens_folded.get(stripped.casefold())
        return "whitespace", "has leading or trailing whitespace", intended
    intended = context.known_profile_tokens_folded.get(segment.casefold())
    if intended is not None:
        return "case", f"is {intended} in the wrong case", intended
    return "unknown", "is not a profile token the policy knows", None


def check_wc003(context: RuleContext) -> Iterator[Finding]:
    """WC003: the same appSettings key added more than once in one scope."""
    for config in context.inventory.web_configs:
        groups: dict[tuple[str | None, str], list[AppSetting]] = {}
        for setting in config.app_settings:
            groups.setdefault((setting.location, setting.key), []).append(setting)
        for (scope, key), settings in groups.items():
            if len(settings) < 2:
                continue
            effective = settings[-1]
            lines = ", ".join(str(setting.line) for setting in settings)
            where = f" (location {scope!r})" if scope is not None else ""
            yield new_finding(
                context,
                "WC003",
                subject=config.subject,
                message=(
                    f"Server {config.server}, {config.vdir}: appSettings key {key!r}{where} is "
                    f"added {len(settings)} times (lines {lines}); IIS uses the last one, "
                    f"value {effective.value!r}."
                ),
                location=Location(config.path, effective.line),
                evidence=tuple(_setting_evidence(config, setting) for setting in settings),
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


def _setting_evidence(config: WebConfig, setting: AppSetting) -> Evidence:
    return Evidence(
        path=config.path,
        line=setting.line,
        raw=setting.raw,
        sha256=config.sha256,
        format=InputFormat.WEB_CONFIG,
    )
