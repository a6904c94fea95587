r"""Renders the PowerShell scripts of a change package (the collection script: `ps1_collect`).

Owns `templates/ps1/` (Jinja2) and the rules every generated script follows: ASCII only, CRLF
line endings, no trailing whitespace; every value reaches the script through
`auditor.psquote.ps_literal` (the Jinja `finalize` hook quotes every `{{ ... }}` unless it is
`TrustedCode` that a filter produced from already-quoted parts), so values never land in
comments, double-quoted strings, here-strings, XPath or filters. Values that will be written to
Exchange (GUIDs, target permission names, profile tokens, paths, pool names, hashes) are
allow-listed first; a rejected value raises ValueError naming it. Rendering is pure and
deterministic.

Script contract (for reviewers, and for the tests that run the scripts against stand-ins)
-----------------------------------------------------------------------------------------

Every change script: `#Requires -Version 5.1` and `#Requires -RunAsAdministrator` (Windows
PowerShell refuses a non-elevated run before the script starts),
`[CmdletBinding(SupportsShouldProcess = $true, ConfirmImpact = 'High')]` (so it prompts per
change unless run with `-Confirm:$false`), the parameters `[string] $BackupDirectory` and
`[string] $WhatIfLog` (with `-WhatIf` only: the transcript of the run goes to that new file;
without it `-WhatIf` writes nothing), the partner-application rollback also
`[switch] $ConfirmRegrant`; comment help with `.EXAMPLE`s
for `-WhatIf`, a confirmed run and the paired script. When `$BackupDirectory` is empty the
folder is `$env:ExchangeInstallPath\Logging\auditor\<change folder>` (the change id when it is a
safe folder name, otherwise `auditor.layout.safe_slug` of it).

Identity: every script carries the package id (`ScriptHeader.package_id`, the SHA-256 of the
package's plan.json, `auditor.audit.package_id`) and every record it writes carries it as
`PackageId`; a record of another package stops the script before any change
(AUDITOR-OTHER-PACKAGE, naming both package ids).

Pre-flight, before anything is written: a per-server script stops unless `$env:COMPUTERNAME`
equals the audited server or its first label (`computer_name`: an evidence folder named by FQDN),
case-insensitive; every script stops unless the language mode is FullLanguage;
partner-application scripts stop without the Exchange cmdlets or the AppOnlyPermissions
parameter; a web.config script with an ENABLES change stops unless every partner application
(`Get-PartnerApplication`, read-only) holds app-only permissions within
`ChangeSet.app_only_limits` (AUDITOR-ENABLE-BEFORE-PARTNER). `-WhatIf` writes nothing on the
server: no backup folder, no transcript (`<slug>-<remediation|rollback>-<yyyyMMdd-HHmmss>.log`
in the backup folder otherwise), only the `-WhatIfLog` file when one is named.

Backup files (`<slug>-NN` is the change set slug and the 1-based position of the change):

* partner applications: `<slug>-NN.object.xml` (`Export-Clixml -Depth 4` of the object before
  the change) and `<slug>-NN.state.xml` (PackageId, ChangeId, ScriptSlug, Host = the computer it
  ran on, BackupDirectory, ApplicationIdentifier, Name, AuditedAppOnlyPermissions,
  TargetAppOnlyPermissions, ObjectSha256 of the object backup);
* web.config: `<slug>-NN.web.config.bak` (byte copy of the live file) and `<slug>-NN.state.xml`
  (PackageId, ChangeId, ScriptSlug, RelativePath, AuditedSha256, OriginalSha256 = the copy's
  hash, WrittenSha256, AuditedValue, TargetValue), both written before the file is; then
  `<slug>-NN.recycled.xml` (PackageId, ChangeId, AppPool) once its pool recycled, and the
  rollback's `<slug>-NN.restored.xml` (PackageId, ChangeId, OriginalSha256, RestoredSha256,
  WholeFile) and `<slug>-NN.restore-recycled.xml`.

A state record whose package id, change id, slug, target and backup hash match is this change's
own: a re-run resumes (continues with what is left, retries a pool recycle that failed); a
record of another package stops the script (AUDITOR-OTHER-PACKAGE), any other backup file too
(AUDITOR-BACKUP-EXISTS), before any change.

The web.config rollback restores the setting, not the file: the original bytes when the file is
byte for byte what the remediation wrote; only the audited value of the one setting (every
other edit kept) when the file was edited since and its effective value is still the written
one; otherwise it stops with the manual step (file, line, current value, value to restore).

Messages: status lines are `Write-Output` strings, errors are `throw`n strings; each starts with a
stable code followed by `: `:

=============================  =====================================================================
AUDITOR-INFO                   change id, script, tool version, policy, backup directory, server
AUDITOR-WRONG-SERVER           per-server script on another computer (names both); nothing written
AUDITOR-LANGUAGE-MODE          not FullLanguage (AppLocker/WDAC); nothing written
AUDITOR-NOT-EMS                Get-/Set-PartnerApplication (collect: Get-ExchangeServer) missing
AUDITOR-NO-PARAMETER           Set-PartnerApplication lacks -AppOnlyPermissions (build or RBAC)
AUDITOR-NOT-FOUND              `Get-PartnerApplication -Identity <guid>` failed, returned not
                               exactly one object, or an object with another identifier
AUDITOR-NO-BACKUP-DIRECTORY    no -BackupDirectory and no $env:ExchangeInstallPath
AUDITOR-NO-INSTALL-PATH        web.config scripts: $env:ExchangeInstallPath not set
AUDITOR-FILE-MISSING           a web.config does not exist
AUDITOR-EDIT-REFUSED           a web.config whose effective Profiles add (selected as .NET does:
                               add/remove/clear in order, keys OrdinalIgnoreCase, then a file=
                               file beside it) is not the only add that can set the key, is not
                               written OAuthHttpModule.Profiles, is in another file, or a file
                               that is not UTF-8 (BOM or not); the same rule as the planner's
                               (`auditor.appsettings.edit_refusal`); nothing written
AUDITOR-DRIFT                  the live value the audit judged (AppOnlyPermissions; the effective
                               Profiles value) differs from the audited one (rollback: the live
                               state differs from what the remediation set; a web.config's line
                               then names the manual step); nothing changed
AUDITOR-OTHER-PACKAGE          a record in the backup folder was written by another package
                               (names both package ids); nothing changed
AUDITOR-ENABLE-BEFORE-PARTNER  an ENABLES script while a partner application holds app-only
                               permissions outside its limit; nothing written (no transcript)
AUDITOR-NO-APP-POOL            Get-WebAppPoolState finds no pool of a file to write; nothing
                               changed
AUDITOR-WHATIF-LOG-EXISTS      -WhatIfLog names a file that exists; nothing written
AUDITOR-NOTE                   a web.config's SHA-256 differs from the audited one while its
                               Profiles value is as audited (rollback: as written): noted, the
                               change (only of that value) goes ahead
AUDITOR-ALREADY-COMPLIANT      a target (or every target) already has the target value
AUDITOR-RESUMED                a re-run found this change's own backup and continues
AUDITOR-BACKUP-EXISTS          a backup file that is not this change's own
AUDITOR-BACKUP-FAILED          the web.config backup copy does not have the live file's hash
AUDITOR-VERIFY-FAILED          the value read back is not the target; the partner application
                               was restored from the backup just written, in the same run
AUDITOR-WRITE-FAILED           a web.config write failed, or the written file, read back as .NET
                               reads it, does not have the target as its effective value; the
                               original bytes are verified or restored in the same run (says which)
AUDITOR-CHANGED                one target changed and verified
AUDITOR-NO-WEBADMINISTRATION   Restart-WebAppPool missing and WebAdministration not importable
AUDITOR-RECYCLED               one application pool recycled (`Restart-WebAppPool -Name`)
AUDITOR-RECYCLE-MANUAL         a changed web.config whose application pool auditor does not know
AUDITOR-PARTIAL                any failure after the first change: the cause, what changed, what
                               did not (pools not recycled), what to run next; one line
AUDITOR-DONE                   summary: N of M changed / restored
AUDITOR-BACKUP-MISSING         rollback: the backup directory does not exist
AUDITOR-NO-BACKUP              rollback: no state record for a target (it was not changed)
AUDITOR-BACKUP-MISMATCH        rollback: a state record or backup copy is not this change's
AUDITOR-REGRANT                rollback: the app-only permissions it re-grants organisation-wide
AUDITOR-REGRANT-NOT-CONFIRMED  rollback: re-grants without -ConfirmRegrant (-Confirm:$false does
                               not replace it); nothing changed
AUDITOR-ALREADY-ROLLED-BACK    rollback: a target (or every target) has its audited value
AUDITOR-RESTORED               rollback: one target restored and verified
AUDITOR-OUTPUT-EXISTS          collect: `<OutDir>\<server>` already exists
AUDITOR-BAD-SERVER-NAME        collect: the computer name is not a safe folder name
AUDITOR-COPY-FAILED            collect: a web.config copy differs from the original
AUDITOR-NO-COMMAND             collect: a hybrid-trust command missing (build, role); no file
AUDITOR-EXPORT-FAILED          collect: a hybrid-trust export failed; no file, collection goes on
=============================  =====================================================================

Order of work: pre-flight, then the drift guard and resume check for every target (nothing
changed on any failure), then per target inside `$PSCmdlet.ShouldProcess(<target>, <action>)`
(the action names what it REMOVES, ADDS and ENABLES, padded values quoted and invisible
characters shown as [U+XXXX]): backup, change, verify. Partner applications are selected with
`Get-PartnerApplication -Identity '<ApplicationIdentifier>'` and changed with
`Set-PartnerApplication -Identity <guid> -AppOnlyPermissions <string[] or $null> -Confirm:$false
-ErrorAction Stop`. web.config files are edited as text (`ReadAllBytes`, strict UTF-8 with the
BOM state kept, the value of the one `add key="OAuthHttpModule.Profiles"` start tag replaced,
checked with the DOM), written to `<file>.<slug>-NN.tmp` in the same folder, checked, and put in
place with `[System.IO.File]::Replace` (the file keeps its ACL); then the pools of changed files
are recycled. A web.config change whose target makes a token take effect that does not today
(not a segment of the audited value as written) must list it in `WebConfigChange.enables`, or
rendering raises ValueError: no repair widens access unannounced.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

import jinja2

from auditor import resources
from auditor.layout import safe_slug
from auditor.model import ChangeKind, ChangeSet, Inventory
from auditor.profiles import undeclared_enablement
from auditor.psquote import (
    is_valid_app_pool_name,
    is_valid_guid,
    is_valid_permission_name,
    is_valid_profile_token,
    is_valid_sha256,
    profile_tokens,
    ps_array,
    ps_literal,
    require,
)
from auditor.render import ps1_authserver, ps1_override
from auditor.render.template_cache import bytecode_cache


class TrustedCode(str):
    """PowerShell text produced by auditor itself (already-quoted values); emitted verbatim."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class ScriptHeader:
    """What every script of a change package names: the change, the tool, policy and inputs."""

    change_id: str
    tool_version: str
    policy_name: str
    policy_sha256: str
    input_hashes: tuple[tuple[str, str], ...]  # (input path, sha256)
    finding_ids: tuple[str, ...]  # "<rule id>:<fingerprint>"
    package_id: str  # SHA-256 of the package's plan.json (`auditor.audit.package_id`)


