"""After the change: prove from before/after exports that the approved change landed, and only it.

`attest` compares two inventories (exports taken before and after the scripts ran) with the
package's `plan.json`. It checks that the "before" exports are the ones that were audited (same
state as the plan's audited values), that every planned change reached its target, and that
nothing else differs: no other partner-application property, no other appSetting, no web.config
appeared or vanished. "The Profiles value" is the effective one on both sides, as the parser
reads it (`auditor.appsettings.effective_add`), and the other appSettings are compared without
the root-scope adds of that key in any case (`auditor.appsettings.same_key`).

`plan.json` has one schema, `auditor/schemas/plan.schema.json` (JSON Schema 2020-12): the
document is validated against it before anything is read from it, so the reader trusts the
same shape the writer (`auditor.render.json_.plan_document`) produces.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from auditor.appsettings import same_key
from auditor.model import OAUTH_PROFILES_KEY, Inventory, PartnerApplication, WebConfig

PLAN_SCHEMA_PATH = Path(__file__).resolve().parent / "schemas" / "plan.schema.json"


class AttestError(Exception):
    """The plan document is unreadable or not a plan; the message says why, `line` where."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


@dataclasses.dataclass(frozen=True, slots=True)
class AttestResult:
    """Every check made (`checks`) and every one that failed (`differences`)."""

    checks: tuple[str, ...]
    differences: tuple[str, ...]

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


def _planned(plan_text: str) -> tuple[list[_PlannedApp], list[_PlannedConfig]]:
    try:
        plan = json.loads(plan_text)
    except json.JSONDecodeError as error:
        raise AttestError(f"not JSON: {error.msg} (column {error.colno})", error.lineno) from None
    validate_plan(plan)
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


def _app_facts(app: PartnerApplication, *, with_app_only: bool) -> dict[str, Any]:
    facts: dict[str, Any] = {
        "name": app.name,
        "enabled": app.enabled,
        "linked_account": app.linked_account,
        "act_as_permissions": app.act_as_permissions.values,
    }
    if with_app_only:
        facts["app_only_permissions"] = app.app_only_permissions.values
    return facts


def _settings(config: WebConfig, *, without_profiles: bool) -> list[tuple[str | None, str, str]]:
    return [
        (setting.location, setting.key, setting.value)
        for setting in config.app_settings
        if not (
            without_profiles
            and setting.location is None
            and same_key(setting.key, OAUTH_PROFILES_KEY)
        )
    ]


@dataclasses.dataclass(slots=True)
class _Checks:
    """Every check made, in order, and the ones that failed."""

    made: list[str] = dataclasses.field(default_factory=list)
    failed: list[str] = dataclasses.field(default_factory=list)

    def check(self, ok: bool, what: str) -> None:
        self.made.append(what)
        if not ok:
            self.failed.append(what)


def attest(before: Inventory, after: Inventory, plan_text: str) -> AttestResult:
    """Compare before/after inventories against the plan; see the module docstring."""
    planned_apps, planned_configs = _planned(plan_text)
    checks = _Checks()
    for label, inventory in (("before", before), ("after", after)):
        for problem in inventory.problems:
            checks.check(False, f"{label}: {problem.place}: {problem.message}")
    _check_applications(checks, before, after, planned_apps)
    _check_web_configs(checks, before, after, planned_configs)
    return AttestResult(checks=tuple(checks.made), differences=tuple(checks.failed))


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
    changed_apps = {planned.application_identifier: planned for planned in planned_apps}
    for app_id in sorted(apps_before.keys() & apps_after.keys()):
        old, new = apps_before[app_id], apps_after[app_id]
        planned = changed_apps.get(app_id)
        check(
            _app_facts(old, with_app_only=planned is None)
            == _app_facts(new, with_app_only=planned is None),
            f"{app_id}: nothing but AppOnlyPermissions may change"
            if planned
            else f"{app_id}: unchanged",
        )
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


def _check_web_configs(
    checks: _Checks, before: Inventory, after: Inventory, planned_configs: list[_PlannedConfig]
) -> None:
    """Only the planned Profiles values changed; every other web.config is byte-identical."""
    check = checks.check
    configs_before = {(c.server.lower(), c.vdir.lower()): c for c in before.web_configs}
    configs_after = {(c.server.lower(), c.vdir.lower()): c for c in after.web_configs}
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
        name = _config_name(old_config)
        if planned_config is None:
            check(
                old_config.sha256 == new_config.sha256,
                f"{name}: web.config unchanged (sha256)",
            )
            continue
        check(
            _settings(old_config, without_profiles=True)
            == _settings(new_config, without_profiles=True),
            f"{name}: no appSetting but OAuthHttpModule.Profiles changed",
        )
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
    for planned_config in planned_configs:
        key = (planned_config.server.lower(), planned_config.vdir.lower())
        if key not in configs_before or key not in configs_after:
            check(
                False,
                f"{planned_config.server} {planned_config.vdir}: "
                "planned web.config missing before or after",
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


def _found(value: str | None, expected: str) -> str:
    if value == expected:
        return ""
    return " (found no such setting)" if value is None else f" (found {_quoted(value)})"


def _config_name(config: WebConfig) -> str:
    return f"{config.server} {config.vdir}"
