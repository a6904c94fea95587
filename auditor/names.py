"""The one definition of every name format auditor checks: permission, GUID, token, server.

Each `NameFormat` is a regular expression, a length limit and a description in words. Every
place that accepts or refuses such a name reads it from here:

* the policy schema (`auditor/schemas/policy.schema.json`, `$defs`): its `pattern` and
  `maxLength` equal `schema_pattern` and `max_length` (tests/test_names.py proves it), and the
  message a policy author sees is `description`;
* the allow-lists of the script generator (`auditor.psquote.is_valid_*`), so a name the policy
  accepts is a name the scripts can carry, and `policy validate` refuses (with its line) any
  name a script would refuse;
* the folder-layout reader (`auditor.layout.clean_server_name`).

Chosen from the real names (reference notes, the CSS-Exchange exports, Microsoft Graph's
permission reference): a permission is dot-separated segments of letters, digits, `_` and `-`,
starting with a letter (`Mail.Read`, `full_access_as_app`, `EWS.AccessAsUser.All`, Graph's
`User-Mail.ReadWrite.All`); a profile token is letters and digits starting with a letter
(`V1S2SAppOnly`). Application names are free text: they are only displayed and quoted
(`psquote.ps_literal`), never used to select an application (the GUID is).

`schema_pattern` is anchored with `^` and a look-ahead `(?![\\s\\S])` instead of `$`: Python's
`re.search` (jsonschema) lets `$` match before a final newline, so `Mail.Read\\n` would pass the
schema and fail the scripts; the look-ahead means "end of text" in Python and ECMA-262 alike.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class NameFormat:
    """One name format: `regex` (unanchored), its length limit and what it means in words."""

    regex: str
    max_length: int
    description: str
    _compiled: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_compiled", re.compile(self.regex))

    @property
    def schema_pattern(self) -> str:
        """The JSON Schema `pattern`: the whole text, in Python and ECMA-262 regex alike."""
        return f"^(?:{self.regex})(?![\\s\\S])"

    def matches(self, value: str) -> bool:
        """True when all of `value` has this format and is at most `max_length` long."""
        return len(value) <= self.max_length and self._compiled.fullmatch(value) is not None


PERMISSION = NameFormat(
    regex=r"[A-Za-z][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+)*",
    max_length=200,
    description="a permission name such as Mail.Read or full_access_as_app (dot-separated "
    "parts of letters, digits, '_' and '-', starting with a letter)",
)
PERMISSION_PATTERN = NameFormat(
    regex=r"[A-Za-z0-9_.*?\[\]!-]+",
    max_length=200,
    description="a permission pattern such as *.ReadWrite* "
    "(letters, digits, '.', '_', '-', '*', '?', '[...]')",
)
GUID = NameFormat(
    regex=r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}",
    max_length=36,
    description="a GUID such as 00000003-0000-0000-c000-000000000000",
)
PROFILE_TOKEN = NameFormat(
    regex=r"[A-Za-z][A-Za-z0-9]*",
    max_length=64,
    description="a profile token such as V1S2SAppOnly (letters and digits, starting with a letter)",
)
APP_POOL = NameFormat(
    regex=r"[A-Za-z0-9][A-Za-z0-9._-]*",
    max_length=256,
    description="an IIS application pool name such as MSExchangeRestFrontEndAppPool",
)
SERVER = NameFormat(
    regex=r"[A-Za-z0-9](?:[A-Za-z0-9._ -]{0,251}[A-Za-z0-9._-])?",
    max_length=253,
    description="a server (host) name such as EX01 or ex01.contoso.com",
)
SHA256 = NameFormat(
    regex=r"[0-9a-fA-F]{64}",
    max_length=64,
    description="a SHA-256 written as 64 hexadecimal digits",
)

# The policy schema's `$defs` entry of each format the policy file uses.
SCHEMA_DEFS: dict[str, NameFormat] = {
    "permission": PERMISSION,
    "permission_pattern": PERMISSION_PATTERN,
    "guid": GUID,
    "profile_token": PROFILE_TOKEN,
}


def is_guid(value: str) -> bool:
    """True for a GUID in the 8-4-4-4-12 hexadecimal form (no braces, no URN prefix)."""
    if not GUID.matches(value):
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def is_server_name(name: str) -> bool:
    """True for a name that looks like a host name (no `..`), safe to display and use."""
    return ".." not in name and SERVER.matches(name)
