"""What the plan explains of the hybrid trust, for `auditor attest`: one function,
`explained_differences`, maps plan.json to every trust difference its changes make (record
kind, identity, property, audited and target value); `auditor.attest_trust` fails every other.

Owns `TrustKind` (every kind of trust record attest compares), `ExplainedDifference` and
`exported_text` (a plan value in the exports' canonical text). A new kind of planned trust
change adds its entries to `explained_differences`, and nothing else.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

RECORD = "(the record)"  # an ExplainedDifference about the record itself: created or removed
AUTH_SERVER_GUID_PROPERTY = "ApplicationIdentifier"  # a GUID: compared ignoring case
PRESENT = "present"


class TrustKind(StrEnum):
    """Every kind of trust record attest compares (the name a reader knows it by)."""

    SETTING_OVERRIDE = "SettingOverride"
    AUTH_SERVER = "AuthServer"
    AUTH_CONFIG = "AuthConfig"
    HYBRID_CONFIGURATION = "HybridConfiguration"
    INTRA_ORGANIZATION_CONNECTOR = "IntraOrganizationConnector"
    ORGANIZATION_RELATIONSHIP = "OrganizationRelationship"
    ORGANIZATION_CONFIG = "OrganizationConfig"
    EXSETUP = "ExSetup build"
    EXCHANGE_CERTIFICATE = "certificate"
    VARIANT_CONFIGURATION = "effective override"


@dataclass(frozen=True, slots=True)
class ExplainedDifference:
    """One difference between the trust exports before and after that the plan makes.

    `identity` is the record's Name (for an effective override, its name on every server);
    `property` an exported property, or `RECORD` for the record itself; `audited` and `target`
    are canonical texts (`exported_text`), None where the record does not exist. `folded`:
    the values compare ignoring case (a GUID, such as an AuthServer's ApplicationIdentifier).
    """

    kind: TrustKind
    identity: str
    property: str
    audited: str | None
    target: str | None
    folded: bool = False
    empty_list: bool = False  # "" ($null) and "[]" (an empty list) are the same value

    def matches(self, wanted: str, found: str | None) -> bool:
        """Whether the exported `found` is the value `wanted` (as this difference compares)."""
        if found is None:
            return False
        if self.empty_list and wanted in ("", "[]"):
            return found in ("", "[]")
        return found.casefold() == wanted.casefold() if self.folded else found == wanted


def exported_text(value: Any) -> str:
    """A plan value as the exports' canonical text (`auditor.parsers.properties.canonical_text`):
    a list as a JSON array, a flag as PowerShell writes it, None as ""."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, list | tuple):
        return json.dumps(list(value), ensure_ascii=False)
    return str(value)


def explained_differences(plan: Mapping[str, Any]) -> tuple[ExplainedDifference, ...]:
    """Every trust difference the plan explains (the plan document, already validated).

    `setting_overrides`: the override's Parameters (and the record, when the plan creates it),
    in the SettingOverride export and in each server's effective overrides; a scope the plan
    clears (Server, MinVersion, MaxVersion, HT004) in the SettingOverride export, and then the
    effective override may appear on a server it missed. `auth_servers`: the
    one property of the named AuthServer (`Set-AuthServer -Enabled $false` exports as "False");
    an ApplicationIdentifier is a GUID and compares ignoring case.
    """
    found: list[ExplainedDifference] = []
    for change_set in plan["change_sets"]:
        for change in change_set.get("setting_overrides", ()):
            audited = change["audited_parameters"]
            target = exported_text(change["target_parameters"])
            found.extend(_scope_differences(change))
            for kind in (TrustKind.SETTING_OVERRIDE, TrustKind.VARIANT_CONFIGURATION):
                rescoped = kind is TrustKind.VARIANT_CONFIGURATION and _rescoped(change)
                if audited is None or rescoped:
                    found.append(ExplainedDifference(kind, change["name"], RECORD, None, PRESENT))
                found.append(
                    ExplainedDifference(
                        kind,
                        change["name"],
                        "Parameters",
                        None if audited is None else exported_text(audited),
                        target,
                    )
                )
        for change in change_set.get("auth_servers", ()):
            found.append(
                ExplainedDifference(
                    TrustKind.AUTH_SERVER,
                    change["name"],
                    change["property"],
                    exported_text(change["audited_value"]),
                    exported_text(change["target_value"]),
                    folded=change["property"] == AUTH_SERVER_GUID_PROPERTY,
                )
            )
    return tuple(found)


_SCOPE = (
    ("Server", "audited_server", "target_server"),
    ("MinVersion", "audited_min_version", "target_min_version"),
    ("MaxVersion", "audited_max_version", "target_max_version"),
)


def _rescoped(change: Mapping[str, Any]) -> bool:
    """Whether the planned override's scope changes (plans before the scope was planned: no)."""
    return any(change.get(before) != change.get(after) for _, before, after in _SCOPE)


def _scope_differences(change: Mapping[str, Any]) -> list[ExplainedDifference]:
    """The override's Server, MinVersion and MaxVersion the plan clears (HT004): the audited
    value before, empty after (a cleared Server exports as $null or as an empty list)."""
    found: list[ExplainedDifference] = []
    for label, before, after in _SCOPE:
        audited, target = change.get(before), change.get(after)
        if audited == target:
            continue
        found.append(
            ExplainedDifference(
                TrustKind.SETTING_OVERRIDE,
                change["name"],
                label,
                exported_text(audited),
                exported_text(target),
                empty_list=label == "Server",
            )
        )
    return found
