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

Server and vdir come from `RawInput.server` / `RawInput.vdir` (set by discovery from
`auditor.layout.identify` or `--server`). The file's own `HttpProxy.ProtocolType` (front end)
or `RoutingUpdateModule.ProtocolType` (back end) appSetting names a vdir: when the layout gave
none it is used, when the layout gave another one that is an UNKNOWN_LAYOUT problem (high) at
the setting's line. A server or vdir that stays unknown is recorded as `"unknown"` with an
UNKNOWN_LAYOUT problem (medium) telling the user to pass `--server` or use a documented layout.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from lxml import etree

from auditor import appsettings
from auditor.appsettings import Entry, EntryKind, Section, fold_key, same_key
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
from auditor.parsers.xmlsafe import SourceLines, load_xml, source_line, start_line

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
_PROFILES_FOLDED = fold_key(OAUTH_PROFILES_KEY)
_DRIVE = re.compile(r"^[A-Za-z]:")


def parse(raw: RawInput) -> ParseResult:
    """Read one web.config into a `WebConfig` record (or problems, for a bad file)."""
    source = raw.source(InputFormat.WEB_CONFIG)
    loaded = load_xml(raw, max_bytes=MAX_WEB_CONFIG_BYTES, keep_blank_text=False)
    if isinstance(loaded, Problem):
        return ParseResult(source=source, problems=(loaded,))
    root = loaded.root
    if _local_name(root) == "appSettings":
        return ParseResult(source=source, problems=_fragment_problems(raw, root))
    if _local_name(root) != "configuration":
        problem = raw.problem(
            ProblemCode.MALFORMED,
            f"the root element is <{_local_name(root)}>, not <configuration>: not a web.config",
            source_line(root),
        )
        return ParseResult(source=source, problems=(problem,))

    problems: list[Problem] = []
    reader = _SettingsReader(raw, loaded.source_lines(), problems)
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


def _local_name(element: etree._Element) -> str:
    tag = element.tag
    if not isinstance(tag, str):
        return ""
    return tag.rpartition("}")[2]


