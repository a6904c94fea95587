"""After the change, the hybrid OAuth trust: every trust record before against after, the planned
setting override and EvoSTS AuthServer changes landed (`auditor.attest_trust_facts`), and the
auth certificates every Client Access server needs.

`auditor attest` (`auditor.attest`) hands the two inventories' trust exports
(`Inventory.trust`) and the plan here. Compared, by kind (`TrustKind`) and identity: the
SettingOverride, AuthServer, IntraOrganizationConnector and OrganizationRelationship objects by
Name; AuthConfig, HybridConfiguration and OrganizationConfig (one each per organisation); each
server's ExSetup build; each server's certificates by thumbprint; each server's effective
overrides (the VariantConfiguration diagnostic) by name. Every exported property is compared
(the records' `properties`; a certificate also by what its DER says: subject and validity),
except the properties that describe the read (`READ_CONTEXT`), Active Directory's record of a
write (`WRITE_STAMPS`, and for a setting override who wrote it and the raw XML that repeats its
properties) on a record the plan changes, and binary values (never decoded). Copies of one record
in one export set (an organisation-wide export in every server folder) must agree.

What the plan explains is decided in one place, `auditor.attest_trust_plan.explained_differences`:
the record kind, identity, property and the audited and target values of every planned trust
change. Any other
difference is a failure naming the record, the property and both values; so is a kind of trust
export given for a scope (the organisation, or one server) before and not after, or the reverse.
When neither set holds a trust export, nothing is compared and `TrustComparison.note` says so.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from auditor.attest_trust_facts import check_auth_servers, check_certificates, check_overrides
from auditor.attest_trust_plan import (
    RECORD,
    ExplainedDifference,
    TrustKind,
    explained_differences,
    exported_text,
)
from auditor.model import ExchangeCertificate, Inventory, TrustEvidence
from auditor.parsers.properties import READ_CONTEXT
from auditor.rules.trust_common import server_key

Check = Callable[[bool, str], None]

WRITE_STAMPS = frozenset(name.casefold() for name in ("WhenChanged", "WhenChangedUTC"))
# What Set-/New-SettingOverride also rewrites: who wrote it, and XmlRaw (which repeats the
# override's properties, compared one by one, with the writer).
OVERRIDE_WRITE_STAMPS = WRITE_STAMPS | {"modifiedby", "xmlraw"}
BINARY = "(incomplete: its value could not be read (binary data (BA) is never decoded))"
INCOMPLETE = "(incomplete: "


# The organisation-wide kinds (their TrustEvidence field): by Name, or one per organisation.
_SINGLE = frozenset(
    {TrustKind.AUTH_CONFIG, TrustKind.HYBRID_CONFIGURATION, TrustKind.ORGANIZATION_CONFIG}
)
_ORGANISATION_WIDE = {
    TrustKind.SETTING_OVERRIDE: "setting_overrides",
    TrustKind.AUTH_SERVER: "auth_servers",
    TrustKind.INTRA_ORGANIZATION_CONNECTOR: "intra_organization_connectors",
    TrustKind.ORGANIZATION_RELATIONSHIP: "organization_relationships",
    TrustKind.AUTH_CONFIG: "auth_configs",
    TrustKind.HYBRID_CONFIGURATION: "hybrid_configurations",
    TrustKind.ORGANIZATION_CONFIG: "organization_configs",
}


@dataclass(frozen=True, slots=True)
class TrustRecordView:
    """One trust record as attest compares it: kind, identity, properties by folded name."""

    kind: TrustKind
    scope: str  # "" for an organisation-wide record, else the server's key
    server: str  # the server as the export names it ("" for an organisation-wide record)
    key: str  # the identity as compared (folded)
    identity: str  # as shown
    name: str  # what `ExplainedDifference.identity` is matched against (folded)
    properties: Mapping[str, tuple[str, str]]
    path: str


def has_trust(trust: TrustEvidence) -> bool:
    """True when the set holds any on-premises trust export (cloud evidence is not compared)."""
    return any(
        getattr(trust, name) for name in TrustEvidence.__slots__ if name != "cloud_principals"
    )


def _props(pairs: Iterable[tuple[str, str]]) -> dict[str, tuple[str, str]]:
    return {name.casefold(): (name, text) for name, text in pairs}


def _typed(record: Any) -> list[tuple[str, str]]:
    """A record's typed fields as properties (a record built in code has no `properties`)."""
    shown = record.to_json()
    for name in ("source", "missing", "server"):
        shown.pop(name, None)
    return [
        (name, exported_text(value["values"] if isinstance(value, dict) else value))
        for name, value in shown.items()
    ]


