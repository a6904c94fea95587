"""Layering policy files into one `Policy`: `extends`, merging, and the waivers' fate.

`load_policy`: the shipped default first, then every given file; a file's `extends` (a path
relative to the file, or `default`) is loaded before it, once. Scalars and lists override,
`applications` merge by `application_identifier` and `vdirs` by vdir id (an entry changes only
the fields it states), `waivers` append. Rules are not declared by policies: each rule's
effective settings start from its declaration (`auditor.rules.registry`, every registered rule)
and each file may change them with `rule_overrides` (`severity`, `enabled`).
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path, PurePath
from typing import Any

from auditor.model import (
    ApplicationPolicy,
    HybridTrustPolicy,
    Policy,
    PolicySource,
    RuleInfo,
    Severity,
    VdirPolicy,
    Waiver,
)
from auditor.policy.files import (
    DEFAULT_POLICY,
    DocPath,
    PolicyError,
    PolicyFile,
    default_policy_path,
    format_doc_path,
    read_policy_file,
)
from auditor.policy.validation import SchemaIssue, schema_issues
from auditor.policy.weakening import policy_weakenings, setting_key
from auditor.rules.registry import RuleRegistry, RuleRegistryError, registered_rules

# The settings that are lists, each replaced whole by the last file that sets it.
_LIST_SETTINGS = (
    "forbidden_app_only",
    "known_profile_tokens",
    "app_only_profile_tokens",
    "forbidden_profiles_everywhere",
)


def load_policy(
    paths: Sequence[Path] = (), *, default: bool = True, strict_waivers: bool = False
) -> Policy:
    """The effective policy: the shipped default (unless `default` is False), then `paths`.

    Each file's `extends` is honoured (loaded first, once). Raises `PolicyError` for any policy
    that is unreadable or invalid; malformed waivers are kept for rule WV001 unless
    `strict_waivers` is set, in which case they are errors too.
    """
    chain = _Chain()
    if default:
        chain.add(default_policy_path(), DEFAULT_POLICY, via=None)
    for path in paths:
        chain.add(Path(path), str(path), via=None)
    if not chain.files:
        raise PolicyError("no policy to load: give a policy file or use the shipped default")
    return _merge(chain.files, strict_waivers=strict_waivers)


# --- loading the chain of files -----------------------------------------------------------------


@dataclass(slots=True)
class _Chain:
    """The policy files in load order, each once, with `extends` resolved before the file."""

    files: list[PolicyFile] = field(default_factory=list)
    _loaded: set[Path] = field(default_factory=set)
    _loading: list[Path] = field(default_factory=list)

    def add(self, path: Path, display: str, via: tuple[PolicyFile, DocPath] | None) -> None:
        resolved = path.resolve()
        if resolved in self._loaded:
            return
        if resolved in self._loading:
            if via is not None:
                raise via[0].error("`extends` makes a cycle: a policy extends itself", via[1])
            raise PolicyError("`extends` makes a cycle", path=display)
        self._loading.append(resolved)
        try:
            if via is not None and not path.is_file():
                raise via[0].error(f"the policy it extends was not found ({display})", via[1])
            policy_file = read_policy_file(path, display)
            base = policy_file.document.get("extends")
            if isinstance(base, str) and base:
                self._add_base(policy_file, base)
            self.files.append(policy_file)
            self._loaded.add(resolved)
        finally:
            self._loading.pop()

    def _add_base(self, policy_file: PolicyFile, base: str) -> None:
        if base == DEFAULT_POLICY:
            self.add(default_policy_path(), DEFAULT_POLICY, (policy_file, ("extends",)))
            return
        target = policy_file.resolved.parent / base
        display = str(PurePath(policy_file.display).parent / base)
        self.add(target, display, (policy_file, ("extends",)))


def _merge(files: Sequence[PolicyFile], *, strict_waivers: bool) -> Policy:
    state = _MergeState(rules=declared_rules())
    for policy_file in files:
        # The shipped default is valid: the test suite checks it against the schema
        # (tests/policy/test_policy_load.py); checking it again cost 38 ms of CPU (jsonschema's
        # import and one validation, 44 against 6 ms for `load_policy()`, fresh processes).
        issues = [] if _is_shipped_default(policy_file) else schema_issues(policy_file)
        hard = [issue for issue in issues if issue.lenient_waiver is None]
        if hard or (strict_waivers and issues):
            raise _first_issue(policy_file, hard or issues)
        lenient: dict[int | None, SchemaIssue] = {}
        for issue in issues:
            lenient.setdefault(issue.lenient_waiver, issue)
        state.apply(policy_file, lenient, strict_waivers=strict_waivers)
        state.raise_errors()
    return state.finish(files, strict_waivers=strict_waivers)


def _is_shipped_default(policy_file: PolicyFile) -> bool:
    """Whether `policy_file` is the default policy shipped with auditor."""
    return (
        policy_file.display == DEFAULT_POLICY
        and policy_file.resolved == default_policy_path().resolve()
    )


def _first_issue(policy_file: PolicyFile, issues: Sequence[SchemaIssue]) -> PolicyError:
    """The first issue by line as the error raised, carrying every issue in line order."""

    def order(issue: SchemaIssue) -> tuple[tuple[int, int], int]:
        marks = policy_file.key_marks if issue.key else policy_file.marks
        return marks.get(issue.doc_path, (0, 0)), -len(issue.doc_path)

    errors: list[PolicyError] = []
    seen: set[str] = set()
    for issue in sorted(issues, key=order):
        error = policy_file.error(issue.problem, issue.doc_path, key=issue.key)
        if str(error) not in seen:
            seen.add(str(error))
            errors.append(error)
    errors[0].errors = tuple(errors)
    return errors[0]


@dataclass(slots=True)
class _MergeState:
    name: str = ""
    rules: dict[str, RuleInfo] = field(default_factory=dict)
    applications: dict[str, dict[str, Any]] = field(default_factory=dict)
    vdirs: dict[str, dict[str, Any]] = field(default_factory=dict)
    lists: dict[str, tuple[str, ...]] = field(default_factory=dict)
    csv_list_separator: str | None = None
    docs_url: str | None = None
    assess: tuple[str, ...] = ("hybrid-trust", "partner-applications", "web-config")
    assess_source: str | None = None
    judged_vdirs: tuple[str, ...] = ("Default Web Site/API",)
    hybrid_trust: HybridTrustPolicy = field(default_factory=HybridTrustPolicy)
    waivers: list[tuple[PolicyFile, int, dict[str, Any], str | None]] = field(default_factory=list)
    # setting key (`weakening.setting_key`) -> the file that last set it (`PolicySource.name`)
    origins: dict[str, str] = field(default_factory=dict)
    errors: list[PolicyError] = field(default_factory=list)  # every error, raised together

    def apply(
        self,
        policy_file: PolicyFile,
        lenient: Mapping[int | None, SchemaIssue],
        *,
        strict_waivers: bool,
    ) -> None:
        """Layer one validated file on what the files below it set."""
        document = policy_file.document
        self.name = document["name"]
        self._merge_rule_overrides(policy_file)
        self._merge_applications(policy_file)
        self._merge_vdirs(policy_file)
        for key in _LIST_SETTINGS:
            if key in document:
                self.lists[key] = tuple(document[key])
                self.origins[setting_key(key)] = source_name(policy_file)
        if "csv_list_separator" in document:
            self.csv_list_separator = document["csv_list_separator"]
        if "docs_url" in document:
            self.docs_url = document["docs_url"]
        self._merge_scope(policy_file)
        self._merge_hybrid_trust(policy_file)
        self._merge_waivers(policy_file, lenient, strict_waivers=strict_waivers)

    def _merge_rule_overrides(self, policy_file: PolicyFile) -> None:
        """A rule's effective settings: its declaration, then each file's `rule_overrides`."""
        for rule_id, override in policy_file.document.get("rule_overrides", {}).items():
            if rule_id not in self.rules:
                self.errors.append(
                    policy_file.error(
                        f"auditor has no rule {rule_id}; known rules: {', '.join(self.rules)}",
                        ("rule_overrides", rule_id),
                        key=True,
                    )
                )
                continue
            self.rules[rule_id] = dataclasses.replace(
                self.rules[rule_id],
                severity=Severity(override.get("severity", self.rules[rule_id].severity)),
                enabled=override.get("enabled", self.rules[rule_id].enabled),
            )
            for name in override:
                self.origins[setting_key("rules", rule_id, name)] = source_name(policy_file)

    def _merge_waivers(
        self,
        policy_file: PolicyFile,
        lenient: Mapping[int | None, SchemaIssue],
        *,
        strict_waivers: bool,
    ) -> None:
        """Keep every waiver of the file, with why it is malformed (None: well-formed)."""
        for index, waiver in enumerate(policy_file.document.get("waivers", [])):
            issue = lenient.get(index)
            why = None
            if issue is not None:
                why = f"{format_doc_path(issue.doc_path)}: {issue.problem}"
            else:
                why = _waiver_date_problem(waiver["expires"])
                if why is not None and strict_waivers:
                    self.errors.append(policy_file.error(why, ("waivers", index, "expires")))
                    continue
                if why is not None:
                    why = f"waivers[{index}].expires: {why}"
            self.waivers.append((policy_file, index, waiver, why))

    def _merge_scope(self, policy_file: PolicyFile) -> None:
        from auditor.layout import find_vdir

        scope = policy_file.document.get("scope", {})
        if "assess" in scope:
            assess = tuple(sorted(scope["assess"]))
            if assess != self.assess:
                self.assess_source = source_name(policy_file)
            self.assess = assess
        if "web_config_vdirs" in scope:
            vdirs: list[str] = []
            for index, name in enumerate(scope["web_config_vdirs"]):
                vdir = find_vdir(name)
                if vdir is None:
                    self.errors.append(
                        policy_file.error(
                            f"{name!r} is not an Exchange vdir auditor knows (for example "
                            "'Default Web Site/API', 'Default Web Site/EWS')",
                            ("scope", "web_config_vdirs", index),
                        )
                    )
                    continue
                vdirs.append(vdir.id)
            self.judged_vdirs = tuple(vdirs)

    def _merge_hybrid_trust(self, policy_file: PolicyFile) -> None:
        """`hybrid_trust`, field by field over the files below (GUIDs compared lower-case)."""
        section = policy_file.document.get("hybrid_trust", {})
        changes: dict[str, Any] = {}
        for name in ("tenant_id", "expected_application_id"):
            if name in section:
                changes[name] = section[name].lower()
        for name in ("require_dedicated_app", "certificate_warning_days"):
            if name in section:
                changes[name] = section[name]
        if "build_floors" in section:
            floors = dict(self.hybrid_trust.build_floors) | section["build_floors"]
            changes["build_floors"] = tuple(sorted(floors.items()))
        for name in section:
            self.origins[setting_key("hybrid_trust", name)] = source_name(policy_file)
        self.hybrid_trust = dataclasses.replace(self.hybrid_trust, **changes)

    def _merge_applications(self, policy_file: PolicyFile) -> None:
        seen: dict[str, int] = {}
        for index, entry in enumerate(policy_file.document.get("applications", [])):
            key = entry["application_identifier"].lower()
            if key in seen:
                self.errors.append(
                    _listed_twice(
                        policy_file,
                        f"application {key}",
                        ("applications", index, "application_identifier"),
                        seen[key],
                    )
                )
                continue
            seen[key] = index
            merged = self.applications.setdefault(
                key, {"name": entry.get("name", key), "approved_app_only": ()}
            )
            if "name" in entry:
                merged["name"] = entry["name"]
            if "approved_app_only" in entry:
                merged["approved_app_only"] = tuple(dict.fromkeys(entry["approved_app_only"]))
                self.origins[setting_key("applications", key, "approved_app_only")] = source_name(
                    policy_file
                )

    def _merge_vdirs(self, policy_file: PolicyFile) -> None:
        from auditor.layout import find_vdir

        seen: dict[str, int] = {}
        for index, entry in enumerate(policy_file.document.get("vdirs", [])):
            known = find_vdir(entry["vdir"])
            if known is None:
                self.errors.append(
                    policy_file.error(
                        f"unknown vdir {entry['vdir']!r}; expected a canonical IIS path such as "
                        "'Default Web Site/API' or 'Exchange Back End/ecp'",
                        ("vdirs", index, "vdir"),
                    )
                )
                continue
            key = known.id.casefold()
            if key in seen:
                self.errors.append(
                    _listed_twice(
                        policy_file, f"vdir {known.id!r}", ("vdirs", index, "vdir"), seen[key]
                    )
                )
                continue
            seen[key] = index
            merged = self.vdirs.setdefault(
                key,
                {
                    "vdir": known.id,
                    "default_profiles": None,
                    "allowed_profiles": (),
                    "forbidden_profiles": (),
                },
            )
            for name in ("default_profiles", "allowed_profiles", "forbidden_profiles"):
                if name in entry:
                    merged[name] = tuple(entry[name])
                    self.origins[setting_key("vdirs", known.id, name)] = source_name(policy_file)

    def _waivers(
        self, *, strict_waivers: bool
    ) -> tuple[list[Waiver], list[tuple[int | None, str]], list[str]]:
        """The usable waivers, and (line, why) plus the file of every malformed one."""
        waivers: list[Waiver] = []
        malformed: list[tuple[int | None, str]] = []
        malformed_sources: list[str] = []
        for policy_file, index, entry, problem in self.waivers:
            why = problem
            waived = entry.get("rule")
            declared = self.rules.get(waived) if isinstance(waived, str) else None
            rule_problem = None
            if why is None and declared is None:
                rule_problem = f"auditor has no rule {waived}"
            elif why is None and declared is not None and not declared.waivable:
                rule_problem = f"rule {waived} cannot be waived"
            if rule_problem is not None:
                if strict_waivers:
                    self.errors.append(policy_file.error(rule_problem, ("waivers", index, "rule")))
                    continue
                why = f"waivers[{index}].rule: {rule_problem}"
            if why is not None:
                malformed.append((policy_file.line(("waivers", index)), why))
                malformed_sources.append(source_name(policy_file))
                continue
            waivers.append(
                Waiver(
                    rule=entry["rule"],
                    subject=entry["subject"],
                    reason=entry["reason"],
                    ticket=entry["ticket"],
                    owner=entry["owner"],
                    approver=entry["approver"],
                    expires=datetime.date.fromisoformat(entry["expires"]),
                    line=policy_file.line(("waivers", index)),
                    source=source_name(policy_file),
                )
            )
        return waivers, malformed, malformed_sources

    def raise_errors(self) -> None:
        """Raise the errors found so far, together, in line order (`PolicyError.errors`)."""
        if not self.errors:
            return
        ordered = sorted(self.errors, key=lambda error: (error.path or "", error.line or 0))
        ordered[0].errors = tuple(ordered)
        raise ordered[0]

    def finish(self, files: Sequence[PolicyFile], *, strict_waivers: bool) -> Policy:
        waivers, malformed, malformed_sources = self._waivers(strict_waivers=strict_waivers)
        self.raise_errors()
        digest = hashlib.sha256()
        for policy_file in files:
            digest.update(f"{len(policy_file.canonical)}:".encode("ascii"))
            digest.update(policy_file.canonical)
        lists = self.lists
        policy = Policy(
            name=self.name,
            sha256=digest.hexdigest(),
            sources=tuple(source_name(policy_file) for policy_file in files),
            rules=tuple(self.rules.values()),
            applications=tuple(
                ApplicationPolicy(
                    application_identifier=key,
                    name=entry["name"],
                    approved_app_only=entry["approved_app_only"],
                )
                for key, entry in self.applications.items()
            ),
            forbidden_app_only=lists.get("forbidden_app_only", ()),
            known_profile_tokens=lists.get("known_profile_tokens", ()),
            app_only_profile_tokens=lists.get("app_only_profile_tokens", ("V1S2SAppOnly",)),
            vdirs=tuple(
                VdirPolicy(
                    vdir=entry["vdir"],
                    default_profiles=entry["default_profiles"],
                    allowed_profiles=entry["allowed_profiles"],
                    forbidden_profiles=entry["forbidden_profiles"],
                )
                for entry in self.vdirs.values()
            ),
            forbidden_profiles_everywhere=lists.get("forbidden_profiles_everywhere", ()),
            csv_list_separator=self.csv_list_separator,
            docs_url=self.docs_url,
            assess=self.assess,
            assess_source=self.assess_source,
            judged_vdirs=self.judged_vdirs,
            hybrid_trust=self.hybrid_trust,
            waivers=tuple(waivers),
            malformed_waivers=tuple(malformed),
            malformed_waiver_sources=tuple(malformed_sources),
            source_files=tuple(
                PolicySource(
                    source_name(policy_file), hashlib.sha256(policy_file.canonical).hexdigest()
                )
                for policy_file in files
            ),
        )
        shipped = default_policy_path().resolve()
        if all(policy_file.resolved == shipped for policy_file in files):
            return policy
        weakenings = policy_weakenings(policy, shipped_default(), self.origins)
        return dataclasses.replace(policy, weakenings=weakenings)


def declared_rules() -> dict[str, RuleInfo]:
    """Every registered rule's settings as its declaration states them, in catalogue order."""
    try:
        registry = registered_rules()
    except RuleRegistryError as error:
        raise PolicyError(f"the rules cannot be registered: {error}") from None
    return {declared.id: declared.info() for declared in registry}


def shipped_default() -> Policy:
    """The shipped default policy alone, as `load_policy(())` gives it (read once per registry)."""
    return _shipped_default(registered_rules())


@lru_cache(maxsize=1)
def _shipped_default(registry: RuleRegistry) -> Policy:
    return _merge([read_policy_file(default_policy_path(), DEFAULT_POLICY)], strict_waivers=False)


def source_name(policy_file: PolicyFile) -> str:
    """How outputs name a policy file: `default`, or its file name (no folder of this machine)."""
    if policy_file.resolved == default_policy_path().resolve():
        return DEFAULT_POLICY
    return PurePath(policy_file.display).name


def _listed_twice(policy_file: PolicyFile, what: str, at: DocPath, first: int) -> PolicyError:
    """The error at `at` (section, index, key field) for what entry `first` already names."""
    section = at[0]
    line = policy_file.line((section, first))
    return policy_file.error(
        f"{what} is listed twice in this policy (also {section}[{first}], line {line})", at
    )


def _waiver_date_problem(expires: str) -> str | None:
    try:
        datetime.date.fromisoformat(expires)
    except ValueError:
        return f"{expires!r} is not a calendar date (expected YYYY-MM-DD)"
    return None
