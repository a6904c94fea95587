"""The web.config parser: the appSettings of one IIS application, as IIS and Exchange read them.

Owns what auditor keeps of a web.config (nothing but `appSettings`, never the DOM):

- every `configuration/appSettings/add` with a `key` and a `value`, and those of
  `configuration/location/appSettings` (with the location's `path`), in document order, each
  with its line number and its source text (stripped, at most 500 characters) as evidence;
  for a start tag written over several lines, the line where `<add` begins and the tag's lines
  joined by single spaces;
- a `<location>` without a `path` (or with `path=""` / `path="."`) applies to the application
  itself, so its appSettings count as root scope (`location=None`);
- comments do not count (the loader drops them); `<remove key=...>` drops the earlier adds of
  that key in the same scope, `<clear/>` drops every earlier add of the scope; keys compare
  case-insensitively, as .NET's appSettings collection does; duplicate adds stay, in order (the
  last one wins in IIS; `WebConfig.duplicate_settings()` finds them);
- the effective `OAuthHttpModule.Profiles` (root scope, last surviving add) split on `|` exactly
  as Exchange does: no trimming, no case folding, empty segments kept. An empty value gives
  `tokens=()`: Exchange's split of "" yields one empty token that it drops, so an empty value
  enables nothing and is not reported as an empty segment.

Server and vdir come from `RawInput.server` / `RawInput.vdir` (set by discovery from
`auditor.layout.identify` or `--server`). When the vdir is unknown, the file's own
`HttpProxy.ProtocolType` (front end) or `RoutingUpdateModule.ProtocolType` (back end) appSetting
names it when present. A server or vdir that stays unknown is recorded as `"unknown"` with an
UNKNOWN_LAYOUT problem (medium) telling the user to pass `--server` or use a documented layout.
"""

from __future__ import annotations

from lxml import etree

from auditor.layout import find_vdir
from auditor.model import (
    OAUTH_PROFILES_KEY,
    AppSetting,
    Evidence,
    InputFormat,
    OAuthProfiles,
    ParseResult,
    Problem,
    ProblemCode,
    Severity,
    WebConfig,
)
from auditor.parsers.base import RawInput
from auditor.parsers.xmlsafe import load_xml, source_line, start_line

MAX_WEB_CONFIG_BYTES = 8 * 1024 * 1024
RAW_LINE_LIMIT = 500
UNKNOWN = "unknown"

# `HttpProxy.ProtocolType` (front end) and `RoutingUpdateModule.ProtocolType` (back end) values
# seen in real Exchange 2016/2019 web.config files, case-insensitive, to canonical vdir ids.
FRONT_END_PROTOCOL_TYPES: dict[str, str] = {
    "rest": "Default Web Site/API",
    "ews": "Default Web Site/EWS",
    "autodiscover": "Default Web Site/Autodiscover",
    "eas": "Default Web Site/Microsoft-Server-ActiveSync",
    "oab": "Default Web Site/OAB",
    "mapi": "Default Web Site/mapi",
    "ecp": "Default Web Site/ecp",
    "owa": "Default Web Site/owa",
    "powershell": "Default Web Site/PowerShell",
    "rpchttp": "Default Web Site/Rpc",
}
BACK_END_PROTOCOL_TYPES: dict[str, str] = {
    "rest": "Exchange Back End/API",
    "ews": "Exchange Back End/EWS",
    "autodiscover": "Exchange Back End/Autodiscover",
    "eas": "Exchange Back End/Microsoft-Server-ActiveSync",
    "oab": "Exchange Back End/OAB",
    "mapimailbox": "Exchange Back End/mapi/emsmdb",
    "mapiaddressbook": "Exchange Back End/mapi/nspi",
    "ecp": "Exchange Back End/ecp",
    "owa": "Exchange Back End/owa",
    "powershell": "Exchange Back End/PowerShell",
    "rpc": "Exchange Back End/Rpc",
    "pushnotifications": "Exchange Back End/PushNotifications",
}
_PROTOCOL_TYPE_KEYS = (
    ("httpproxy.protocoltype", FRONT_END_PROTOCOL_TYPES),
    ("routingupdatemodule.protocoltype", BACK_END_PROTOCOL_TYPES),
)
_ROOT_LOCATIONS = ("", ".")