def record_views(trust: TrustEvidence) -> list[TrustRecordView]:
    """Every trust record of one export set as attest compares it, in a stable order."""
    views: list[TrustRecordView] = []
    for kind, field in _ORGANISATION_WIDE.items():
        for record in getattr(trust, field):
            name = "" if kind in _SINGLE else (record.name if record.name is not None else "")
            shown = "(one per organisation)" if kind in _SINGLE else f'"{name}"'
            pairs = record.properties or _typed(record)
            views.append(
                TrustRecordView(
                    kind,
                    "",
                    "",
                    name.casefold(),
                    shown,
                    name.casefold(),
                    _props(pairs),
                    record.source.path,
                )
            )
    for build in trust.exsetup_versions:
        where = build.server or "(no server)"
        pairs = build.properties or _typed(build)
        views.append(
            TrustRecordView(
                TrustKind.EXSETUP,
                server_key(where),
                where,
                "",
                f"of {where}",
                "",
                _props(pairs),
                build.source.path,
            )
        )
    for cert in trust.exchange_certificates:
        views.append(_certificate_view(cert))
    for variant in trust.variant_configurations:
        where = variant.server or "(no server)"
        for override in variant.overrides:
            name = override.name or ""
            pairs = [
                ("ComponentName", override.component or ""),
                ("SectionName", override.section or ""),
                ("Status", override.status or ""),
                ("Parameters", exported_text(override.parameters)),
            ]
            views.append(
                TrustRecordView(
                    TrustKind.VARIANT_CONFIGURATION,
                    server_key(where),
                    where,
                    name.casefold(),
                    f'"{name}" on {where}',
                    name.casefold(),
                    _props(pairs),
                    variant.source.path,
                )
            )
    return views


def _certificate_view(cert: ExchangeCertificate) -> TrustRecordView:
    where = cert.server or "(no server)"
    pairs = [
        *cert.properties,
        ("Subject", cert.subject or ""),
        ("NotBefore", cert.not_before),
        ("NotAfter", cert.not_after),
    ]
    return TrustRecordView(
        TrustKind.EXCHANGE_CERTIFICATE,
        server_key(where),
        where,
        cert.thumbprint,
        f"{cert.thumbprint} on {where}",
        cert.thumbprint,
        _props(pairs),
        cert.source.path,
    )


def scopes(trust: TrustEvidence) -> dict[tuple[TrustKind, str], str]:
    """Which kinds of trust export the set holds, for the organisation ("") or for which server
    (by key): each with the server as named ("" for the organisation)."""
    found: dict[tuple[TrustKind, str], str] = {}
    for view in record_views(trust):
        found.setdefault((view.kind, view.scope), view.server)
    for variant in trust.variant_configurations:  # a server's diagnostic may list no override
        where = variant.server or "(no server)"
        found.setdefault((TrustKind.VARIANT_CONFIGURATION, server_key(where)), where)
    return found


@dataclass(frozen=True, slots=True)
class TrustComparison:
    """What comparing the trust exports found: a note when nothing was compared."""

    note: str | None