# Every change kind and the templates of its (remediation, rollback) pair.
TEMPLATES: dict[ChangeKind, tuple[str, str]] = {
    ChangeKind.PARTNER_APPLICATIONS: (
        "partner-applications.remediation.ps1.j2",
        "partner-applications.rollback.ps1.j2",
    ),
    ChangeKind.WEB_CONFIG_PROFILES: (
        "web-config-profiles.remediation.ps1.j2",
        "web-config-profiles.rollback.ps1.j2",
    ),
    ChangeKind.DEDICATED_APP_OVERRIDE: ps1_override.OVERRIDE_TEMPLATES,
    ChangeKind.EVOSTS_AUTH_SERVERS: ps1_authserver.AUTH_SERVER_TEMPLATES,
}

_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,127}")
_PATH_SEGMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_FOLDER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_WINDOWS_RESERVED = frozenset(
    {"con", "prn", "aux", "nul"}
    | {f"com{digit}" for digit in range(1, 10)}
    | {f"lpt{digit}" for digit in range(1, 10)}
)


class ScriptInputs:
    """The (path, SHA-256) of the inputs each script was made from, relative to the audit root.

    A per-server web.config script names only that server's files, the partner-application
    script only the exports its applications were read from, in the order of the inventory's
    inputs. Paths are relative to the folder all inputs share (`audit_root`), so that no path
    of the auditor's machine reaches a script. The inventory is indexed once per audit: the
    scripts of a fleet cost what they name, not the whole fleet each.
    """

    def __init__(self, inventory: Inventory) -> None:
        self.inventory = inventory
        self.root = audit_root(inventory)
        self.positions: dict[str, list[int]] = {}
        for index, source in enumerate(inventory.inputs):
            self.positions.setdefault(source.path, []).append(index)
        self.server_paths: dict[str, set[str]] = {}
        for config in inventory.web_configs:
            self.server_paths.setdefault(config.server, set()).add(config.path)

    def of(self, change_set: ChangeSet) -> tuple[tuple[str, str], ...]:
        if change_set.kind is ChangeKind.WEB_CONFIG_PROFILES:
            server = change_set.server
            wanted = set() if server is None else self.server_paths.get(server, set())
        else:
            changed = {c.application_identifier.lower() for c in change_set.partner_applications}
            wanted = set()
            for app in self.inventory.partner_applications:
                if app.application_identifier.lower() in changed:
                    wanted.add(app.source.path)
                    wanted.update(evidence.path for evidence in app.also_in)
        indexes = sorted(index for path in wanted for index in self.positions.get(path, ()))
        inputs = self.inventory.inputs
        return tuple(
            (_relative(inputs[index].path, self.root), inputs[index].sha256) for index in indexes
        )


