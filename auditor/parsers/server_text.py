"""The per-server exports saved as Format-List, Export-Csv or ConvertTo-Json.

Owns reading the two exports that say which servers there are and what they run, out of the
objects `auditor.parsers.trust_text` recognises (`EXSETUP`, `EXCHANGE_SERVER`):

- `(Get-Command ExSetup.exe).FileVersionInfo`: the build from the four `File*Part` numbers
  (`trust_records.exsetup_version`, the reading CLIXML uses); another file's version, or one
  without its four parts, is a located problem and no record;
- `Get-ExchangeServer`: the same `ExchangeServer` as `auditor.parsers.clixml.server_mapping`
  (roles from `IsClientAccessServer`/`IsEdgeServer`, else from `ServerRole` by name). Each
  property is read by name: PowerShell 7's ConvertTo-Json writes `ServerRole` as
  `{"value": 2, "Value": "Mailbox"}` (the name is read) and `AdminDisplayVersion` as its
  numbers without the text CLIXML keeps (`Version 15.2 (Build 1544.4)`), which is left
  missing and named in a located problem, never rebuilt;
- the VariantConfiguration diagnostic (`VARIANT`, the `Result` XML text read by
  `auditor.parsers.variant_result`, as from CLIXML) from ConvertTo-Json and Export-Csv, which
  keep the text whole; Format-List wraps it at the console width, so there it is refused, as
  is a diagnostic result of another component.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from auditor.model import Evidence, ExchangeServer, InputFormat, ProblemCode
from auditor.parsers import trust_records
from auditor.parsers.variant_result import variant_from_result

if TYPE_CHECKING:
    from auditor.parsers.trust_text import TextFields, TrustObjects

__all__ = ["EXCHANGE_SERVER", "EXSETUP", "VARIANT", "read"]

EXSETUP = "exsetup_versions"
EXCHANGE_SERVER = "exchange_servers"
VARIANT = "variant_configurations"
_EXPORT = "`auditor collect` does"


def read(objects: TrustObjects, kind: str, fields: TextFields, source: Evidence) -> None:
    """Read one per-server object of `kind` into `objects`."""
    if kind == EXSETUP:
        _exsetup(objects, fields, source)
    elif kind == VARIANT:
        _variant(objects, fields, source)
    else:
        _exchange_server(objects, fields, source)


def _where(source: Evidence) -> str:
    return f"at line {source.line}" if source.line is not None else "in this file"


def _exsetup(objects: TrustObjects, fields: TextFields, source: Evidence) -> None:
    found: trust_records.ExSetupOrPart = "ExSetup.exe"
    if trust_records.is_exsetup(fields):
        server = objects.raw.server or fields.text("PSComputerName")
        found = trust_records.exsetup_version(fields, source, server)
    if not isinstance(found, str):
        objects.found[EXSETUP].append(dataclasses.replace(found, properties=fields.exported()))
        return
    why = (
        f"has no readable {found} (expected an integer from 0 to {trust_records.LARGEST_PART})"
        if found != "ExSetup.exe"
        else "is not that of ExSetup.exe (InternalName, OriginalFilename, FileName)"
    )
    objects.problems.append(
        objects.raw.problem(
            ProblemCode.INCOMPLETE_EVIDENCE,
            f"the file version {_where(source)} {why}; the server's build is unknown: export "
            f"`(Get-Command ExSetup.exe).FileVersionInfo | Export-Clixml -Path ExSetup.xml` "
            f"({_EXPORT})",
            source.line,
        )
    )


def _exchange_server(objects: TrustObjects, fields: TextFields, source: Evidence) -> None:
    name = fields.text("Name")
    roles = {role.strip().casefold() for role in (fields.text("ServerRole") or "").split(",")}
    roles.discard("")
    client_access = fields.flag("IsClientAccessServer")
    if client_access is None and roles:
        client_access = not roles.isdisjoint({"clientaccess", "mailbox"})
    edge = fields.flag("IsEdgeServer")
    if edge is None and roles:
        edge = "edge" in roles
    server = ExchangeServer(
        name=name or "",
        fqdn=fields.text("Fqdn"),
        client_access=client_access,
        edge=edge,
        version=fields.text("AdminDisplayVersion"),
        path=source.path,
        line=source.line,
    )
    if name:
        objects.servers.append(server)
    lost = sorted({*fields.unreadable, *([] if name else ["Name"])})
    if lost:
        objects.problems.append(
            objects.raw.problem(
                ProblemCode.INCOMPLETE_EVIDENCE,
                f"the Get-ExchangeServer object {_where(source)} has {', '.join(lost)} in a "
                f"shape this {objects.input_format.value} export cannot carry faithfully; "
                "those values are not evidence (a server without its Name is skipped): export "
                f"`Get-ExchangeServer | Export-Clixml -Path ExchangeServer.xml` ({_EXPORT})",
                source.line,
            )
        )


def _variant(objects: TrustObjects, fields: TextFields, source: Evidence) -> None:
    result = fields.text("Result")
    if objects.input_format is not InputFormat.FORMAT_LIST and result is not None:
        server = objects.raw.server or fields.text("PSComputerName")
        record, problem = variant_from_result(objects.raw, result, source.line, server, source)
        if record is not None:
            objects.found[VARIANT].append(record)
        if problem is not None:
            objects.problems.append(problem)
        if record is not None or problem is not None:
            return
    objects.problems.append(
        objects.raw.problem(
            ProblemCode.INCOMPLETE_EVIDENCE,
            f"the diagnostic result {_where(source)} was not read: it is no VariantConfiguration "
            f"Overrides result this {objects.input_format.value} export carries whole; export "
            "`Get-ExchangeDiagnosticInfo -Server <server> -Process "
            "Microsoft.Exchange.Directory.TopologyService -Component VariantConfiguration "
            "-Argument Overrides | Export-Clixml -Path VariantConfigurationOverrides.xml` "
            f"({_EXPORT})",
            source.line,
        )
    )
