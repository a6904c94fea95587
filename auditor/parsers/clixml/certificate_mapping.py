"""The Get-ExchangeCertificate mapping of CLIXML: which certificates each server holds.

Owns reading objects of type `...SystemConfigurationTasks.ExchangeCertificate` into
`ExchangeCertificate` records (per server). `Get-ExchangeCertificate | Export-Clixml` keeps
only `RawData` (the certificate's DER, a `BA` element): the thumbprint, the subject's common
name and the validity are read from those bytes by `auditor.parsers.der` (never from the
culture-formatted `ToString`, never from the .NET `SerializationData`). A projection that also
carries `Thumbprint` (`Select-Object Thumbprint, ..., RawData`, as `auditor collect` writes it)
must agree with the DER, else the disagreement is a problem and the DER's thumbprint is kept.
Without `RawData`, `Thumbprint`, `NotBefore` and `NotAfter` properties are read as exported.
Bad Base64 or DER is a located problem and no record. The server is the layout's (the server
folder), else the object's `PSComputerName`.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from functools import lru_cache

from auditor.model import ExchangeCertificate, Problem, ProblemCode
from auditor.parsers.base import RawInput
from auditor.parsers.clixml.deserialise import Binary, PSObject
from auditor.parsers.clixml.fields import ObjectFields, evidence, server
from auditor.parsers.der import CertificateFacts, read_certificate
from auditor.parsers.trust_records import certificate_from_der

EXCHANGE_CERTIFICATE_TYPE = (
    "Microsoft.Exchange.Management.SystemConfigurationTasks.ExchangeCertificate"
)


def exchange_certificate(
    raw: RawInput, obj: PSObject, lines: Sequence[str]
) -> tuple[ExchangeCertificate | None, Problem | None]:
    """One server's certificate, or the problem that leaves it unread."""
    fields = ObjectFields(obj)
    exported = fields.text("Thumbprint")
    data = fields.by_name.get("rawdata")
    if data is None or not isinstance(data.value, Binary):
        return _from_properties(raw, obj, fields, exported, lines)
    facts = _facts(data.value.base64)
    if isinstance(facts, str):
        return None, raw.problem(
            ProblemCode.MALFORMED,
            f"the RawData of the certificate at line {obj.line}: {facts}",
            data.line,
        )
    return certificate_from_der(raw, facts, server(raw, obj), evidence(raw, obj, lines), exported)


def _facts(text: str) -> CertificateFacts | str:
    return _kept_facts(text) if len(text) <= _KEPT_RAWDATA else _read_facts(text)


# Kept by RawData: the organisation's OAuth (Auth) certificate is on every server, so every
# server's ExchangeCertificate.xml carries it again; it is read once (the facts are frozen).
# At most 256 certificates of up to `_KEPT_RAWDATA` characters (an X.509 certificate is 1 KB
# to 3 KB). With `deserialise`'s kept texts: the trust exports of a 500-server fleet read in
# 0.79x the CPU (each server with the same Auth certificate, as in an organisation).
_KEPT_RAWDATA = 16384


@lru_cache(maxsize=256)
def _kept_facts(text: str) -> CertificateFacts | str:
    return _read_facts(text)


def _read_facts(text: str) -> CertificateFacts | str:
    try:
        data = base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        return "it is not Base64"
    return read_certificate(data)


def _from_properties(
    raw: RawInput, obj: PSObject, fields: ObjectFields, thumbprint: str | None, lines: Sequence[str]
) -> tuple[ExchangeCertificate | None, Problem | None]:
    not_before, not_after = fields.text("NotBefore"), fields.text("NotAfter")
    if not thumbprint or not not_after or not_before is None:
        return None, raw.problem(
            ProblemCode.INCOMPLETE_EVIDENCE,
            f"the certificate at line {obj.line} has no RawData and no Thumbprint, NotBefore "
            "and NotAfter: it was not read; export `Get-ExchangeCertificate | Export-Clixml` "
            "again (`auditor collect` does)",
            obj.line,
        )
    record = ExchangeCertificate(
        server=server(raw, obj),
        thumbprint=thumbprint,
        subject=fields.text("Subject"),
        not_before=not_before,
        not_after=not_after,
        source=evidence(raw, obj, lines),
    )
    return record, None
