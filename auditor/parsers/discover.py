"""Discovery: the files the command-line arguments stand for, and how each is shown.

Each argument is a file or a folder. Folders are walked recursively in sorted order (names
compared as strings); each folder is listed once. What is never an export is skipped, and every
skipped file is listed (`Discovery.skipped`, then in `findings.json`), never dropped silently:

- documentation by its exact name: `README`, `LICENSE`, `LICENCE`, `NOTICE`, alone or with
  `.txt` or `.md`, and any `*.md` (`notice-PartnerApplication.xml` is an export and is read);
- the Windows shell files `Thumbs.db` and `desktop.ini`;
- folders whose name starts with `.` (`.git`), listed as `name/` and not walked;
- the two companions `auditor collect` writes, `.sha256sums` and `.auditor-collect-*.log`.

Any other file whose name starts with `.` is read when its content is an export (it is then
evidence like any other file) and skipped, and listed, otherwise (`.DS_Store`, editor swap
files). A file named on the command line is always read, whatever its name.

A missing path or an unreadable folder is UNREADABLE, a device or pipe is UNREADABLE (never
opened). A symbolic link met while walking a folder is not followed and is UNREADABLE: a folder
copied from a compromised server must not make auditor read files outside it. A symbolic link
named on the command line is followed (the user's choice). A file reached twice (given directly
and inside a given folder) is read once, under its shortest display path.

Display paths never depend on how the inputs were named: each is relative to the common root of
the inputs (the deepest folder holding every argument; a folder argument keeps its own name),
with `/` separators, so a relative path, an absolute path or another working directory give the
same package and the analyst's machine paths never reach an output. File names that are not
UTF-8 (unzip, CIFS) are shown with `\\xNN` escapes.
"""

from __future__ import annotations

import fnmatch
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from auditor.layout import is_server_folder
from auditor.model import Problem, ProblemCode, Severity

__all__ = ["Discovery", "FoundFile", "common_root", "discover", "display_path"]

SYSTEM_FILES = frozenset({"thumbs.db", "desktop.ini"})
DOCUMENTATION_NAMES = frozenset(
    f"{stem}{suffix}"
    for stem in ("readme", "license", "licence", "notice")
    for suffix in ("", ".txt", ".md")
)
COLLECT_COMPANIONS = (".sha256sums", ".auditor-collect-*.log")

_LINK = (
    "a symbolic link met while walking a folder is not followed (it could point outside the "
    "folder); it was not read: give its target on the command line if it is an input"
)


@dataclass(frozen=True, slots=True)
class FoundFile:
    """A file to read: where it is, how it is shown, what discovery already knows of it.

    `server_folder` is None for a file named on the command line (its folder was not listed);
    `read_if_export` marks a dot-file, read only when its content is an export.
    """

    path: Path
    display: str
    server_folder: bool | None = None
    read_if_export: bool = False


@dataclass(frozen=True, slots=True)
class Discovery:
    """Every file to read (sorted by display path), what was skipped, what could not be walked."""

    files: tuple[FoundFile, ...]
    skipped: tuple[str, ...]
    problems: tuple[Problem, ...]
    looked_at: tuple[str, ...]  # the display path of each argument


def common_root(paths: Sequence[Path]) -> str:
    """The absolute folder every display path is relative to: the common parent of `paths`."""
    if not paths:
        return os.getcwd()
    parents = [os.path.dirname(os.path.abspath(path)) for path in paths]
    return os.path.commonpath(parents)


def display_path(path: Path | str, root: str) -> str:
    """`path` relative to `root`, `/`-separated, undecodable bytes shown as `\\xNN`."""
    relative = os.path.relpath(os.path.abspath(path), root)
    if os.sep != "/":
        relative = relative.replace(os.sep, "/")
    return os.fsencode(relative).decode("utf-8", "backslashreplace")


def discover(paths: Sequence[Path]) -> Discovery:
    """The files `paths` stand for; never raises for a bad path."""
    root = common_root(paths)
    walk = _Walk(root)
    found: dict[str, FoundFile] = {}
    for given in paths:
        for candidate, identity in walk.files(Path(given)):
            kept = found.get(identity)
            if kept is None or _shorter(candidate.display, kept.display):
                found[identity] = candidate
    return Discovery(
        files=tuple(sorted(found.values(), key=lambda item: item.display)),
        skipped=tuple(sorted(set(walk.skipped))),
        problems=tuple(walk.problems),
        looked_at=tuple(display_path(given, root) for given in paths),
    )


def _shorter(display: str, kept: str) -> bool:
    return (len(display), display) < (len(kept), kept)