def parse(raw: RawInput) -> ParseResult:
    """Read one web.config into a `WebConfig` record (or problems, for a bad file)."""
    source = raw.source(InputFormat.WEB_CONFIG)
    loaded = load_xml(raw, max_bytes=MAX_WEB_CONFIG_BYTES)
    if isinstance(loaded, Problem):
        return ParseResult(source=source, problems=(loaded,))
    root = loaded.root
    if _local_name(root) != "configuration":
        problem = raw.problem(
            ProblemCode.MALFORMED,
            f"the root element is <{_local_name(root)}>, not <configuration>: not a web.config",
            source_line(root),
        )
        return ParseResult(source=source, problems=(problem,))

    lines = loaded.source_lines()
    settings = _app_settings(root, lines)

    problems: list[Problem] = []
    server = raw.server
    if not server:
        server = UNKNOWN
        problems.append(
            _layout_problem(
                raw,
                "the server this web.config belongs to is unknown: pass --server NAME or copy "
                "the files in a documented layout (<server>/FrontEnd/HttpProxy/<vdir>/web.config, "
                "<server>/ClientAccess/<vdir>/web.config or <server>/<Site>-<VDir>_web.config)",
            )
        )
    vdir = _vdir(raw.vdir, settings)
    if vdir is None:
        vdir = UNKNOWN
        problems.append(
            _layout_problem(
                raw,
                "the IIS virtual directory of this web.config is unknown: copy it in a documented "
                "layout (<server>/FrontEnd/HttpProxy/<folder>/web.config, ...) so its folder names "
                "the vdir",
            )
        )
    config = WebConfig(
        server=server,
        vdir=vdir,
        path=raw.path,
        sha256=raw.sha256,
        app_settings=settings,
        oauth_profiles=_oauth_profiles(raw, settings),
        has_bom=loaded.has_bom,
    )
    return ParseResult(source=source, web_configs=(config,), problems=tuple(problems))


def split_profiles(value: str) -> tuple[str, ...]:
    """`OAuthHttpModule.Profiles` split as Exchange splits it: on `|`, nothing trimmed.

    An empty value gives no tokens (Exchange drops the single empty token of `"".Split('|')`).
    """
    if value == "":
        return ()
    return tuple(value.split("|"))


def _local_name(element: etree._Element) -> str:
    tag = element.tag
    if not isinstance(tag, str):
        return ""
    return tag.rpartition("}")[2]


def _app_settings(root: etree._Element, lines: list[str]) -> tuple[AppSetting, ...]:
    """Every surviving `add` of the root and `<location>` appSettings, in document order."""
    scopes: dict[str | None, list[AppSetting]] = {}
    order: list[AppSetting] = []
    for child in root.iterchildren("{*}appSettings", "{*}location"):
        if _local_name(child) == "appSettings":
            _read_section(child, None, scopes, order, lines)
            continue
        path = child.get("path")
        location = None if path is None or path.strip() in _ROOT_LOCATIONS else path
        for section in child.iterchildren("{*}appSettings"):
            _read_section(section, location, scopes, order, lines)
    if len(scopes) == 1 and len(order) == len(next(iter(scopes.values()))):
        return tuple(order)  # nothing was removed
    surviving = {id(setting) for scope in scopes.values() for setting in scope}
    return tuple(setting for setting in order if id(setting) in surviving)


def _read_section(
    section: etree._Element,
    location: str | None,
    scopes: dict[str | None, list[AppSetting]],
    order: list[AppSetting],
    lines: list[str],
) -> None:
    scope = scopes.setdefault(location, [])
    for element in section.iterchildren("{*}add", "{*}remove", "{*}clear"):
        name = _local_name(element)
        if name == "add":
            key = element.get("key")
            value = element.get("value")
            if key is None or value is None:
                continue
            line = start_line(element, lines) or 0
            raw_line = _tag_text(lines, line, source_line(element) or line)
            setting = AppSetting(key=key, value=value, line=line, raw=raw_line, location=location)
            scope.append(setting)
            order.append(setting)
        elif name == "remove":
            removed = (element.get("key") or "").lower()
            scope[:] = [setting for setting in scope if setting.key.lower() != removed]
        else:
            scope.clear()


def _tag_text(lines: list[str], first: int, last: int) -> str:
    """The start tag's source text: its line(s), stripped, joined by one space, cut to 500."""
    if not 0 < first <= len(lines):
        return ""
    if last <= first:
        return lines[first - 1].strip()[:RAW_LINE_LIMIT]
    joined = " ".join(text.strip() for text in lines[first - 1 : min(last, len(lines))])
    return joined[:RAW_LINE_LIMIT]


def _vdir(given: str | None, settings: tuple[AppSetting, ...]) -> str | None:
    if given:
        known = find_vdir(given)
        return known.id if known is not None else given
    effective: dict[str, str] = {}
    for setting in settings:
        if setting.location is None:
            effective[setting.key.lower()] = setting.value
    for key, table in _PROTOCOL_TYPE_KEYS:
        value = effective.get(key)
        if value is not None and value.lower() in table:
            return table[value.lower()]
    return None


def _oauth_profiles(raw: RawInput, settings: tuple[AppSetting, ...]) -> OAuthProfiles | None:
    wanted = OAUTH_PROFILES_KEY.lower()
    effective: AppSetting | None = None
    for setting in settings:
        if setting.location is None and setting.key.lower() == wanted:
            effective = setting
    if effective is None:
        return None
    evidence = Evidence(
        path=raw.path,
        line=effective.line,
        raw=effective.raw,
        sha256=raw.sha256,
        format=InputFormat.WEB_CONFIG,
    )
    return OAuthProfiles(
        raw=effective.value,
        tokens=split_profiles(effective.value),
        line=effective.line,
        evidence=evidence,
    )


def _layout_problem(raw: RawInput, message: str) -> Problem:
    return Problem(
        code=ProblemCode.UNKNOWN_LAYOUT,
        message=message,
        path=raw.path,
        severity=Severity.MEDIUM,
    )
