"""The companions of `auditor collect`: each server folder's hash list and each transcript.

`auditor collect` writes, per server, `<out>/<server>/.sha256sums` (one line per file it
collected: 64 hex digits, two spaces (or ` *`), the path relative to the server folder with
`/`, LF line ends) and `<out>/.auditor-collect-<server>-<yyyyMMdd-HHmmss>.log` (the
Start-Transcript of the run: UTF-8 with BOM or UTF-16). `check_collection` holds what was read
against them, by display path (so the same checks run in a folder and in a zip archive):

- hash list: a listed file whose SHA-256 differs from the one the reader computed, a listed
  file that is not there, and a file read as an input below the server folder that the list
  does not name (and no deeper list names) are each INCOMPLETE_EVIDENCE: the evidence is not
  what was collected. A line that is not `<hash>  <path>` with a plain relative path, or a
  path listed twice, is MALFORMED at its line; a list that is not UTF-8 is BAD_ENCODING.
  A listed file that is present but was not read (too large, unreadable: a problem of its
  own; a shell file skipped as never an export) is not checked again.
- transcript: of several transcripts of one server in one folder the latest (by the time in
  its name) is judged. Every `AUDITOR-*:` line other than `AUDITOR-INFO` and `AUDITOR-DONE`
  (the script's warnings and errors: `AUDITOR-COPY-FAILED`, `AUDITOR-NOT-COPIED`,
  `AUDITOR-MISSING`, `AUDITOR-UNREADABLE`, ...) is INCOMPLETE_EVIDENCE at its line (at most
  `MAX_REPORTED_LINES` per transcript, then one line says how many more), and so is a
  transcript without `AUDITOR-DONE` (the collection did not finish). The header
  Start-Transcript writes (between two lines of `*`) quotes the command line and is not read.
  When it failed, the server folder's hash list beside it is one more problem: that folder is
  not assessed as complete evidence. When it finished, the server folder must be there with its
  hash list.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from auditor.model import Problem, ProblemCode, Severity
from auditor.parsers.text import detect_encoding, split_lines

__all__ = ["MAX_REPORTED_LINES", "CompanionFile", "check_collection"]

MAX_REPORTED_LINES = 10

_MANIFEST_LINE = re.compile(r"([0-9A-Fa-f]{64}) [ *](.+)")
_TRANSCRIPT_NAME = re.compile(r"\.auditor-collect-(.+)-(\d{8}-\d{6})\.log")
_AUDITOR_LINE = re.compile(r"\bAUDITOR-([A-Z]+(?:-[A-Z]+)*):")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DRIVE = re.compile(r"^[A-Za-z]:")
_SHOWN_TEXT = 300
_FINISHED = "DONE"
_INFORMATION = "INFO"
# A hybrid-trust export the collection could not take (a command the build lacks, or one that
# failed): only the hybrid-trust rules need it, so the transcript's gap is a low problem, not
# incomplete evidence of the server's folder; the evidence model (`auditor.scope`: EV001) names
# the export the audit then lacks, unless the audit leaves the hybrid trust out on purpose.
_TRUST_GAPS = frozenset({"NO-COMMAND", "EXPORT-FAILED"})


@dataclass(frozen=True, slots=True)
class CompanionFile:
    """A hash list or transcript as read: its display path and its bytes."""

    display: str
    data: bytes
    transcript: bool


@dataclass(frozen=True, slots=True)
class _Listed:
    line: int
    sha256: str
    display: str  # the listed file's display path


def check_collection(
    companions: Sequence[CompanionFile],
    inputs: Mapping[str, str],
    others: Mapping[str, str | None],
) -> list[Problem]:
    """Every way the files read differ from what `auditor collect` says it wrote.

    `inputs` maps the display path of every file read as an input to its SHA-256; `others`
    the files that were present but not inputs (skipped, unreadable) to theirs, or None.
    """
    problems: list[Problem] = []
    manifests = {item.display: item for item in companions if not item.transcript}
    listed_in: dict[str, set[str]] = {}
    for manifest in manifests.values():
        entries, found = _read_manifest(manifest)
        problems.extend(found)
        if entries is None:
            continue
        listed_in[_folder(manifest.display)] = {entry.display for entry in entries}
        problems.extend(_check_entries(manifest.display, entries, inputs, others))
    problems.extend(_extras(listed_in, inputs))
    for transcript in _latest_transcripts(companions):
        problems.extend(_check_transcript(transcript, manifests, inputs, others))
    return problems


def _folder(display: str) -> str:
    """The display prefix of the folder holding `display` (`a/b/` or `a.zip!/`), or ""."""
    cut = display.rfind("/")
    return display[: cut + 1] if cut >= 0 else ""


def _read_manifest(manifest: CompanionFile) -> tuple[list[_Listed] | None, list[Problem]]:
    """The entries of a hash list (None when it cannot be decoded) and its malformed lines."""
    data = manifest.data.removeprefix(b"\xef\xbb\xbf")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        where = data.count(b"\n", 0, error.start) + 1
        return None, [
            _problem(
                ProblemCode.BAD_ENCODING,
                manifest.display,
                f"the hash list of auditor collect is not UTF-8 ({error.reason}); no file of "
                "this folder was checked against it",
                where,
            )
        ]
    folder = _folder(manifest.display)
    entries: list[_Listed] = []
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.removesuffix("\r")
        if not line.strip():
            continue
        match = _MANIFEST_LINE.fullmatch(line)
        why: str | None
        if match is None:
            why = "expected 64 hexadecimal digits, two spaces and a path relative to the folder"
        else:
            why = _bad_path(match.group(2))
            if why is None and match.group(2) in seen:
                why = f"the path is listed already at line {seen[match.group(2)]}"
        if why is not None or match is None:
            shown = _CONTROL.sub("?", line[:_SHOWN_TEXT])
            problems.append(
                _problem(
                    ProblemCode.MALFORMED,
                    manifest.display,
                    f"not a line of the hash list auditor collect writes ({why}): {shown}",
                    number,
                )
            )
            continue
        seen[match.group(2)] = number
        entries.append(_Listed(number, match.group(1).lower(), folder + match.group(2)))
    return entries, problems


def _bad_path(path: str) -> str | None:
    if "\\" in path or _CONTROL.search(path):
        return "the path holds a backslash or a control character"
    if path.startswith("/") or _DRIVE.match(path):
        return "the path is absolute"
    if any(part in ("", ".", "..") for part in path.split("/")):
        return "the path holds an empty, `.` or `..` segment"
    return None


def _check_entries(
    manifest: str,
    entries: Sequence[_Listed],
    inputs: Mapping[str, str],
    others: Mapping[str, str | None],
) -> list[Problem]:
    problems: list[Problem] = []
    for entry in entries:
        where = f"{manifest}:{entry.line}"
        if entry.display in inputs or entry.display in others:
            actual = inputs.get(entry.display) or others.get(entry.display)
            if actual is not None and actual != entry.sha256:
                problems.append(
                    _problem(
                        ProblemCode.INCOMPLETE_EVIDENCE,
                        entry.display,
                        f"the file differs from what auditor collect wrote: its SHA-256 is "
                        f"{actual}, the hash list ({where}) says {entry.sha256}; it was changed "
                        "after collection, so it is not the evidence collected: collect again",
                    )
                )
            continue
        problems.append(
            _problem(
                ProblemCode.INCOMPLETE_EVIDENCE,
                manifest,
                f"the hash list names {entry.display}, which is not among the inputs: a file "
                "auditor collect wrote is missing, so the evidence of this server is "
                "incomplete; give the whole folder as it was collected",
                entry.line,
            )
        )
    return problems


def _extras(listed_in: Mapping[str, set[str]], inputs: Mapping[str, str]) -> list[Problem]:
    """Inputs below a listed folder that its (deepest) hash list does not name."""
    problems: list[Problem] = []
    folders = sorted(listed_in, key=len, reverse=True)
    for display in inputs:
        owner = next((folder for folder in folders if display.startswith(folder)), None)
        if owner is None or display in listed_in[owner]:
            continue
        problems.append(
            _problem(
                ProblemCode.INCOMPLETE_EVIDENCE,
                display,
                f"the file is not in the hash list {owner}.sha256sums: auditor collect did not "
                "write it, it was added to the collected folder afterwards; it is read, but the "
                "folder is not the evidence collected: collect again, or remove the file",
            )
        )
    return problems


def _latest_transcripts(companions: Sequence[CompanionFile]) -> list[CompanionFile]:
    """Of the transcripts of one server in one folder, the latest; unnamed ones each."""
    latest: dict[tuple[str, str], tuple[str, CompanionFile]] = {}
    unnamed: list[CompanionFile] = []
    for item in companions:
        if not item.transcript:
            continue
        match = _TRANSCRIPT_NAME.fullmatch(item.display[len(_folder(item.display)) :])
        if match is None:
            unnamed.append(item)
            continue
        key = (_folder(item.display), match.group(1).casefold())
        kept = latest.get(key)
        if kept is None or (match.group(2), item.display) > (kept[0], kept[1].display):
            latest[key] = (match.group(2), item)
    return unnamed + [item for _, item in latest.values()]


def _server_of(transcript: CompanionFile) -> str | None:
    match = _TRANSCRIPT_NAME.fullmatch(transcript.display[len(_folder(transcript.display)) :])
    return None if match is None else match.group(1)


@dataclass(frozen=True, slots=True)
class _Run:
    """What one transcript says: the server, the `AUDITOR-DONE` line, the warning lines."""

    display: str
    server: str | None
    finished: int | None  # the line of AUDITOR-DONE
    failures: tuple[tuple[int, str, str], ...]  # (line, AUDITOR-<code>, the line's text)
    last_line: int | None
    gaps: tuple[tuple[int, str, str], ...] = ()  # hybrid-trust exports not taken (`_TRUST_GAPS`)

    @property
    def who(self) -> str:
        return f"the collection on {self.server}" if self.server else "the collection"


def _read_transcript(transcript: CompanionFile) -> _Run:
    """The `AUDITOR-*` lines of a transcript's body (UTF-8 or UTF-16, by its bytes)."""
    codec, bom = detect_encoding(transcript.data)
    lines = split_lines(transcript.data[bom:].decode(codec, errors="replace"))
    body = _body_start(lines)
    finished: int | None = None
    failures: list[tuple[int, str, str]] = []
    gaps: list[tuple[int, str, str]] = []
    for number, line in enumerate(lines[body:], start=body + 1):
        for match in _AUDITOR_LINE.finditer(line):
            code = match.group(1)
            if code == _FINISHED:
                finished = number
            elif code != _INFORMATION:
                (gaps if code in _TRUST_GAPS else failures).append((number, code, line))
    return _Run(
        display=transcript.display,
        server=_server_of(transcript),
        finished=finished,
        failures=tuple(failures),
        last_line=len(lines) - (1 if lines and not lines[-1] else 0) or None,
        gaps=tuple(gaps),
    )


