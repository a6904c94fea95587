"""After the change, the facts of the hybrid trust that must hold, for `auditor attest`.

- A planned dedicated-app override (plan.json `setting_overrides`): before, when the plan
  creates it, no override of that name and none in its component and section; after, exactly
  one override in Global / ExchangeOnpremAsThirdPartyAppId, the planned one, not scoped to a
  server, without MinVersion or MaxVersion, and Status Accepted when the export carries Status;
  every VariantConfiguration diagnostic given after shows the server applying it with the target
  Parameters. Before, a planned scope (HT004) is the audited one, whatever it missed; after, it
  is cleared like any other. The audited and target Parameters and scope themselves are checked
  with every other planned property (`auditor.attest_trust`, from `explained_differences`).
- The planned EvoSTS AuthServer changes (plan.json `auth_servers`), after: an
  ApplicationIdentifier change (HT007): the named AuthServer holds the target
  ApplicationIdentifier and is still an enabled EvoSTS (Type AzureAD) of the audited Realm; an
  Enabled change (HT008): the duplicate is disabled, the EvoSTS the change keeps (`kept_name`)
  is still enabled with its ApplicationIdentifier (`kept_application_identifier`) and the Realm,
  and it is the only enabled EvoSTS of that Realm. The planned property itself, before and
  after, is also checked with every other planned property (`auditor.attest_trust`).
- The auth certificates (whenever trust exports are compared): AuthConfig's current certificate,
  and the next one when set, is in every Client Access server's certificate export after the
  change and valid on the attest date (`--as-of`): NotBefore on or before it, NotAfter on or
  after it.

Names compare ignoring case, as Exchange does, and so do GUIDs (ApplicationIdentifier, Realm);
Parameters compare as exported, in any order. Each line says what it compared and, when it
fails, what was found.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping
from typing import Any

from auditor.model import (
    DEDICATED_APP_COMPONENT,
    DEDICATED_APP_SECTION,
    AuthServer,
    AuthServerProperty,
    ExchangeCertificate,
    Inventory,
    SettingOverride,
    TrustEvidence,
)
from auditor.rules.trust_certificates import thumbprint
from auditor.rules.trust_common import client_access_servers, server_key
from auditor.rules.trust_facts import EVOSTS_TYPE

Check = Callable[[bool, str], None]


def _names(values: tuple[str, ...] | list[str]) -> str:
    return ", ".join(values) if values else "none"


def check_overrides(
    check: Check, before: TrustEvidence, after: TrustEvidence, plan: Mapping[str, Any]
) -> None:
    """Each planned setting override: the audited state before, the target state after."""
    for change_set in plan["change_sets"]:
        for change in change_set.get("setting_overrides", ()):
            _check_before(check, before, change)
            _check_after(check, after, change)
            _check_effective(check, after, change)


def _named(trust: TrustEvidence, name: str) -> list[SettingOverride]:
    return [o for o in trust.setting_overrides if (o.name or "").casefold() == name.casefold()]


def _check_before(check: Check, before: TrustEvidence, change: Mapping[str, Any]) -> None:
    """An override the plan creates: none of its name, none in its section before."""
    name = change["name"]
    if change["audited_parameters"] is not None:
        return  # the audited Parameters: `auditor.attest_trust` checks every planned property
    found = _named(before, name)
    in_section = [
        o.name or "" for o in before.setting_overrides if section_of(o.component, o.section)
    ]
    check(
        not found and not in_section,
        f'SettingOverride "{name}": before, no such override and none in {_section()} '
        "(the plan creates it)"
        + (f" (found: {_names(in_section or [name])})" if found or in_section else ""),
    )


def _check_after(check: Check, after: TrustEvidence, change: Mapping[str, Any]) -> None:
    name = change["name"]
    who = f'SettingOverride "{name}"'
    in_section = [o for o in after.setting_overrides if section_of(o.component, o.section)]
    names = [o.name or "" for o in in_section]
    one = len(in_section) == 1 and names[0].casefold() == name.casefold()
    check(
        one,
        f"{who}: after, it is the only override in {_section()}"
        + ("" if one else f" (found {len(in_section)}: {_names(names)})"),
    )
    if not one:
        return
    override = in_section[0]
    servers = override.servers.values if override.servers else ()
    check(
        not servers,
        f"{who}: after, Server is empty (organisation-wide)"
        + (f" (found {_names(servers)})" if servers else ""),
    )
    versions = [
        f"{label} {value}"
        for label, value in (
            ("MinVersion", override.min_version),
            ("MaxVersion", override.max_version),
        )
        if value
    ]
    check(
        not versions,
        f"{who}: after, no MinVersion or MaxVersion"
        + (f" (found {', '.join(versions)})" if versions else ""),
    )
    if override.status is not None:
        check(
            override.status.casefold() == "accepted",
            f"{who}: after, Status is Accepted"
            + ("" if override.status.casefold() == "accepted" else f' (found "{override.status}")'),
        )


def _check_effective(check: Check, after: TrustEvidence, change: Mapping[str, Any]) -> None:
    """Each server's VariantConfiguration diagnostic given after shows the override applied."""
    name, target = change["name"], sorted(change["target_parameters"])
    for variant in after.variant_configurations:
        where = variant.server or "(no server)"
        applied = [
            o
            for o in variant.overrides
            if (o.name or "").casefold() == name.casefold() and section_of(o.component, o.section)
        ]
        ok = variant.complete and any(sorted(o.parameters) == target for o in applied)
        found = _listed([o.parameters for o in applied]) if applied else "not listed"
        check(
            ok,
            f'{where}: after, the server applies SettingOverride "{name}" ({_section()}) with '
            f"Parameters {_names(target)} (VariantConfiguration diagnostic)"
            + ("" if ok else f" ({found}{'' if variant.complete else '; read incompletely'})"),
        )


