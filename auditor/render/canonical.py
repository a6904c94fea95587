"""Canonical JSON text, shared by every JSON-based output (findings.json, plan.json, SARIF).

The text is `json.dumps(document, indent=2, sort_keys=True, ensure_ascii=True)` and a newline,
byte for byte (tests/render/test_json_text.py holds it to that). It is written by a walk of its
own because Python's encoder indents only in pure Python, through a generator per level: on a
fleet's SARIF that was a fifth of writing the package. The strings themselves go through the
encoder's own C function.
"""

from __future__ import annotations

from collections.abc import Iterable
from json.encoder import encode_basestring_ascii
from typing import Any

_INFINITY = float("inf")


def dumps(document: Any) -> str:
    """Canonical JSON text: sorted keys, two-space indent, ASCII-safe, trailing newline.

    `ensure_ascii` writes every non-ASCII character, a lone surrogate included, as a `\\uXXXX`
    escape, so the text is always encodable.
    """
    parts: list[str] = []
    _write(document, "\n", parts)
    parts.append("\n")
    return "".join(parts)


def _write(value: Any, newline: str, parts: list[str]) -> None:
    """Append the text of `value`, whose container opens at the indent `newline` ends with."""
    if isinstance(value, str):
        parts.append(encode_basestring_ascii(value))
    elif isinstance(value, dict | list | tuple):
        if not value:
            parts.append("{}" if isinstance(value, dict) else "[]")
            return
        entries: Iterable[tuple[str, Any]]
        if isinstance(value, dict):
            opening, closing = "{", "}"
            entries = (
                (encode_basestring_ascii(_key(key)) + ": ", item)
                for key, item in sorted(value.items())
            )
        else:
            opening, closing = "[", "]"
            entries = (("", item) for item in value)
        inner = newline + "  "
        separator = opening + inner
        for label, item in entries:
            parts.append(separator + label)
            if type(item) is str:  # most values: no call for them
                parts.append(encode_basestring_ascii(item))
            else:
                _write(item, inner, parts)
            separator = "," + inner
        parts.append(newline + closing)
    else:
        parts.append(_scalar(value))


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        return _float(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _float(value: float) -> str:
    if value != value:
        return "NaN"
    if value == _INFINITY:
        return "Infinity"
    if value == -_INFINITY:
        return "-Infinity"
    return float.__repr__(value)


def _key(key: Any) -> str:
    """A key as the encoder writes it: strings as they are, numbers, booleans and None as text."""
    if isinstance(key, str):
        return key
    if key is None or isinstance(key, int | float):  # a bool is an int
        return _scalar(key)
    raise TypeError(f"keys must be str, int, float, bool or None, not {type(key).__name__}")
