"""The policy as text for its author: `auditor policy show` and `auditor policy init`."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import yaml

from auditor.model import (
    HybridTrustPolicy,
    Policy,
    VdirPolicy,
)


def policy_as_yaml(policy: Policy) -> str:
    """The merged effective policy as a standalone, deterministic YAML policy (`policy show`)."""
    document: dict[str, Any] = {
        "name": policy.name,
        "version": 1,
        # Every rule's effective settings; the rules themselves are declared by auditor.
        "rule_overrides": {
            str(info.id): {"severity": info.severity.value, "enabled": info.enabled}
            for info in policy.rules
        },
        "applications": [
            {
                "application_identifier": app.application_identifier,
                "name": app.name,
                "approved_app_only": list(app.approved_app_only),
            }
            for app in policy.applications
        ],
        "forbidden_app_only": list(policy.forbidden_app_only),
        "known_profile_tokens": list(policy.known_profile_tokens),
        "app_only_profile_tokens": list(policy.app_only_profile_tokens),
        "vdirs": [_vdir_document(vdir) for vdir in policy.vdirs],
        "forbidden_profiles_everywhere": list(policy.forbidden_profiles_everywhere),
        "scope": {
            "assess": list(policy.assess),
            "web_config_vdirs": list(policy.judged_vdirs),
        },
        "csv_list_separator": policy.csv_list_separator,
        **({"docs_url": policy.docs_url} if policy.docs_url else {}),
        **_hybrid_trust_document(policy),
        "waivers": [waiver.to_json() for waiver in policy.waivers],
    }
    header = [
        "# Effective policy, merged by auditor from:",
        *(f"#   {source}" for source in policy.sources),
        f"# sha256: {policy.sha256}",
    ]
    for (line, why), source in zip(
        policy.malformed_waivers, _padded(policy.malformed_waiver_sources), strict=False
    ):
        where = f"{source}:{line}" if line is not None else source
        header.append(f"# malformed waiver left out (rule WV001): {where}: {why}")
    header.extend(f"# weakens: {_one_line(item.text)}" for item in policy.weakenings)
    body = yaml.safe_dump(
        document, sort_keys=False, allow_unicode=True, width=100, default_flow_style=False
    )
    return "\n".join(header) + "\n" + body


def _hybrid_trust_document(policy: Policy) -> dict[str, Any]:
    """The `hybrid_trust` section when the policy sets it (absent: the defaults hold)."""
    trust = policy.hybrid_trust
    if trust == HybridTrustPolicy():
        return {}
    section: dict[str, Any] = {
        "require_dedicated_app": trust.require_dedicated_app,
        "certificate_warning_days": trust.certificate_warning_days,
    }
    if trust.tenant_id is not None:
        section["tenant_id"] = trust.tenant_id
    if trust.expected_application_id is not None:
        section["expected_application_id"] = trust.expected_application_id
    if trust.build_floors:
        section["build_floors"] = dict(trust.build_floors)
    return {"hybrid_trust": section}


def _one_line(text: str) -> str:
    """`text` with every non-printable character escaped, so a comment stays one line."""
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def policy_init_text() -> str:
    """A commented starter organisation policy that extends the shipped default and validates."""
    return _INIT_TEXT


_INIT_TEXT = """\
# Organisation policy for auditor. It extends the policy shipped with auditor and states only
# what differs. `auditor policy validate THIS_FILE` checks it, `auditor policy show` prints the
# effective (merged) policy and `auditor policy schema` gives editors the JSON Schema.
name: contoso-exchange
version: 1
extends: default

# Change a rule's severity or turn it off (it is then listed as not applied).
# rule_overrides:
#   FL001:
#     severity: high
#   PA005:
#     enabled: false

# Approve app-only permissions for one application, matched by ApplicationIdentifier.
# Approvals only remove findings of rule PA002: permissions forbidden outright
# (forbidden_app_only, e.g. Mail.Send or *.ReadWrite*) are reported whatever is approved.
# applications:
#   - application_identifier: 00000003-0000-0000-c000-000000000000
#     name: Microsoft Graph
#     approved_app_only: [Mail.Read]

# Allow the app-only profile on the REST vdir while an approval above exists.
# vdirs:
#   - vdir: Default Web Site/API
#     allowed_profiles: [V1S2SAppOnly]

# Accept a risk for a limited time. Every field is required; the waiver applies up to and
# including `expires`. A trailing `*` in `subject` matches any ending.
# waivers:
#   - rule: WC002
#     subject: "web-config:EX01:Default Web Site/API"
#     reason: Trailing separator left by a CU; removed with the next maintenance window.
#     ticket: CHG-0001
#     owner: messaging-team@contoso.example
#     approver: security-board@contoso.example
#     expires: 2026-12-31
"""


# --- showing -------------------------------------------------------------------------------


def _vdir_document(vdir: VdirPolicy) -> dict[str, Any]:
    document: dict[str, Any] = {"vdir": vdir.vdir}
    if vdir.default_profiles is not None:
        document["default_profiles"] = list(vdir.default_profiles)
    document["allowed_profiles"] = list(vdir.allowed_profiles)
    document["forbidden_profiles"] = list(vdir.forbidden_profiles)
    return document


def _padded(sources: Sequence[str]) -> Iterator[str]:
    yield from sources
    while True:
        yield "policy"
