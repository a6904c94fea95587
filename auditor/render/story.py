"""The change told from the plan: each step, who gains or loses what, its output, its back-out.

`change_story(report, value)` turns the plan (`report.change_sets`, the completed judgements) into
the sentences RUNBOOK.md and the report's proposed change print: per script, where it runs and
how, what it takes away from which callers or makes take effect (`ENABLES`: who gains what
access, on which server, from when), the `AUDITOR-*` lines it prints when it succeeds, and the
exact back-out command with its host. Nothing here is written once for every package: a package
without a partner-application script never mentions one, a package without a web.config change
never mentions a recycle.

The expected output lines are the success lines of the templates in `templates/ps1/` with the
plan's values filled in (`tests/render/test_story.py` checks each against the template text).
Values from the exports pass through `value` in prose (Markdown escaping for RUNBOOK.md, plain
text for the HTML report) and through `code_text` inside backticks, where nothing is markup.

Longer than 500 lines: the story is one text whose parts quote each other
(a step's effects, the notices, the verification and the back-out name the same scripts, hosts
and AUDITOR lines); split up, the wording that must agree would live apart.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from auditor.decisions import decided
from auditor.model import (
    ChangeKind,
    ChangeSet,
    PartnerApplicationChange,
    ProfilesJudgement,
    Report,
    SettingOverrideChange,
    TokenAction,
    TokenMark,
    WebConfigChange,
)
from auditor.render.story_authserver import WHERE, auth_server_texts

ENABLES = "ENABLES"  # the word every output prints beside a change that widens access
REGRANT_SWITCH = "-ConfirmRegrant"  # without it the partner rollback changes nothing
REST_POOL = "MSExchangeRestFrontEndAppPool"

_CODE_UNSAFE = re.compile(r"[\x00-\x1f\x7f\u2028\u2029`]")
_NUMBERED = re.compile(r"^(.*?)(\d+)$")


def ranges(names: Iterable[str]) -> str:
    """Names as a list with runs folded: `EX001-EX004, EX007, EX009-EX010`.

    A run is consecutive numbers with the same prefix and width (EX001, EX002, EX003); names
    are kept in the order given otherwise, each once.
    """
    unique = list(dict.fromkeys(names))
    out: list[str] = []
    run: list[str] = []

    def flush() -> None:
        if len(run) >= 3:
            out.append(f"{run[0]}-{run[-1]}")
        else:
            out.extend(run)
        run.clear()

    previous: tuple[str, int, int] | None = None
    for name in unique:
        match = _NUMBERED.match(name)
        key = (match.group(1), int(match.group(2)), len(match.group(2))) if match else None
        if (
            key is not None
            and previous is not None
            and run
            and key[0] == previous[0]
            and key[2] == previous[2]
            and key[1] == previous[1] + 1
        ):
            run.append(name)
        else:
            flush()
            run.append(name)
        previous = key
    flush()
    return ", ".join(out)


def code_text(value: str | None) -> str:
    """A value inside a backtick code span: one line, no backtick (nothing else is markup)."""
    return _CODE_UNSAFE.sub(" ", value or "")


_Judged = dict[str, ProfilesJudgement]  # the judgement of each web.config, by subject


@dataclass(frozen=True, slots=True)
class Step:
    """One script of the package as the operator runs it."""

    number: int
    script: str  # package-relative, e.g. "remediation/web-config-ex02.ps1"
    server: str | None  # the server it must run on; None: an Exchange server of the organisation
    where: str  # the host and session, as a sentence part
    command: str  # the exact command line, relative to the package folder
    effects: tuple[str, ...]  # who loses or gains what, one sentence each
    enables: bool  # the step makes a token take effect (widens access)
    expect: tuple[str, ...]  # the AUDITOR-* lines it prints on success, in order
    servers: tuple[str, ...] = ()  # a step that stands for the same change on several servers
    last: int = 0  # the number of the last step it stands for (0: just `number`)

    @property
    def label(self) -> str:
        """`3` or `3-52` (a step standing for the same change on several servers)."""
        return f"{self.number}-{self.last}" if self.last > self.number else str(self.number)


@dataclass(frozen=True, slots=True)
class Story:
    """The whole package as steps, back-out steps, what users notice and how to check."""

    steps: tuple[Step, ...]  # one per script, in run order
    back_out: tuple[Step, ...]  # one per rollback script, in back-out order
    grouped_steps: tuple[Step, ...]  # the same, identical server changes as one step
    grouped_back_out: tuple[Step, ...]
    users_notice: tuple[str, ...]
    verify: tuple[str, ...]
    brief_notice: tuple[str, ...]  # the same for the report's first page: counts, not lists
    brief_verify: tuple[str, ...]
    enabling_servers: tuple[str, ...]  # servers where a step ENABLES a token


_Value = Callable[[str | None], str]


def _servers(servers: Sequence[str], value: _Value) -> str:
    """A server list for a sentence: folded into ranges, and cut to its ends beyond eight."""
    unique = list(dict.fromkeys(servers))
    if len(unique) <= 8:
        return value(ranges(unique))
    return (
        f"{len(unique)} servers ({value(unique[0])}, {value(unique[1])}, ..., {value(unique[-1])})"
    )


def _visible(value: str) -> str:
    """A value as the scripts' Format-AuditorVisible prints it (inside its quotes)."""
    return code_text("".join(ch if " " <= ch <= "~" else f"[U+{ord(ch):04X}]" for ch in value))


