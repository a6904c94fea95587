"""The appSettings sections of one web.config as .NET applies them, and the files they name.

Owns reading `configuration/appSettings` and `configuration/location/appSettings` in document
order (`SettingsReader`): each `add` with its line and source text (`RAW_LINE_LIMIT`), `remove`
and `clear` applied to their scope, a second section of one scope reported, `configSource=`
(replaces the section) and `file=` (merged after it) read from the web.config's folder on disk
or in its archive, at most `MAX_WEB_CONFIG_BYTES`, never through `..`, an absolute path or a
symbolic link out of the folder. It records what `auditor.appsettings` needs to decide the
effective `OAuthHttpModule.Profiles` and whether the script may edit it (root sections, root
entries that resemble the key, whether a parent's value is cut off). `auditor.parsers.webconfig`
makes the `WebConfig` record of what it read; its docstring states the rules users rely on.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from lxml import etree

from auditor import appsettings
from auditor.appsettings import Entry, EntryKind, Section, fold_key, same_key
from auditor.model import OAUTH_PROFILES_KEY, AppSetting, Problem, ProblemCode, Severity
from auditor.parsers.base import RawInput
from auditor.parsers.xmlsafe import SourceLines, load_xml, source_line, start_line

MAX_WEB_CONFIG_BYTES = 8 * 1024 * 1024
RAW_LINE_LIMIT = 500
PROFILES_FOLDED = fold_key(OAUTH_PROFILES_KEY)
_ROOT_LOCATIONS = ("", ".")
_DRIVE = re.compile(r"^[A-Za-z]:")


def local_name(element: etree._Element) -> str:
    """An element's tag without its namespace ("" for a comment or processing instruction)."""
    tag = element.tag
    if not isinstance(tag, str):
        return ""
    return tag.rpartition("}")[2]