def audit_root(inventory: Inventory) -> str | None:
    """The folder every input shares (computed once per audit, by `ScriptInputs`)."""
    parents = [os.path.dirname(source.path) for source in inventory.inputs]
    if not parents:
        return None
    try:
        return os.path.commonpath(parents)
    except ValueError:  # absolute and relative paths mixed, or different drives
        return None


def _relative(path: str, root: str | None) -> str:
    pure = PurePath(path)
    if root is not None:
        try:
            return pure.relative_to(root).as_posix()
        except ValueError:
            pass
    return PurePath(*pure.parts[1:]).as_posix() if pure.anchor else pure.as_posix()


def _finalize(value: object) -> str:
    if isinstance(value, TrustedCode):
        return value
    if isinstance(value, str):
        return ps_literal(value)
    raise TypeError(f"template value {value!r} is not a string; quote it with a filter")


def _filter_ps_array(values: Iterable[str]) -> TrustedCode:
    return TrustedCode(ps_array(list(values)))


def _filter_ps_nullable(value: str | None) -> TrustedCode:
    return TrustedCode("$null" if value is None else ps_literal(value))


def _filter_ps_bool(value: bool) -> TrustedCode:
    return TrustedCode("$true" if value is True else "$false")


def _filter_call_block(caller: object) -> TrustedCode:
    """The text of a `{% call %}` block, which the template rendered with its values quoted:
    lets an include (`_transcript.ps1.j2`) hold a whole `try` around the body it is given."""
    if not isinstance(caller, jinja2.runtime.Macro):
        raise TypeError(f"call_block takes a call block's caller, not {caller!r}")
    return TrustedCode(caller())


