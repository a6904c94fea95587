"""Reads `Get-PartnerApplication | ConvertTo-Json` output.

An object that is a hybrid-trust export (`Get-SettingOverride`, `Get-AuthServer`, ...: told by
its keys, `auditor.parsers.trust_text`) is read into its trust record instead.

Accepted shapes: one object, an array of objects, Windows PowerShell 5.1's
`{"value": [...], "Count": n}` wrapper around an array (5.1 adds an ETS `Count` property to
arrays and serialises a wrapped array as an object: PowerShell/PowerShell issues #3222, #5579),
and several such documents one after another (exports appended with `>>`).

What ConvertTo-Json does to the data, and what this parser makes of it:

- anything deeper than `-Depth` (2 by default) becomes text: PowerShell 7 writes a truncated
  `string[]` as its items joined by spaces (`"Mail.Read Mail.Write"`), 5.1 may write the type
  name (`"System.String[]"`). A text where a permission list is expected is therefore incomplete
  evidence (no names, `complete=False`, an INCOMPLETE_EVIDENCE problem advising `-Depth 4` or
  Export-Clixml), never a one-item list. An empty text is the rendering of an empty list;
- dates (`"\\/Date(ms)\\/"` in 5.1, ISO 8601 in 7.x) and enums (numbers unless `-EnumsAsStrings`)
  are kept as they are; nothing reads them;
- `LinkedAccount` may be text (its canonical name), null, or an `ADObjectId` object. For an
  object the canonical name is rebuilt as `Parent/Name` when `Parent` is a canonical path (text
  with a `/`, as Exchange shows a linked user `contoso.lab/Users/Account`); otherwise its
  `DistinguishedName`, otherwise its `Name`;
- a key repeated inside one object (compared case-insensitively, as ConvertFrom-Json does) makes
  that object ambiguous: a MALFORMED problem at the repeated key, and the object is skipped;
  a key repeated in 5.1's wrapper itself (`{"value": [..], "Count": n, "value": [..]}`) makes
  the whole wrapper ambiguous: a MALFORMED problem at the repeated key, nothing of it is read;
- invalid JSON is a MALFORMED problem at the line of the error; objects read before it are kept.
  Nesting too deep for Python's parser is a MALFORMED problem, not a crash.

At most MAX_OBJECTS objects per file and MAX_NAMES names per list are read (see
`auditor.parsers.properties`).

Line numbers: each object's line is where its `{` is (found exactly by decoding array items one at
a time). A property's line is where its key is, found by a token scan of the object's own text
(strings and brackets only), and its raw evidence is the text from the key to the end of its value.
"""

from __future__ import annotations

import json
import re
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from typing import Any

from auditor.model import InputFormat, ParseResult, Problem, ProblemCode
from auditor.parsers import cloud_json
from auditor.parsers.base import RawInput
from auditor.parsers.properties import (
    MAX_NAMES,
    MAX_RAW,
    TOO_MANY_NAMES,
    ApplicationReader,
    ObjectSource,
    PropertyValue,
    ScalarValue,
    is_permission_property,
)
from auditor.parsers.text import LineIndex, decode
from auditor.parsers.trust_text import JsonFields, TrustObjects, trust_kind

_WHITESPACE = " \t\r\n"
_STRUCTURE = re.compile(r'["{}\[\],:]')


class _JsonShapeError(Exception):
    """The JSON is valid but not a shape ConvertTo-Json writes for partner applications."""

    def __init__(self, message: str, pos: int) -> None:
        super().__init__(message)
        self.message = message
        self.pos = pos


@dataclass(frozen=True, slots=True)
class _Item:
    """One top-level object: its decoded value, its span in the text, its repeated keys."""

    value: Any
    start: int
    end: int
    duplicates: tuple[str, ...]
    # Keys repeated in the outermost object itself (not in an object nested inside it).
    top_duplicates: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class _Member:
    key_start: int
    value_end: int


