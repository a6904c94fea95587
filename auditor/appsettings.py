"""How .NET resolves `configuration/appSettings`, written once: keys, effective adds, safe edits.

.NET reads an application's appSettings into a `KeyValueConfigurationCollection` whose keys
compare with `StringComparer.OrdinalIgnoreCase`; the section's children apply in document order:
`<add key=k>` sets k (a later add of the same key, whatever its case, replaces the earlier one),
`<remove key=k>` drops k, `<clear/>` drops every key added so far. The effective add of a key is
therefore the last add of that key after the last `clear` and the last `remove` of it. This
module owns that rule for the root scope (`configuration/appSettings`, never `<location>`), and
the rule of when the generated script may edit the effective `OAuthHttpModule.Profiles` in
place:

- `fold_key`/`same_key`: OrdinalIgnoreCase as .NET computes it (each UTF-16 unit mapped to its
  simple upper case; `ß` stays `ß`, nothing is normalised);
- `resembles_key`: `same_key`, or equal after NFKC and case folding. .NET Framework's casing
  tables for characters outside ASCII may differ from Python's; a key that only resembles the
  Profiles key is treated as a possible second add, so an edit never relies on that difference;
- `effective_add`, `candidates`: the add .NET uses, and every add that could set the key;
- `edit_refusal`: why an edit of the effective value in place would be unsafe, with the step a
  person takes instead (`EditRefusal`), or None.

The parser records the root scope's entries (`Entry`) and sections (`Section`) and asks these
functions; the planner turns an `EditRefusal` into a `Skipped`; attest compares settings by
`fold_key`. The PowerShell function `Get-AuditorEffectiveProfiles`
(`templates/ps1/_webconfig_functions.ps1.j2`) applies the same rules on the live file.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from auditor.model import OAUTH_PROFILES_KEY, AppSetting, EditRefusal

UTF8 = "utf-8"


class EntryKind(StrEnum):
    """The three children of an appSettings section .NET applies."""

    ADD = "add"
    REMOVE = "remove"
    CLEAR = "clear"


@dataclass(frozen=True, slots=True)
class Entry:
    """One `add`, `remove` or `clear` of a root-scope appSettings section, in document order.

    `setting` is the add's record (None for remove and clear); `path` the file the entry was read
    from when it is not the web.config (a `file=`/`configSource=` file).
    """

    kind: EntryKind
    key: str
    line: int | None
    path: str | None = None
    setting: AppSetting | None = None


@dataclass(frozen=True, slots=True)
class Section:
    """One root-scope `<appSettings>` element: where, and whether it names an unreachable file.

    `location` is true for a section inside `<location>` without a path (root scope all the
    same); `outside` is the `file=`/`configSource=` attribute, as written, when it names a file
    outside the web.config's folder (the script reads only files beside the web.config). A file
    beside it is read: its entries are among the scope's `Entry` records, with their `path`.
    """

    line: int | None
    location: bool = False
    outside: str | None = None


def _simple_upper(character: str) -> str:
    upper = character.upper()
    return upper if len(upper) == 1 else character


def fold_key(key: str) -> str:
    """The form under which .NET's OrdinalIgnoreCase finds two keys equal (simple upper case)."""
    if key.isascii():
        return key.upper()
    return "".join(_simple_upper(character) for character in key)


def same_key(first: str, second: str) -> bool:
    """Whether .NET's appSettings collection treats `first` and `second` as one key."""
    return fold_key(first) == fold_key(second)


def resembles_key(key: str, wanted: str) -> bool:
    """`same_key`, or equal once NFKC-normalised and case-folded (a possible second add)."""
    if same_key(key, wanted):
        return True
    if key.isascii():
        return False
    return unicodedata.normalize("NFKC", key).casefold() == wanted.casefold()


def effective_add(entries: Sequence[Entry], key: str) -> Entry | None:
    """The add .NET uses for `key`: the last add of it after the last clear and remove of it."""
    effective: Entry | None = None
    for entry in entries:
        if entry.kind is EntryKind.CLEAR:
            effective = None
        elif same_key(entry.key, key):
            effective = entry if entry.kind is EntryKind.ADD else None
    return effective