def _command(script: str, *switches: str) -> str:
    return " ".join([".\\" + script.replace("/", "\\"), *switches])


def _names(values: Sequence[str], value: _Value) -> str:
    return ", ".join(value(name) for name in values) or "(none)"


def _partner_lines(change: PartnerApplicationChange, value: _Value) -> tuple[str, str, str, str]:
    """What one application's change does, and what its scripts print: (effect, changed,
    regrant, restored)."""
    app = f"{value(change.name)} ({change.application_identifier})"
    code_app = f"{code_text(change.name)} ({change.application_identifier})"
    kept = (
        f"; it keeps {len(change.target_app_only)}: {_names(change.target_app_only, value)}"
        if change.target_app_only
        else "; it keeps none"
    )
    effect = (
        f"Callers with an app-only (client credentials) token of {app} lose "
        f"{len(change.removes)} app-only permission(s) organisation-wide as soon as the "
        f"script ends: {_names(change.removes, value)}{kept}. Its delegated (ActAs) "
        "permissions do not change."
    )
    target = ", ".join(code_text(n) for n in change.target_app_only) or "(empty)"
    audited = ", ".join(code_text(n) for n in change.audited_app_only) or "(empty)"
    removed = ", ".join(code_text(n) for n in change.removes) or "(empty)"
    return (
        effect,
        f"AUDITOR-CHANGED: {code_app} now has AppOnlyPermissions {target}.",
        f"AUDITOR-REGRANT: {code_app}: the rollback re-grants the app-only permissions "
        f"{removed} organisation-wide (every mailbox this application can reach).",
        f"AUDITOR-RESTORED: {code_app} has AppOnlyPermissions {audited} again.",
    )


def _partner_step(number: int, change_set: ChangeSet, value: _Value) -> tuple[Step, Step]:
    remediation, rollback = change_set.script_names
    lines = [_partner_lines(change, value) for change in change_set.partner_applications]
    effects = [effect for effect, _, _, _ in lines]
    expect = [changed for _, changed, _, _ in lines]
    regrants = [regrant for _, _, regrant, _ in lines]
    restored = [back for _, _, _, back in lines]
    count = len(change_set.partner_applications)
    expect.append(
        f"AUDITOR-DONE: {count} of {count} partner application(s) changed in this run, "
        "0 by an earlier run. Back-out: on <this server>, in the Exchange Management Shell: "
        f".\\rollback\\{change_set.slug}.ps1 -ConfirmRegrant -BackupDirectory '<backup folder>'"
    )
    where = (
        "once for the organisation, in the Exchange Management Shell on an Exchange server, "
        "with a role that may run Set-PartnerApplication"
    )
    step = Step(
        number,
        remediation,
        None,
        where,
        _command(remediation),
        tuple(effects),
        False,
        tuple(expect),
    )
    back = Step(
        0,
        rollback,
        None,
        f"in the Exchange Management Shell on the Exchange server where step {number} ran "
        "(its backups are there)",
        _command(rollback, REGRANT_SWITCH),
        (
            "It re-grants the removed app-only permissions organisation-wide and prints each "
            f"(AUDITOR-REGRANT); without {REGRANT_SWITCH} it prints them, changes nothing and "
            f"stops with AUDITOR-REGRANT-NOT-CONFIRMED; -Confirm:$false does not replace "
            f"{REGRANT_SWITCH}.",
        ),
        False,
        (
            *regrants,
            *restored,
            f"AUDITOR-DONE: {count} of {count} partner application(s) restored.",
        ),
    )
    return step, back


