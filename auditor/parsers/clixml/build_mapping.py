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
from auditor.parsers.base import RawInput
from auditor.parsers.clixml.deserialise import PSObject
from auditor.parsers.clixml.fields import ObjectFields, evidence, server

FILE_VERSION_INFO_TYPE = "System.Diagnostics.FileVersionInfo"
_PARTS = ("FileMajorPart", "FileMinorPart", "FileBuildPart", "FilePrivatePart")
_NAMES = ("InternalName", "OriginalFilename", "FileName")
_EXSETUP = "exsetup.exe"
_LARGEST_PART = 65535  # a version part is 16 bits


def is_exsetup(obj: PSObject) -> bool:
    """Whether a FileVersionInfo object is that of `ExSetup.exe`."""
    if not obj.is_a(FILE_VERSION_INFO_TYPE):
        return False
    fields = ObjectFields(obj)
    for name in _NAMES:
        text = fields.text(name)
        if text and text.replace("\\", "/").rsplit("/", 1)[-1].strip().casefold() == _EXSETUP:
            return True
    return False


def exsetup_version(
    raw: RawInput, obj: PSObject, lines: Sequence[str]
) -> tuple[ExSetupVersion | None, Problem | None]:
    """The ExSetup version of one server, or the problem that leaves it unknown."""
    fields = ObjectFields(obj)
    parts: list[int] = []
    for name in _PARTS:
        value = fields.integer(name)
        if value is None or not 0 <= value <= _LARGEST_PART:
            problem = raw.problem(
                ProblemCode.INCOMPLETE_EVIDENCE,
                f"the ExSetup.exe file version at line {obj.line} has no readable {name} "
                f"(expected an integer from 0 to {_LARGEST_PART}); the server's build is "
                "unknown: export `(Get-Command ExSetup.exe).FileVersionInfo | Export-Clixml` "
                "again",
                obj.line,
            )
            return None, problem
        parts.append(value)
    record = ExSetupVersion(
        server=server(raw, obj),
        build=".".join(str(part) for part in parts),
        file_version=fields.text("FileVersion"),
        source=evidence(raw, obj, lines),
    )
    return record, None
