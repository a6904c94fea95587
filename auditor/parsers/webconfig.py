"""The web.config parser: the appSettings of one IIS application, as IIS and Exchange read them.

Owns what auditor keeps of a web.config (nothing but `appSettings`, never the DOM):

- every `configuration/appSettings/add` with a `key`, and those of
  `configuration/location/appSettings` (with the location's `path`), in document order, each
  with its line number and its source text (stripped, at most 500 characters) as evidence;
  for a start tag written over several lines, the line where `<add` begins and the tag's lines
  joined by single spaces. An `add` without `value` has the value "" (as .NET reads it); one
  without `key` is MALFORMED (.NET refuses it);
- a `<location>` without a `path` (or with `path=""` / `path="."`) applies to the application
  itself, so its appSettings count as root scope (`location=None`). A second `<appSettings>` in
  one scope is MALFORMED: .NET refuses the file (`Config_sections_must_be_unique`); both are
  read in order;
- `<appSettings configSource="x">` replaces the section with the `<appSettings>` file `x`,
  `<appSettings file="x">` applies the file's `add`/`remove`/`clear` after the section's own
  (the file wins), as .NET does. The file is read from the web.config's folder on disk
  (`RawInput.location`), or from its archive for an archive member (`RawInput.beside`): a
  relative path without `..`, not through a symbolic link out of the folder, at most
  `MAX_WEB_CONFIG_BYTES`. Settings read from it carry its path
  (`AppSetting.path`); the profiles' evidence names it. A file that is absent or not readable
  there is INCOMPLETE_EVIDENCE at the section, naming the file (`auditor collect` copies it).
  A file whose root is `<appSettings>` given on its own is read with the web.config beside it
  that names it: silent when one does, MALFORMED when none does;
- comments do not count (the loader drops them); `<remove key=...>` drops the earlier adds of
  that key in the same scope, `<clear/>` drops every earlier add of the scope; keys compare
  as .NET's appSettings collection compares them (`auditor.appsettings.same_key`) and are kept
  as written; duplicate adds stay, in order (the last one wins, whatever its case; rule WC003
  reports them);
- the effective `OAuthHttpModule.Profiles` (root scope, `auditor.appsettings.effective_add` of
  every add, remove and clear there, in order) split on `|` exactly
  as Exchange does: no trimming, no case folding, empty segments kept. An empty value gives
  `tokens=()`: Exchange's split of "" yields one empty token that it drops, so an empty value
  enables nothing and is not reported as an empty segment. A Profiles value inside
  `<location path="sub">` applies to requests below that path; it is not judged and is
  INCOMPLETE_EVIDENCE at its line. Whether the script can edit that value in place is decided
  here too, once (`WebConfig.profiles_edit`, from `auditor.appsettings.edit_refusal`, with the
  file's encoding).

The sections and the files they name are read by `auditor.parsers.webconfig_settings`; this
module makes the `WebConfig` record of them.

Server and vdir come from `RawInput.server` / `RawInput.vdir` (set by discovery from
`auditor.layout.identify` or `--server`). The file's own `HttpProxy.ProtocolType` (front end)
or `RoutingUpdateModule.ProtocolType` (back end) appSetting names a vdir: when the layout gave
none it is used, when the layout gave another one that is an UNKNOWN_LAYOUT problem (high) at
the setting's line. A server or vdir that stays unknown is recorded as `"unknown"` with an
UNKNOWN_LAYOUT problem (medium) telling the user to pass `--server` or use a documented layout.
"""

from __future__ import annotations

from pathlib import Path

from lxml import etree

from auditor import appsettings
from auditor.appsettings import Entry, fold_key
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
from auditor.parsers.webconfig_settings import (
    MAX_WEB_CONFIG_BYTES,
    PROFILES_FOLDED,
    SettingsReader,
    local_name,
)
from auditor.parsers.xmlsafe import load_xml, source_line

__all__ = [
    "BACK_END_PROTOCOL_TYPES",
    "FRONT_END_PROTOCOL_TYPES",
    "MAX_WEB_CONFIG_BYTES",
    "UNKNOWN",
    "parse",
    "split_profiles",
]

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


def parse(raw: RawInput) -> ParseResult:
    """Read one web.config into a `WebConfig` record (or problems, for a bad file)."""
    source = raw.source(InputFormat.WEB_CONFIG)
    loaded = load_xml(raw, max_bytes=MAX_WEB_CONFIG_BYTES, keep_blank_text=False)
    if isinstance(loaded, Problem):
        return ParseResult(source=source, problems=(loaded,))
    root = loaded.root
    if local_name(root) == "appSettings":
        return ParseResult(source=source, problems=_fragment_problems(raw, root))
    if local_name(root) != "configuration":
        problem = raw.problem(
            ProblemCode.MALFORMED,
            f"the root element is <{local_name(root)}>, not <configuration>: not a web.config",
            source_line(root),
        )
        return ParseResult(source=source, problems=(problem,))

    problems: list[Problem] = []
    reader = SettingsReader(raw, loaded.source_lines(), problems)
    settings = reader.read(root)

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
    vdir = _vdir(raw, settings, problems)
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
    _located_profiles(raw, settings, problems)
    effective = appsettings.effective_add(reader.root_entries, OAUTH_PROFILES_KEY)
    config = WebConfig(
        server=server,
        vdir=vdir,
        path=raw.path,
        sha256=raw.sha256,
        app_settings=settings,
        oauth_profiles=_oauth_profiles(raw, effective, reader.hashes),
        has_bom=loaded.has_bom,
        inherits_profiles=not reader.profiles_cut,
        profiles_edit=appsettings.edit_refusal(
            reader.root_entries, reader.root_sections, path=raw.path, encoding=loaded.encoding
        ),
    )
    return ParseResult(source=source, web_configs=(config,), problems=tuple(problems))


