"""Builds model objects from the compact YAML form the rule case files use.

A case file (`cases/<RULE>.yaml`) holds `rule` and `cases`; each case has an `inventory`
(partner applications, web.configs, problems, in a short form), an optional `policy` (a policy
fragment layered on the shipped default), an optional `as_of` date, and `expect`: the findings
of the rule (or of `rules`) in order, each with subject, severity, suppressed and a subset of
its details.
"""

from __future__ import annotations

import datetime
import hashlib
from pathlib import Path
from typing import Any

import yaml
from conftest import GRAPH_ACT_AS

from auditor.model import (
    OAUTH_PROFILES_KEY,
    AppSetting,
    Evidence,
    InputFormat,
    Inventory,
    OAuthProfiles,
    PartnerApplication,
    PermissionList,
    Problem,
    ProblemCode,
    Severity,
    SourceFile,
    WebConfig,
)
from auditor.parsers import read_inventory

CASES_DIR = Path(__file__).resolve().parent / "cases"
TRUST_ORGS = Path(__file__).resolve().parent / "trust_orgs"
DEFAULT_AS_OF = datetime.date(2026, 3, 1)

# The 29 ActAsPermissions of the real "Microsoft Graph" partner application (CSS-Exchange E19).

GRAPH_ID = "00000003-0000-0000-c000-000000000000"
API_DEFAULT = "S2SAppActAs|S2SAppOnly|V1AppActAs|V1AppOnly|Callback|V1S2SActAs|CallbackV2"

_MACROS: dict[str, Any] = {"@graph-act-as": GRAPH_ACT_AS, "@api-default": API_DEFAULT}


def _expand(value: Any) -> Any:
    if isinstance(value, str) and value in _MACROS:
        return _MACROS[value]
    return value


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _permissions(
    spec: dict[str, Any], key: str, label: str, line: int, input_format: InputFormat
) -> PermissionList:
    """The `key` list of a case's application (`act_as`, `app_only`), with its evidence.

    `<key>_complete` (default true) and `<key>_line` (default `line`) set the rest.
    """
    path = spec.get("path", "exports/PartnerApplication.xml")
    names = tuple(_expand(spec.get(key)) or ())
    raw = f"{label} : {{{', '.join(names)}}}" if names else f"{label} :"
    evidence = Evidence(
        path=path,
        line=int(spec.get(f"{key}_line", line)),
        raw=raw,
        sha256=_sha(path),
        format=input_format,
    )
    return PermissionList(
        values=names, complete=spec.get(f"{key}_complete", True), evidence=evidence
    )


def build_partner_application(spec: dict[str, Any]) -> PartnerApplication:
    path = spec.get("path", "exports/PartnerApplication.xml")
    line = int(spec.get("line", 1))
    input_format = InputFormat(spec.get("format", "clixml"))
    source = Evidence(
        path=path, line=line, raw=f"Name : {spec['name']}", sha256=_sha(path), format=input_format
    )
    return PartnerApplication(
        name=spec["name"],
        application_identifier=spec.get("id", GRAPH_ID),
        enabled=spec.get("enabled", True),
        act_as_permissions=_permissions(spec, "act_as", "ActAsPermissions", line + 2, input_format),
        app_only_permissions=_permissions(
            spec, "app_only", "AppOnlyPermissions", line + 1, input_format
        ),
        linked_account=spec.get("linked_account"),
        server=spec.get("server"),
        source=source,
    )


def build_web_config(spec: dict[str, Any]) -> WebConfig:
    server = spec["server"]
    vdir = spec.get("vdir", "Default Web Site/API")
    path = spec.get("path", f"{server}/{vdir.replace(' ', '')}/web.config")
    sha = _sha(path)
    settings: list[AppSetting] = []
    for item in spec.get("settings", []):
        key, value = item["key"], item["value"]
        settings.append(
            AppSetting(
                key=key,
                value=value,
                line=int(item["line"]),
                raw=f'<add key="{key}" value="{value}" />',
                location=item.get("location"),
            )
        )
    profiles_value = _expand(spec.get("profiles"))
    profiles = None
    if profiles_value is not None:
        line = int(spec.get("profiles_line", 10))
        raw_add = f'<add key="{OAUTH_PROFILES_KEY}" value="{profiles_value}" />'
        if not any(s.key == OAUTH_PROFILES_KEY for s in settings):
            settings.append(AppSetting(OAUTH_PROFILES_KEY, profiles_value, line, raw_add))
            settings.sort(key=lambda setting: setting.line)
        profiles = OAuthProfiles(
            raw=profiles_value,
            tokens=tuple(profiles_value.split("|")),
            line=line,
            evidence=Evidence(
                path=path, line=line, raw=raw_add, sha256=sha, format=InputFormat.WEB_CONFIG
            ),
        )
    return WebConfig(
        server=server,
        vdir=vdir,
        path=path,
        sha256=sha,
        app_settings=tuple(settings),
        oauth_profiles=profiles,
    )