def _check_transcript(
    transcript: CompanionFile,
    manifests: Mapping[str, CompanionFile],
    inputs: Mapping[str, str],
    others: Mapping[str, str | None],
) -> list[Problem]:
    run = _read_transcript(transcript)
    problems = _run_problems(run)
    gaps = _gap_problems(run)
    if run.server is None:
        return problems + gaps
    folder = _folder(run.display) + run.server + "/"
    manifest = _find(folder + ".sha256sums", manifests)
    if problems and manifest is not None:
        problems.append(
            _problem(
                ProblemCode.INCOMPLETE_EVIDENCE,
                manifest,
                f"{run.who} reported a problem ({problems[0].place}): the files of this "
                "folder are not assessed as complete evidence of that server; collect again",
            )
        )
    elif run.finished is not None and manifest is None:
        present = any(
            display.casefold().startswith(folder.casefold()) for display in (*inputs, *others)
        )
        said = f"{run.who} finished ({run.display}:{run.finished})"
        problems.append(
            _problem(
                ProblemCode.INCOMPLETE_EVIDENCE,
                run.display,
                (
                    f"{said}, but {folder}.sha256sums is missing: the files of that server "
                    "cannot be checked against what was collected; give the folder as it was "
                    "collected"
                )
                if present
                else (
                    f"{said}, but its folder {folder} is not among the inputs: the evidence of "
                    "that server is missing; give the whole collection folder"
                ),
                run.finished,
            )
        )
    return problems + gaps