class SettingsReader:
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
            in_location = local_name(child) != "appSettings"
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
        """The `add`, `remove` and `clear` of one section, applied in order to its scope.

        A section of the web.config itself whose text (from the line its start tag ends on to
        the line of its last element) was read before, at the same line and location, and held
        only `add`s, each on a line of its own, gives what it gave then (`_sections`): the
        servers of a fleet repeat the same sections. Measured on the 100-server fleet of
        `benchmarks/fleet.py`: the walk of its 2,400 web.configs took 101 ms before and 65 ms
        after (best of 9 in one process, `process_time`, parsed trees given); `auditor parse
        --json --jobs 1` 0.92x the wall time at 100 servers and 0.95x at 500 (`farm-bench`
        paired runs, medians of 10 and 6).
        """
        scope = self.scopes.setdefault(location, [])
        lines = self.lines if path is None else self.external_lines[path]
        # The lines as far as the section's last element, split once.
        last = section[-1].sourceline if len(section) else None
        texts: list[str] = lines.upto(last) if isinstance(last, int) else []
        first = section.sourceline
        known: _SectionKey | None = None
        if (
            path is None
            and isinstance(first, int)
            and isinstance(last, int)
            and 0 < first <= last <= len(texts)
        ):
            known = (location, first, "\n".join(texts[first - 1 : last]))
            cached = _sections.get(known)
            if cached is not None:
                scope.extend(cached[0])
                self.order.extend(cached[0])
                self.root_entries.extend(cached[1])
                return
        added, entries = len(scope), len(self.root_entries)
        if self.walk(section, location, path, (lines, texts), scope) and known is not None:
            if len(_sections) >= _SECTIONS_LIMIT:
                _sections.clear()
            _sections[known] = (tuple(scope[added:]), tuple(self.root_entries[entries:]))

    def walk(
        self,
        section: etree._Element,
        location: str | None,
        path: str | None,
        read: tuple[SourceLines, list[str]],
        scope: list[AppSetting],
    ) -> bool:
        """`elements` on each element in order, given the section's file's lines and those
        split so far (`read`); True when every one was an `add` on a line of its own that
        raised no problem (what `_sections` keeps)."""
        lines, texts = read
        sha256 = None if path is None else self.hashes[path]
        count = len(texts)
        root_scope = location is None
        add_setting = scope.append
        add_in_order = self.order.append
        shared = _shared_setting
        plain = True
        for element in section.iterchildren("{*}add", "{*}remove", "{*}clear"):
            tag = element.tag
            if tag == "add" or tag.endswith("}add"):  # an element: its tag is a string
                key = element.get("key")
                value = element.get("value") or ""  # .NET reads a missing value as ""
                end = element.sourceline
                text = texts[end - 1] if isinstance(end, int) and 0 < end <= count else ""
                if key is not None and "<add" in text and element.prefix is None:
                    setting = shared(key, value, end, text, location, path, sha256)
                else:
                    plain = False
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
                    setting = _new_setting(key, value, line, raw, location, path, sha256)
                add_setting(setting)
                add_in_order(setting)
                if root_scope and _resembles_profiles(key):
                    self.root_entries.append(Entry(EntryKind.ADD, key, setting.line, path, setting))
            elif tag == "remove" or tag.endswith("}remove"):
                plain = False
                self.remove(element, scope, location, path)
            else:
                plain = False
                scope.clear()
                if root_scope:
                    self.profiles_cut = True
                    self.root_entries.append(Entry(EntryKind.CLEAR, "", source_line(element), path))
        return plain

    def remove(
        self,
        element: etree._Element,
        scope: list[AppSetting],
        location: str | None,
        path: str | None,
    ) -> None:
        """A `<remove key=...>`: the settings of its key leave the scope (keys folded)."""
        key = element.get("key") or ""
        removed = fold_key(key)
        scope[:] = [setting for setting in scope if fold_key(setting.key) != removed]
        if location is None and same_key(key, OAUTH_PROFILES_KEY):
            self.profiles_cut = True
        if location is None and _resembles_profiles(key):
            self.root_entries.append(Entry(EntryKind.REMOVE, key, source_line(element), path))

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
        if local_name(loaded.root) != "appSettings":
            self.problems.append(
                external.problem(
                    ProblemCode.MALFORMED,
                    f"the file named by {attribute}= at line {line} of {self.raw.path} has the "
                    f"root <{local_name(loaded.root)}>, not <appSettings>; .NET refuses it",
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
        return key.upper() == PROFILES_FOLDED
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


_intern = sys.intern

# A section of a web.config as read (`SettingsReader.elements`): its location, the line its
# start tag ends on and its text from there to its last element; what it gave: its settings
# and its root entries. At most `_SECTIONS_LIMIT` kept (then the table starts again).
_SectionKey = tuple[str | None, int, str]
_SECTIONS_LIMIT = 1 << 12
_sections: dict[_SectionKey, tuple[tuple[AppSetting, ...], tuple[Entry, ...]]] = {}


# One `AppSetting` for each distinct add (its key, value, line, source line, location and
# file), shared by every web.config that holds it: the servers of a fleet repeat the same
# files, so a fleet holds one record of each setting instead of one per server. The records are
# immutable and compared by value; nothing compares them by identity across files. At most
# 65,536 are kept (the least recently used go first), so that a fleet of unique settings costs
# at most that. Measured on the 100-server fleet of `benchmarks/fleet.py`, together with the
# lines split once a section (`elements`): the appSettings walk of its 2,400 web.configs
# (30,000 adds) took 143 ms before and 101 ms after (best of 9 in one process,
# `process_time`, parsed trees given); `auditor parse --json --jobs 1` of the 500-server fleet
# took 0.88x the CPU, at 72 MB peak instead of 86 MB (`farm-bench -n 8` paired runs, median).
@functools.lru_cache(maxsize=1 << 16)
def _shared_setting(
    key: str,
    value: str,
    line: int,
    text: str,
    location: str | None,
    path: str | None,
    sha256: str | None,
) -> AppSetting:
    """The shared record of an `add` whose start tag is the whole of its line `text`."""
    raw = text.strip()[:RAW_LINE_LIMIT]
    return _new_setting(key, value, line, raw, location, path, sha256)


def _new_setting(
    key: str,
    value: str,
    line: int,
    raw: str,
    location: str | None,
    path: str | None,
    sha256: str | None,
) -> AppSetting:
    # Positional: the fields in order, half the cost of keywords. Interned: one copy of each
    # text, what kept an audit of 2,000 servers under 400 MB before the records were shared
    # (`_shared_setting`); it still does for a fleet whose settings differ only in their lines.
    return AppSetting(_intern(key), _intern(value), line, _intern(raw), location, path, sha256)


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