def parse(raw: RawInput) -> ParseResult:
    """Every partner application in a ConvertTo-Json export, with problems for what is lost."""
    source = raw.source(InputFormat.JSON)
    text = decode(raw)
    if isinstance(text, Problem):
        return ParseResult(source=source, problems=(text,))
    if cloud_json.is_cloud_export(text):
        return cloud_json.parse(raw, text)
    index = LineIndex.of(text)
    applications = ApplicationReader(raw, InputFormat.JSON)
    trust = TrustObjects(raw, InputFormat.JSON)
    problems = applications.problems
    try:
        for item in _items(text):
            if not applications.room_for(index.line_of(item.start)):
                break
            _application(item, text, index, applications, trust)
    except json.JSONDecodeError as error:
        line = index.line_of(error.pos)
        problems.append(
            raw.problem(ProblemCode.MALFORMED, f"not valid JSON at line {line}: {error.msg}", line)
        )
    except _JsonShapeError as error:
        line = index.line_of(error.pos)
        problems.append(raw.problem(ProblemCode.MALFORMED, f"{error.message} (line {line})", line))
    except RecursionError:
        problems.append(
            raw.problem(
                ProblemCode.MALFORMED,
                "the JSON is nested too deeply to read; ConvertTo-Json never writes such a file",
            )
        )
    if applications.count == 0 and not problems:
        problems.append(raw.problem(ProblemCode.MALFORMED, "the JSON export holds no object"))
    return trust.merged(applications.result())


def _items(text: str) -> Iterator[_Item]:
    """Every top-level object, in order; raises JSONDecodeError or _JsonShapeError when bad."""
    pos = _skip_whitespace(text, 0)
    if pos == len(text):
        return
    while pos < len(text):
        opening = text[pos]
        if opening == "[":
            pos = yield from _array_items(text, pos)
        elif opening == "{":
            item = _decode_at(text, pos)
            inner = _wrapped_array(item.value)
            if inner is None:
                yield item
            elif item.top_duplicates:
                raise _JsonShapeError(
                    'Windows PowerShell 5.1\'s {"value": [...], "Count": n} wrapper has the '
                    f"key {item.top_duplicates[0]!r} more than once; it is ambiguous and was "
                    "not read",
                    _repeated_key_position(text, item, item.top_duplicates[0]),
                )
            else:
                array_start = _member_value_start(text, item, "value")
                yield from _array_items(text, array_start)
            pos = item.end
        else:
            raise _JsonShapeError("the JSON holds neither an object nor an array of objects", pos)
        pos = _skip_whitespace(text, pos)


def _repeated_key_position(text: str, item: _Item, key: str) -> int:
    """Where the last `"key"` of the object `item` starts (at its own level), else its start."""
    position = item.start
    depth = 0
    for symbol, start, end in _tokens(text, item.start, item.end):
        if symbol in "[{":
            depth += 1
        elif symbol in "]}":
            depth -= 1
        elif (
            symbol == '"'
            and depth == 1
            and text.startswith(":", _skip_whitespace(text, end))
            and json.loads(text[start:end]) == key
        ):
            position = start
    return position


def _wrapped_array(value: Any) -> list[Any] | None:
    """The array inside 5.1's `{"value": [...], "Count": n}` wrapper, or None."""
    if isinstance(value, dict) and set(value) == {"value", "Count"}:
        inner = value["value"]
        if isinstance(inner, list):
            return inner
    return None


def _decode_at(text: str, pos: int) -> _Item:
    duplicates: list[str] = []
    last: list[str] = []  # the repeated keys of the object decoded last: the outermost one

    def pairs_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: set[str] = set()
        last.clear()
        for key, _ in pairs:
            folded = key.casefold()
            if folded in seen:
                duplicates.append(key)
                last.append(key)
            seen.add(folded)
        return dict(pairs)

    decoder = json.JSONDecoder(object_pairs_hook=pairs_hook)
    value, end = decoder.raw_decode(text, pos)
    top = tuple(last) if isinstance(value, dict) else ()
    return _Item(value=value, start=pos, end=end, duplicates=tuple(duplicates), top_duplicates=top)