class _SettingsReader:
    """Reads the appSettings sections of one web.config, and the files they take settings from.

    `hashes` maps the display path of every external file read to its SHA-256, `external_lines`
    to its lines. `root_sections` are the root-scope `<appSettings>` elements, `root_entries` the
    root scope's clears and the adds and removes of keys that resemble `OAuthHttpModule.Profiles`
    (`auditor.appsettings.resembles_key`), in document order: what `auditor.appsettings` needs.
    """

    def __init__(self, raw: RawInput, lines: SourceLines, problems: list[Problem]) -> None:
        self.raw = raw
        self.lines = lines
        self.problems = problems
        self.scopes: dict[str | None, list[AppSetting]] = {}
        self.order: list[AppSetting] = []
        self.hashes: dict[str, str] = {}
        self.external_lines: dict[str, SourceLines] = {}
        # A root-scope `<clear/>` or `<remove>` of the Profiles key: what a parent configuration
        # sets for it no longer reaches this application.
        self.profiles_cut = False
        self.root_sections: list[Section] = []
        self.root_entries: list[Entry] = []

    def read(self, root: etree._Element) -> tuple[AppSetting, ...]:
        """Every surviving `add` of the root and `<location>` appSettings, in document order."""
        sections: dict[str | None, int | None] = {}
        for child in root.iterchildren("{*}appSettings", "{*}location"):
            found: list[tuple[etree._Element, str | None]]
            in_location = _local_name(child) != "appSettings"
            if not in_location:
                found = [(child, None)]
            else:
                path = child.get("path")
                location = None if path is None or path.strip() in _ROOT_LOCATIONS else path
                found = [(section, location) for section in child.iterchildren("{*}appSettings")]
            for section, location in found:
                line = start_line(section, self.lines)
                if location in sections:
                    where = "" if location is None else f" of <location path={location!r}>"
                    self.problems.append(
                        self.raw.problem(
                            ProblemCode.MALFORMED,
                            f"a second <appSettings> section{where} (the first is at line "
                            f"{sections[location]}): .NET refuses a configuration file in which a "
                            "section appears twice, so IIS serves nothing from this vdir; both "
                            "sections were read in order",
                            line,
                        )
                    )
                sections.setdefault(location, line)
                if location is None:
                    self.root_sections.append(Section(line, in_location, _outside(section)))
                self.section(section, location, line)
        if len(self.scopes) <= 1 and all(
            len(scope) == len(self.order) for scope in self.scopes.values()
        ):
            return tuple(self.order)  # nothing was removed
        surviving = {id(setting) for scope in self.scopes.values() for setting in scope}
        return tuple(setting for setting in self.order if id(setting) in surviving)

    def section(self, section: etree._Element, location: str | None, line: int | None) -> None:
        """One `<appSettings>`, with .NET's `configSource=` (replaces) and `file=` (merges)."""
        config_source = section.get("configSource")
        if config_source is not None:
            if len(section):
                self.problems.append(
                    self.raw.problem(
                        ProblemCode.MALFORMED,
                        f"the <appSettings> section at line {line} has configSource= and "
                        "elements of its own; .NET refuses such a section",
                        line,
                    )
                )
            external = self.external(config_source, "configSource", line)
            if external is not None:
                self.elements(external[1], location, external[0])
        else:
            self.elements(section, location, None)
        file = section.get("file")
        if file is not None and file.strip():
            external = self.external(file, "file", line)
            if external is not None:
                self.elements(external[1], location, external[0])

    def elements(self, section: etree._Element, location: str | None, path: str | None) -> None:
        """The `add`, `remove` and `clear` of one section, applied in order to its scope."""
        scope = self.scopes.setdefault(location, [])
        lines = self.lines if path is None else self.external_lines[path]
        sha256 = None if path is None else self.hashes[path]
        for element in section.iterchildren("{*}add", "{*}remove", "{*}clear"):
            name = element.tag.rpartition("}")[2]  # an element: its tag is a string
            if name == "add":
                key = element.get("key")
                line, raw = _tag_source(element, lines)
                if key is None:
                    self.problems.append(
                        self.raw.problem(
                            ProblemCode.MALFORMED,
                            f"the <add> at line {line}{_in(path)} has no key; .NET refuses it",
                            line if path is None else None,
                        )
                    )
                    continue
                # Positional: the fields in order (key, value, line, raw, location, path,
                # sha256), half the cost of keywords for the most numerous record of a fleet.
                # Interned: the servers of a fleet repeat the same settings, and one copy of
                # each text is what keeps an audit of 2,000 servers under 400 MB. Measured
                # without it: reading the 100-server fleet of `benchmarks/fleet.py` in one
                # process peaks at 40.8 MiB instead of 33.3 MiB and costs 1.06x the CPU
                # (`farm-bench -n 5` paired runs, medians); at 2,000 servers the commit that
                # added it measured parse 349 MB to 189 MB (`fleet.py --memory-servers 2000`).
                value = element.get("value") or ""  # .NET reads a missing value as ""
                setting = AppSetting(
                    _intern(key), _intern(value), line, _intern(raw), location, path, sha256
                )
                scope.append(setting)
                self.order.append(setting)
                if location is None and _resembles_profiles(key):
                    self.root_entries.append(Entry(EntryKind.ADD, key, line, path, setting))
            elif name == "remove":
                key = element.get("key") or ""
                removed = fold_key(key)
                scope[:] = [setting for setting in scope if fold_key(setting.key) != removed]
                if location is None and same_key(key, OAUTH_PROFILES_KEY):
                    self.profiles_cut = True
                if location is None and _resembles_profiles(key):
                    self.root_entries.append(
                        Entry(EntryKind.REMOVE, key, source_line(element), path)
                    )
            else:
                scope.clear()
                if location is None:
                    self.profiles_cut = True
                    self.root_entries.append(Entry(EntryKind.CLEAR, "", source_line(element), path))

    def external(
        self, name: str, attribute: str, line: int | None
    ) -> tuple[str, etree._Element] | None:
        """The display path and `<appSettings>` root of the file `name`, or None (a problem)."""
        parts = _relative_parts(name)
        if parts is None:
            self.missing(
                name, attribute, line, "auditor reads such a file only from the web.config's folder"
            )
            return None
        display = str(Path(self.raw.path).parent.joinpath(*parts))
        data = self.read_beside(parts, name, attribute, line)
        if data is None:
            return None
        external = RawInput(
            path=display, data=data, sha256=hashlib.sha256(data).hexdigest(), server=self.raw.server
        )
        loaded = load_xml(external, max_bytes=MAX_WEB_CONFIG_BYTES, keep_blank_text=False)
        if isinstance(loaded, Problem):
            self.problems.append(loaded)
            return None
        if _local_name(loaded.root) != "appSettings":
            self.problems.append(
                external.problem(
                    ProblemCode.MALFORMED,
                    f"the file named by {attribute}= at line {line} of {self.raw.path} has the "
                    f"root <{_local_name(loaded.root)}>, not <appSettings>; .NET refuses it",
                    source_line(loaded.root),
                )
            )
            return None
        self.hashes[display] = external.sha256
        self.external_lines[display] = loaded.source_lines()
        return display, loaded.root

    def read_beside(
        self, parts: list[str], name: str, attribute: str, line: int | None
    ) -> bytes | None:
        """The bytes of the file at `parts` in the web.config's folder, or None (a problem):
        from the archive for an archive member (`RawInput.beside`), else from disk."""
        if self.raw.beside is not None:
            found = self.raw.beside("/".join(parts), MAX_WEB_CONFIG_BYTES)
            if isinstance(found, str):
                self.missing(name, attribute, line, found)
                return None
            return found
        folder = (self.raw.location or Path(self.raw.path)).parent
        candidate = folder.joinpath(*parts)
        try:
            if not candidate.is_file():
                self.missing(name, attribute, line, "it was not supplied beside the web.config")
                return None
            real_folder = os.path.realpath(folder)
            if not os.path.realpath(candidate).startswith(real_folder + os.sep):
                self.missing(
                    name, attribute, line, "it is a symbolic link out of the web.config's folder"
                )
                return None
            if candidate.stat().st_size > MAX_WEB_CONFIG_BYTES:
                self.missing(
                    name, attribute, line, f"it is larger than {MAX_WEB_CONFIG_BYTES} bytes"
                )
                return None
            return candidate.read_bytes()
        except (OSError, ValueError) as error:
            self.missing(name, attribute, line, f"it cannot be read ({error})")
            return None

    def missing(self, name: str, attribute: str, line: int | None, why: str) -> None:
        self.problems.append(
            Problem(
                code=ProblemCode.INCOMPLETE_EVIDENCE,
                message=(
                    f"the <appSettings> section at line {line} takes its settings from "
                    f"{name!r} ({attribute}=), which was not read: {why}. Its settings (possibly "
                    "OAuthHttpModule.Profiles) are unknown; copy that file beside the web.config "
                    "(the script `auditor collect` writes copies it) and audit again"
                ),
                path=self.raw.path,
                line=line,
                severity=Severity.HIGH,
            )
        )