def check_auth_servers(check: Check, after: TrustEvidence, plan: Mapping[str, Any]) -> None:
    """Each planned EvoSTS AuthServer change: the end state after (module docstring)."""
    realms: set[str] = set()
    for change_set in plan["change_sets"]:
        for change in change_set.get("auth_servers", ()):
            realm = change["realm"]
            if change["property"] == AuthServerProperty.APPLICATION_IDENTIFIER:
                role = "the planned EvoSTS"
                _check_evosts(check, after, role, change["name"], change["target_value"], realm)
                continue
            _check_disabled(check, after, change["name"])
            kept, application = change["kept_name"], change["kept_application_identifier"]
            _check_evosts(check, after, "the EvoSTS the change keeps", kept, application, realm)
            if realm.casefold() not in realms:
                realms.add(realm.casefold())
                _check_only_enabled(check, after, kept, realm)


def _auth_servers(trust: TrustEvidence, name: str) -> list[AuthServer]:
    return [s for s in trust.auth_servers if (s.name or "").casefold() == name.casefold()]


def _flag(value: bool | None) -> str:
    return "not given" if value is None else str(value)


def _check_evosts(
    check: Check, after: TrustEvidence, role: str, name: str, application: str, realm: str
) -> None:
    """`name` after: the ApplicationIdentifier `application`, enabled, Type AzureAD, `realm`."""
    who = f'AuthServer "{name}" ({role})'
    servers = _auth_servers(after, name)
    if not servers:
        check(False, f"{who}: after, it is exported (no AuthServer of this name is)")
        return
    for server in servers:
        found = server.application_identifier or ""
        check(
            found.casefold() == application.casefold(),
            f"{who}: after, ApplicationIdentifier is {application} (found "
            f"{found or '(empty)'}; GUIDs compared ignoring case)",
        )
        enabled = server.enabled is True and server.type == EVOSTS_TYPE
        check(
            enabled,
            f"{who}: after, it is an enabled EvoSTS (found Enabled {_flag(server.enabled)}, "
            f"Type {server.type or 'not given'})",
        )
        held = server.realm or ""
        check(
            held.casefold() == realm.casefold(),
            f"{who}: after, Realm is {realm} (found {held or '(empty)'})",
        )