def _gains(report: Report, value: _Value) -> str:
    """Who holds app-only permissions once the plan ran (the completed judgements' `after`)."""
    holders = [
        f"{value(name)}: {_names(after, value)}" for name, after in decided(report).held_after
    ]
    if not holders:
        return (
            "no partner application holds an app-only permission after this package, so no "
            "caller gains mailbox access through it until one is granted"
        )
    return (
        "app-only (client credentials) callers gain access to every on-premises mailbox "
        "through this server with their application's app-only permissions after this "
        "package: " + "; ".join(holders)
    )


def _file_effects(
    change: WebConfigChange,
    server: str,
    judgement: ProfilesJudgement | None,
    report: Report,
    value: _Value,
    after: str,
) -> list[str]:
    where = f"{value(change.vdir)} on {value(server)}"
    effects: list[str] = []
    tokens = judgement.tokens if judgement is not None else ()
    honoured_removed = [
        t for t in tokens if t.action is TokenAction.REMOVE and TokenMark.HONOURED in t.marks
    ]
    dropped_removed = [
        t for t in tokens if t.action is TokenAction.REMOVE and TokenMark.HONOURED not in t.marks
    ]
    for token in honoured_removed:
        who = (
            "app-only (client credentials) callers"
            if token.segment in report.policy.app_only_profile_tokens
            else f"callers that authenticate with the {value(token.segment)} profile"
        )
        effects.append(
            f"{where}: {who} lose access {after} ({value(token.segment)} removed from "
            "OAuthHttpModule.Profiles; other profiles stay)."
        )
    if dropped_removed:
        effects.append(
            f"{where}: removes "
            + ", ".join(f"'{value(t.segment)}'" for t in dropped_removed)
            + ", which Exchange already ignores; no caller notices."
        )
    if judgement is None and change.removes:
        effects.append(f"{where}: OAuthHttpModule.Profiles loses {_names(change.removes, value)}.")
    for enabled in change.enables:
        effects.append(
            f"{ENABLES} {value(enabled)} on {where}, {after} and not before: "
            f"{_gains(report, value)}."
        )
    return effects


def _hosting(
    number: int, last: int, servers: tuple[str, ...], value: _Value
) -> tuple[str, str, str]:
    """(server text, host, step text) of a server step standing for `servers`."""
    if len(servers) == 1:
        server_text = value(servers[0])
        return server_text, f"on the server {server_text} itself", f"step {number}"
    server_text = f"each of {_servers(servers, value)}"
    host = f"on {server_text}, each server running its own script"
    return server_text, host, f"steps {number}-{last}"


