"""Discovery: the files the command-line arguments stand for, and how each is shown.

Each argument is a file or a folder. Folders are walked recursively in sorted order (names
compared as strings); each folder is listed once. What is never an export is skipped, and every
skipped file is listed (`Discovery.skipped`, then in `findings.json`), never dropped silently:

- the Windows shell files `Thumbs.db` and `desktop.ini`;
- folders whose name starts with `.` (`.git`), listed as `name/` and not walked.

A name alone never skips an export: documentation by its exact name (`README`, `LICENSE`,
`LICENCE`, `NOTICE`, alone or with `.txt` or `.md`, and any `*.md`) and any other file whose name
starts with `.` are read when their content is an export (they are then evidence like any other
file) and skipped, and listed, otherwise (`FoundFile.read_if_export`; `.DS_Store`, editor swap
files, a real README). A file named on the command line is always read, whatever its name.

What the audit leaves out on purpose (`auditor.parsers.ignore.Exclusions`) is not walked and is
returned apart (`Discovery.excluded`, each with its reason): `--exclude` patterns and the lines
of the trusted `.auditorignore` (gitignore syntax, relative to the working folder), the ignore
file itself, the policy in use, the package folder being written, the file stdout is
redirected to, and any folder holding an auditor `MANIFEST.sha256` (an earlier package).
auditor's own outputs are marked (`Excluded.own_output`) and kept out of the package and of
`skipped`; the rest is also listed in `skipped`.

The two companions `auditor collect` writes, `.sha256sums` (the hash of every file of a server
folder) and `.auditor-collect-*.log` (the transcript), are not exports: they are returned apart
(`Discovery.companions`) and checked against what was read (`auditor.parsers.collected`).

A zip archive is told by its content, not here: it is a file like any other until it is read.
`list_members` lays out the member names of an archive as the walk lays out a folder (the same
skipped names, companions and server folders), each shown as `<archive>!/<member>`.

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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path, PurePosixPath

from auditor.layout import is_server_folder
from auditor.model import Excluded, Problem, ProblemCode, Severity
from auditor.parsers.ignore import Exclusions, IgnoreRules, is_auditor_package

__all__ = [
    "Companion",
    "Discovery",
    "FoundFile",
    "common_root",
    "discover",
    "display_path",
    "list_members",
]

SYSTEM_FILES = frozenset({"thumbs.db", "desktop.ini"})
DOCUMENTATION_NAMES = frozenset(
    f"{stem}{suffix}"
    for stem in ("readme", "license", "licence", "notice")
    for suffix in ("", ".txt", ".md")
)
MANIFEST_NAME = ".sha256sums"
TRANSCRIPT_PATTERN = ".auditor-collect-*.log"

_LINK = (
    "a symbolic link met while walking a folder is not followed (it could point outside the "
    "folder); it was not read: give its target on the command line if it is an input"
)


class Companion(StrEnum):
    """A file `auditor collect` writes beside the exports, checked rather than read as one."""

    MANIFEST = "manifest"  # <server>/.sha256sums
    TRANSCRIPT = "transcript"  # .auditor-collect-<server>-<time>.log


@dataclass(frozen=True, slots=True)
class FoundFile:
    """A file to read: where it is, how it is shown, what discovery already knows of it.

    `server_folder` is None for a file named on the command line (its folder was not listed);
    `read_if_export` marks a dot-file or a documentation name, read only when its content is an
    export. For an archive member `path` is the member name (`/`-separated, relative).
    """

    path: Path
    display: str
    server_folder: bool | None = None
    read_if_export: bool = False
    companion: Companion | None = None


@dataclass(frozen=True, slots=True)
class Discovery:
    """Every file to read (sorted by display path), what was skipped, what could not be walked,
    and the companions of `auditor collect` (sorted by display path)."""

    files: tuple[FoundFile, ...]
    skipped: tuple[str, ...]
    problems: tuple[Problem, ...]
    looked_at: tuple[str, ...]  # the display path of each argument
    companions: tuple[FoundFile, ...] = ()
    excluded: tuple[Excluded, ...] = ()  # left out on purpose (`Exclusions`), also in `skipped`


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


def discover(paths: Sequence[Path], exclusions: Exclusions | None = None) -> Discovery:
    """The files `paths` stand for, less what `exclusions` leaves out; never raises for a bad
    path."""
    root = common_root(paths)
    walk = _Walk(root, exclusions or Exclusions())
    found: dict[str, FoundFile] = {}
    for given in paths:
        for candidate, identity in walk.files(Path(given)):
            kept = found.get(identity)
            if kept is None or _shorter(candidate.display, kept.display):
                found[identity] = candidate
    ordered = sorted(found.values(), key=lambda item: item.display)
    return Discovery(
        files=tuple(item for item in ordered if item.companion is None),
        skipped=tuple(
            sorted(set(walk.skipped) | {i.path for i in walk.excluded if not i.own_output})
        ),
        problems=tuple(walk.problems),
        looked_at=tuple(display_path(given, root) for given in paths),
        companions=tuple(item for item in ordered if item.companion is not None),
        excluded=tuple(sorted(set(walk.excluded), key=lambda item: item.path)),
    )


def list_members(archive: str, names: Iterable[str]) -> Discovery:
    """The members of an archive shown as `archive`, laid out as the walk lays out a folder.

    `names` are the archive's file members (`/`-separated, relative, already checked to hold
    no `..`, no absolute path and no folder entry). A member below a folder whose name starts
    with `.` is skipped, the folder listed once as `name/`; every other member is kept or
    skipped by its name exactly as a walked file (`_kind`).
    """
    members = sorted(names)
    child_folders: dict[PurePosixPath, set[str]] = {}
    for name in members:
        parts = PurePosixPath(name).parts
        for depth in range(len(parts) - 1):
            child_folders.setdefault(PurePosixPath(*parts[:depth]), set()).add(parts[depth])
    prefix = archive + "!/"
    files: list[FoundFile] = []
    companions: list[FoundFile] = []
    skipped: set[str] = set()
    for name in members:
        member = PurePosixPath(name)
        hidden = next(
            (depth for depth, part in enumerate(member.parts[:-1]) if part.startswith(".")), None
        )
        if hidden is not None:
            skipped.add(prefix + "/".join(member.parts[: hidden + 1]) + "/")
            continue
        kind = _kind(member.name)
        if kind is _Kind.SKIPPED:
            skipped.add(prefix + name)
            continue
        found = FoundFile(
            Path(name),
            prefix + name,
            server_folder=is_server_folder(child_folders.get(member.parent, ())),
            read_if_export=kind is _Kind.IF_EXPORT,
            companion=_COMPANIONS.get(kind),
        )
        (files if found.companion is None else companions).append(found)
    return Discovery(
        files=tuple(files),
        skipped=tuple(sorted(skipped)),
        problems=(),
        looked_at=(archive,),
        companions=tuple(companions),
    )


def _shorter(display: str, kept: str) -> bool:
    return (len(display), display) < (len(kept), kept)


def _shown(name: str) -> str:
    """A file name as display paths show it (undecodable bytes as `\\xNN`)."""
    return os.fsencode(name).decode("utf-8", "backslashreplace")


_PACKAGE = "an auditor change package (it holds MANIFEST.sha256): never an input"
_STDOUT = "the file this run writes its output to (stdout): never an input"


@dataclass(frozen=True, slots=True)
class _Why:
    """Why discovery leaves a path out, and whether auditor wrote it (`Excluded.own_output`)."""

    reason: str
    own_output: bool = False

    def of(self, display: str) -> Excluded:
        return Excluded(display, self.reason, self.own_output)


class _Walk:
    """One discovery run: the common root, problems and skipped files found so far."""

    def __init__(self, root: str, exclusions: Exclusions) -> None:
        self.root = root
        self.exclusions = exclusions
        self.problems: list[Problem] = []
        self.skipped: list[str] = []
        self.excluded: list[Excluded] = []
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
            reason = self._never_read(path)
            if reason is not None:
                self.excluded.append(reason.of(self.display(path)))
                return []
            return [(FoundFile(path, self.display(path)), self.identity(path))]
        if not stat.S_ISDIR(status.st_mode):
            self.problem(path, "not a regular file or folder")
            return []
        reason = self._folder_left_out(os.fspath(path))
        if reason is not None:
            self.excluded.append(reason.of(self._folder_display(path)))
            return []
        return self._walk(path)

    def _folder_display(self, path: Path | str) -> str:
        shown = self.display(path)
        return "./" if shown == "." else shown + "/"

    def _never_read(self, path: Path | str, real: str | None = None) -> _Why | None:
        """Why auditor never reads the file or folder `path` (real path `real`), if it does not."""
        if not self.exclusions.never_read:
            return None
        real = real or os.path.realpath(path)
        for never, why, own in self.exclusions.never_read:
            if real == never or real.startswith(never.rstrip(os.sep) + os.sep):
                return _Why(why, own)
        return None

    def _is_output(self, entry: os.DirEntry[str]) -> bool:
        """True when the walked file is the one stdout is written to (`> findings.sarif`)."""
        if not self.exclusions.never_read_files:
            return False
        try:
            inode = entry.inode()
            if not any(inode == node for _, node in self.exclusions.never_read_files):
                return False
            status = entry.stat(follow_symlinks=False)
        except OSError:
            return False
        return (status.st_dev, status.st_ino) in self.exclusions.never_read_files

    def _folder_left_out(self, folder: str) -> _Why | None:
        reason = self._never_read(folder)
        if reason is None and is_auditor_package(folder):
            reason = _Why(_PACKAGE, own_output=True)
        return reason

    def _walk(self, top: Path) -> list[tuple[FoundFile, str]]:
        """Every folder below `top`, depth first in sorted order, each listed once (scandir).

        What `os.walk` did, from one directory listing per folder: a folder that cannot be
        listed is a problem and its content is not walked; an entry whose type cannot be read
        counts as a file; links are told from the listing, so no file is looked at twice.
        """
        files: list[tuple[FoundFile, str]] = []
        top_folder = os.fspath(top)
        rules = self.exclusions.rules()
        pending = [top_folder]
        while pending:
            folder = pending.pop()
            sub_folders, names = self._list(folder)
            server_folder = is_server_folder(entry.name for entry in sub_folders)
            shown = self.display(folder)
            place = _Place(
                folder=folder,
                prefix="" if shown == "." else shown + "/",
                inner=_pattern_prefix(folder, self.exclusions.base, top_folder),
                rules=rules,
            )
            pending.extend(reversed(self._sub_folders(place, sub_folders)))
            files.extend(self._files(place, names, server_folder=server_folder))
        return files

    def _list(self, folder: str) -> tuple[list[os.DirEntry[str]], list[os.DirEntry[str]]]:
        """The sub-folders and the other entries of `folder`; none (and a problem) when it
        cannot be listed. An entry whose type cannot be read counts as a file."""
        try:
            with os.scandir(folder) as listing:
                entries = list(listing)
        except OSError as error:
            self.problem(error.filename if error.filename else folder, os_reason(error))
            return [], []
        sub_folders: list[os.DirEntry[str]] = []
        names: list[os.DirEntry[str]] = []
        for entry in entries:
            try:
                is_folder = entry.is_dir()
            except OSError:
                is_folder = False
            (sub_folders if is_folder else names).append(entry)
        return sub_folders, names

    def _sub_folders(self, place: _Place, entries: list[os.DirEntry[str]]) -> list[str]:
        """The sub-folders to walk, in sorted order; a link is a problem, a dot-folder skipped,
        an excluded one listed with why."""
        kept: list[str] = []
        for entry in sorted(entries, key=_name):
            shown = place.prefix + _shown(entry.name) + "/"
            if entry.is_symlink():
                self.problem(entry.path, _LINK)
            elif entry.name.startswith("."):
                self.skipped.append(shown)
            elif reason := self._left_out(
                place.rules, place.inner + entry.name, entry.path, folder=True
            ):
                self.excluded.append(reason.of(shown))
            else:
                kept.append(entry.path)
        return kept

    def _files(
        self, place: _Place, entries: list[os.DirEntry[str]], *, server_folder: bool
    ) -> list[tuple[FoundFile, str]]:
        """The files of one folder to read, in sorted order, each with its real path."""
        files: list[tuple[FoundFile, str]] = []
        real_folder = self.real_folder(place.folder) if entries else ""
        for entry in sorted(entries, key=_name):
            name = entry.name
            kind = _kind(name)
            # Not realpath per file: 2.3x the CPU (67/29 ms) to discover `fleet.py --servers 100`
            real = os.path.join(real_folder, name)
            if entry.is_symlink():
                self.problem(entry.path, _LINK)
            elif reason := self._file_left_out(place.rules, place.inner + name, entry, real):
                self.excluded.append(reason.of(place.prefix + _shown(name)))
            elif kind is _Kind.SKIPPED:
                self.skipped.append(place.prefix + _shown(name))
            else:
                found = FoundFile(
                    Path(entry.path),
                    place.prefix + _shown(name),
                    server_folder=server_folder,
                    read_if_export=kind is _Kind.IF_EXPORT,
                    companion=_COMPANIONS.get(kind),
                )
                files.append((found, real))
        return files

    def _left_out(
        self, rules: IgnoreRules, relative: str, path: str, *, folder: bool, real: str | None = None
    ) -> _Why | None:
        """Why a walked entry (`relative` to its folder argument) is not read, or None."""
        rule = rules.match(relative, folder=folder) if rules.rules else None
        if rule is not None:
            return _Why(f"excluded by {self.exclusions.origin(rule)} {rule.pattern}")
        if folder:
            return self._folder_left_out(path)
        return self._never_read(path, real)

    def _file_left_out(
        self, rules: IgnoreRules, relative: str, entry: os.DirEntry[str], real: str
    ) -> _Why | None:
        if self._is_output(entry):
            return _Why(_STDOUT, own_output=True)
        return self._left_out(rules, relative, entry.path, folder=False, real=real)


def _pattern_prefix(folder: str, base: str | None, top: str) -> str:
    """What exclusion patterns see before the names in a walked `folder`: the folder relative to
    `base` (the working folder) when it lies under it, else relative to the folder argument
    `top`, `/`-separated and ending in `/` ("" for `top` itself)."""
    relative = os.path.relpath(folder, top)
    if base is not None:
        from_base = os.path.relpath(os.path.abspath(folder), base)
        if from_base != ".." and not from_base.startswith(".." + os.sep):
            relative = from_base
    return "" if relative == "." else relative.replace(os.sep, "/") + "/"


@dataclass(frozen=True, slots=True)
class _Place:
    """A walked folder, its display prefix, its `_pattern_prefix` and the exclusion rules."""

    folder: str
    prefix: str
    inner: str
    rules: IgnoreRules


def _name(entry: os.DirEntry[str]) -> str:
    return entry.name


class _Kind(StrEnum):
    """What a file met while walking (or in an archive) is, by its name alone."""

    EXPORT = "export"  # read; its content decides its format
    IF_EXPORT = "if-export"  # a dot-file or a documentation name: read only if an export
    SKIPPED = "skipped"  # a Windows shell file: never an export
    MANIFEST = "manifest"
    TRANSCRIPT = "transcript"


_COMPANIONS = {_Kind.MANIFEST: Companion.MANIFEST, _Kind.TRANSCRIPT: Companion.TRANSCRIPT}


def _kind(name: str) -> _Kind:
    """The kind of a file by its exact name (never a prefix: `README-pa.json` is an export)."""
    if name == MANIFEST_NAME:
        return _Kind.MANIFEST
    if fnmatch.fnmatchcase(name, TRANSCRIPT_PATTERN):
        return _Kind.TRANSCRIPT
    folded = name.casefold()
    if folded in SYSTEM_FILES:
        return _Kind.SKIPPED
    if folded in DOCUMENTATION_NAMES or folded.endswith(".md") or name.startswith("."):
        return _Kind.IF_EXPORT
    return _Kind.EXPORT


def os_reason(error: OSError | ValueError) -> str:
    """The sentence for a file or folder the operating system would not read."""
    if isinstance(error, OSError) and error.strerror:
        return f"cannot be read: {error.strerror}"
    return f"cannot be read: {error}"
