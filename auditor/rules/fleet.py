"""Rule FL001: servers that disagree on the OAuth profiles of the same vdir.

The comparison uses the profiles Exchange honours (the segments the judgement marks HONOURED,
order and duplicates ignored); dropped segments are WC002's business. A web.config without an
`OAuthHttpModule.Profiles` key is a variant of its own. One finding per vdir, located at the
first server of the first variant that differs from the majority.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from auditor.model import (
    Evidence,
    Finding,
    Location,
    ProfilesJudgement,
    Severity,
    TokenMark,
    WebConfig,
    fleet_subject,
)
from auditor.rules.context import RuleContext, listing, new_finding
from auditor.rules.declaration import Needs, rule

_SERVERS_SHOWN = 5


@dataclass(slots=True)
class _Variant:
    profiles: tuple[str, ...] | None
    configs: list[WebConfig] = field(default_factory=list)

    @property
    def servers(self) -> list[str]:
        return sorted(dict.fromkeys(config.server for config in self.configs), key=str.casefold)

    def describe(self) -> str:
        if self.profiles is None:
            return "no OAuthHttpModule.Profiles"
        return "|".join(self.profiles) if self.profiles else "no profile Exchange honours"


def effective_profiles(judgement: ProfilesJudgement) -> tuple[str, ...] | None:
    """The profiles Exchange honours on a web.config, in first-seen order; None: no key."""
    if judgement.raw is None:
        return None
    honoured = (t.segment for t in judgement.tokens if TokenMark.HONOURED in t.marks)
    return tuple(dict.fromkeys(honoured))


@rule(
    "FL001",
    title="Servers disagree on the OAuth profiles of a vdir",
    severity=Severity.MEDIUM,
    needs=Needs.SEVERAL_SERVERS,
    remediation=None,
    fires_when="Servers disagree on the OAuth profiles Exchange honours for the same vdir.",
    rationale=(
        "Every Exchange server of an organisation should accept the same OAuth profiles on the "
        "same virtual directory. A difference means a manual edit on some servers, or an edit "
        "that a cumulative update overwrote on others (Microsoft documents that CUs overwrite "
        "customised web.config files), so behaviour depends on which server a load balancer picks."
    ),
    references=(
        "https://github.com/microsoft/CSS-Exchange/blob/main/docs/Diagnostics/HealthChecker/IISWebConfigCheck.md",
        "https://blog.markdepalma.com/?p=782",
    ),
)
def check_fl001(context: RuleContext) -> Iterator[Finding]:
    """FL001: one finding per vdir whose servers do not all honour the same profiles."""
    by_vdir: dict[str, dict[frozenset[str] | None, _Variant]] = {}
    vdir_names: dict[str, str] = {}
    configs = context.inventory.web_configs
    for config, judgement in zip(configs, context.judgements.profiles, strict=True):
        key = config.vdir.casefold()
        vdir_names.setdefault(key, config.vdir)
        profiles = effective_profiles(judgement)
        variant_key = None if profiles is None else frozenset(profiles)
        variants = by_vdir.setdefault(key, {})
        if variant_key not in variants:
            variants[variant_key] = _Variant(profiles)
        variants[variant_key].configs.append(config)
    for key in sorted(by_vdir):
        found = list(by_vdir[key].values())
        if len(found) < 2:
            continue
        yield _finding(context, vdir_names[key], found)


def _finding(context: RuleContext, vdir: str, variants: list[_Variant]) -> Finding:
    vdir_policy = context.vdir_policy(vdir)
    default = vdir_policy.default_profiles if vdir_policy else None
    default_set = frozenset(default) if default is not None else None

    def rank(variant: _Variant) -> tuple[int, int, str]:
        is_default = variant.profiles is not None and frozenset(variant.profiles) == default_set
        return (-len(variant.servers), 0 if is_default else 1, variant.describe())

    variants.sort(key=rank)
    deviating = variants[1]
    first = min(deviating.configs, key=lambda config: (config.server.casefold(), config.path))
    decisive = first.oauth_profiles
    parts = []
    for variant in variants:
        servers = variant.servers
        noun = "server" if len(servers) == 1 else "servers"
        parts.append(
            f"{len(servers)} {noun} ({listing(servers, _SERVERS_SHOWN)}): {variant.describe()}"
        )
    evidence: list[Evidence] = []
    for variant in variants:
        sample = min(variant.configs, key=lambda config: (config.server.casefold(), config.path))
        if sample.oauth_profiles is not None:
            evidence.append(sample.oauth_profiles.evidence)
    return new_finding(
        context,
        "FL001",
        subject=fleet_subject(vdir),
        message=f"Servers disagree on the OAuth profiles of {vdir}: " + "; ".join(parts) + ".",
        location=(
            Location(decisive.evidence.path or first.path, decisive.line)
            if decisive is not None
            else Location(first.path, None)
        ),
        evidence=evidence,
        details={
            "vdir": vdir,
            "default_profiles": list(default) if default is not None else None,
            "variants": [
                {
                    "profiles": list(variant.profiles) if variant.profiles is not None else None,
                    "servers": variant.servers,
                }
                for variant in variants
            ],
        },
    )


RULES = (check_fl001,)