def candidates(entries: Sequence[Entry], key: str) -> tuple[Entry, ...]:
    """Every add that sets `key` or might (`resembles_key`), surviving or not, in order."""
    return tuple(
        entry for entry in entries if entry.kind is EntryKind.ADD and resembles_key(entry.key, key)
    )


def edit_refusal(
    entries: Sequence[Entry],
    sections: Sequence[Section],
    *,
    path: str,
    encoding: str,
    key: str = OAUTH_PROFILES_KEY,
) -> EditRefusal | None:
    """Why an in-place edit of the effective `key` of this file is unsafe, or None.

    Safe means: the effective add is in the web.config itself (not in a `file=`/`configSource=`
    file), the file is UTF-8 (with or without BOM), it has one root-scope `<appSettings>`,
    directly below `<configuration>` and naming no file outside its folder, and exactly one add
    in the scope (the web.config and a `file=` file) can set the key (`candidates`): the
    effective one, with the key written exactly as `key`. A file without an effective add
    gives None (there is nothing to edit).
    """
    effective = effective_add(entries, key)
    if effective is None:
        return None
    where = f"line {effective.line}" if effective.line is not None else "its add element"
    refusal = _file_refusal(effective, sections, path=path, encoding=encoding, key=key, where=where)
    if refusal is None:
        refusal = _key_refusal(entries, effective, path=path, key=key, where=where)
    return refusal


def _file_refusal(
    effective: Entry, sections: Sequence[Section], *, path: str, encoding: str, key: str, where: str
) -> EditRefusal | None:
    """Why the file holding the effective add cannot be edited by the script, or None."""
    line = effective.line
    if effective.path is not None:
        return EditRefusal(
            why=(
                f"the effective {key} is read from {effective.path} (named by the web.config's "
                "appSettings file= or configSource=); the script edits only web.config"
            ),
            step=f"at {where}, set the value of {key} to",
            path=effective.path,
            line=line,
        )
    if encoding != UTF8:
        return EditRefusal(
            why=(
                f"the file is encoded in {encoding}; the script reads and writes only UTF-8 "
                "(with or without a byte-order mark)"
            ),
            step=f"in an editor that keeps the {encoding} encoding, at {where}, set the value to",
            path=path,
            line=line,
        )
    if len(sections) != 1 or sections[0].location or sections[0].outside is not None:
        return EditRefusal(
            why=_sections_problem(sections),
            step=f"at {where} (the add .NET uses), set the value to",
            path=path,
            line=line,
        )
    return None


def _key_refusal(
    entries: Sequence[Entry], effective: Entry, *, path: str, key: str, where: str
) -> EditRefusal | None:
    """Why the effective add's key cannot be edited in place (another add may set it, or it is
    written in another case), or None."""
    line = effective.line
    found = candidates(entries, key)
    if len(found) > 1:
        others = [entry for entry in found if entry is not effective]
        lines = ", ".join(str(entry.line) for entry in others)
        return EditRefusal(
            why=(
                f"{len(found)} add elements can set {key} (lines "
                f"{', '.join(str(entry.line) for entry in found)}); .NET compares keys ignoring "
                f"case and uses the last one left by remove and clear, {where}, so editing one of "
                "them in place could change the wrong one or leave the old value behind"
            ),
            step=(
                f"delete the add element(s) at line(s) {lines}, write the key at {where} as "
                f"{key} and set its value to"
            ),
            path=path,
            line=line,
        )
    if effective.key != key:
        return EditRefusal(
            why=(
                f"the key is written {effective.key!r} at {where}; .NET reads it ignoring case, "
                f"but the script edits only an add whose key is written {key}"
            ),
            step=f"at {where}, write the key as {key} and set its value to",
            path=path,
            line=line,
        )
    return None


def _sections_problem(sections: Sequence[Section]) -> str:
    if len(sections) != 1:
        lines = ", ".join(str(section.line) for section in sections)
        return (
            f"the file has {len(sections)} appSettings sections for the application (lines "
            f"{lines}); the script edits only a file with one"
        )
    section = sections[0]
    if section.location:
        return (
            f"the appSettings section at line {section.line} is inside <location> without a "
            "path; the script edits only configuration/appSettings"
        )
    return (
        f"the appSettings section at line {section.line} takes settings from "
        f"{section.outside}, outside the web.config's folder, which the script does not read"
    )