def _array_items(text: str, pos: int) -> Generator[_Item, None, int]:
    """The items of the array whose `[` is at `pos`, each decoded on its own; returns its end."""
    pos = _skip_whitespace(text, pos + 1)
    if text.startswith("]", pos):
        return pos + 1
    while True:
        item = _decode_at(text, pos)
        yield item
        pos = _skip_whitespace(text, item.end)
        if text.startswith(",", pos):
            pos = _skip_whitespace(text, pos + 1)
            continue
        if text.startswith("]", pos):
            return pos + 1
        raise json.JSONDecodeError("Expecting ',' delimiter", text, pos)


def _skip_whitespace(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in _WHITESPACE:
        pos += 1
    return pos


def _tokens(text: str, start: int, end: int) -> Iterator[tuple[str, int, int]]:
    """Strings and structural characters of `text[start:end]` as (symbol, start, end).

    A string is found by looking for its closing quote with `str.find`, never by a regular
    expression over its content, so a 50 MB string costs one scan and no extra memory.
    """
    pos = start
    while (match := _STRUCTURE.search(text, pos, end)) is not None:
        symbol, at = match.group(), match.start()
        if symbol == '"':
            pos = _string_end(text, at, end)
            yield symbol, at, pos
        else:
            pos = at + 1
            yield symbol, at, pos


def _string_end(text: str, quote: int, end: int) -> int:
    """The position after the string whose opening quote is at `quote`."""
    pos = quote + 1
    while (closing := text.find('"', pos, end)) >= 0:
        backslashes = 0
        while closing - backslashes - 1 > quote and text[closing - backslashes - 1] == "\\":
            backslashes += 1
        if backslashes % 2 == 0:
            return closing + 1
        pos = closing + 1
    return end


def _members(text: str, item: _Item) -> dict[str, _Member]:
    """Where each key of the object `item` starts and where its value ends (first occurrence)."""
    members: dict[str, _Member] = {}
    depth = 0
    expecting_key = False
    key: str | None = None
    key_start = 0
    last_end = item.start
    for symbol, token_start, token_end in _tokens(text, item.start, item.end):
        if symbol == '"':
            if depth == 1 and expecting_key:
                key = json.loads(text[token_start:token_end])
                key_start = token_start
                expecting_key = False
            last_end = token_end
        elif symbol in "[{":
            depth += 1
            if depth == 1:
                expecting_key = True
        elif symbol in "]}":
            if depth == 1 and key is not None:
                members.setdefault(key, _Member(key_start, _value_end(text, last_end, token_start)))
                key = None
            depth -= 1
            last_end = token_end
            if depth == 0:
                break
        elif symbol == "," and depth == 1:
            if key is not None:
                members.setdefault(key, _Member(key_start, _value_end(text, last_end, token_start)))
                key = None
            expecting_key = True
    return members


def _value_end(text: str, last_end: int, closing: int) -> int:
    """The end of a member's value: just before the `,`/`}` that closes it, minus whitespace."""
    end = closing
    while end > last_end and text[end - 1] in _WHITESPACE:
        end -= 1
    return end


def _member_value_start(text: str, item: _Item, key: str) -> int:
    member = _members(text, item)[key]
    colon = text.index(":", _string_end(text, member.key_start, len(text)))
    return _skip_whitespace(text, colon + 1)


def _application(
    item: _Item, text: str, index: LineIndex, applications: ApplicationReader, trust: TrustObjects
) -> None:
    """Read one top-level item into `applications`, or `trust` when it is a trust export (a
    problem when it is no single object)."""
    raw = applications.raw
    problems = applications.problems
    line = index.line_of(item.start)
    if not isinstance(item.value, dict):
        problems.append(
            raw.problem(
                ProblemCode.MALFORMED,
                f"the JSON value at line {line} is not an object; it was skipped",
                line,
            )
        )
        return
    kind = trust_kind(item.value)
    # PowerShell 7 writes a deserialised enum as {"value": 1, "Value": "AzureAD"}: that pair is
    # no ambiguity in a trust export; any other repeated key is.
    repeated_keys = item.duplicates
    if kind is not None:
        repeated_keys = tuple(key for key in item.duplicates if key.casefold() != "value")
        repeated_keys = (*item.top_duplicates, *repeated_keys)
    if kind is not None and not repeated_keys:
        shown = text[item.start : min(item.end, item.start + MAX_RAW)]
        trust.add(kind, JsonFields(item.value), line, shown)
        return
    members = _members(text, item)
    if repeated_keys:
        repeated = repeated_keys[0]
        where = _last_key_line(text, item, index, repeated) or line
        problems.append(
            raw.problem(
                ProblemCode.MALFORMED,
                f"the object at line {line} has the key {repeated!r} more than once "
                f"(again at line {where}); it is ambiguous and was skipped",
                where,
            )
        )
        return
    properties: dict[str, PropertyValue] = {}
    for key, value in item.value.items():
        member = members.get(key)
        key_line = index.line_of(member.key_start) if member else line
        raw_text = (
            text[member.key_start : min(member.value_end, member.key_start + MAX_RAW)]
            if member
            else ""
        )
        properties[key] = _property_value(key, value, key_line, raw_text)
    object_text = text[item.start : min(item.end, item.start + MAX_RAW)]
    applications.add(properties, ObjectSource(line=line, raw=object_text))


def _last_key_line(text: str, item: _Item, index: LineIndex, key: str) -> int | None:
    """Best effort: the line of the last `"key"` followed by `:` inside the object."""
    found = None
    pattern = re.compile(re.escape(json.dumps(key)) + r"\s*:", re.IGNORECASE)
    for match in pattern.finditer(text, item.start, item.end):
        found = index.line_of(match.start())
    return found


def _property_value(key: str, value: Any, line: int, raw_text: str) -> PropertyValue:
    if is_permission_property(key):
        return _permission_value(value, line, raw_text)
    if key.casefold() == "linkedaccount" and isinstance(value, dict):
        return PropertyValue(value=_account_name(value), line=line, raw=raw_text)
    scalar: ScalarValue = value if isinstance(value, str | bool | int | float) else None
    return PropertyValue(value=scalar, line=line, raw=raw_text)


def _permission_value(value: Any, line: int, raw_text: str) -> PropertyValue:
    wrapped = _wrapped_array(value)
    if wrapped is not None:
        value = wrapped
    if isinstance(value, list):
        if len(value) > MAX_NAMES:
            return PropertyValue(
                value=tuple(item for item in value[:MAX_NAMES] if isinstance(item, str)),
                line=line,
                raw=raw_text,
                lost=TOO_MANY_NAMES,
            )
        names = tuple(item for item in value if isinstance(item, str))
        if len(names) != len(value):
            return PropertyValue(
                value=names,
                line=line,
                raw=raw_text,
                lost="the list holds values that are not names (objects or numbers)",
            )
        return PropertyValue(value=names, line=line, raw=raw_text)
    if isinstance(value, str) and value.strip():
        return PropertyValue(
            value=(),
            line=line,
            raw=raw_text,
            lost=(
                f"ConvertTo-Json wrote the text {value.strip()[:80]!r} instead of the list "
                "(the export's -Depth was too small)"
            ),
        )
    if isinstance(value, dict):
        return PropertyValue(
            value=(), line=line, raw=raw_text, lost="the export holds an object, not a list"
        )
    scalar: ScalarValue = value if isinstance(value, str | bool | int | float) else None
    return PropertyValue(value=scalar, line=line, raw=raw_text)


def _account_name(account: dict[str, Any]) -> str | None:
    parent = account.get("Parent")
    name = account.get("Name")
    if isinstance(parent, str) and "/" in parent and isinstance(name, str) and name:
        return f"{parent.rstrip('/')}/{name}"
    for key in ("DistinguishedName", "Name"):
        found = account.get(key)
        if isinstance(found, str) and found:
            return found
    return None
