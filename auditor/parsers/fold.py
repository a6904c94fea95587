"""The fold: every file's parse result into one `Inventory`, whatever the order of the inputs.

- Order: inputs by path; partner applications by (application identifier, server, path, line);
  web.configs by (server, vdir, path); problems by (path, line, code, message); skipped files
  by path. `inputs` lists every file that was read (with its hash and the format it was read
  as, None when unknown); files that were not read (too large, unreadable) appear only as
  problems.
- One organisation-wide object, many exports: partner applications are Active Directory
  objects, and one `Get-PartnerApplication` export per server is common. Records of one
  ApplicationIdentifier that agree on every property (name, Enabled, both permission lists and
  whether each is complete, LinkedAccount) become one record, the first by path keeping its
  source and the others listed in `also_in`, so findings are raised once; where such copies
  differ in another exported property (`PartnerApplication.properties`, not where each was
  read), the merged record lists each difference in `copy_differences` (for `attest`).
  Records that disagree are all kept (each is judged) and every disagreement is one located
  problem naming both files and both values: the audit cannot say which export is right.
- Servers: every `Get-ExchangeServer` export names servers; each name (compared ignoring case)
  is one record, the first by path (results come in path order).
- The hybrid OAuth trust: each kind ordered by (server, path, line); records of
  organisation-wide exports have no server and sort first. `auditor collect` writes the
  organisation-wide exports into every server folder: the records of one kind read from one
  folder (one file, or an export split over several) are one copy of the export. When every
  copy holds the same records (equal in every value but where they were read, as many times
  each), the first folder's are kept and the others dropped. When the copies disagree (a
  record in one and not in another, or a value that differs), auditor cannot say which export
  is current: every disagreeing copy is one located INCOMPLETE_EVIDENCE problem naming the
  files of both and a record that differs, no record of that kind is kept (the rules do
  not judge a guess), and the kind is listed in `Inventory.trust_disagreements` (the evidence
  model shows that export as given but not assessed). Per-server records are never folded.
- An audit that read nothing is not clean: when no partner application and no web.config was
  read, one problem says what was looked at.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Sequence
from typing import Any

from auditor.model import (
    TRUST_EXPORTS,
    ExchangeServer,
    Inventory,
    ParseResult,
    PartnerApplication,
    Problem,
    ProblemCode,
    Severity,
    SourceFile,
    TrustEvidence,
    WebConfig,
)
from auditor.parsers.properties import READ_CONTEXT

__all__ = ["fold", "problem_order"]

_SHOWN_FILES = 5


def fold(
    results: Sequence[ParseResult | Problem],
    problems: Sequence[Problem],
    *,
    skipped: Sequence[str] = (),
    looked_at: Sequence[str] = (),
) -> Inventory:
    """One deterministic `Inventory` from the parse results and the discovery problems."""
    inputs: list[SourceFile] = []
    applications: list[PartnerApplication] = []
    web_configs: list[WebConfig] = []
    servers: dict[str, ExchangeServer] = {}
    trust: dict[str, list[Any]] = {name: [] for name in TrustEvidence.__slots__}
    found_problems = list(problems)
    for result in results:
        if isinstance(result, Problem):
            found_problems.append(result)
            continue
        inputs.append(result.source)
        applications.extend(result.partner_applications)
        web_configs.extend(result.web_configs)
        found_problems.extend(result.problems)
        for server in result.exchange_servers:
            servers.setdefault(server.name.casefold(), server)
        for name, records in trust.items():
            records.extend(getattr(result.trust, name))
    merged, conflicts = _merge_copies(applications)
    found_problems.extend(conflicts)
    kept_trust: dict[str, tuple[Any, ...]] = {}
    disagreements: list[str] = []
    for name, records in trust.items():
        kept_trust[name], disagreeing = _trust_records(name, records)
        found_problems.extend(disagreeing)
        if disagreeing:
            disagreements.append(name)
    if not merged and not web_configs:
        found_problems.append(_nothing_read(looked_at, inputs, skipped))
    return Inventory(
        inputs=tuple(sorted(inputs, key=lambda source: source.path)),
        partner_applications=tuple(sorted(merged, key=_application_order)),
        web_configs=tuple(
            sorted(web_configs, key=lambda config: (config.server, config.vdir, config.path))
        ),
        problems=tuple(sorted(found_problems, key=problem_order)),
        skipped=tuple(sorted(set(skipped))),
        exchange_servers=tuple(sorted(servers.values(), key=lambda server: server.name.casefold())),
        trust=TrustEvidence(**kept_trust),
        trust_disagreements=tuple(disagreements),
    )


def _trust_records(kind: str, records: Sequence[Any]) -> tuple[tuple[Any, ...], list[Problem]]:
    """One kind's records in order, the copies of an org-wide export in other folders dropped;
    when those copies disagree, no record and a problem per disagreeing copy."""
    ordered = sorted(records, key=_trust_order)
    if kind not in _TRUST_CMDLETS:  # per server, or cloud evidence: no copies of one export
        return _distinct(ordered), []
    by_folder: dict[str, list[Any]] = {}
    for record in ordered:
        by_folder.setdefault(_folder(record.source.path), []).append(record)
    if len(by_folder) < 2:
        return tuple(ordered), []
    (first_folder, first), *others = sorted(by_folder.items())
    problems = [problem for _, copy in others if (problem := _trust_conflict(kind, first, copy))]
    if problems:
        return (), problems
    return tuple(by_folder[first_folder]), []


def _folder(path: str) -> str:
    """The folder of a display path: the files of one folder are one copy of an export."""
    return path[: max(path.rfind("/"), path.rfind("\\"), 0)]


def _distinct(records: Sequence[Any]) -> tuple[Any, ...]:
    """Per-server records all stand; a cloud record equal in every value (but where it was
    read) to one already kept from another file is dropped."""
    kept: list[Any] = []
    first_path: dict[Any, str] = {}
    for record in records:
        if hasattr(record, "server"):
            kept.append(record)
            continue
        path = first_path.setdefault(_trust_values(record), record.source.path)
        if path == record.source.path:
            kept.append(record)
    return tuple(kept)


def _trust_values(record: Any) -> Any:
    """A trust record but where it was read (its source, and the exported properties of the
    read, `READ_CONTEXT`: which server and runspace answered): what two copies of one export
    must agree on."""
    values = dataclasses.replace(record, source=None)
    if hasattr(record, "properties"):
        values = dataclasses.replace(values, properties=_read_elsewhere(record.properties))
    return values


def _read_elsewhere(properties: Sequence[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """The exported properties that say what the object is, not where it was read."""
    return tuple((name, text) for name, text in properties if name.casefold() not in READ_CONTEXT)


def _trust_conflict(kind: str, first: Sequence[Any], other: Sequence[Any]) -> Problem | None:
    """The problem of two files of one org-wide export that disagree (None when they agree),
    naming a record of each that the other does not hold."""
    only_first = _not_in(first, other)
    only_other = _not_in(other, first)
    if not only_first and not only_other:
        return None
    cmdlet = _TRUST_CMDLETS[kind]
    first_files, other_files = _files(first), _files(other)
    details = [
        f"{_trust_label(record)} at {_where_record(record)} is not in {files}"
        for found, files in ((only_first, other_files), (only_other, first_files))
        for record in found[:1]
    ]
    located = (only_other or other)[0].source
    return Problem(
        code=ProblemCode.INCOMPLETE_EVIDENCE,
        message=(
            f"two copies of the {cmdlet} export disagree: {first_files} hold(s) {len(first)} "
            f"record(s), {other_files} {len(other)}; {'; '.join(details)}; auditor cannot tell "
            f"which is current, so no {cmdlet} record is assessed and the audit is incomplete: "
            "export it again (auditor collect) and audit the new export"
        ),
        path=located.path,
        line=located.line,
        severity=Severity.HIGH,
        subject=f"hybrid-trust:organisation:{cmdlet}",
    )


def _not_in(records: Sequence[Any], other: Sequence[Any]) -> list[Any]:
    """The records of `records` that `other` does not hold (as many times), in order."""
    left = Counter(_trust_values(record) for record in other)
    missing = []
    for record in records:
        values = _trust_values(record)
        if left[values] > 0:
            left[values] -= 1
        else:
            missing.append(record)
    return missing


# The cmdlet of each org-wide trust export (those `auditor collect` copies into every server
# folder), by its `TrustEvidence` field.
_TRUST_CMDLETS = {
    **{kind: cmdlet for kind, _, cmdlet in TRUST_EXPORTS},
    "organization_relationships": "Get-OrganizationRelationship",
}


def _files(records: Sequence[Any]) -> str:
    """The files one copy of an export was read from, in words."""
    return " and ".join(dict.fromkeys(record.source.path for record in records))


def _trust_label(record: Any) -> str:
    name = getattr(record, "name", None)
    return f"the record '{name}'" if name else "a record"


def _where_record(record: Any) -> str:
    line = record.source.line
    return record.source.path if line is None else f"{record.source.path}:{line}"


def _trust_order(record: Any) -> tuple[str, str, int]:
    """Trust records by server (org-wide ones first), then where they were read."""
    server: str | None = getattr(record, "server", None)
    return (server or "", record.source.path, record.source.line or 0)


def _application_order(app: PartnerApplication) -> tuple[str, str, str, int]:
    return (app.application_identifier, app.server or "", app.source.path, app.source.line or 0)


def problem_order(problem: Problem) -> tuple[str, bool, int, str, str]:
    """The order of problems in every output: by place, then code and message."""
    return (
        problem.path,
        problem.line is not None,
        problem.line or 0,
        problem.code.value,
        problem.message,
    )


def _merge_copies(
    applications: Sequence[PartnerApplication],
) -> tuple[list[PartnerApplication], list[Problem]]:
    """Identical copies of one application folded into one record; disagreements as problems."""
    groups: dict[str, list[PartnerApplication]] = {}
    for app in sorted(applications, key=lambda app: (app.source.path, app.source.line or 0)):
        groups.setdefault(app.application_identifier.casefold(), []).append(app)
    merged: list[PartnerApplication] = []
    conflicts: list[Problem] = []
    for copies in groups.values():
        first = copies[0]
        same = [app for app in copies[1:] if not _differences(first, app)]
        different = [app for app in copies[1:] if _differences(first, app)]
        also_in = tuple(dataclasses.replace(app.source, server=app.server) for app in same)
        copy_differences = tuple(
            difference for app in same for difference in _property_differences(first, app)
        )
        merged.append(
            dataclasses.replace(
                first,
                also_in=first.also_in + also_in,
                copy_differences=first.copy_differences + copy_differences,
            )
        )
        merged.extend(different)
        conflicts.extend(_conflict(first, app) for app in different)
    return merged, conflicts


def _differences(first: PartnerApplication, other: PartnerApplication) -> list[str]:
    mine, theirs = first.exported_properties(), other.exported_properties()
    return [label for label in mine if mine[label] != theirs[label]]


def _property_differences(first: PartnerApplication, other: PartnerApplication) -> list[str]:
    """Each exported property (but where it was read) in which two copies differ, in words."""
    mine = {name.casefold(): (name, text) for name, text in first.properties}
    theirs = {name.casefold(): (name, text) for name, text in other.properties}
    found: list[str] = []
    for key in sorted((mine.keys() | theirs.keys()) - READ_CONTEXT):
        was, now = mine.get(key), theirs.get(key)
        if was is not None and now is not None and was[1] == now[1]:
            continue
        name = (was or now or (key, ""))[0]
        found.append(
            f"{name} is {_text(was)} in {_where(first)} but {_text(now)} in {_where(other)}"
        )
    return found


def _text(value: tuple[str, str] | None) -> str:
    return "absent" if value is None else f"'{value[1]}'"


def _conflict(first: PartnerApplication, other: PartnerApplication) -> Problem:
    mine, theirs = first.exported_properties(), other.exported_properties()
    details = "; ".join(
        f"{label} is {_shown(mine[label])} in {_where(first)} "
        f"but {_shown(theirs[label])} in {_where(other)}"
        for label in _differences(first, other)
    )
    return Problem(
        code=ProblemCode.INCOMPLETE_EVIDENCE,
        message=(
            f"two exports disagree on partner application {first.application_identifier}: "
            f"{details}; auditor cannot tell which is current, so both are judged and the "
            "audit is incomplete: export it again (auditor collect) and audit the new export"
        ),
        path=other.source.path,
        line=other.source.line,
        severity=Severity.HIGH,
        subject=first.subject,
    )


def _where(app: PartnerApplication) -> str:
    line = app.source.line
    return app.source.path if line is None else f"{app.source.path}:{line}"


def _shown(value: object) -> str:
    """A value as a sentence fragment: lists in braces, a truncated list said so, no reprs."""
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], bool):
        names, complete = value
        listed = "{" + ", ".join(str(name) for name in names) + "}"
        return listed if complete else f"{listed} (incomplete)"
    if value is None:
        return "absent"
    if isinstance(value, bool):
        return "True" if value else "False"
    return f"'{value}'"


def _nothing_read(
    looked_at: Sequence[str], inputs: Sequence[SourceFile], skipped: Sequence[str]
) -> Problem:
    where = ", ".join(looked_at) if looked_at else "no path"
    files = sorted(source.path for source in inputs)
    shown = ", ".join(files[:_SHOWN_FILES]) + (
        f" and {len(files) - _SHOWN_FILES} more" if len(files) > _SHOWN_FILES else ""
    )
    read = f"{len(files)} file(s) were read ({shown})" if files else "no file was read"
    message = (
        f"no partner-application export and no web.config was read from {where}: {read}, "
        f"{len(skipped)} skipped as never an export; nothing was audited, so the audit is "
        "incomplete: give the exports `auditor collect` writes"
    )
    return Problem(
        code=ProblemCode.INCOMPLETE_EVIDENCE,
        message=message,
        path=looked_at[0] if looked_at else ".",
        severity=Severity.HIGH,
        subject="inputs",
    )
