"""Reads `Get-PartnerApplication | Format-List *` text saved to a file (`>`, `Out-File`).

An object that is a hybrid-trust export (`Get-SettingOverride`, `Get-AuthServer`, ...: told by
its properties, `auditor.parsers.trust_text`) is read into its trust record instead.

The layout, from PowerShell's `ListWriter`:

- objects are separated by one or more blank lines;
- each property is `Label<padding> : value`, labels padded to the longest label of the object
  (any width; a label line starts in column 0), so the value column is the same for every
  property of one object; values may themselves contain " : ", only the first `:` that is
  followed by a space (or the end of the line) separates;
- a value wider than the output (80 columns when `>` writes a file) continues on the next lines,
  indented with exactly the width of the padded label plus " : ". Windows PowerShell 5.1 wraps at
  word boundaries and keeps the delimiter at the end of the broken line (a line broken at a space
  ends with that space), a word longer than the field is cut mid-word, PowerShell 7 cuts at the
  column. Either way the value is re-joined by removing only that indentation, never adding a
  space. Blank lines followed by an indented line belong to a value (a multi-line text);
- collections are `{a, b, c}`, `{}` when empty; `$null` shows nothing after the colon;
- a collection longer than `$FormatEnumerationLimit` (4 by default) ends in `...` (5.1) or `…`
  (U+2026, PowerShell 6.2+): the permission list keeps the shown names without the ellipsis, is
  marked incomplete, and an INCOMPLETE_EVIDENCE problem says how to export completely;
- dates are culture-formatted text (kept as text, nothing here reads them); PowerShell 7.2+ may
  colour the labels with ANSI escapes, which are removed first.

Items of a permission list are split on "," and trimmed, so a file whose trailing spaces were
stripped by an editor still reads correctly (permission names never contain commas).
A label that repeats inside one object starts a new object (two objects without a blank line).
A non-indented line that is not `Label : value` is reported (MALFORMED) and skipped.
Bounds (see `auditor.parsers.properties`): at most MAX_OBJECTS objects per file and MAX_NAMES
names per list are read; beyond that a TOO_LARGE problem / an incomplete list says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from auditor.model import InputFormat, ParseResult, Problem, ProblemCode
from auditor.parsers.base import RawInput
from auditor.parsers.properties import (
    MAX_NAMES,
    MAX_RAW,
    ApplicationReader,
    ObjectSource,
    PropertyValue,
    cut_names,
    is_permission_property,
)
from auditor.parsers.text import decode, split_lines, strip_ansi
from auditor.parsers.trust_text import FormatListFields, TrustObjects, trust_kind

_ELLIPSES = ("...", "…")
_ITEM = re.compile(r"[^,]+")


@dataclass(slots=True)
class _Property:
    label: str
    line: int
    indent: int
    parts: list[str]
    physical: list[str]


@dataclass(slots=True)
class _Object:
    line: int
    first: str
    properties: list[_Property] = field(default_factory=list)
    labels: set[str] = field(default_factory=set)


def parse(raw: RawInput) -> ParseResult:
    """Every partner application in a Format-List export, with problems for what is lost."""
    source = raw.source(InputFormat.FORMAT_LIST)
    text = decode(raw)
    if isinstance(text, Problem):
        return ParseResult(source=source, problems=(text,))
    applications = ApplicationReader(raw, InputFormat.FORMAT_LIST)
    trust = TrustObjects(raw, InputFormat.FORMAT_LIST)
    objects = _objects(split_lines(strip_ansi(text)), applications)
    for exported in objects:
        kind = trust_kind(prop.label for prop in exported.properties)
        if kind is not None:
            values = {prop.label: "".join(prop.parts) for prop in exported.properties}
            trust.add(kind, FormatListFields(values), exported.line, exported.first)
            continue
        properties = {prop.label: _property_value(prop) for prop in exported.properties}
        applications.add(properties, ObjectSource(line=exported.line, raw=exported.first))
    if not objects and not applications.problems:
        applications.problems.append(
            raw.problem(ProblemCode.MALFORMED, "the Format-List export holds no object")
        )
    return trust.merged(applications.result())


def _objects(lines: list[str], applications: ApplicationReader) -> list[_Object]:
    """The objects of the export, as their properties' lines; problems go to `applications`."""
    raw = applications.raw
    objects: list[_Object] = []
    problems = applications.problems
    current: _Object | None = None
    prop: _Property | None = None
    blanks: list[str] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            blanks.append(line)
            continue
        if line[0] in " \t":
            if prop is None:
                problems.append(
                    raw.problem(
                        ProblemCode.MALFORMED,
                        f"line {number} is indented like a continuation line but follows no "
                        "property; it was skipped",
                        number,
                    )
                )
                blanks.clear()
                continue
            for blank in blanks:
                prop.parts.append(_dedent(blank, prop.indent))
                prop.physical.append(blank)
            blanks.clear()
            prop.parts.append(_dedent(line, prop.indent))
            prop.physical.append(line)
            continue
        separated = bool(blanks)
        blanks.clear()
        label_and_rest = _split_label(line)
        if label_and_rest is None:
            problems.append(
                raw.problem(
                    ProblemCode.MALFORMED,
                    f"line {number} is neither `Label : value` nor an indented continuation "
                    "line; it was skipped",
                    number,
                )
            )
            prop = None
            continue
        label, indent, value = label_and_rest
        folded = label.casefold()
        if current is None or separated or folded in current.labels:
            if not applications.room_for(number):
                break
            current = _Object(line=number, first=line[:MAX_RAW])
            objects.append(current)
        prop = _Property(label=label, line=number, indent=indent, parts=[value], physical=[line])
        current.properties.append(prop)
        current.labels.add(folded)
    return objects