def build_problem(spec: dict[str, Any]) -> Problem:
    return Problem(
        code=ProblemCode(spec["code"]),
        message=spec.get("message", "problem"),
        path=spec["path"],
        line=spec.get("line"),
        severity=Severity(spec.get("severity", "high")),
        subject=spec.get("subject"),
    )


def build_inventory(spec: dict[str, Any] | None) -> Inventory:
    """An Inventory from the compact form (every key optional); `exports: <folder>` reads
    the fixture organisation `trust_orgs/<folder>` through auditor's readers instead."""
    spec = spec or {}
    if "exports" in spec:
        return read_inventory([TRUST_ORGS / spec["exports"]])
    apps = tuple(build_partner_application(item) for item in spec.get("partner_applications", []))
    configs = tuple(build_web_config(item) for item in spec.get("web_configs", []))
    problems = tuple(build_problem(item) for item in spec.get("problems", []))
    paths = dict.fromkeys(
        [app.source.path for app in apps]
        + [config.path for config in configs]
        + [problem.path for problem in problems]
    )
    inputs = tuple(SourceFile(path=path, sha256=_sha(path), format=None) for path in paths)
    return Inventory(
        inputs=inputs, partner_applications=apps, web_configs=configs, problems=problems
    )


def load_case_files() -> list[tuple[str, dict[str, Any]]]:
    """Every (rule id, case) of every case file, in file order."""
    found: list[tuple[str, dict[str, Any]]] = []
    for path in sorted(CASES_DIR.glob("*.yaml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert document["rule"] == path.stem, f"{path.name} declares rule {document['rule']}"
        for case in document["cases"]:
            found.append((document["rule"], case))
    return found


def write_policy(fragment: dict[str, Any] | None, folder: Path) -> list[Path]:
    """The fragment as a policy file extending the default (none when there is no fragment)."""
    if not fragment:
        return []
    document = {"name": "case", "version": 1, "extends": "default", **fragment}
    path = folder / "case-policy.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return [path]


# --- hybrid-trust organisations (HT cases) -----------------------------------------------------

TRUST_DATA = CASES_DIR.parent / "trust_cases"
# The clean hybrid organisation of the HT cases, file by file: where each comes from (`corpus:`
# a real export of the shared CSS-Exchange corpus, `synthetic:` a file beside this one, see
# trust_cases/README.md). One server, SOLO-E19A, whose per-server exports sit in its folder.
TRUST_ORGANISATION = {
    "ExchangeServer.xml": "corpus:E19/GetExchangeServer.xml",
    "PartnerApplication.xml": "corpus:E19/GetPartnerApplication.xml",
    "AuthServer.xml": "synthetic:AuthServer.xml",
    "AuthConfig.xml": "corpus:E19/Exchange/GetAuthConfig.xml",
    "SettingOverride.xml": "corpus:E19/Exchange/GetSettingOverride2.xml",
    "HybridConfiguration.xml": "corpus:E19/Exchange/GetHybridConfiguration.xml",
    "IntraOrganizationConnector.xml": "synthetic:IntraOrganizationConnector.xml",
    "OrganizationConfig.xml": "corpus:E19/Exchange/GetOrganizationConfig.xml",
    "SOLO-E19A/ExSetup.xml": "synthetic:ExSetup.xml",
    "SOLO-E19A/ExchangeCertificate.xml": "corpus:E19/Exchange/GetExchangeCertificate.xml",
}


def build_organisation(spec: dict[str, Any], folder: Path, corpus: Path) -> Path:
    """The clean hybrid organisation in `folder/org`, with the case's edits: `edits` (per
    file, a list of [old, new] text replacements, each old text found exactly once), `drop`
    (files left out) and `add` (file name -> synthetic file beside this module)."""
    root = folder / "org"
    drop = set(spec.get("drop", []))
    added = {name: f"synthetic:{source}" for name, source in spec.get("add", {}).items()}
    files = {**TRUST_ORGANISATION, **added}
    for name, source in files.items():
        if name in drop:
            continue
        kind, _, relative = source.partition(":")
        origin = corpus / relative if kind == "corpus" else TRUST_DATA / relative
        text = origin.read_bytes().decode("utf-8-sig")
        for old, new in spec.get("edits", {}).get(name, []):
            assert text.count(old) == 1, f"{name}: {old!r} is not found exactly once"
            text = text.replace(old, new)
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    return root
