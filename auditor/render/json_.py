"""`findings.json`, `plan.json` and `auditor parse --json`: the stable JSON contracts.

DESIGN.md section 5 fixes the shape of `findings.json` and `auditor parse --json`; `plan.json`
follows `auditor/schemas/plan.schema.json`. Every planned change is written from the plan items
(`Report.plan_items`): its target, the value before and after, what it removes, adds or
enables, and its scripts; `skipped` says what has findings but no plan item, and why. Each
finding carries its `resolution` as `Report.decisions` decided it (the script paths that
resolve it, in the words every output uses).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from json.encoder import encode_basestring_ascii
from typing import Any

from auditor.decisions import Decisions, decided
from auditor.model import (
    AppSetting,
    AuthServerChange,
    ChangeSet,
    Finding,
    Inventory,
    PartnerApplicationChange,
    PlanItem,
    Report,
    SettingOverrideChange,
    WebConfig,
)
from auditor.render.canonical import dumps as dumps  # re-exported for the CLI


def render_inventory(inventory: Inventory) -> str:
    """The `auditor parse --json` document, compact (it grows with the fleet; pipe it to jq).

    The text `write_inventory` writes, in one string.
    """
    parts: list[str] = []
    write_inventory(inventory, parts.append)
    return "".join(parts)


def write_inventory(inventory: Inventory, write: Callable[[str], object]) -> None:
    """The `auditor parse --json` document, given to `write` a web.config at a time, so the
    text of a fleet (64 MB at 2,000 servers) is never held whole.

    The text is `_compact(inventory.to_json())`; the appSettings of the web.configs, most of
    the text of a fleet, are written by `_setting_json` (one format string each, the strings
    escaped by the encoder's own `encode_basestring_ascii`) instead of a dict each through the
    encoder: for the 100-server fleet of `benchmarks/fleet.py` (2,400 web.configs, 3.2 MB of
    text) about 0.05 s instead of 0.12 s (`farm-bench -n 5` paired runs of the render alone,
    medians; the text is the same, `tests/render/test_json_text.py`). The keys are sorted, so
    `web_configs` is the inventory's last key and `app_settings` a web.config's first; were
    that ever not so, the whole document goes through the encoder.
    """
    document = inventory.to_json(web_configs=False)
    configs = inventory.web_configs
    if (
        not document
        or max(document) >= "web_configs"
        or any(
            not data or min(data) <= "app_settings"
            for data in (config.to_json(app_settings=False) for config in configs[:1])
        )
    ):
        write(_compact(inventory.to_json()) + "\n")
        return
    write(_compact(document)[:-1] + ',"web_configs":[')
    # The servers of a fleet share their settings (`webconfig_settings._shared_setting`): each
    # setting's text is made once, by the id of the record (every one alive while the
    # inventory is).
    # On the 500-server fleet of `benchmarks/fleet.py` (150,000 settings) this function took
    # 0.34 s before and 0.22 s after (`cProfile` of `parse --json --jobs 2`).
    texts: dict[int, str] = {}

    def text(setting: AppSetting) -> str:
        made = texts[id(setting)] = _setting_json(setting)
        return made

    same = bool(configs) and set(configs[0].to_json()) == _WEB_CONFIG_KEYS
    head = _web_config_head if same else _head
    profiles: dict[tuple[str, int, tuple[str, ...]], str] = {}
    for index, config in enumerate(configs):
        settings = ",".join(
            [texts.get(id(setting)) or text(setting) for setting in config.app_settings]
        )
        separator = "," if index else ""
        write(f'{separator}{{"app_settings":[{settings}],{head(config, profiles)}')
    write("]}\n")


# A web.config's members after `app_settings`, sorted: written by `_web_config_head` while
# `WebConfig.to_json` has exactly these (else by the encoder, `_head`). On the 500-server
# fleet of `benchmarks/fleet.py` (12,000 web.configs) in one process: 63 ms through the
# encoder, 22 ms by the format string (best of 5, `process_time`; the text is the same,
# `tests/render/test_json_text.py`).
_WEB_CONFIG_KEYS = {"app_settings", "oauth_profiles", "path", "server", "sha256", "vdir"}


def _head(config: WebConfig, profiles: dict[tuple[str, int, tuple[str, ...]], str]) -> str:
    """A web.config's members after `app_settings` and its closing brace, by the encoder."""
    return _compact(config.to_json(app_settings=False))[1:]


def _web_config_head(
    config: WebConfig, profiles: dict[tuple[str, int, tuple[str, ...]], str]
) -> str:
    """`_head` by a format string; `profiles` keeps each OAuth profiles value's text (the
    servers of a fleet repeat them)."""
    found = config.oauth_profiles
    if found is None:
        shown = "null"
    else:
        known = (found.raw, found.line, found.tokens)
        shown = profiles.get(known) or profiles.setdefault(known, _compact(found.to_json()))
    fields = (config.path, config.server, config.sha256, config.vdir)
    path, server, sha256, vdir = map(encode_basestring_ascii, fields)
    return (
        f'"oauth_profiles":{shown},"path":{path},"server":{server},'
        f'"sha256":{sha256},"vdir":{vdir}}}'
    )


def _setting_json(setting: AppSetting) -> str:
    """`_compact(setting.to_json())`, without the dict, for a setting of the web.config itself."""
    if setting.location is not None or setting.path is not None:
        return _compact(setting.to_json())
    key = encode_basestring_ascii(setting.key)
    value = encode_basestring_ascii(setting.value)
    return f'{{"key":{key},"line":{int(setting.line)},"value":{value}}}'


def _compact(document: Any) -> str:
    return json.dumps(document, sort_keys=True, ensure_ascii=True, separators=(",", ":"))


def findings_document(report: Report) -> dict[str, Any]:
    """The `findings.json` document as a JSON-ready dict."""
    plans = report.plan_items_by_fix()
    decisions = decided(report)
    document: dict[str, Any] = {
        "schema_version": 1,
        "tool_version": report.tool_version,
        "as_of": report.as_of.isoformat(),
        "change_id": report.change_id,
        "requester": report.requester,
        "reviewers": list(report.reviewers),
        "fail_on": report.fail_on.value,
        "complete": report.complete,
        "verdict": report.verdict.value,
        "verdict_line": report.verdict_line,
        "scope": report.scope.to_json(),
        "policy": {
            "name": report.policy.name,
            "sha256": report.policy.sha256,
            "sources": list(report.policy.sources),
            "files": [source.to_json() for source in report.policy.source_files],
            "weakenings": [weakening.to_json() for weakening in report.policy.weakenings],
        },
        "inputs": [source.to_json() for source in report.inventory.inputs],
        "organisation": report.inventory.organisation.to_json(),
        "counts": {severity.value: count for severity, count in report.counts().items()},
        "findings": [
            _finding_json(report, finding, plans, decisions) for finding in report.findings
        ],
        "baseline": _baseline_json(report),
        "changes": [change_json(item) for item in report.plan_items()],
        "skipped": [item.to_json() for item in report.skipped],
        "manual_steps": [step.to_json() for step in report.manual_steps],
        "rules_not_applied": [item.to_json() for item in report.not_applied],
        "scripts": [
            {
                "name": script.name,
                "kind": script.kind,
                "sha256": script.sha256,
                "fixes": list(script.fixes),
                "pair": script.pair,
            }
            for script in report.scripts
        ],
        "problems": [problem.to_json() for problem in report.inventory.problems],
        "skipped_inputs": list(report.inventory.skipped),
        "excluded_inputs": [
            item.to_json() for item in report.inventory.excluded if not item.own_output
        ],
    }
    if decisions.trust is not None:  # only when the audit chose the hybrid trust
        document["hybrid_trust"] = decisions.trust.to_json()
    return document


def render_findings(report: Report) -> str:
    return dumps(findings_document(report))


def change_json(item: PlanItem) -> dict[str, Any]:
    """One plan item as the findings document shows it: target, before and after, scripts."""
    remediation, rollback = item.script_names
    change = item.change
    document: dict[str, Any] = {
        "target": change.subject,
        "kind": item.change_set.kind.value,
        "server": item.change_set.server,
        "remediation": remediation,
        "rollback": rollback,
    }
    if isinstance(change, PartnerApplicationChange):
        document |= {
            "application_identifier": change.application_identifier,
            "name": change.name,
            "before": list(change.audited_app_only),
            "after": list(change.target_app_only),
            "removes": list(change.removes),
            "adds": list(change.adds),
        }
    elif isinstance(change, SettingOverrideChange):
        document |= {
            "name": change.name,
            "component": change.component,
            "section": change.section,
            "creates": change.creates,
            "before": (
                None if change.audited_parameters is None else list(change.audited_parameters)
            ),
            "after": list(change.target_parameters),
        }
        if change.clears_scope:
            document["scope"] = [
                {"property": label, "before": before, "after": None}
                for label, before in change.scope_changes
            ]
    elif isinstance(change, AuthServerChange):
        document |= {
            "name": change.name,
            "property": change.setting.value,
            "realm": change.realm,
            "before": change.audited_value,
            "after": change.target_value,
        }
    else:
        document |= {
            "vdir": change.vdir,
            "path": change.path,
            "app_pool": change.app_pool,
            "before": change.audited_value,
            "after": change.target_value,
            "removes": list(change.removes),
            "enables": list(change.enables),
        }
    return document


def _finding_json(
    report: Report,
    finding: Finding,
    plans: dict[str, tuple[PlanItem, ...]],
    decisions: Decisions,
) -> dict[str, Any]:
    """The finding, with every planned change that fixes it (before and after per target),
    its state against the baseline (`new`, `unchanged`; null without one) and the subject a
    waiver must name to waive it."""
    document = finding.to_json()
    document["plans"] = [change_json(item) for item in plans.get(finding.fingerprint, ())]
    state = report.baseline_state(finding)
    document["baseline"] = None if state is None else state.value
    document["waiver_subject"] = finding.subject
    resolution = decisions.resolution(finding)
    document["resolution"] = {
        "kind": resolution.kind.value,
        "scripts": list(resolution.scripts),
        "text": resolution.text,
    }
    return document


def _baseline_json(report: Report) -> dict[str, Any] | None:
    """The comparison with `--baseline`: its file name, counts and the fixed findings."""
    baseline = report.baseline
    if baseline is None:
        return None
    new = len(report.new_findings)
    return {
        "file": baseline.file,
        "new": new,
        "unchanged": len(report.findings) - new,
        "fixed": [item.to_json() for item in baseline.fixed],
    }


def plan_document(report: Report) -> dict[str, Any]:
    """`plan.json`: every change the scripts make, audited value and target, for `attest`.

    Its SHA-256 is the package id (`Report.package_id`) that every script and state record
    carries, so it never names what is made after it (the scripts, their hashes).
    """
    return {
        "schema_version": 1,
        "change_id": report.change_id,
        "as_of": report.as_of.isoformat(),
        "inputs": [source.to_json() for source in report.inventory.inputs],
        "change_sets": [
            {
                "kind": change_set.kind.value,
                "slug": change_set.slug,
                "server": change_set.server,
                "partner_applications": [
                    {
                        "application_identifier": change.application_identifier,
                        "name": change.name,
                        "subject": change.subject,
                        "audited_app_only": list(change.audited_app_only),
                        "target_app_only": list(change.target_app_only),
                        "removes": list(change.removes),
                        "adds": list(change.adds),
                        "fixes": list(change.fixes),
                    }
                    for change in change_set.partner_applications
                ],
                "web_configs": [
                    {
                        "vdir": change.vdir,
                        "subject": change.subject,
                        "path": change.path,
                        "relative_path": change.relative_path,
                        "app_pool": change.app_pool,
                        "audited_sha256": change.audited_sha256,
                        "audited_value": change.audited_value,
                        "target_value": change.target_value,
                        "removes": list(change.removes),
                        "enables": list(change.enables),
                        "fixes": list(change.fixes),
                    }
                    for change in change_set.web_configs
                ],
                "requires_app_only_within": [
                    {
                        "application_identifier": limit.application_identifier,
                        "name": limit.name,
                        "app_only": list(limit.app_only),
                    }
                    for limit in change_set.app_only_limits
                ],
                **_setting_overrides(change_set),
                **_auth_servers(change_set),
            }
            for change_set in report.change_sets
        ],
        "skipped": [item.to_json() for item in report.skipped],
    }


def _optional_list(values: tuple[str, ...] | None) -> list[str] | None:
    return None if values is None else list(values)


def _setting_overrides(change_set: ChangeSet) -> dict[str, Any]:
    """The dedicated-app override change of its set; no key on any other set (whose plan.json,
    and so its package id, stays as it was)."""
    if not change_set.setting_overrides:
        return {}
    return {
        "setting_overrides": [
            {
                "name": change.name,
                "subject": change.subject,
                "component": change.component,
                "section": change.section,
                "creates": change.creates,
                "audited_parameters": (
                    None if change.audited_parameters is None else list(change.audited_parameters)
                ),
                "target_parameters": list(change.target_parameters),
                "audited_server": _optional_list(change.audited_servers),
                "target_server": _optional_list(change.target_servers),
                "audited_min_version": change.audited_min_version,
                "target_min_version": change.target_min_version,
                "audited_max_version": change.audited_max_version,
                "target_max_version": change.target_max_version,
                "reason": change.reason,
                "fixes": list(change.fixes),
            }
            for change in change_set.setting_overrides
        ]
    }


def _auth_servers(change_set: ChangeSet) -> dict[str, Any]:
    """The EvoSTS AuthServer changes of their set; no key on any other set."""
    if not change_set.auth_servers:
        return {}
    return {
        "auth_servers": [
            {
                "name": change.name,
                "subject": change.subject,
                "property": change.setting.value,
                "audited_value": change.audited_value,
                "target_value": change.target_value,
                "realm": change.realm,
                "restorable": change.restorable,
                "source": change.source,
                "kept_name": change.kept_name,
                "kept_application_identifier": change.kept_application_identifier,
                "fixes": list(change.fixes),
            }
            for change in change_set.auth_servers
        ]
    }


# The last plan.json text, the change id it names and what else it was made from (compared by
# identity: every one of them is immutable). The change id is computed from the plan without it
# (`plan_digest`), the package id from the plan with it, and the package writes that same text:
# one rendering instead of three, the change id's member spliced in: 15.6 ms a rendering for
# the 100-server fleet of `benchmarks/fleet.py`, so about 31 ms saved (78 ms at 500 servers).
_last_plan: tuple[tuple[object, ...], str, str] | None = None


def _change_id_member(change_id: str) -> str:
    """The change id's line in plan.json: the first member after `as_of` (a date), never last."""
    return '\n  "change_id": ' + encode_basestring_ascii(change_id) + ","


def render_plan(report: Report) -> str:
    global _last_plan
    made_from = (report.as_of, report.inventory.inputs, report.change_sets, report.skipped)
    last = _last_plan
    if last is not None and all(a is b for a, b in zip(last[0], made_from, strict=True)):
        _, change_id, text = last
        if change_id == report.change_id:
            return text
        old = _change_id_member(change_id)
        head = text.index(old)  # the first occurrence: only `"as_of": "<date>"` comes before
        text = text[:head] + _change_id_member(report.change_id) + text[head + len(old) :]
    else:
        text = dumps(plan_document(report))
    _last_plan = (made_from, report.change_id, text)
    return text


def plan_text_without_change_id(report: Report) -> str:
    """The canonical text of `plan_document(report)` without its `change_id` member."""
    return render_plan(report).replace(_change_id_member(report.change_id), "", 1)
