"""The ExSetup mapping of CLIXML: the build each server runs, from `ExSetup.exe`'s file version.

Owns reading a `System.Diagnostics.FileVersionInfo` object
(`(Get-Command ExSetup.exe).FileVersionInfo | Export-Clixml`, one per server) into an
`ExSetupVersion`. Only a FileVersionInfo whose `InternalName`, `OriginalFilename` or
`FileName` names `ExSetup.exe` is one (`is_exsetup`): the version of another file says
nothing of Exchange's build. The build is the four `File*Part` integers
(`15.2.1118.25`), never the zero-padded `FileVersion` text (`15.02.1118.025`, kept as
exported); a part that is missing or not a non-negative integer is a located problem and no
record. The server is the layout's (the server folder), else the object's `PSComputerName`
(an ExSetup export taken on the server itself has none).
"""

from __future__ import annotations

from collections.abc import Sequence

from auditor.model import ExSetupVersion, Problem, ProblemCode
from auditor.parsers import trust_records
from auditor.parsers.base import RawInput
from auditor.parsers.clixml.deserialise import PSObject
from auditor.parsers.clixml.fields import ObjectFields, evidence, server

FILE_VERSION_INFO_TYPE = "System.Diagnostics.FileVersionInfo"


def is_exsetup(obj: PSObject) -> bool:
    """Whether a FileVersionInfo object is that of `ExSetup.exe`."""
    return obj.is_a(FILE_VERSION_INFO_TYPE) and trust_records.is_exsetup(ObjectFields(obj))


def exsetup_version(
    raw: RawInput, obj: PSObject, lines: Sequence[str]
) -> tuple[ExSetupVersion | None, Problem | None]:
    """The ExSetup version of one server, or the problem that leaves it unknown (the same
    reading as every other format's: `trust_records.exsetup_version`)."""
    found = trust_records.exsetup_version(
        ObjectFields(obj), evidence(raw, obj, lines), server(raw, obj)
    )
    if not isinstance(found, str):
        return found, None
    problem = raw.problem(
        ProblemCode.INCOMPLETE_EVIDENCE,
        f"the ExSetup.exe file version at line {obj.line} has no readable {found} "
        f"(expected an integer from 0 to {trust_records.LARGEST_PART}); the server's build is "
        "unknown: export `(Get-Command ExSetup.exe).FileVersionInfo | Export-Clixml` "
        "again",
        obj.line,
    )
    return None, problem
