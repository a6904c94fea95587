"""PowerShell literals for untrusted values, a reference decoder for them, and the allow-lists.

Every value a generated script carries (application names, permission names, web.config text,
change ids, paths) reaches PowerShell only through `ps_literal`, which emits an ASCII-only
expression:

* runs of printable ASCII (U+0020..U+007E) go inside single quotes, escaped the way PowerShell's
  own `CodeGeneration.EscapeSingleQuotedStringContent` does (every single-quote character is
  doubled with itself; after the ASCII-only split only `'` can remain);
* every other UTF-16 code unit (non-ASCII, CR, LF, TAB, NUL, DEL; astral characters as their
  surrogate pairs) is written as `[char]0xNNNN`;
* several parts are joined with ` + ` inside parentheses, and such an expression always starts
  with a string (`''` when the value starts with a `[char]`), so that PowerShell concatenates
  strings and never adds two chars as numbers. The empty string is `''`.

Because the output is ASCII, no file encoding (Windows PowerShell 5.1 reads BOM-less files in
the ANSI code page) can turn a byte into a quote, and a CRLF conversion cannot change the data.

`decode_ps_literal` reads such an expression back following PowerShell's tokenizer rules
(`tokenizer.cs` `ScanStringLiteral`: any of the five single-quote characters ends the string
unless the next character is one of them too, in which case the second one is kept); the
property tests use it to prove that every emitted literal means exactly the input.

The allow-lists (`is_valid_permission_name`, `is_valid_guid`, `is_valid_profile_token`,
`is_valid_app_pool_name`) are the first line of defence: values that will be *written* to
Exchange are checked before rendering, and a rejected value is a `ValueError` naming the value.
Their formats are defined once, in `auditor.names`, which the policy schema follows too: a
name `auditor policy validate` accepts is a name the scripts accept.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from auditor import names

# CharTraits.cs: CharExtensions.IsSingleQuote.
SINGLE_QUOTE_CHARS = frozenset("'\u2018\u2019\u201a\u201b")


def escape_single_quoted_content(value: str) -> str:
    """`value` escaped for use between single quotes, exactly as PowerShell's codegen does it.

    Every character PowerShell treats as a single quote (U+0027, U+2018, U+2019, U+201A,
    U+201B) is doubled with itself; nothing else changes.
    """
    return "".join(char * 2 if char in SINGLE_QUOTE_CHARS else char for char in value)


def _utf16_units(value: str) -> list[int]:
    data = value.encode("utf-16-le", "surrogatepass")
    return [int.from_bytes(data[index : index + 2], "little") for index in range(0, len(data), 2)]


# Printable ASCII only: one run, whose only single-quote character can be `'`.
_PRINTABLE_ASCII = re.compile(r"[\x20-\x7e]*")


def ps_literal(value: str) -> str:
    """An ASCII-only PowerShell expression whose value is exactly the string `value`."""
    if value == "":
        return "''"
    if _PRINTABLE_ASCII.fullmatch(value):
        # The text the loop below gives for one printable run, without a call per UTF-16 unit:
        # the scripts' prologue quotes every input path and hash: 5,400 such values of the
        # 100-server fleet in 2 ms instead of 162 ms (the audit quotes 1,400 of them).
        return "'" + value.replace("'", "''") + "'"
    parts: list[str] = []
    run: list[str] = []
    for unit in _utf16_units(value):
        if 0x20 <= unit <= 0x7E:
            run.append(chr(unit))
            continue
        if run:
            parts.append("'" + escape_single_quoted_content("".join(run)) + "'")
            run = []
        parts.append(f"[char]0x{unit:04X}")
    if run:
        parts.append("'" + escape_single_quoted_content("".join(run)) + "'")
    if len(parts) == 1 and parts[0].startswith("'"):
        return parts[0]
    if not parts[0].startswith("'"):
        parts.insert(0, "''")
    return "(" + " + ".join(parts) + ")"


def ps_array(values: Iterable[str]) -> str:
    """A PowerShell array expression `@(...)` of `ps_literal`s; `@()` when empty."""
    return "@(" + ", ".join(ps_literal(value) for value in values) + ")"


# --- reference decoder --------------------------------------------------------------------------

_CHAR_PART = re.compile(r"\[char\]0x([0-9A-Fa-f]{4})")


def _scan_single_quoted(text: str, start: int) -> tuple[list[int], int]:
    """Scan a single-quoted string starting at `start` (a quote char); return units and end."""
    if start >= len(text) or text[start] not in SINGLE_QUOTE_CHARS:
        raise ValueError(f"expected a single-quoted string at offset {start}")
    index = start + 1
    content: list[str] = []
    while True:
        if index >= len(text):
            raise ValueError("unterminated single-quoted string")
        char = text[index]
        if char in SINGLE_QUOTE_CHARS:
            if index + 1 < len(text) and text[index + 1] in SINGLE_QUOTE_CHARS:
                content.append(text[index + 1])
                index += 2
                continue
            return _utf16_units("".join(content)), index + 1
        content.append(char)
        index += 1


def _units_to_str(units: list[int]) -> str:
    data = b"".join(unit.to_bytes(2, "little") for unit in units)
    return data.decode("utf-16-le", "surrogatepass")


def decode_ps_literal(text: str) -> str:
    """The string value of an expression `ps_literal` emits, read by PowerShell's rules.

    Accepts a single-quoted string (any of the five single-quote characters opens, closes and
    escapes, as in PowerShell's tokenizer) or a parenthesised `+` chain of single-quoted strings
    and `[char]0xNNNN` casts. Anything else raises ValueError: the decoder is a test oracle, not a
    PowerShell parser.
    """
    if text and text[0] in SINGLE_QUOTE_CHARS:
        content, end = _scan_single_quoted(text, 0)
        if end != len(text):
            raise ValueError(f"text after the closing quote: {text[end:]!r}")
        return _units_to_str(content)
    if not (text.startswith("(") and text.endswith(")")):
        raise ValueError(f"not a literal emitted by ps_literal: {text!r}")
    body = text[1:-1]
    units: list[int] = []
    index = 0
    first = True
    while True:
        if not first:
            if not body.startswith(" + ", index):
                raise ValueError(f"expected ' + ' at offset {index + 1}")
            index += 3
        first = False
        if index < len(body) and body[index] in SINGLE_QUOTE_CHARS:
            part, index = _scan_single_quoted(body, index)
            units.extend(part)
        else:
            match = _CHAR_PART.match(body, index)
            if match is None:
                raise ValueError(f"expected a string or [char]0xNNNN at offset {index + 1}")
            units.append(int(match.group(1), 16))
            index = match.end()
        if index == len(body):
            return _units_to_str(units)


# --- allow-lists -------------------------------------------------------------------------------


def is_valid_permission_name(name: str) -> bool:
    """True for permission names like `Mail.Read`, `User.ReadWrite.All`, `full_access_as_app`."""
    return names.PERMISSION.matches(name)


def is_valid_guid(value: str) -> bool:
    """True for a GUID in the 8-4-4-4-12 hexadecimal form (no braces, no URN prefix)."""
    return names.is_guid(value)


def is_valid_profile_token(token: str) -> bool:
    """True for an `OAuthHttpModule.Profiles` token such as `S2SAppActAs` or `V1S2SAppOnly`."""
    return names.PROFILE_TOKEN.matches(token)


def profile_tokens(value: str) -> tuple[str, ...]:
    """The `|`-separated tokens of an `OAuthHttpModule.Profiles` value to write, each to be
    allow-listed (`is_valid_profile_token`); none for the empty value."""
    return tuple(value.split("|")) if value else ()


def is_valid_app_pool_name(name: str) -> bool:
    """True for an IIS application pool name like `MSExchangeRestFrontEndAppPool`."""
    return names.APP_POOL.matches(name)


def is_valid_sha256(value: str) -> bool:
    """True for 64 hexadecimal digits."""
    return names.SHA256.matches(value)


def require(valid: bool, what: str, value: str) -> None:
    """Raise ValueError naming `what` and the (repr of the) value unless `valid`."""
    if not valid:
        raise ValueError(f"{what} {value!r} is not allowed in a generated script")
