"""After the change: prove from before/after exports that the approved change landed, and only it.

`attest` compares two inventories (exports taken before and after the scripts ran) with the
package's `plan.json`. It checks that the "before" exports are the ones that were audited (same
state as the plan's audited values), that every planned change reached its target, and that
nothing else differs:

- Partner applications: every exported property of every application is compared
  (`PartnerApplication.properties`, by name, whatever its case); the check names each property
  that changed, with both values. Only the AppOnlyPermissions of a planned application may
  change, to exactly the target. Not compared: the properties that describe the read rather
  than the object (`READ_CONTEXT`: which server and runspace answered, which domain controller
  it read from) and, for a planned application only, Active Directory's own record of the
  write (`WRITE_STAMPS`: WhenChanged, WhenChangedUTC), which Set-PartnerApplication updates.
- web.config: a file the plan does not change must be byte-identical (SHA-256). A planned file
  is compared as .NET reads it: the audited document with only the planned
  `OAuthHttpModule.Profiles` value replaced by the target must equal the after document,
  element by element, attribute by attribute, text by text (canonical XML). Comments,
  processing instructions and white space between elements are not compared: the
  configuration system ignores them, and Exchange's `Set-AppConfigValue` and the remediation's
  XML DOM edit may touch them. The first difference is named by its element path and line.
- The hybrid OAuth trust (`auditor.attest_trust`, `auditor.attest_trust_facts`): every trust
  record before against after, with the same exclusions, the planned setting override and
  EvoSTS AuthServer changes landed, and the auth certificates every Client Access server
  needs, valid on `as_of`. When neither set holds a trust export, the result's `notes` say the
  trust was not compared.
- Copies: every copy of one server's file (same server and vdir) in one export set must be
  byte-identical, and the copies of one partner application (one export per server) must agree
  on every exported property (`PartnerApplication.copy_differences`); copies that disagree are
  a failure naming both files, never one kept at random. No web.config may appear or vanish.

`plan.json` has one schema, `auditor/schemas/plan.schema.json` (JSON Schema 2020-12): the
document is validated against it before anything is read from it, so the reader trusts the
same shape the writer (`auditor.render.json_.plan_document`) produces.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from auditor.attest_documents import document_difference
from auditor.attest_trust import compare_trust
from auditor.model import Inventory, PartnerApplication, WebConfig
from auditor.parsers.properties import READ_CONTEXT

APP_ONLY = "AppOnlyPermissions"
# What Active Directory updates on every write of the object (a planned application only).
WRITE_STAMPS = frozenset(name.casefold() for name in ("WhenChanged", "WhenChangedUTC"))

PLAN_SCHEMA_PATH = Path(__file__).resolve().parent / "schemas" / "plan.schema.json"


class AttestError(Exception):
    """The plan document is unreadable or not a plan; the message says why, `line` where."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


@dataclasses.dataclass(frozen=True, slots=True)
class AttestResult:
    """Every check made (`checks`), every one that failed (`differences`), and what was not
    compared at all, in words (`notes`: never an "ok")."""

    checks: tuple[str, ...]
    differences: tuple[str, ...]
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.differences


