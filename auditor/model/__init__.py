"""The domain values every stage shares: what was read, what was found, what is reported.

Everything here is a frozen, slotted dataclass or a closed enum. Parsers build
`PartnerApplication` and `WebConfig` records (each carrying its `Evidence`), `normalise` folds
them into one `Inventory`, rules judge every permission and profile token once (`Judgements`)
and raise `Finding`s from those judgements, the planner turns them into plan items
(`ChangeSet`, `PlanItem`, `Skipped`), and renderers read a `Report`: they display judgements,
plan items, `Report.verdict` and `Location.place`, and never re-derive them.
"Changing" a value means `dataclasses.replace`.

One module per stage, lowest first; a module imports only lower ones
(`tests/test_model_stages.py`):

- `severity`: the ordered `Severity` scale findings, problems and `--fail-on` share;
- `inputs`: what was read (problems, evidence, partner applications, web.configs, servers);
- `trust`: what was read of the hybrid OAuth trust (`AuthServer`, `AuthConfig`,
  `SettingOverride`, `ExchangeCertificate`, `ExSetupVersion`, ..., `TrustEvidence`);
- `inventory`: what parsing makes of it (`ParseResult`, `Inventory`, `Organisation`);
- `policy`: what the audit is judged against (`RuleId`, `RuleInfo`, `Policy`, `Waiver`);
- `judgement`: what the rules decided (`Finding`, `Judgements`, `NotApplied`);
- `plan`: the remediation plan (`ChangeSet`, `PlanItem`, `Script`, `Skipped`);
- `decision`: the facts decided once for every output (`Verdict`, `Decisions`, `Resolution`,
  `WaiverState`, `FleetJudgement`, ...; `auditor.decisions` decides them);
- `report`: the audit as a whole (`Scope`, the baseline, `Report`).

Every public name is re-exported here: import from `auditor.model`.
"""

from __future__ import annotations

from auditor.model.decision import (
    RESOLVED_BY_SHOWN,
    AppOnlyChange,
    Decisions,
    ExitDecision,
    FleetJudgement,
    FleetVariant,
    Held,
    PermissionOutcome,
    Resolution,
    ResolutionKind,
    Verdict,
    VerdictDecision,
    WaiverDecision,
    WaiverState,
)
from auditor.model.inputs import (
    OAUTH_PROFILES_KEY,
    AppSetting,
    EditRefusal,
    Evidence,
    ExchangeServer,
    InputFormat,
    Location,
    OAuthProfiles,
    PartnerApplication,
    PermissionList,
    Problem,
    ProblemCode,
    SourceFile,
    WebConfig,
    fleet_subject,
    format_place,
)
from auditor.model.inventory import (
    Excluded,
    Inventory,
    Organisation,
    ParseResult,
)
from auditor.model.judgement import (
    ApplicationJudgement,
    Finding,
    Judgements,
    NotApplied,
    PermissionJudgement,
    PermissionMark,
    Presence,
    ProfilesJudgement,
    TokenAction,
    TokenJudgement,
    TokenMark,
)
from auditor.model.plan import (
    DEDICATED_APP_COMPONENT,
    DEDICATED_APP_OVERRIDE_NAME,
    DEDICATED_APP_PARAMETERS,
    DEDICATED_APP_SECTION,
    AppOnlyLimit,
    ChangeKind,
    ChangeSet,
    PartnerApplicationChange,
    PlanItem,
    Script,
    ScriptKind,
    SettingOverrideChange,
    Skipped,
    WebConfigChange,
)
from auditor.model.policy import (
    CERTIFICATE_WARNING_DAYS,
    ApplicationPolicy,
    HybridTrustPolicy,
    Policy,
    PolicySource,
    PolicyWeakening,
    RuleId,
    RuleInfo,
    VdirPolicy,
    Waiver,
    WeakeningKind,
)
from auditor.model.report import (
    DEFAULT_CLASSES,
    RULED_CLASSES,
    BaselineComparison,
    BaselineState,
    EvidenceClass,
    EvidenceState,
    ExpectedEvidence,
    FixedFinding,
    Report,
    Scope,
)
from auditor.model.severity import (
    Severity,
)
from auditor.model.trust import (
    AuthConfig,
    AuthServer,
    CloudPrincipal,
    EffectiveOverride,
    ExchangeCertificate,
    ExportedList,
    ExSetupVersion,
    HybridConfiguration,
    IntraOrganizationConnector,
    KeyCredential,
    OrganizationConfig,
    SettingOverride,
    TrustEvidence,
    VariantConfiguration,
)

__all__ = [
    "CERTIFICATE_WARNING_DAYS",
    "DEDICATED_APP_COMPONENT",
    "DEDICATED_APP_OVERRIDE_NAME",
    "DEDICATED_APP_PARAMETERS",
    "DEDICATED_APP_SECTION",
    "DEFAULT_CLASSES",
    "OAUTH_PROFILES_KEY",
    "RESOLVED_BY_SHOWN",
    "RULED_CLASSES",
    "AppOnlyChange",
    "AppOnlyLimit",
    "AppSetting",
    "ApplicationJudgement",
    "ApplicationPolicy",
    "AuthConfig",
    "AuthServer",
    "BaselineComparison",
    "BaselineState",
    "ChangeKind",
    "ChangeSet",
    "CloudPrincipal",
    "Decisions",
    "EditRefusal",
    "EffectiveOverride",
    "Evidence",
    "EvidenceClass",
    "EvidenceState",
    "ExSetupVersion",
    "ExchangeCertificate",
    "ExchangeServer",
    "Excluded",
    "ExitDecision",
    "ExpectedEvidence",
    "ExportedList",
    "Finding",
    "FixedFinding",
    "FleetJudgement",
    "FleetVariant",
    "Held",
    "HybridConfiguration",
    "HybridTrustPolicy",
    "InputFormat",
    "IntraOrganizationConnector",
    "Inventory",
    "Judgements",
    "KeyCredential",
    "Location",
    "NotApplied",
    "OAuthProfiles",
    "Organisation",
    "OrganizationConfig",
    "ParseResult",
    "PartnerApplication",
    "PartnerApplicationChange",
    "PermissionJudgement",
    "PermissionList",
    "PermissionMark",
    "PermissionOutcome",
    "PlanItem",
    "Policy",
    "PolicySource",
    "PolicyWeakening",
    "Presence",
    "Problem",
    "ProblemCode",
    "ProfilesJudgement",
    "Report",
    "Resolution",
    "ResolutionKind",
    "RuleId",
    "RuleInfo",
    "Scope",
    "Script",
    "ScriptKind",
    "SettingOverride",
    "SettingOverrideChange",
    "Severity",
    "Skipped",
    "SourceFile",
    "TokenAction",
    "TokenJudgement",
    "TokenMark",
    "TrustEvidence",
    "VariantConfiguration",
    "VdirPolicy",
    "Verdict",
    "VerdictDecision",
    "Waiver",
    "WaiverDecision",
    "WaiverState",
    "WeakeningKind",
    "WebConfig",
    "WebConfigChange",
    "fleet_subject",
    "format_place",
]