def _server_step(
    number: int, group: Sequence[ChangeSet], report: Report, value: _Value, profiles: _Judged
) -> tuple[Step, Step]:
    """The step of one server's script, or of the same change on every server of `group`."""
    change_set = group[0]
    remediation, rollback = change_set.script_names
    servers = tuple(cs.server or "" for cs in group)
    last = number + len(group) - 1
    server_text, host, step_text = _hosting(number, last, servers, value)
    if len(group) > 1:
        remediation = "remediation/web-config-<server>.ps1"
        rollback = "rollback/web-config-<server>.ps1"
    pools = list(dict.fromkeys(c.app_pool for c in change_set.web_configs if c.app_pool))
    effects: list[str] = []
    expect: list[str] = []
    restored: list[str] = []
    for change in change_set.web_configs:
        after = (
            f"from the recycle of {change.app_pool} at the end of {step_text}"
            if change.app_pool
            else f"once its application pool is recycled by hand after {step_text}"
        )
        effects += _file_effects(
            change, server_text, profiles.get(change.subject), report, value, after
        )
        path = f"<Exchange install path>\\{change.relative_path}"
        expect.append(
            f"AUDITOR-CHANGED: {path} now has OAuthHttpModule.Profiles = "
            f"'{_visible(change.target_value)}'."
        )
        restored.append(f"AUDITOR-RESTORED: {path} has its original content again.")
    recycled = [f"AUDITOR-RECYCLED: {pool}" for pool in pools]
    count = len(change_set.web_configs)
    expect += recycled
    expect.append(
        f"AUDITOR-DONE: {count} of {count} web.config file(s) changed in this run, 0 by an "
        f"earlier run; {len(pools)} application pool(s) recycled."
    )
    enables = any(change.enables for change in change_set.web_configs)
    where = (
        f"{host}, in an elevated Windows PowerShell 5.1 session (it refuses to run on any "
        "other computer)"
    )
    step = Step(
        number,
        remediation,
        servers[0] if len(group) == 1 else None,
        where,
        _command(remediation),
        tuple(effects),
        enables,
        tuple(expect),
        servers,
        last,
    )
    back = _server_rollback(
        step, change_set, rollback, (host, server_text), (restored, recycled), value
    )
    return step, back


def _server_rollback(
    step: Step,
    change_set: ChangeSet,
    rollback: str,
    where: tuple[str, str],
    printed: tuple[list[str], list[str]],
    value: _Value,
) -> Step:
    """The back-out of a server step: `where` is (host, server text), `printed` the
    AUDITOR-RESTORED and AUDITOR-RECYCLED lines of its scripts."""
    host, server_text = where
    restored, recycled = printed
    pools = list(dict.fromkeys(c.app_pool for c in change_set.web_configs if c.app_pool))
    count = len(change_set.web_configs)
    undo = (
        "It restores the audited OAuthHttpModule.Profiles of "
        + ", ".join(value(c.vdir) for c in change_set.web_configs)
        + f" on {server_text} from the backup the remediation wrote there"
        + (f" and recycles {', '.join(pools)}." if pools else ".")
    )
    if step.enables:
        undo += " The server stops accepting the enabled token(s) from that recycle."
    return Step(
        0,
        rollback,
        step.server,
        f"{host}, in an elevated Windows PowerShell 5.1 session",
        _command(rollback),
        (undo,),
        False,
        (
            *restored,
            *recycled,
            f"AUDITOR-DONE: {count} of {count} web.config file(s) restored in this run; "
            f"{len(pools)} application pool(s) recycled.",
        ),
        step.servers,
        0,
    )


def _same_change(change_set: ChangeSet, profiles: _Judged) -> tuple[object, ...]:
    """What a server's step says, without the server: equal keys give equal sentences."""
    key: list[object] = []
    for change in change_set.web_configs:
        judgement = profiles.get(change.subject)
        tokens = tuple(
            (t.segment, t.action, TokenMark.HONOURED in t.marks, t.forbidden_reason)
            for t in (judgement.tokens if judgement is not None else ())
            if t.action is not TokenAction.KEEP
        )
        key.append(
            (
                change.vdir,
                change.relative_path,
                change.app_pool,
                change.target_value,
                change.removes,
                change.enables,
                judgement is None,
                tokens,
            )
        )
    return tuple(key)


