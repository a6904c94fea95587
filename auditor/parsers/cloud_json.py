"""Reads the optional cloud evidence of the hybrid trust: a Microsoft Graph JSON export of
service principals or applications, and ScubaGear's `ProviderSettingsExport.json`.

Sniffed by content inside a JSON input (`is_cloud_export`): a `keyCredentials` key (Graph,
either casing: `GET /servicePrincipals?$filter=appId eq '...'` saved as JSON, or
`Get-MgServicePrincipal ... | ConvertTo-Json -Depth 5`), or ScubaGear's
`legacy_exchange_service_principal` / `dedicated_exchange_hybrid_applications` keys. Shapes
accepted: one object, an array, Graph's `{"value": [...]}` page (with `@odata.*` keys) and
Windows PowerShell 5.1's `{"value": [...], "Count": n}` wrapper.

Each principal becomes a `CloudPrincipal` (`auditor.model.trust`) with its key credentials.
A credential's thumbprints are what it can be matched by (notes section 2.11): the SHA-1 of
its `key` (base64 DER, when exported), and its `customKeyIdentifier` read both as raw 20
bytes (base64, or the integer array ConvertTo-Json writes for a byte[]) and as hex text.
ScubaGear keeps no key and no identifier, only that keys exist and when they end;
`KeyCredentials: null` there (or `Apps: null`) is "not given", never "none".

Hostile input is bounded as in the partner-application JSON reader: invalid JSON, nesting too
deep and a key repeated in one object (compared case-insensitively, as ConvertFrom-Json does)
are MALFORMED problems and nothing of the file is read; at most MAX_OBJECTS principals and
MAX_OBJECTS credentials each are read (more is incomplete evidence).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Iterator
from typing import Any

from auditor.model import (
    CloudPrincipal,
    InputFormat,
    KeyCredential,
    ParseResult,
    Problem,
    ProblemCode,
    TrustEvidence,
)
from auditor.model.inputs import Evidence
from auditor.parsers.base import RawInput
from auditor.parsers.properties import MAX_OBJECTS, MAX_RAW
from auditor.parsers.text import LineIndex

_SNIFF = re.compile(
    r'"(?:keyCredentials|legacy_exchange_service_principal|dedicated_exchange_hybrid_applications)"'
    r"\s*:",
    re.IGNORECASE,
)
_HEX_THUMBPRINT = re.compile(r"[0-9A-Fa-f]{40}")
SCUBA_LEGACY = "legacy_exchange_service_principal"
SCUBA_DEDICATED = "dedicated_exchange_hybrid_applications"


class _Duplicate(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def is_cloud_export(text: str) -> bool:
    """True when a JSON text is cloud evidence (see the module docstring), not partner apps."""
    return _SNIFF.search(text) is not None


def parse(raw: RawInput, text: str) -> ParseResult:
    """The cloud principals of one Graph or ScubaGear JSON export, or a located problem."""
    source = raw.source(InputFormat.JSON)
    index = LineIndex.of(text)
    try:
        document = json.loads(text, object_pairs_hook=_unique)
    except json.JSONDecodeError as error:
        line = index.line_of(error.pos)
        problem = raw.problem(
            ProblemCode.MALFORMED, f"not valid JSON at line {line}: {error.msg}", line
        )
        return ParseResult(source=source, problems=(problem,))
    except _Duplicate as repeated:
        where = _line_of_key(text, index, repeated.key)
        message = (
            f"the cloud export has the key {repeated.key!r} more than once in one object; it "
            "is ambiguous and was not read"
        )
        return ParseResult(
            source=source, problems=(raw.problem(ProblemCode.MALFORMED, message, where),)
        )
    except RecursionError:
        message = "the JSON is nested too deeply to read; no cloud export is such a file"
        return ParseResult(source=source, problems=(raw.problem(ProblemCode.MALFORMED, message),))
    reader = _Reader(raw, text, index)
    reader.read(document)
    trust = TrustEvidence(cloud_principals=tuple(reader.principals))
    return ParseResult(source=source, problems=tuple(reader.problems), trust=trust)


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: set[str] = set()
    for key, _ in pairs:
        if key.casefold() in seen:
            raise _Duplicate(key)
        seen.add(key.casefold())
    return dict(pairs)


def _line_of_key(text: str, index: LineIndex, key: str) -> int | None:
    positions = [match.start() for match in re.finditer(re.escape(json.dumps(key)), text)]
    return index.line_of(positions[-1]) if positions else None


def _get(value: dict[str, Any], name: str) -> Any:
    """A property by name, ignoring case (Graph writes camelCase, PowerShell PascalCase)."""
    for key, item in value.items():
        if key.casefold() == name.casefold():
            return item
    return None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


class _Reader:
    def __init__(self, raw: RawInput, text: str, index: LineIndex) -> None:
        self.raw, self.text, self.index = raw, text, index
        self.principals: list[CloudPrincipal] = []
        self.problems: list[Problem] = []
        self.cursor = 0

    def read(self, document: Any) -> None:
        if isinstance(document, dict) and (
            _get(document, SCUBA_LEGACY) is not None or SCUBA_LEGACY in document
        ):
            self._scuba(document)
            return
        if isinstance(document, dict) and isinstance(_get(document, "value"), list):
            document = _get(document, "value")
        items = document if isinstance(document, list) else [document]
        for item in self._bounded(items, "principal"):
            if isinstance(item, dict):
                self.principals.append(self._principal(item, "graph", _graph_kind(item)))
            else:
                self._malformed("an item of the cloud export is not an object")
        if not self.principals and not self.problems:
            self._malformed("the cloud export holds no service principal or application")

    def _scuba(self, document: dict[str, Any]) -> None:
        legacy = _get(document, SCUBA_LEGACY)
        if isinstance(legacy, dict):
            legacy = [legacy]
        if not isinstance(legacy, list):
            self._incomplete(f"ScubaGear's {SCUBA_LEGACY} is {json.dumps(legacy)[:40]}")
            legacy = []
        for item in self._bounded(legacy, "principal"):
            if isinstance(item, dict):
                self.principals.append(self._principal(item, "scubagear", "service-principal"))
        dedicated = _get(document, SCUBA_DEDICATED)
        apps = _get(dedicated, "Apps") if isinstance(dedicated, dict) else None
        if isinstance(apps, dict):
            apps = [apps]
        for item in self._bounded(apps if isinstance(apps, list) else [], "application"):
            if isinstance(item, dict):
                self.principals.append(self._principal(item, "scubagear", "application"))

    def _bounded(self, items: list[Any], what: str) -> Iterator[Any]:
        if len(items) > MAX_OBJECTS:
            self._incomplete(
                f"the cloud export lists {len(items)} {what}s; only the first {MAX_OBJECTS} "
                "were read"
            )
        yield from items[:MAX_OBJECTS]

    def _principal(self, item: dict[str, Any], origin: str, kind: str) -> CloudPrincipal:
        app_id = _text(_get(item, "appId"))
        line = self._line(app_id)
        raw_credentials = _get(item, "keyCredentials")
        credentials: tuple[KeyCredential, ...] | None = None
        if isinstance(raw_credentials, dict):
            raw_credentials = [raw_credentials]
        if isinstance(raw_credentials, list):
            credentials = tuple(
                self._credential(entry)
                for entry in self._bounded(raw_credentials, "key credential")
                if isinstance(entry, dict)
            )
        elif raw_credentials is not None:
            self._incomplete(
                f"the key credentials of {app_id} at line {line} are not a list (export with "
                "ConvertTo-Json -Depth 5)",
                line,
            )
        has_keys = _get(item, "HasKeyCredentials")
        excerpt = self.text[self.cursor : self.cursor + MAX_RAW] if line else ""
        return CloudPrincipal(
            kind=kind,
            app_id=app_id,
            display_name=_text(_get(item, "displayName")),
            key_credentials=credentials,
            has_key_credentials=has_keys if isinstance(has_keys, bool) else None,
            origin=origin,
            source=Evidence(
                path=self.raw.path,
                line=line,
                raw=excerpt,
                sha256=self.raw.sha256,
                format=InputFormat.JSON,
            ),
        )

    def _credential(self, entry: dict[str, Any]) -> KeyCredential:
        return KeyCredential(
            key_id=_text(_get(entry, "keyId")),
            display_name=_text(_get(entry, "displayName")),
            end=_text(_get(entry, "endDateTime")),
            thumbprints=_thumbprints(_get(entry, "key"), _get(entry, "customKeyIdentifier")),
        )

    def _line(self, app_id: str | None) -> int | None:
        """The line of this principal's appId, searched forward from the previous one."""
        if app_id is None:
            return None
        found = re.compile(r'"appId"\s*:\s*' + re.escape(json.dumps(app_id)), re.I).search(
            self.text, self.cursor
        )
        if found is None:
            return None
        self.cursor = found.end()
        return self.index.line_of(found.start())

    def _malformed(self, message: str) -> None:
        self.problems.append(self.raw.problem(ProblemCode.MALFORMED, message))

    def _incomplete(self, message: str, line: int | None = None) -> None:
        self.problems.append(self.raw.problem(ProblemCode.INCOMPLETE_EVIDENCE, message, line))


