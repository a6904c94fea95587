"""Rule FL001: servers that disagree on the OAuth profiles of the same vdir.

The comparison uses the profiles Exchange honours (the segments the judgement marks HONOURED,
order and duplicates ignored); dropped segments are WC002's business. The agreement itself is a
typed `FleetJudgement` (`auditor.decisions.judge_fleet`), the one the planner and the renderers
read; `details` keeps its variants for findings.json. A web.config without an
`OAuthHttpModule.Profiles` key is a variant of its own. One finding per vdir, located at the
first server of the first variant that differs from the majority.
"""

from __future__ import annotations

from collections.abc import Iterator

from auditor.model import (
    Evidence,
    Finding,
    Location,
    Severity,
    WebConfig,
)
from auditor.profiles import FleetJudgement, honoured_profiles, judge_fleet
from auditor.rules.context import RuleContext, listing, new_finding
from auditor.rules.declaration import Needs, rule

_SERVERS_SHOWN = 5


def fleet_judgements(context: RuleContext) -> tuple[FleetJudgement, ...]:
    """Whether the servers agree on each vdir (`auditor.decisions.judge_fleet`)."""
    profiles = context.judgements.profiles
    defaults = {}
    for judgement in profiles:
        vdir_policy = context.vdir_policy(judgement.vdir)
        defaults[judgement.vdir] = vdir_policy.default_profiles if vdir_policy else None
    return judge_fleet(profiles, defaults)


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
    configs: dict[tuple[str, frozenset[str] | None], list[WebConfig]] = {}
    for config, judgement in zip(
        context.inventory.web_configs, context.judgements.profiles, strict=True
    ):
        honoured = honoured_profiles(judgement)
        key = (config.vdir.casefold(), None if honoured is None else frozenset(honoured))
        configs.setdefault(key, []).append(config)
    for fleet in fleet_judgements(context):
        if not fleet.agree:
            yield _finding(context, fleet, configs)


def _finding(
    context: RuleContext,
    fleet: FleetJudgement,
    configs: dict[tuple[str, frozenset[str] | None], list[WebConfig]],
) -> Finding:
    def files(profiles: tuple[str, ...] | None) -> list[WebConfig]:
        return configs[(fleet.vdir.casefold(), None if profiles is None else frozenset(profiles))]

    def sample(profiles: tuple[str, ...] | None) -> WebConfig:
        return min(files(profiles), key=lambda config: (config.server.casefold(), config.path))

    first = sample(fleet.variants[1].profiles)
    decisive = first.oauth_profiles
    parts = []
    for variant in fleet.variants:
        servers = list(variant.servers)
        noun = "server" if len(servers) == 1 else "servers"
        parts.append(
            f"{len(servers)} {noun} ({listing(servers, _SERVERS_SHOWN)}): {variant.describe()}"
        )
    evidence: list[Evidence] = []
    for variant in fleet.variants:
        held = sample(variant.profiles).oauth_profiles
        if held is not None:
            evidence.append(held.evidence)
    default = fleet.default_profiles
    return new_finding(
        context,
        "FL001",
        subject=fleet.subject,
        message=(
            f"Servers disagree on the OAuth profiles of {fleet.vdir}: " + "; ".join(parts) + "."
        ),
        location=(
            Location(decisive.evidence.path or first.path, decisive.line)
            if decisive is not None
            else Location(first.path, None)
        ),
        evidence=evidence,
        details={
            "vdir": fleet.vdir,
            "default_profiles": list(default) if default is not None else None,
            "variants": [
                {
                    "profiles": list(variant.profiles) if variant.profiles is not None else None,
                    "servers": list(variant.servers),
                }
                for variant in fleet.variants
            ],
        },
    )


RULES = (check_fl001,)