def _users_notice(report: Report, steps: Sequence[Step], value: _Value) -> tuple[str, ...]:
    pools: dict[str, list[str]] = {}
    for change_set in report.change_sets:
        for change in change_set.web_configs:
            if change.app_pool and change_set.server:
                pools.setdefault(change.app_pool, [])
                if change_set.server not in pools[change.app_pool]:
                    pools[change.app_pool].append(change_set.server)
    lines: list[str] = []
    for pool, servers in pools.items():
        lines.append(
            f"{pool} is recycled once on {_servers(servers, value)} (an overlapped recycle: IIS "
            "starts a new worker process and lets requests in flight complete on the old one). "
            "No failed requests are expected; the first requests after the recycle may be "
            "slower while the new worker starts. No other application pool, site or service "
            "restarts."
        )
    for step in steps:
        word = "Steps" if step.last > step.number else "Step"
        lines += [f"{word} {step.label}: {effect}" for effect in step.effects]
    if not any(change_set.partner_applications for change_set in report.change_sets):
        lines.append("No partner application changes: app-only permissions stay as audited.")
    lines.append(
        "Delegated access (users signed in to Outlook, Outlook on the web, ActiveSync, EWS "
        "with a user token) does not change."
    )
    return tuple(lines)


def _brief_notice(report: Report, steps: Sequence[Step], value: _Value) -> tuple[str, ...]:
    servers = [
        cs.server
        for cs in report.change_sets
        if cs.server and any(change.app_pool == REST_POOL for change in cs.web_configs)
    ]
    lines = []
    if servers:
        lines.append(
            f"{REST_POOL}: one overlapped recycle on {_servers(servers, value)}; requests in "
            "flight complete, no failed requests expected."
        )
    for step in steps:
        if step.servers:
            word = "Steps" if step.last > step.number else "Step"
            lines += [f"{word} {step.label}: {effect}" for effect in step.effects]
            continue
        # An org-wide step: its own change set's applications (the dedicated-app override
        # step has none: its effects say what it does).
        own = [cs for cs in report.change_sets if step.script in cs.script_names]
        if not any(cs.partner_applications for cs in own):
            lines += [f"Step {step.label}: {effect}" for effect in step.effects]
        for change_set in own:
            for app in change_set.partner_applications:
                lines.append(
                    f"Step {step.label}: app-only callers of {value(app.name)} lose "
                    f"{len(app.removes)} of {len(app.audited_app_only)} app-only permissions "
                    "(above) organisation-wide when it ends; delegated access is unchanged."
                )
    return tuple(lines)


def _brief_verify(steps: Sequence[Step], value: _Value) -> tuple[str, ...]:
    servers = [server for step in steps for server in step.servers]
    lines = [
        "Before: `auditor verify <package>`. After: export again and `auditor attest --before "
        "<dir> --after <dir> --package <package>` proves the change landed and nothing else "
        "changed."
    ]
    if servers:
        lines.append(
            f"/API on {_servers(servers, value)}: `Invoke-WebRequest -Uri "
            "https://<server>/api/v2.0/me` without a token answers 401 with WWW-Authenticate."
        )
    return tuple(lines)


def _verify(report: Report, steps: Sequence[Step], value: _Value) -> tuple[str, ...]:
    lines = [
        "Export again with the collection script (`auditor collect`) and run `auditor attest "
        "--before <old exports> --after <new exports> --package <package>`: the planned change "
        "landed and nothing else changed.",
        "Each step printed the AUDITOR-* lines listed with it, ending with its AUDITOR-DONE "
        "line; attach the transcripts to the change record.",
    ]
    servers = [server for step in steps for server in step.servers]
    if servers:
        lines.append(
            "Functional check of /API (Default Web Site/API, the REST vdir) on "
            f"{_servers(servers, value)}, from a client: `Invoke-WebRequest -Uri "
            "https://<server>/api/v2.0/me -UseBasicParsing` without a token must answer 401 "
            "Unauthorized with a WWW-Authenticate header (the vdir is up after the recycle). "
            "Windows PowerShell 5.1 throws on the 401: read "
            "`$_.Exception.Response.StatusCode` and "
            "`$_.Exception.Response.Headers['WWW-Authenticate']` in a catch block."
        )
    removing = [
        server
        for step in steps
        if any("lose access" in effect for effect in step.effects)
        for server in step.servers
    ]
    enabling = [server for step in steps if step.enables for server in step.servers]
    if removing:
        lines.append(
            f"On {_servers(removing, value)}: a request to /API with an app-only token is now "
            "refused (401); a request with a delegated user token still works."
        )
    if enabling:
        lines.append(
            f"On {_servers(enabling, value)} ({ENABLES}): a request to /API with an app-only "
            "token of an application that keeps an approved app-only permission now succeeds "
            "within that permission, and only within it."
        )
    lines.append(
        "A script that stopped after the first change ends with one AUDITOR-PARTIAL line; fix "
        "the cause and run the same script again with the same -BackupDirectory: it continues "
        "with what is left."
    )
    return tuple(lines)


