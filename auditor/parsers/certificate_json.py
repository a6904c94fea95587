"""A `Get-ExchangeCertificate` object of a ConvertTo-Json export, read from its DER.

Owns reading the one certificate evidence a JSON export carries faithfully: ConvertTo-Json
writes the certificate's `RawData` (its DER, a `byte[]`) as an array of numbers, in Windows
PowerShell 5.1 and PowerShell 7 alike, so the thumbprint, the subject's common name and the
validity are read from those bytes by `auditor.parsers.der`, exactly as from CLIXML; never from
the exported `Thumbprint` or dates alone. An exported `Thumbprint` must agree with the DER (else
a problem, and the DER's is kept). Without `RawData` as bytes (an older `-Depth`, a projection
without it, a value out of range) the certificate is refused with a located problem advising
Export-Clixml. The server is the layout's (the server folder), else the object's
`PSComputerName`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from auditor.model import Evidence, ExchangeCertificate, Problem, ProblemCode
from auditor.parsers.base import RawInput
from auditor.parsers.der import read_certificate
from auditor.parsers.trust_records import certificate_from_der

__all__ = ["json_certificate"]

# A certificate's DER is a few kilobytes; a larger array is no certificate.
MAX_DER = 64 * 1024


def json_certificate(
    raw: RawInput, values: Mapping[str, Any], source: Evidence
) -> tuple[ExchangeCertificate | None, Problem | None]:
    """One certificate of a JSON export, or the problem that leaves it unread."""
    by_name = {name.casefold(): value for name, value in values.items()}
    der = _der(by_name.get("rawdata"))
    where = f"the certificate at line {source.line}"
    if der is None:
        return None, raw.problem(
            ProblemCode.INCOMPLETE_EVIDENCE,
            f"{where} has no RawData (its DER as an array of bytes), so it was not read: "
            "export `Get-ExchangeCertificate -Server <server> | Export-Clixml -Path "
            "ExchangeCertificate.xml` (`auditor collect` does)",
            source.line,
        )
    facts = read_certificate(der)
    if isinstance(facts, str):
        return None, raw.problem(
            ProblemCode.MALFORMED, f"the RawData of {where}: {facts}", source.line
        )
    computer = by_name.get("pscomputername")
    server = raw.server or (computer if isinstance(computer, str) and computer.strip() else None)
    return certificate_from_der(raw, facts, server, source, by_name.get("thumbprint"))


def _der(value: Any) -> bytes | None:
    """The bytes of a JSON array of numbers 0-255 (5.1's `{"value": [..], "Count": n}` too)."""
    if isinstance(value, dict) and set(value) == {"value", "Count"}:
        value = value["value"]
    if not isinstance(value, list) or not 0 < len(value) <= MAX_DER:
        return None
    if not all(type(item) is int and 0 <= item <= 255 for item in value):
        return None
    return bytes(value)