def _resembles_profiles(key: str) -> bool:
    if key.isascii():
        return key.upper() == _PROFILES_FOLDED
    return appsettings.resembles_key(key, OAUTH_PROFILES_KEY)


def _outside(section: etree._Element) -> str | None:
    """The `file=`/`configSource=` of a section naming a file outside the web.config's folder
    (or with a `:`, which the script refuses too), as `attribute='value'`, or None."""
    for attribute in ("configSource", "file"):
        value = section.get(attribute)
        if value is not None and value.strip() and (_relative_parts(value) is None or ":" in value):
            return f"{attribute}={value!r}"
    return None


def _relative_parts(name: str) -> list[str] | None:
    """The segments of a path below the web.config's folder, or None (absolute, `..`, empty)."""
    relative = name.strip().replace("\\", "/")
    parts = [part for part in relative.split("/") if part not in ("", ".")]
    if not parts or relative.startswith("/") or _DRIVE.match(relative) or ".." in parts:
        return None
    return parts


def _in(path: str | None) -> str:
    return "" if path is None else f" of {path}"


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


_intern = sys.intern


def _tag_source(element: etree._Element, lines: SourceLines) -> tuple[int, str]:
    """The line where an `add`'s start tag begins (0 when unknown) and its `_tag_text`.

    The common case reads one line: the start tag ends on the line holding `<add`.
    """
    end = source_line(element)
    if end is not None and element.prefix is None:
        try:
            text = lines.line(end)
        except IndexError:
            text = ""
        if "<add" in text:
            return end, text.strip()[:RAW_LINE_LIMIT]
    line = start_line(element, lines) or 0
    return line, _tag_text(lines, line, end or line)


def _tag_text(lines: Sequence[str], first: int, last: int) -> str:
    """The start tag's source text: its line(s), stripped, joined by one space, cut to 500."""
    if not 0 < first <= len(lines):
        return ""
    if last <= first:
        return lines[first - 1].strip()[:RAW_LINE_LIMIT]
    joined = " ".join(text.strip() for text in lines[first - 1 : min(last, len(lines))])
    return joined[:RAW_LINE_LIMIT]


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
        if setting.location is not None and fold_key(setting.key) == _PROFILES_FOLDED:
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