def _gap_problems(run: _Run) -> list[Problem]:
    """A low problem for each hybrid-trust export the run could not take (`_TRUST_GAPS`), at
    its line of the transcript."""
    return [
        Problem(
            code=ProblemCode.UNREADABLE,
            message=(
                f"{run.who} could not take a hybrid-trust export (AUDITOR-{code}); the "
                f"transcript says: {_shown(line)}; only the hybrid-trust rules need it "
                "(the audit names the export it lacks as missing, unless --scope leaves "
                "hybrid-trust out)"
            ),
            path=run.display,
            line=number,
            severity=Severity.LOW,
        )
        for number, code, line in run.gaps[:MAX_REPORTED_LINES]
    ]


def _run_problems(run: _Run) -> list[Problem]:
    """The warnings of a run (at most `MAX_REPORTED_LINES`, then how many more) and a run that
    did not finish, each at its line."""
    problems = [
        _problem(
            ProblemCode.INCOMPLETE_EVIDENCE,
            run.display,
            f"{run.who} did not collect everything (AUDITOR-{code}); the transcript says: "
            f"{_shown(line)}; fix the cause and collect again",
            number,
        )
        for number, code, line in run.failures[:MAX_REPORTED_LINES]
    ]
    if len(run.failures) > MAX_REPORTED_LINES:
        problems.append(
            _problem(
                ProblemCode.INCOMPLETE_EVIDENCE,
                run.display,
                f"{run.who} reported {len(run.failures) - MAX_REPORTED_LINES} more AUDITOR-* "
                "warnings or errors from this line on; they are not listed one by one",
                run.failures[MAX_REPORTED_LINES][0],
            )
        )
    if run.finished is None:
        problems.append(
            _problem(
                ProblemCode.INCOMPLETE_EVIDENCE,
                run.display,
                f"the transcript has no AUDITOR-DONE line: {run.who} did not finish, so what it "
                "wrote is incomplete: fix the cause (the error is on the console where it ran) "
                "and collect again",
                run.last_line,
            )
        )
    return problems


def _body_start(lines: Sequence[str]) -> int:
    """The index of the first line after Start-Transcript's header (a block between two lines
    of `*`, holding the command line, which may quote anything); 0 when there is no header."""
    if not lines or not _is_rule(lines[0]):
        return 0
    end = next((index for index in range(1, len(lines)) if _is_rule(lines[index])), None)
    return 0 if end is None else end + 1


def _is_rule(line: str) -> bool:
    text = line.strip()
    return len(text) >= 10 and text == "*" * len(text)


def _find(display: str, manifests: Mapping[str, CompanionFile]) -> str | None:
    if display in manifests:
        return display
    folded = display.casefold()
    return next((name for name in sorted(manifests) if name.casefold() == folded), None)


def _shown(line: str) -> str:
    text = _CONTROL.sub("?", line.strip())
    return text if len(text) <= _SHOWN_TEXT else text[:_SHOWN_TEXT] + "..."


def _problem(code: ProblemCode, path: str, message: str, line: int | None = None) -> Problem:
    return Problem(code=code, message=message, path=path, line=line, severity=Severity.HIGH)