def _shown(name: str) -> str:
    """A file name as display paths show it (undecodable bytes as `\\xNN`)."""
    return os.fsencode(name).decode("utf-8", "backslashreplace")


class _Walk:
    """One discovery run: the common root, problems and skipped files found so far."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.problems: list[Problem] = []
        self.skipped: list[str] = []
        self._real_folders: dict[str, str] = {}

    def display(self, path: Path | str) -> str:
        return display_path(path, self.root)

    def problem(self, path: Path | str, message: str) -> None:
        self.problems.append(
            Problem(
                code=ProblemCode.UNREADABLE,
                message=message,
                path=self.display(path),
                severity=Severity.HIGH,
            )
        )

    def real_folder(self, folder: str) -> str:
        """The real path of a folder, computed once per folder."""
        real = self._real_folders.get(folder)
        if real is None:
            real = self._real_folders[folder] = os.path.realpath(folder)
        return real

    def identity(self, path: Path) -> str:
        """The real path of a file, the key that reads a file reached twice only once.

        A file that is not a symbolic link resolves through its folder, whose real path is
        computed once per folder instead of once per file.
        """
        try:
            if path.is_symlink():
                return os.path.realpath(path)
            return os.path.join(self.real_folder(str(path.parent)), path.name)
        except (OSError, ValueError):
            return str(path)

    def files(self, path: Path) -> list[tuple[FoundFile, str]]:
        """The files `path` stands for, in sorted order, each with its identity."""
        try:
            status = path.stat()
        except FileNotFoundError:
            self.problem(path, "the path does not exist")
            return []
        except (OSError, ValueError) as error:
            self.problem(path, os_reason(error))
            return []
        if stat.S_ISREG(status.st_mode):
            return [(FoundFile(path, self.display(path)), self.identity(path))]
        if not stat.S_ISDIR(status.st_mode):
            self.problem(path, "not a regular file or folder")
            return []
        return self._walk(path)

    def _walk(self, top: Path) -> list[tuple[FoundFile, str]]:
        """Every folder below `top`, depth first in sorted order, each listed once (scandir).

        What `os.walk` did, from one directory listing per folder: a folder that cannot be
        listed is a problem and its content is not walked; an entry whose type cannot be read
        counts as a file; links are told from the listing, so no file is looked at twice.
        """
        files: list[tuple[FoundFile, str]] = []
        pending = [os.fspath(top)]
        while pending:
            folder = pending.pop()
            try:
                with os.scandir(folder) as listing:
                    entries = list(listing)
            except OSError as error:
                self.problem(error.filename if error.filename else folder, os_reason(error))
                continue
            sub_folders: list[os.DirEntry[str]] = []
            names: list[os.DirEntry[str]] = []
            for entry in entries:
                try:
                    is_folder = entry.is_dir()
                except OSError:
                    is_folder = False
                (sub_folders if is_folder else names).append(entry)
            server_folder = is_server_folder(entry.name for entry in sub_folders)
            shown = self.display(folder)
            prefix = "" if shown == "." else shown + "/"
            kept: list[str] = []
            for entry in sorted(sub_folders, key=_name):
                if entry.is_symlink():
                    self.problem(entry.path, _LINK)
                elif entry.name.startswith("."):
                    self.skipped.append(prefix + _shown(entry.name) + "/")
                else:
                    kept.append(entry.path)
            pending.extend(reversed(kept))
            real_folder: str | None = None
            for entry in sorted(names, key=_name):
                name = entry.name
                if entry.is_symlink():
                    self.problem(entry.path, _LINK)
                elif _never_an_export(name):
                    self.skipped.append(prefix + _shown(name))
                else:
                    if real_folder is None:
                        real_folder = self.real_folder(folder)
                    found = FoundFile(
                        Path(entry.path),
                        prefix + _shown(name),
                        server_folder=server_folder,
                        read_if_export=name.startswith("."),
                    )
                    files.append((found, os.path.join(real_folder, name)))
        return files


def _name(entry: os.DirEntry[str]) -> str:
    return entry.name


def _never_an_export(name: str) -> bool:
    """Documentation, shell files and collect companions, by exact name (never a prefix)."""
    folded = name.casefold()
    return (
        folded in DOCUMENTATION_NAMES
        or folded.endswith(".md")
        or folded in SYSTEM_FILES
        or any(fnmatch.fnmatchcase(name, pattern) for pattern in COLLECT_COMPANIONS)
    )


def os_reason(error: OSError | ValueError) -> str:
    """The sentence for a file or folder the operating system would not read."""
    if isinstance(error, OSError) and error.strerror:
        return f"cannot be read: {error.strerror}"
    return f"cannot be read: {error}"