def split_profiles(value: str) -> tuple[str, ...]:
    """`OAuthHttpModule.Profiles` split as Exchange splits it: on `|`, nothing trimmed.

    An empty value gives no tokens (Exchange drops the single empty token of `"".Split('|')`).
    """
    if value == "":
        return ()
    return tuple(value.split("|"))


def _fragment_problems(raw: RawInput, root: etree._Element) -> tuple[Problem, ...]:
    """A file whose root is `<appSettings>`: read with the web.config beside it that names it."""
    location = raw.location or Path(raw.path)
    name = location.name
    web_config = location.parent / "web.config"
    if raw.beside is not None:
        beside = raw.beside("web.config", MAX_WEB_CONFIG_BYTES)
        data = beside if isinstance(beside, bytes) else b""
    else:
        try:
            small = web_config.is_file() and web_config.stat().st_size <= MAX_WEB_CONFIG_BYTES
            data = web_config.read_bytes() if small else b""
        except (OSError, ValueError):
            data = b""
    if data:
        loaded = load_xml(RawInput(path=str(web_config), data=data, sha256=""))
        if not isinstance(loaded, Problem):
            for section in loaded.root.iter("{*}appSettings"):
                for attribute in ("file", "configSource"):
                    named = (section.get(attribute) or "").strip().replace("\\", "/")
                    if named and Path(named).name.casefold() == name.casefold():
                        return ()
    return (
        raw.problem(
            ProblemCode.MALFORMED,
            "an <appSettings> file that no web.config beside it names (file= or configSource=): "
            "its settings apply to nothing auditor read; copy it with the web.config that uses it",
            source_line(root),
        ),
    )


def _effective_root(settings: tuple[AppSetting, ...]) -> dict[str, AppSetting]:
    """The last surviving root-scope setting of each key, keys folded as .NET compares them."""
    effective: dict[str, AppSetting] = {}
    for setting in settings:
        if setting.location is None:
            effective[fold_key(setting.key)] = setting
    return effective


def _vdir(raw: RawInput, settings: tuple[AppSetting, ...], problems: list[Problem]) -> str | None:
    """The vdir from the layout, cross-checked with the file's own ProtocolType setting."""
    effective = _effective_root(settings)
    claimed: list[tuple[AppSetting, str]] = []
    for key, table in _PROTOCOL_TYPE_KEYS:
        setting = effective.get(fold_key(key))
        if setting is not None and setting.value.lower() in table:
            claimed.append((setting, table[setting.value.lower()]))
    if not raw.vdir:
        return claimed[0][1] if claimed else None
    known = find_vdir(raw.vdir)
    vdir = known.id if known is not None else raw.vdir
    for setting, named in claimed:
        if named.casefold() != vdir.casefold():
            problems.append(
                Problem(
                    code=ProblemCode.UNKNOWN_LAYOUT,
                    message=(
                        f"the folder layout places this web.config in {vdir!r}, but its own "
                        f"{setting.key}={setting.value!r} says it belongs to {named!r}: the copy "
                        "was put in the wrong folder or renamed; copy it again with the script "
                        "`auditor collect` writes (the verdict for either vdir would be a guess)"
                    ),
                    path=setting.path or raw.path,
                    line=setting.line,
                    severity=Severity.HIGH,
                )
            )
    return vdir


def _located_profiles(
    raw: RawInput, settings: tuple[AppSetting, ...], problems: list[Problem]
) -> None:
    """An `OAuthHttpModule.Profiles` inside `<location path="...">` is not judged: a problem.

    Exchange's OAuth module reads the application's own appSettings; a value set for a sub-path
    may or may not be what a request there sees, so auditor does not guess either way.
    """
    for setting in settings:
        if setting.location is not None and fold_key(setting.key) == PROFILES_FOLDED:
            problems.append(
                Problem(
                    code=ProblemCode.INCOMPLETE_EVIDENCE,
                    message=(
                        f"{setting.key} is set inside <location path={setting.location!r}> to "
                        f"{setting.value!r}: IIS applies it to requests below that path, where "
                        "auditor cannot tell which profiles Exchange then enables; only the "
                        "application's own value was judged. Move the setting to the "
                        "application's <appSettings> or remove it"
                    ),
                    path=setting.path or raw.path,
                    line=setting.line,
                    severity=Severity.HIGH,
                )
            )


def _oauth_profiles(
    raw: RawInput, entry: Entry | None, hashes: dict[str, str]
) -> OAuthProfiles | None:
    effective = entry.setting if entry is not None else None
    if effective is None:
        return None
    evidence = Evidence(
        path=effective.path or raw.path,
        line=effective.line,
        raw=effective.raw,
        sha256=hashes.get(effective.path, raw.sha256) if effective.path else raw.sha256,
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