def _split_label(line: str) -> tuple[str, int, str] | None:
    """(label, continuation indent, value start) of a `Label : value` line, or None."""
    colon = 0
    while True:
        colon = line.find(":", colon)
        if colon < 0:
            return None
        if colon + 1 == len(line) or line[colon + 1] == " ":
            break
        colon += 1
    label = line[:colon].rstrip()
    if not label:
        return None
    return label, colon + 2, line[colon + 2 :]


def _dedent(line: str, indent: int) -> str:
    """`line` without its first `indent` characters when they are spaces (fewer if not)."""
    stripped = 0
    while stripped < indent and stripped < len(line) and line[stripped] in " \t":
        stripped += 1
    return line[stripped:]


def _property_value(prop: _Property) -> PropertyValue:
    value = "".join(prop.parts)
    raw_text = _shown(prop.physical)
    if not is_permission_property(prop.label):
        return PropertyValue(value=value.strip() or None, line=prop.line, raw=raw_text)
    names, lost = _collection(value.strip())
    if names is None:
        shown: str | None = value.strip() or None
        return PropertyValue(value=shown, line=prop.line, raw=raw_text)
    return PropertyValue(value=names, line=prop.line, raw=raw_text, lost=lost)


def _shown(physical: list[str]) -> str:
    """The property's lines as shown in the file, joined by LF, cut after MAX_RAW characters."""
    shown: list[str] = []
    length = 0
    for line in physical:
        shown.append(line[: MAX_RAW - length + 1])
        length += len(line) + 1
        if length > MAX_RAW:
            break
    return "\n".join(shown)[:MAX_RAW]


def _collection(text: str) -> tuple[tuple[str, ...] | None, str | None]:
    """The names in a `{a, b…}` collection and what was lost; None for `$null` or plain text."""
    if not text.startswith("{"):
        return None, None
    names, lost = _braced(text)
    cut, too_many = cut_names(names)
    return cut, too_many or lost


def _braced(text: str) -> tuple[tuple[str, ...], str | None]:
    if not text.endswith("}"):
        # The last name shown may itself be cut: keep only the names before it.
        shown = _names(text[1:])[:-1]
        return shown, "the list does not end with `}`: the file was cut short or edited"
    inner = text[1:-1].rstrip()
    for ellipsis in _ELLIPSES:
        if inner.endswith(ellipsis):
            shown = _names(inner[: -len(ellipsis)])
            count = f"its first {len(shown)} item" + ("" if len(shown) == 1 else "s")
            return shown, f"the list ends in `{ellipsis}`: Format-List showed only {count}"
    return _names(inner), None


def _names(inner: str) -> tuple[str, ...]:
    """The comma-separated names inside a collection's braces, trimmed, empty ones dropped.

    At most MAX_NAMES + 1 names are made, however long the list (see `_collection`).
    """
    names: list[str] = []
    for match in _ITEM.finditer(inner):
        name = match.group().strip()
        if name:
            names.append(name)
            if len(names) > MAX_NAMES:
                break
    return tuple(names)