def _graph_kind(item: dict[str, Any]) -> str:
    odata = (_text(_get(item, "@odata.type")) or "").casefold()
    if "serviceprincipal" in odata or _get(item, "servicePrincipalType") is not None:
        return "service-principal"
    if odata.endswith("application") or _get(item, "signInAudience") is not None:
        return "application"
    return "unknown"


def _thumbprints(key: Any, identifier: Any) -> tuple[str, ...]:
    found: list[str] = []
    der = _bytes(key)
    if der:
        found.append(hashlib.sha1(der, usedforsecurity=False).hexdigest().upper())
    if isinstance(identifier, str) and _HEX_THUMBPRINT.fullmatch(identifier):
        found.append(identifier.upper())  # the thumbprint as text (CSS-Exchange's comparison)
    raw = _bytes(identifier)
    if raw is not None and len(raw) == 20:
        found.append(raw.hex().upper())
    elif raw is not None and _HEX_THUMBPRINT.fullmatch(raw.decode("ascii", "replace")):
        found.append(raw.decode("ascii").upper())
    return tuple(dict.fromkeys(found))


def _bytes(value: Any) -> bytes | None:
    """Bytes from base64 text or ConvertTo-Json's integer array of a byte[]; None otherwise."""
    if isinstance(value, list) and all(isinstance(b, int) and 0 <= b < 256 for b in value):
        return bytes(value)
    if isinstance(value, str) and value:
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            return None
    return None
