"""Canonical JSON text, shared by every JSON-based output (findings.json, plan.json, SARIF)."""

from __future__ import annotations

import json
from typing import Any


def dumps(document: Any) -> str:
    """Canonical JSON text: sorted keys, two-space indent, ASCII-safe, trailing newline.

    `ensure_ascii` writes every non-ASCII character, a lone surrogate included, as a `\\uXXXX`
    escape, so the text is always encodable.
    """
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=True) + "\n"
