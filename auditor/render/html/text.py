"""Text helpers every section uses: hidden characters made visible (`visible`), backticked
spans shown as code (`inline_code`), script source with line numbers (`numbered_source`), counts
in words (`plural`), Profiles segments as shown, CSS and CSP strings, and paths shown below the
folder that holds every input. Pure functions on strings; no report value is decided here.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable
from enum import StrEnum

from markupsafe import Markup, escape

_INVISIBLE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069"
    "\ud800-\udfff\ufeff\ufff9-\ufffb\ufffe\uffff]"
)


def visible(text: str) -> str:
    """Replace control, zero-width, bidi-override and surrogate characters by visible stand-ins.

    C0 controls and DEL become their ASCII abbreviation in brackets (`[NUL]`, `[CR]`, `[ESC]`);
    everything else in the set becomes `[U+XXXX]`. Tab and line feed are kept. The stand-ins
    are plain ASCII so that they print in any font.
    """
    return _INVISIBLE.sub(_stand_in, text)


_C0_NAMES = (
    *("NUL", "SOH", "STX", "ETX", "EOT", "ENQ", "ACK", "BEL"),
    *("BS", "HT", "LF", "VT", "FF", "CR", "SO", "SI"),
    *("DLE", "DC1", "DC2", "DC3", "DC4", "NAK", "SYN", "ETB"),
    *("CAN", "EM", "SUB", "ESC", "FS", "GS", "RS", "US"),
)


def _stand_in(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x20:
        return f"[{_C0_NAMES[code]}]"
    if code == 0x7F:
        return "[DEL]"
    return f"[U+{code:04X}]"


def inline_code(text: str) -> Markup:
    """Escape `text` and show each `backticked` span as code, as the policy's texts mean it.

    An unpaired backtick stays a literal backtick.
    """
    parts = visible(str(text)).split("`")
    if len(parts) % 2 == 0:  # unpaired: keep the last backtick as text
        parts[-2:] = [parts[-2] + "`" + parts[-1]]
    out: list[str] = []
    for index, part in enumerate(parts):
        escaped = str(escape(part))
        out.append(f"<code>{escaped}</code>" if index % 2 else escaped)
    return Markup("".join(out))


def _mark_css(mark: StrEnum) -> str:
    return mark.name.lower().replace("_", "-")


def _csp_sha256(text: str) -> str:
    digest = hashlib.sha256(str(text).encode("utf-8")).digest()
    return "sha256-" + base64.b64encode(digest).decode("ascii")


def _css_string(text: str) -> str:
    """`text` as the inside of a double-quoted CSS string: letters, digits and spaces as they
    are, every other code point as a hexadecimal escape (so it can end neither the string nor
    the style element)."""
    return "".join(
        char if char.isascii() and (char.isalnum() or char == " ") else f"\\{ord(char):06x}"
        for char in visible(text)
    )


def numbered_source(content: str) -> str:
    """A script's text with a right-aligned line number before each line (CRLF shown as lines).

    Plain text: the template escapes it like every other value, and `visible` shows any hidden
    character. No highlighting: the board reads the data block; the source is for reference.
    """
    lines = content.replace("\r\n", "\n").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    width = len(str(len(lines)))
    return "\n".join(f"{number:>{width}}  {line}" for number, line in enumerate(lines, 1))


def _line_endings(content: str) -> str:
    crlf = content.count("\r\n")
    lf = content.count("\n") - crlf
    cr = content.count("\r") - crlf
    if not (crlf or lf or cr):
        return "none (one line)"
    if crlf and not (lf or cr):
        return "CRLF"
    if lf and not (crlf or cr):
        return "LF"
    return "mixed"


def plural(count: int, word: str, many: str | None = None) -> str:
    return f"{count:,} {word if count == 1 else (many or word + 's')}"


def _shown(segment: str) -> str:
    return segment.replace(" ", "\u2423") if segment else "(empty)"


def _common_root(paths: Iterable[str]) -> str:
    """The deepest folder that holds every input (display only: paths are shown below it)."""
    split = [path.replace("\\", "/").split("/")[:-1] for path in paths]
    if not split:
        return ""
    prefix = split[0]
    for parts in split[1:]:
        length = 0
        for left, right in zip(prefix, parts, strict=False):
            if left != right:
                break
            length += 1
        prefix = prefix[:length]
    return "/".join(prefix)


def _relative(path: str, root: str) -> str:
    normal = path.replace("\\", "/")
    if root and normal.startswith(root + "/"):
        return normal[len(root) + 1 :]
    return path