_environment: jinja2.Environment | None = None


def environment() -> jinja2.Environment:
    """The one Jinja2 environment of the script templates (built on first use)."""
    global _environment
    if _environment is None:
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(resources.templates_dir() / "ps1")),
            undefined=jinja2.StrictUndefined,
            autoescape=False,
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
            finalize=_finalize,
            bytecode_cache=bytecode_cache(),
        )
        env.filters["ps_array"] = _filter_ps_array
        env.filters["ps_nullable"] = _filter_ps_nullable
        env.filters["call_block"] = _filter_call_block
        env.filters["ps_bool"] = _filter_ps_bool
        _environment = env
    return _environment


def finish(text: str) -> str:
    """CRLF line endings, no trailing whitespace, ASCII only; raise on a template defect."""
    if "\r" in text:
        raise ValueError("a rendered script holds a bare CR before line-ending normalisation")
    lines = [line.rstrip(" \t") for line in text.split("\n")]
    while lines and lines[-1] == "":
        lines.pop()
    result = "\r\n".join(lines) + "\r\n"
    if not result.isascii():
        raise ValueError("a rendered script is not ASCII")
    return result


def backup_folder_name(change_id: str) -> str:
    """The folder (below Logging\\auditor) that holds a change's backups by default."""
    if (
        _FOLDER_NAME.fullmatch(change_id)
        and not change_id.endswith(".")
        and change_id.split(".")[0].lower() not in _WINDOWS_RESERVED
    ):
        return change_id
    slug = safe_slug(change_id)
    return f"{slug}-change" if slug in _WINDOWS_RESERVED else slug


def _header_context(header: ScriptHeader) -> dict[str, Any]:
    return {
        "change_id": header.change_id,
        "package_id": header.package_id,
        "tool_version": header.tool_version,
        "policy_name": header.policy_name,
        "policy_sha256": header.policy_sha256,
        "input_hashes": list(header.input_hashes),
        "finding_ids": list(header.finding_ids),
    }


def _partner_context(change_set: ChangeSet) -> dict[str, Any]:
    applications = []
    for index, change in enumerate(change_set.partner_applications, start=1):
        applications.append(
            {
                "application_identifier": change.application_identifier,
                "name": change.name,
                "audited": list(change.audited_app_only),
                "target": list(change.target_app_only),
                "removes": list(change.removes),
                "adds": list(change.adds),
                "backup_name": f"{change_set.slug}-{index:02d}",
            }
        )
    return {"applications": applications}