def _steps(
    report: Report, value: _Value, *, grouped: bool
) -> tuple[tuple[Step, ...], tuple[Step, ...]]:
    """The steps in run order and the rollback steps in back-out order."""
    steps: list[Step] = []
    backs: list[Step] = []
    partner = [cs for cs in report.change_sets if cs.kind is ChangeKind.PARTNER_APPLICATIONS]
    groups: dict[object, list[ChangeSet]] = {}
    # The judgements by subject once, not once per server's step: `change_story` of the
    # 100-server fleet 1.8 -> 0.4 ms, and the saving grows with the square of the servers.
    profiles = {j.subject: j for j in report.judgements.profiles}
    for change_set in report.change_sets:
        if change_set.kind is ChangeKind.WEB_CONFIG_PROFILES:
            key = _same_change(change_set, profiles) if grouped else change_set.slug
            groups.setdefault(key, []).append(change_set)
    number = 1
    for change_set in partner:
        step, back = _partner_step(number, change_set, value)
        steps.append(step)
        backs.append(back)
        number += 1
    for group in groups.values():
        step, back = _server_step(number, group, report, value, profiles)
        steps.append(step)
        backs.append(back)
        number += len(group)
    for change_set in report.change_sets:
        if change_set.kind is ChangeKind.DEDICATED_APP_OVERRIDE:
            step, back = _override_step(number, change_set, value)
            steps.append(step)
            backs.append(back)
            number += 1
        elif change_set.kind is ChangeKind.EVOSTS_AUTH_SERVERS:
            step, back = _auth_server_step(number, change_set, value)
            steps.append(step)
            backs.append(back)
            number += 1
    back_out = tuple(
        Step(
            index,
            back.script,
            back.server,
            back.where,
            back.command,
            back.effects,
            back.enables,
            back.expect,
            back.servers,
            index + len(back.servers) - 1 if len(back.servers) > 1 else 0,
        )
        for index, back in _numbered(reversed(backs))
    )
    return tuple(steps), back_out


def _override_step(number: int, change_set: ChangeSet, value: _Value) -> tuple[Step, Step]:
    """The dedicated-app override's step: create (or set) it organisation-wide, and its back-out."""
    remediation, rollback = change_set.script_names
    (change,) = change_set.setting_overrides
    name = f"setting override '{value(change.name)}' ({change.component} / {change.section})"
    target = ", ".join(value(parameter) for parameter in change.target_parameters)
    effect, undo = _override_effect(change, name, value)
    effects = (
        f"{effect}: Exchange Server uses the dedicated Exchange hybrid application instead of "
        "the shared first-party one for the hybrid OAuth trust (this server at once, after the "
        "VariantConfiguration refresh; the others within an hour). Check the app's admin "
        "consent in Entra ID before the step.",
    )
    back_out = (
        f"on <this server>, in the Exchange Management Shell: .\\rollback\\{change_set.slug}.ps1"
    )
    step = Step(
        number,
        remediation,
        None,
        "once for the organisation, in the Exchange Management Shell on a Mailbox server, with "
        "a role that may run New-SettingOverride and Set-SettingOverride",
        _command(remediation),
        effects,
        False,
        (
            "AUDITOR-INFO: VariantConfiguration refreshed on <this server>; other servers apply "
            "the override within an hour.",
            f"AUDITOR-CHANGED: {name} now has Parameters {target}; "
            f"{_override_scope(change, value)}: organisation-wide.",
            "AUDITOR-DONE: the dedicated hybrid app is enabled; Exchange applies it on every "
            f"server within an hour. Back-out: {back_out} -BackupDirectory '<backup folder>'",
        ),
    )
    back = Step(
        0,
        rollback,
        None,
        f"in the Exchange Management Shell on the Exchange server where step {number} ran "
        "(its state record is there)",
        _command(rollback),
        (
            f"{undo}. It restores a state that cannot work: since 2025-10-31 the shared "
            "first-party app is blocked, so hybrid rich coexistence stops (AUDITOR-WARNING).",
        ),
        False,
        (
            "AUDITOR-WARNING: this rollback restores a state that cannot work: since "
            "2025-10-31 the shared first-party app is blocked, so hybrid rich coexistence stops "
            "without the dedicated app.",
            f"AUDITOR-RESTORED: the {name} is as the audit showed it again.",
            "AUDITOR-DONE: the dedicated-app override change is backed out.",
        ),
    )
    return step, back


