"""What discovery leaves out on purpose: `--exclude`, `.auditorignore`, auditor's own outputs.

`IgnoreRules` matches paths with gitignore's syntax (the subset a repository uses, written here
so auditor needs no extra package): blank lines and `#` comments are ignored; `!` re-includes;
a trailing `/` matches folders only; a pattern with a `/` before its end is anchored to the
folder the rules belong to (a leading `/` anchors too), any other pattern matches a name at any
depth; `*` and `?` never match `/`, `[a-z]` and `[!a-z]` are classes, `**/` is any number of
folders, a trailing `/**` everything inside; `\\` makes the next character literal; the last
matching line wins. As in git, a file inside an excluded folder cannot be re-included: the
folder is not walked.

`Exclusions` is what one audit leaves out: the `--exclude` patterns and the lines of the
working folder's `.auditorignore` (both relative to the working folder, `base`; a path outside
it relative to its folder argument), the files never to read (the policy in use, the ignore
file, the package folder being written) and every folder holding an auditor `MANIFEST.sha256`
(an earlier change package). Which ignore file is trusted is the command line's decision (an
ignore file inside the evidence could hide evidence, as a policy there could weaken it).
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

IGNORE_FILE = ".auditorignore"
PACKAGE_MANIFEST = "MANIFEST.sha256"
_MANIFEST_LINE = re.compile(rb"[0-9a-f]{64}  [A-Za-z0-9._/-]+")
_MANIFEST_BYTES = 1024 * 1024


@dataclass(frozen=True, slots=True)
class IgnoreRule:
    """One line of gitignore syntax, compiled."""

    pattern: str  # as written, for messages
    regex: re.Pattern[str]
    negated: bool
    folders_only: bool


def compile_rule(text: str) -> IgnoreRule | None:
    """The rule one line of an ignore file (or one `--exclude`) stands for; None when blank."""
    line = text.rstrip("\n").rstrip("\r")
    stripped = line.rstrip(" ")
    if stripped.endswith("\\") and len(line) > len(stripped):  # `a\ ` keeps its space
        stripped += " "
    if not stripped or stripped.startswith("#"):
        return None
    negated = stripped.startswith("!")
    body = stripped[1:] if negated else stripped
    if body.startswith(("\\#", "\\!")):
        body = body[1:]
    folders_only = body.endswith("/")
    body = body.rstrip("/")
    if not body:
        return None
    anchored = "/" in body
    body = body.removeprefix("/")
    prefix = "" if anchored else "(?:.*/)?"
    try:
        regex = re.compile(f"{prefix}{_translate(body)}", re.DOTALL)
    except re.error:  # a class git cannot read either (`[z-a]`): the line matches itself only
        regex = re.compile(f"{prefix}{re.escape(body)}", re.DOTALL)
    return IgnoreRule(pattern=stripped, regex=regex, negated=negated, folders_only=folders_only)


def _translate(pattern: str) -> str:
    """A gitignore pattern (without its `!` and trailing `/`) as a regular expression."""
    out: list[str] = []
    index = 0
    size = len(pattern)
    while index < size:
        char = pattern[index]
        at_part_start = index == 0 or pattern[index - 1] == "/"
        if pattern.startswith("**/", index) and at_part_start:
            out.append("(?:.*/)?")
            index += 3
        elif pattern.startswith("**", index) and at_part_start and index + 2 == size:
            out.append(".*")
            index += 2
        elif char == "*":
            out.append("[^/]*")
            index += 1
        elif char == "?":
            out.append("[^/]")
            index += 1
        elif char == "[":
            end = pattern.find("]", index + 2)
            if end == -1:
                out.append(re.escape(char))
                index += 1
                continue
            inner = pattern[index + 1 : end]
            negate = inner.startswith(("!", "^"))
            inner = inner[1:] if negate else inner
            inner = inner.replace("\\", "\\\\").replace("[", "\\[")
            # `&`, `~` and `|` are plain characters in a gitignore class; doubled in a Python
            # class they are a future set operation (a FutureWarning), and so is `--`.
            inner = re.sub(r"[&~|]", lambda found: "\\" + found.group(), inner)
            inner = inner.replace("--", "-\\-")
            out.append(f"[{'^' if negate else ''}{inner}]")
            index = end + 1
        elif char == "\\" and index + 1 < size:
            out.append(re.escape(pattern[index + 1]))
            index += 2
        else:
            out.append(re.escape(char))
            index += 1
    return "".join(out)


@dataclass(frozen=True, slots=True)
class IgnoreRules:
    """Rules in order; the last one that matches a path decides."""

    rules: tuple[IgnoreRule, ...] = ()

    @classmethod
    def parse(cls, lines: Iterable[str]) -> IgnoreRules:
        rules = (compile_rule(line) for line in lines)
        return cls(tuple(rule for rule in rules if rule is not None))

    def __add__(self, other: IgnoreRules) -> IgnoreRules:
        return IgnoreRules(self.rules + other.rules)

    def match(self, relative: str, *, folder: bool) -> IgnoreRule | None:
        """The rule that excludes `relative` (`/`-separated, relative to the rules' folder)."""
        decided: IgnoreRule | None = None
        for rule in self.rules:
            if rule.folders_only and not folder:
                continue
            if rule.regex.fullmatch(relative):
                decided = None if rule.negated else rule
        return decided


@dataclass(frozen=True, slots=True)
class Exclusions:
    """What one audit leaves out besides the names discovery always skips."""

    patterns: tuple[str, ...] = ()  # `--exclude`, gitignore syntax
    ignore_lines: tuple[str, ...] = ()  # the trusted `.auditorignore`, line by line
    ignore_source: str = IGNORE_FILE  # how a rule from `ignore_lines` is named
    base: str | None = None  # absolute folder the patterns are relative to (the working folder)
    # (real path, why, auditor's own output?): the policy in use, the package folder written
    never_read: tuple[tuple[str, str, bool], ...] = ()
    # (device, inode) of files never read: the file stdout is redirected to
    never_read_files: tuple[tuple[int, int], ...] = ()

    @classmethod
    def of(
        cls,
        patterns: Sequence[str],
        never_read: Iterable[tuple[os.PathLike[str] | str, str, bool]],
        never_read_files: Iterable[tuple[int, int]] = (),
        *,
        ignore_lines: Sequence[str] = (),
        base: str | None = None,
    ) -> Exclusions:
        return cls(
            patterns=tuple(patterns),
            ignore_lines=tuple(ignore_lines),
            base=None if base is None else os.path.abspath(base),
            never_read=tuple(
                sorted({(os.path.realpath(path), why, own) for path, why, own in never_read})
            ),
            never_read_files=tuple(never_read_files),
        )

    def never_reading(self, more: Iterable[tuple[os.PathLike[str] | str, str, bool]]) -> Exclusions:
        """These exclusions, and `more` (path, why, own output?) never read."""
        added = {(os.path.realpath(path), why, own) for path, why, own in more}
        return dataclasses.replace(self, never_read=tuple(sorted({*self.never_read, *added})))

    def rules(self) -> IgnoreRules:
        """`--exclude` first, then the ignore file's lines (a later line wins, as in git)."""
        return IgnoreRules.parse(self.patterns) + IgnoreRules.parse(self.ignore_lines)

    def origin(self, rule: IgnoreRule) -> str:
        """Where `rule` was written: `--exclude` or the ignore file."""
        return "--exclude" if rule.pattern in self.patterns else self.ignore_source


class IgnoreFileError(Exception):
    """The ignore file cannot be read; the message names it and why."""


IGNORE_FILE_BYTES = 1024 * 1024


def read_ignore_file(path: os.PathLike[str] | str) -> tuple[str, ...]:
    """The lines of an ignore file (UTF-8, a BOM allowed, at most 1 MiB); IgnoreFileError."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(IGNORE_FILE_BYTES + 1)
    except OSError as error:
        raise IgnoreFileError(f"{path}: cannot be read: {error.strerror or error}") from None
    if len(data) > IGNORE_FILE_BYTES:
        raise IgnoreFileError(f"{path}: larger than 1 MiB; not an ignore file")
    try:
        text = data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as error:
        raise IgnoreFileError(f"{path}: not UTF-8 text (byte {error.start + 1})") from None
    return tuple(text.splitlines())


def is_auditor_package(folder: str) -> bool:
    """True when `folder` holds a `MANIFEST.sha256` in the format auditor writes (every line
    `<sha256>  <relative path>`, `findings.json` among them): an earlier change package."""
    path = os.path.join(folder, PACKAGE_MANIFEST)
    try:
        if os.path.islink(path) or not os.path.isfile(path):
            return False
        with open(path, "rb") as handle:
            data = handle.read(_MANIFEST_BYTES + 1)
    except OSError:
        return False
    lines = data.splitlines()
    if len(data) > _MANIFEST_BYTES or not lines:
        return False
    if not all(_MANIFEST_LINE.fullmatch(line) for line in lines):
        return False
    return any(line.endswith(b"  findings.json") for line in lines)


# What auditor itself writes, told by content in the first bytes (a stale
# `auditor audit --format sarif > results.sarif` left in the tree): SARIF whose driver is
# auditor, findings.json, junit.xml, the GitLab code-quality report, GitHub annotations. Each
# is tried only on a file that starts (after a byte-order mark and white space) with the
# character auditor writes first: a web.config is tried against the junit.xml pattern alone,
# anchored at its root element, instead of five searches of its whole text. Measured on the
# 100-server fleet of `benchmarks/fleet.py` (2,708 files): 6.8 us a web.config before, 0.5 us
# after, in one process (`timeit`, 2,000 calls).
_OUTPUT_HEAD = 64 * 1024
_LEADING = b"\xef\xbb\xbf \t\r\n"
_OUTPUTS = (
    (
        b"{",
        re.compile(rb'"\$schema": "https://json\.schemastore\.org/sarif-2\.1\.0\.json"'),
        re.compile(rb'"name": "auditor"'),
        "SARIF written by auditor",
    ),
    (
        b"{",
        re.compile(rb'"schema_version": 1'),
        re.compile(rb'"verdict_line": '),
        "a findings.json written by auditor",
    ),
    (
        b"<",
        re.compile(rb'\A(?:<\?xml[^>]*\?>\s*)?<testsuites[^>]*name="auditor"'),
        re.compile(rb"<testsuite "),
        "a junit.xml written by auditor",
    ),
    (
        b"[",
        re.compile(rb'\A\[\s*\{\s*"categories": \[\s*"Security"'),
        re.compile(rb'"check_name": '),
        "a code-quality report written by auditor",
    ),
    (
        b":",
        re.compile(rb"\A::(?:error|warning|notice) "),
        re.compile(rb"::notice title=auditor::"),
        "GitHub annotations written by auditor",
    ),
)


def auditor_output(data: bytes) -> str | None:
    """What auditor output `data` is (`--format`, a package file), or None when it is not."""
    head = data[:_OUTPUT_HEAD].lstrip(_LEADING)
    lead = head[:1]
    for character, first, second, what in _OUTPUTS:
        if lead == character and first.search(head) and second.search(data):
            return what
    return None