@dataclasses.dataclass(frozen=True, slots=True)
class _PlannedApp:
    application_identifier: str
    audited: tuple[str, ...]
    target: tuple[str, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class _PlannedConfig:
    server: str
    vdir: str
    audited: str
    target: str


@functools.cache
def plan_schema() -> dict[str, Any]:
    """The JSON Schema every `plan.json` follows."""
    schema: dict[str, Any] = json.loads(PLAN_SCHEMA_PATH.read_text(encoding="utf-8"))
    return schema


def validate_plan(plan: Any) -> None:
    """Raise AttestError naming the first place where `plan` departs from the plan schema."""
    from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
    from jsonschema.exceptions import best_match  # type: ignore[import-untyped]

    error = best_match(Draft202012Validator(plan_schema()).iter_errors(plan))
    if error is not None:
        where = "/".join(str(part) for part in error.absolute_path) or "(the document)"
        raise AttestError(f"not a valid auditor plan: at {where}: {_schema_problem(error)}")


_JSON_TYPES = {
    "object": "an object",
    "array": "a list",
    "string": "a string",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
}


def _schema_problem(error: Any) -> str:
    """What the plan schema expected at the failing place, in words (no Python reprs)."""
    expected = error.validator_value
    if error.validator == "type":
        kinds: list[str] = expected if isinstance(expected, list) else [expected]
        return "expected " + " or ".join(_JSON_TYPES.get(kind, kind) for kind in kinds)
    if error.validator == "required":
        missing = [key for key in expected if key not in error.instance]
        return "missing key " + ", ".join(missing)
    if error.validator == "additionalProperties":
        return "a key the plan schema does not have"
    if error.validator in ("enum", "const"):
        allowed = expected if isinstance(expected, list) else [expected]
        return "expected one of " + ", ".join(json.dumps(value) for value in allowed)
    return f"does not meet the plan schema ({error.validator}: {json.dumps(expected)})"


def _plan_document(plan_text: str) -> dict[str, Any]:
    """The plan document, validated against the plan schema."""
    try:
        plan = json.loads(plan_text)
    except json.JSONDecodeError as error:
        raise AttestError(f"not JSON: {error.msg} (column {error.colno})", error.lineno) from None
    validate_plan(plan)
    document: dict[str, Any] = plan
    return document


def _planned(plan: dict[str, Any]) -> tuple[list[_PlannedApp], list[_PlannedConfig]]:
    apps: list[_PlannedApp] = []
    configs: list[_PlannedConfig] = []
    for change_set in plan["change_sets"]:
        for change in change_set["partner_applications"]:
            apps.append(
                _PlannedApp(
                    application_identifier=change["application_identifier"],
                    audited=tuple(change["audited_app_only"]),
                    target=tuple(change["target_app_only"]),
                )
            )
        for change in change_set["web_configs"]:
            configs.append(
                _PlannedConfig(
                    server=change_set["server"] or "",
                    vdir=change["vdir"],
                    audited=change["audited_value"],
                    target=change["target_value"],
                )
            )
    return apps, configs


def _property_map(app: PartnerApplication) -> dict[str, tuple[str, str]]:
    """The application's exported properties by folded name: (name as exported, text).

    A record built without its export's properties (in code) falls back to the properties the
    model names.
    """
    if app.properties:
        pairs: Sequence[tuple[str, str]] = app.properties
    else:
        pairs = [(name, repr(value)) for name, value in app.exported_properties().items()]
    return {name.casefold(): (name, text) for name, text in pairs}


@dataclasses.dataclass(slots=True)
class _Checks:
    """Every check made, in order, and the ones that failed."""

    made: list[str] = dataclasses.field(default_factory=list)
    failed: list[str] = dataclasses.field(default_factory=list)

    def check(self, ok: bool, what: str) -> None:
        self.made.append(what)
        if not ok:
            self.failed.append(what)


def read_document(path: str) -> bytes:
    """The bytes of an exported file, read again from disk (what `attest` uses by default)."""
    return Path(path).read_bytes()


def attest(
    before: Inventory,
    after: Inventory,
    plan_text: str,
    *,
    read_before: Callable[[str], bytes] = read_document,
    read_after: Callable[[str], bytes] = read_document,
    as_of: datetime.date | None = None,
) -> AttestResult:
    """Compare before/after inventories against the plan; see the module docstring.

    `read_before` / `read_after` give the bytes of a planned web.config of each set by its
    `path` (a display path: relative to the folder the set was read from), whose whole
    document is compared; its SHA-256 must still be the one the inventory read. `as_of` is
    the date the auth certificates must be valid on (`auditor.attest_trust`); the CLI gives it.
    """
    plan = _plan_document(plan_text)
    planned_apps, planned_configs = _planned(plan)
    checks = _Checks()
    for label, inventory in (("before", before), ("after", after)):
        for problem in inventory.problems:
            checks.check(False, f"{label}: {problem.place}: {problem.message}")
    _check_applications(checks, before, after, planned_apps)
    _check_web_configs(checks, before, after, planned_configs, (read_before, read_after))
    trust = compare_trust(checks.check, before, after, plan, as_of or datetime.date.today())
    return AttestResult(
        checks=tuple(checks.made),
        differences=tuple(checks.failed),
        notes=(trust.note,) if trust.note else (),
    )


def _check_applications(
    checks: _Checks, before: Inventory, after: Inventory, planned_apps: list[_PlannedApp]
) -> None:
    """Only the planned AppOnlyPermissions changed, from the audited list to the target."""
    check = checks.check
    apps_before = {app.application_identifier.lower(): app for app in before.partner_applications}
    apps_after = {app.application_identifier.lower(): app for app in after.partner_applications}
    check(
        apps_before.keys() == apps_after.keys(),
        "the same partner applications exist before and after"
        + _only_in(
            sorted(apps_before.keys() - apps_after.keys()),
            sorted(apps_after.keys() - apps_before.keys()),
        ),
    )
    for label, inventory in (("before", before), ("after", after)):
        for app in inventory.partner_applications:
            for difference in app.copy_differences:
                check(
                    False,
                    f"{label}: two copies of partner application "
                    f"{app.application_identifier.lower()} disagree: {difference}",
                )
    changed_apps = {planned.application_identifier: planned for planned in planned_apps}
    for app_id in sorted(apps_before.keys() & apps_after.keys()):
        _check_properties(checks, apps_before[app_id], apps_after[app_id], app_id in changed_apps)
    for planned in planned_apps:
        old_app = apps_before.get(planned.application_identifier)
        new_app = apps_after.get(planned.application_identifier)
        if old_app is None or new_app is None:
            check(False, f"{planned.application_identifier}: missing before or after the change")
            continue
        name = planned.application_identifier
        old_list = old_app.app_only_permissions
        check(
            old_list.complete and old_list.values == planned.audited,
            f"{name}: before, AppOnlyPermissions equal the audited list ({_count(planned.audited)})"
            + _list_difference(old_list.values, planned.audited, old_list.complete),
        )
        new_list = new_app.app_only_permissions
        check(
            new_list.complete and sorted(new_list.values) == sorted(planned.target),
            f"{name}: after, AppOnlyPermissions equal the approved list: {_names(planned.target)}"
            + _list_difference(new_list.values, planned.target, new_list.complete),
        )


def _check_properties(
    checks: _Checks, old: PartnerApplication, new: PartnerApplication, planned: bool
) -> None:
    """Every exported property of one application, before against after; one check each change."""
    app_id = old.application_identifier.lower()
    who = f"{app_id} ({old.name})" if old.name else app_id
    skipped = READ_CONTEXT | (WRITE_STAMPS | {APP_ONLY.casefold()} if planned else frozenset())
    old_props, new_props = _property_map(old), _property_map(new)
    compared = sorted(
        {
            shown
            for props in (old_props, new_props)
            for key, (shown, _) in props.items()
            if key not in skipped
        },
        key=str.casefold,
    )
    formats = (
        f" (before read from {old.source.format.value}, after from {new.source.format.value})"
        if old.source.format is not new.source.format
        else ""
    )
    changed = False
    for key in sorted(set(old_props) | set(new_props)):
        if key in skipped:
            continue
        was, now = old_props.get(key), new_props.get(key)
        if was is not None and now is not None and was[1] == now[1]:
            continue
        changed = True
        shown = (was or now or (key, ""))[0]
        if was is None:
            what = f"appeared after the change, with {_cut(now[1] if now else '')}"
        elif now is None:
            what = f"is missing after the change (it was {_cut(was[1])})"
        else:
            what = f"changed from {_cut(was[1])} to {_cut(now[1])}"
        checks.check(False, f"{who}: {shown} {what}{formats}")
    if not changed:
        but = " but AppOnlyPermissions (and AD's WhenChanged stamps)" if planned else ""
        checks.check(
            True,
            f"{who}: no exported property{but} changed ({len(compared)} compared: "
            f"{', '.join(compared)})",
        )


def _copies(configs: Sequence[WebConfig]) -> dict[tuple[str, str], list[WebConfig]]:
    """Every copy of each server's file, by (server, vdir) folded, in path order."""
    grouped: dict[tuple[str, str], list[WebConfig]] = {}
    for config in sorted(configs, key=lambda c: c.path):
        grouped.setdefault((config.server.lower(), config.vdir.lower()), []).append(config)
    return grouped


def _check_copies(
    checks: _Checks, label: str, grouped: dict[tuple[str, str], list[WebConfig]]
) -> None:
    """Copies of one server's file in one export set must be byte-identical."""
    for key in sorted(grouped):
        first, *others = grouped[key]
        for other in others:
            checks.check(
                other.sha256 == first.sha256,
                f"{label}: {_config_name(first)}: the copies {first.path} and {other.path} "
                + (
                    "are identical (sha256)"
                    if other.sha256 == first.sha256
                    else f"disagree (sha256 {first.sha256} and {other.sha256}): which one is "
                    "on the server cannot be told"
                ),
            )


def _check_web_configs(
    checks: _Checks,
    before: Inventory,
    after: Inventory,
    planned_configs: list[_PlannedConfig],
    read: tuple[Callable[[str], bytes], Callable[[str], bytes]],
) -> None:
    """Only the planned Profiles values changed; every other web.config is byte-identical."""
    check = checks.check
    copies_before, copies_after = _copies(before.web_configs), _copies(after.web_configs)
    _check_copies(checks, "before", copies_before)
    _check_copies(checks, "after", copies_after)
    configs_before = {key: found[0] for key, found in copies_before.items()}
    configs_after = {key: found[0] for key, found in copies_after.items()}
    check(
        configs_before.keys() == configs_after.keys(),
        "the same web.config files exist before and after"
        + _only_in(
            [
                _config_name(configs_before[key])
                for key in sorted(configs_before.keys() - configs_after.keys())
            ],
            [
                _config_name(configs_after[key])
                for key in sorted(configs_after.keys() - configs_before.keys())
            ],
        ),
    )
    changed_configs = {(p.server.lower(), p.vdir.lower()): p for p in planned_configs}
    for key in sorted(configs_before.keys() & configs_after.keys()):
        old_config, new_config = configs_before[key], configs_after[key]
        planned_config = changed_configs.get(key)
        if planned_config is None:
            check(
                old_config.sha256 == new_config.sha256,
                f"{_config_name(old_config)}: web.config unchanged (sha256 of the whole file)",
            )
        else:
            _check_planned_config(checks, old_config, new_config, planned_config, read)
    for planned_config in planned_configs:
        key = (planned_config.server.lower(), planned_config.vdir.lower())
        if key not in configs_before or key not in configs_after:
            check(
                False,
                f"{planned_config.server} {planned_config.vdir}: "
                "planned web.config missing before or after",
            )


def _check_planned_config(
    checks: _Checks,
    old_config: WebConfig,
    new_config: WebConfig,
    planned_config: _PlannedConfig,
    read: tuple[Callable[[str], bytes], Callable[[str], bytes]],
) -> None:
    """Before, the audited Profiles value; after, the target; and nothing else in the file."""
    check = checks.check
    name = _config_name(old_config)
    old_raw = old_config.oauth_profiles.raw if old_config.oauth_profiles else None
    new_raw = new_config.oauth_profiles.raw if new_config.oauth_profiles else None
    check(
        old_raw == planned_config.audited,
        f"{name}: before, OAuthHttpModule.Profiles equals the audited value "
        f"{_quoted(planned_config.audited)}" + _found(old_raw, planned_config.audited),
    )
    check(
        new_raw == planned_config.target,
        f"{name}: after, OAuthHttpModule.Profiles equals the target "
        f"{_quoted(planned_config.target)}" + _found(new_raw, planned_config.target),
    )
    difference = document_difference(old_config, new_config, planned_config.target, read)
    check(
        difference is None,
        f"{name}: the whole document (elements, attributes, text; comments and white space "
        "between elements aside) equals the audited one with only OAuthHttpModule.Profiles "
        "set to the target" + (f" ({difference})" if difference else ""),
    )


# --- wording: lists and values as a reader writes them, never as Python reprs -----------------


def _names(values: Sequence[str]) -> str:
    return ", ".join(values) if values else "none"


def _count(values: Sequence[str]) -> str:
    return f"{len(values)} name{'' if len(values) == 1 else 's'}"


def _only_in(before: Sequence[str], after: Sequence[str]) -> str:
    parts = [f"only before: {_names(before)}"] if before else []
    parts += [f"only after: {_names(after)}"] if after else []
    return f" ({'; '.join(parts)})" if parts else ""


def _list_difference(found: Sequence[str], expected: Sequence[str], complete: bool) -> str:
    """Nothing when `found` is the expected list; else what is extra or missing."""
    if not complete:
        return " (the export lists them incompletely)"
    extra = [name for name in found if name not in expected]
    missing = [name for name in expected if name not in found]
    parts = [f"also holds {_names(extra)}"] if extra else []
    parts += [f"lacks {_names(missing)}"] if missing else []
    if not parts and list(found) != list(expected):
        parts = ["the same names in another order"]
    return f" ({'; '.join(parts)})" if parts else ""


def _quoted(value: str) -> str:
    return f'"{value}"'


def _cut(value: str, limit: int = 200) -> str:
    """A property value quoted, a long one (a certificate) cut with its length said."""
    if len(value) <= limit:
        return _quoted(value)
    return f'"{value[:limit]}..." ({len(value)} characters)'


def _found(value: str | None, expected: str) -> str:
    if value == expected:
        return ""
    return " (found no such setting)" if value is None else f" (found {_quoted(value)})"


def _config_name(config: WebConfig) -> str:
    return f"{config.server} {config.vdir}"