def _override_effect(change: SettingOverrideChange, name: str, value: _Value) -> tuple[str, str]:
    """What the override step does, and what its back-out undoes."""
    target = ", ".join(value(parameter) for parameter in change.target_parameters)
    audited = ", ".join(value(p) for p in change.audited_parameters or ()) or "(empty)"
    if change.creates:
        return (
            f"Creates the {name} with Parameters {target}, organisation-wide",
            f"It removes the {name} the remediation created",
        )
    effect = f"Sets the Parameters of the {name} from {audited} to {target}"
    undo = f"It sets the Parameters of the {name} back to {audited}"
    scope = [f"{label} {value(before)}" for label, before in change.scope_changes]
    if scope:
        effect += f" and clears its {', '.join(scope)} (every server)"
        undo += f" and its {', '.join(scope)}"
    return effect, undo


def _override_scope(change: SettingOverrideChange, value: _Value) -> str:
    """The override's scope after the change as the script prints it (`Format-AuditorScope`)."""
    servers = change.target_servers or ()
    text = f"Server '{value(', '.join(servers))}'" if servers else "Server (all servers)"
    for label, version in (
        ("MinVersion", change.target_min_version),
        ("MaxVersion", change.target_max_version),
    ):
        text += f", {label} '{value(version)}'" if version else f", no {label}"
    return text


def _auth_server_step(number: int, change_set: ChangeSet, value: _Value) -> tuple[Step, Step]:
    """The EvoSTS AuthServer step and its back-out (texts: `auditor.render.story_authserver`)."""
    remediation, rollback = change_set.script_names
    back_out = f"on <this server>, in the Exchange Management Shell: {_command(rollback)}"
    texts = auth_server_texts(change_set, value, back_out)
    step = Step(
        number, remediation, None, WHERE, _command(remediation), texts.effects, False, texts.expect
    )
    where = f"in the Exchange Management Shell on the Exchange server where step {number} ran"
    back = Step(
        0,
        rollback,
        None,
        f"{where} (its state records are there)",
        _command(rollback),
        texts.back_effects,
        False,
        texts.back_expect,
    )
    return step, back


def _numbered(backs: Iterable[Step]) -> Iterable[tuple[int, Step]]:
    number = 1
    for back in backs:
        yield number, back
        number += max(1, len(back.servers))


def change_story(report: Report, value: _Value) -> Story:
    """The package's steps in run order, its back-out in reverse order, and what users notice."""
    steps, back_out = _steps(report, value, grouped=False)
    grouped, grouped_back = _steps(report, value, grouped=True)
    return Story(
        steps=steps,
        back_out=back_out,
        grouped_steps=grouped,
        grouped_back_out=grouped_back,
        users_notice=_users_notice(report, grouped, value) if steps else (),
        verify=_verify(report, grouped, value) if steps else (),
        brief_notice=_brief_notice(report, grouped, value) if steps else (),
        brief_verify=_brief_verify(grouped, value) if steps else (),
        enabling_servers=tuple(server for step in steps if step.enables for server in step.servers),
    )