def compare_trust(
    check: Check,
    before: Inventory,
    after: Inventory,
    plan: Mapping[str, Any],
    as_of: datetime.date,
) -> TrustComparison:
    """Compare the trust exports of `before` and `after` with the plan (module docstring)."""
    explained = explained_differences(plan)
    if not has_trust(before.trust) and not has_trust(after.trust):
        planned = {
            (d.kind, d.identity): None
            for d in explained
            if d.kind is not TrustKind.VARIANT_CONFIGURATION
        }
        for kind, identity in planned:
            check(
                False,
                f'{kind} "{identity}": the plan changes it, but neither export set holds a '
                "trust export: nothing proves the change landed",
            )
        return TrustComparison(
            note="hybrid trust not compared: neither export set holds a trust export "
            "(they were not part of the exports given)"
        )
    _check_scopes(check, before.trust, after.trust, explained)
    for label, trust in (("before", before.trust), ("after", after.trust)):
        for variant in trust.variant_configurations:
            if not variant.complete:
                check(
                    False,
                    f"{label}: the VariantConfiguration diagnostic of "
                    f"{variant.server or '(no server)'} was read incompletely: its effective "
                    "overrides cannot all be compared",
                )
    compare_records(check, record_views(before.trust), record_views(after.trust), explained)
    check_overrides(check, before.trust, after.trust, plan)
    check_auth_servers(check, after.trust, plan)
    check_certificates(check, after, as_of)
    return TrustComparison(note=None)


def _check_scopes(
    check: Check,
    before: TrustEvidence,
    after: TrustEvidence,
    explained: Sequence[ExplainedDifference],
) -> None:
    """A kind of trust export given before and not after (or the reverse) is a failure; an
    empty export reads as none, so a kind the plan creates a record of may appear after (the
    record itself is checked)."""
    had, has = scopes(before), scopes(after)
    created = {d.kind for d in explained if d.property == RECORD and d.audited is None}
    differ = False
    for kind, scope in sorted(had.keys() ^ has.keys()):
        if kind in created and (kind, scope) in has:
            continue
        differ = True
        server = had.get((kind, scope)) or has.get((kind, scope))
        where = f"of {server}" if server else "of the organisation"
        when = "before, not after" if (kind, scope) in had else "after, not before"
        check(False, f"{kind} export {where}: given {when} the change")
    if not differ:
        shown = ", ".join(sorted({str(kind) for kind, _ in had.keys() | has.keys()}))
        check(True, f"the same trust exports are given before and after ({shown})")


def _grouped(
    check: Check, label: str, views: Sequence[TrustRecordView]
) -> dict[tuple[TrustKind, str, str], TrustRecordView]:
    """One view per record; copies of one record in the set must agree (else a failure)."""
    first: dict[tuple[TrustKind, str, str], TrustRecordView] = {}
    for view in views:
        key = (view.kind, view.scope, view.key)
        kept = first.setdefault(key, view)
        if kept is view:
            continue
        changed = _changed(kept.properties, view.properties, READ_CONTEXT)
        if changed:
            name, was, now = changed[0]
            check(
                False,
                f"{label}: two copies of {view.kind} {view.identity} disagree: {name} is "
                f"{_cut(was)} in {kept.path} and {_cut(now)} in {view.path}",
            )
    return first


def _changed(
    old: Mapping[str, tuple[str, str]], new: Mapping[str, tuple[str, str]], skipped: frozenset[str]
) -> list[tuple[str, str | None, str | None]]:
    """(property as shown, before, after) for each property that differs, by folded name."""
    found: list[tuple[str, str | None, str | None]] = []
    for key in sorted(set(old) | set(new)):
        if key in skipped:
            continue
        was, now = old.get(key), new.get(key)
        if was is not None and now is not None and was[1] == now[1]:
            continue
        if BINARY in ((was or ("", ""))[1], (now or ("", ""))[1]):
            continue
        shown = (was or now or (key, ""))[0]
        found.append((shown, was[1] if was else None, now[1] if now else None))
    return found


def compare_records(
    check: Check,
    before: Sequence[TrustRecordView],
    after: Sequence[TrustRecordView],
    explained: Sequence[ExplainedDifference],
) -> None:
    """Every record before against after; a difference the plan does not explain fails."""
    old_views, new_views = _grouped(check, "before", before), _grouped(check, "after", after)
    plans: dict[tuple[TrustKind, str], dict[str, ExplainedDifference]] = {}
    for difference in explained:
        plans.setdefault((difference.kind, difference.identity.casefold()), {})[
            difference.property.casefold()
        ] = difference
    for key in sorted(old_views.keys() | new_views.keys()):
        old, new = old_views.get(key), new_views.get(key)
        view = old or new
        assert view is not None
        planned = plans.get((view.kind, view.name), {})
        _compare_record(check, old, new, planned)