def _web_config_context(change_set: ChangeSet) -> dict[str, Any]:
    files = []
    for index, change in enumerate(change_set.web_configs, start=1):
        segments = change.relative_path.split("\\")
        files.append(
            {
                "vdir": change.vdir,
                "segments": segments,
                "app_pool": change.app_pool,
                "audited_sha256": change.audited_sha256,
                "audited_value": change.audited_value,
                "target_value": change.target_value,
                "removes": list(change.removes),
                "enables": list(change.enables),
                "backup_name": f"{change_set.slug}-{index:02d}",
            }
        )
    limits = []
    for limit in change_set.app_only_limits:
        limits.append(
            {
                "application_identifier": limit.application_identifier,
                "name": limit.name,
                "app_only": list(limit.app_only),
            }
        )
    server = change_set.server or ""
    return {
        "server": server,
        "server_short_name": computer_name(server),
        "web_configs": files,
        "enables": list(change_set.enables),
        "app_only_limits": limits,
    }


def computer_name(server: str) -> str:
    """The computer name (`$env:COMPUTERNAME`) of a server named by its FQDN or short name.

    Evidence folders are named either way (`EX01` or `EX01.contoso.com`); Windows sets
    COMPUTERNAME to the first label, so a per-server script compares that.
    """
    return server.split(".", 1)[0] or server


def _check_allow_lists(change_set: ChangeSet, header: ScriptHeader) -> None:
    """Raise ValueError naming the first value that would be written and fails its allow-list.

    The first line of defence; the quoting is the second, and the tests that push hostile
    values through it replace this function (tests/ps1/ps1_support.py `allow_lists_off`).
    """
    require(_SLUG.fullmatch(change_set.slug) is not None, "script slug", change_set.slug)
    require(is_valid_sha256(header.package_id), "package id", header.package_id)
    require(is_valid_sha256(header.policy_sha256), "policy SHA-256", header.policy_sha256)
    for path, digest in header.input_hashes:
        require(is_valid_sha256(digest), f"SHA-256 of input {path!r}", digest)
    for app in change_set.partner_applications:
        identifier = app.application_identifier
        require(is_valid_guid(identifier), "ApplicationIdentifier", identifier)
        for name in app.target_app_only:
            require(is_valid_permission_name(name), "permission name", name)
    for change in change_set.web_configs:
        for segment in change.relative_path.split("\\"):
            valid = _PATH_SEGMENT.fullmatch(segment) is not None and segment.strip(".") != ""
            require(valid, "path segment", segment)
        require(is_valid_sha256(change.audited_sha256), "SHA-256", change.audited_sha256)
        for token in profile_tokens(change.target_value):
            require(is_valid_profile_token(token), "profile token", token)
        if change.app_pool is not None:
            require(is_valid_app_pool_name(change.app_pool), "application pool", change.app_pool)
        for token in change.enables:
            require(is_valid_profile_token(token), "profile token", token)
        undeclared = undeclared_enablement(change)
        if undeclared is not None:
            raise ValueError(undeclared)
    for limit in change_set.app_only_limits:
        identifier = limit.application_identifier
        require(is_valid_guid(identifier), "ApplicationIdentifier", identifier)
    ps1_override.check_override_allow_lists(change_set)
    ps1_authserver.check_auth_server_allow_lists(change_set)


def render_change_set(change_set: ChangeSet, header: ScriptHeader) -> tuple[str, str]:
    """The (remediation, rollback) script texts for one change set.

    Raises ValueError when a value that would be written to Exchange fails its allow-list.
    """
    _check_allow_lists(change_set, header)
    contexts = {
        ChangeKind.PARTNER_APPLICATIONS: _partner_context,
        ChangeKind.WEB_CONFIG_PROFILES: _web_config_context,
        ChangeKind.DEDICATED_APP_OVERRIDE: ps1_override.override_context,
        ChangeKind.EVOSTS_AUTH_SERVERS: ps1_authserver.auth_server_context,
    }  # every ChangeKind; a KeyError names a new one without templates
    remediation_name, rollback_name = TEMPLATES[change_set.kind]
    base = {"header": _header_context(header), **contexts[change_set.kind](change_set)}
    texts = []
    for kind, template_name in (("remediation", remediation_name), ("rollback", rollback_name)):
        script = {
            "slug": change_set.slug,
            "kind": kind,
            "backup_folder": backup_folder_name(header.change_id),
        }
        template = environment().get_template(template_name)
        texts.append(finish(template.render(**base, script=script)))
    return texts[0], texts[1]