def _check_disabled(check: Check, after: TrustEvidence, name: str) -> None:
    who = f'AuthServer "{name}" (the duplicate EvoSTS)'
    servers = _auth_servers(after, name)
    if not servers:
        check(False, f"{who}: after, it is exported, disabled (no AuthServer of this name is)")
    for server in servers:
        check(
            server.enabled is False,
            f"{who}: after, it is disabled (found Enabled {_flag(server.enabled)})",
        )


def _check_only_enabled(check: Check, after: TrustEvidence, kept: str, realm: str) -> None:
    """After, the EvoSTS the change keeps is the only enabled one of its Realm."""
    enabled = [
        s.name or "(no name)"
        for s in after.auth_servers
        if s.type == EVOSTS_TYPE
        and s.enabled is True
        and (s.realm or "").casefold() == realm.casefold()
    ]
    only = [name.casefold() for name in enabled] == [kept.casefold()]
    check(
        only,
        f'Realm {realm}: after, "{kept}" is the only enabled EvoSTS AuthServer (found '
        f"{len(enabled)} enabled: {_names(enabled)})",
    )


def check_certificates(check: Check, after: Inventory, as_of: datetime.date) -> None:
    """AuthConfig's current (and next) auth certificate on every Client Access server after."""
    configs = after.trust.auth_configs
    if not configs:
        check(False, "after: no AuthConfig export: the auth certificate cannot be proven")
        return
    config = configs[0]
    current = thumbprint(config.current_certificate_thumbprint)
    check(
        bool(current),
        "after: AuthConfig names a current auth certificate"
        + (f" ({current})" if current else " (CurrentCertificateThumbprint is empty)"),
    )
    wanted = [("current", current)] if current else []
    upcoming = thumbprint(config.next_certificate_thumbprint)
    if upcoming:
        wanted.append(("next", upcoming))
    certificates = after.trust.exchange_certificates
    servers = client_access_servers(after, [c.server for c in certificates])
    check(
        bool(servers),
        "after: the Client Access servers are known (Get-ExchangeServer or "
        "the certificate exports)",
    )
    held: dict[str, list[ExchangeCertificate]] = {}
    for certificate in certificates:
        held.setdefault(server_key(certificate.server or ""), []).append(certificate)
    for server in servers:
        for role, wanted_print in wanted:
            _check_held(check, server, held.get(server_key(server)), role, wanted_print, as_of)


def _check_held(
    check: Check,
    server: str,
    held: list[ExchangeCertificate] | None,
    role: str,
    wanted: str,
    as_of: datetime.date,
) -> None:
    what = f"{server}: after, holds the {role} auth certificate {wanted}, valid on {as_of}"
    if held is None:
        check(False, f"{what} (no certificate export of this server after the change)")
        return
    found = [c for c in held if c.thumbprint == wanted]
    if not found:
        check(False, f"{what} (not in the server's certificate export)")
        return
    certificate = found[0]
    start, end = _date(certificate.not_before), _date(certificate.not_after)
    valid = start is not None and end is not None and start <= as_of <= end
    check(valid, f"{what} (NotBefore {certificate.not_before}, NotAfter {certificate.not_after})")


def _date(value: str) -> datetime.date | None:
    try:
        return datetime.datetime.fromisoformat(value.replace("Z", "+00:00")).date()
    except ValueError:
        return None


def section_of(component: str | None, section: str | None) -> bool:
    """True for the dedicated-app override's component and section (ignoring case)."""
    return (component or "").casefold() == DEDICATED_APP_COMPONENT.casefold() and (
        section or ""
    ).casefold() == DEDICATED_APP_SECTION.casefold()


def _section() -> str:
    return f"{DEDICATED_APP_COMPONENT}/{DEDICATED_APP_SECTION}"


def _listed(lists: list[tuple[str, ...]] | list[Any]) -> str:
    return "; ".join(_names(tuple(values)) for values in lists) or "none"