def _compare_record(
    check: Check,
    old: TrustRecordView | None,
    new: TrustRecordView | None,
    planned: Mapping[str, ExplainedDifference],
) -> None:
    view = old or new
    assert view is not None
    who = f"{view.kind} {view.identity}"
    exists = planned.get(RECORD.casefold())
    if old is None or new is None:
        if old is None:
            wanted = exists is not None and exists.audited is None
        else:
            wanted = exists is not None and exists.target is None
        check(
            wanted,
            f"{who}: "
            + ("appeared after the change" if old is None else "is missing after the change")
            + (" (the plan creates it)" if wanted and old is None else "")
            + ("" if wanted else " (the plan does not explain it)"),
        )
        if wanted and new is not None:
            for difference in planned.values():
                if difference.property != RECORD:
                    _check_planned(check, who, None, new, difference)
        return
    stamps = OVERRIDE_WRITE_STAMPS if view.kind is TrustKind.SETTING_OVERRIDE else WRITE_STAMPS
    skipped = READ_CONTEXT | (stamps if planned else frozenset())
    unexplained = False
    for shown, was, now in _changed(old.properties, new.properties, skipped):
        if shown.casefold() in planned:
            continue
        unexplained = True
        if was is None:
            what = f"appeared after the change, with {_cut(now or '')}"
        elif now is None:
            what = f"is missing after the change (it was {_cut(was)})"
        else:
            what = f"changed from {_cut(was)} to {_cut(now)}"
        check(False, f"{who}: {shown} {what} (the plan does not explain it)")
    for difference in planned.values():
        if difference.property != RECORD:
            _check_planned(check, who, old, new, difference)
    incomplete = sorted(
        shown
        for shown, text in (*old.properties.values(), *new.properties.values())
        if INCOMPLETE in text and BINARY not in text and shown.casefold() not in skipped
    )
    for shown in dict.fromkeys(incomplete):
        check(False, f"{who}: {shown} cannot be compared: the export holds it incompletely")
    if not unexplained and not incomplete:
        named = [d.property for d in planned.values() if d.property != RECORD]
        but = f" but the planned {', '.join(named)} (and AD's write stamps)" if planned else ""
        compared = len(
            {k for k in old.properties.keys() | new.properties.keys() if k not in skipped}
        )
        check(True, f"{who}: no exported property changed{but} ({compared} compared)")


def _check_planned(
    check: Check,
    who: str,
    old: TrustRecordView | None,
    new: TrustRecordView,
    difference: ExplainedDifference,
) -> None:
    """Before, the audited value of a planned property (when the record existed); after, the
    target."""
    key = difference.property.casefold()
    for label, view, wanted in (
        ("before", old, difference.audited),
        ("after", new, difference.target),
    ):
        if view is None:
            continue
        found = view.properties.get(key)
        text = found[1] if found else None
        if wanted is None:
            continue
        same = difference.matches(wanted, text)
        shown = f"found {_cut(text) if text is not None else 'no such property'}"
        if same and text != wanted:
            shown = f"found {_cut(text)}, compared ignoring case"
        check(
            same,
            f"{who}: {label}, {difference.property} is the "
            f"{'audited value' if label == 'before' else 'target'} {_cut(wanted)}"
            + ("" if same and text == wanted else f" ({shown})"),
        )


def _cut(value: str | None, limit: int = 200) -> str:
    """A value quoted (a list as its JSON array), a long one cut with its length said."""
    if value is None:
        return "nothing"
    if value.startswith("[") and _is_list(value) and len(value) <= limit:
        return value
    if len(value) <= limit:
        return f'"{value}"'
    return f'"{value[:limit]}..." ({len(value)} characters)'


def _is_list(text: str) -> bool:
    try:
        return isinstance(json.loads(text), list)
    except ValueError:
        return False
