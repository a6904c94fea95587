"""Helpers for the generated-PowerShell tests: tree-sitter parsing, shapes, sentinels, scenarios.

`shape(text)` is the parse tree as a flat list of node types (with the text of leaves), where
every value `ps_literal` emitted is collapsed into one `VALUE` entry: two renders of one template
that differ only in their values have equal shapes, and a value that escaped its literal changes
the shape. It is sound for ASCII-only text (tree-sitter knows only the ASCII quote, and the
generator emits nothing else).
"""

from __future__ import annotations

import dataclasses
import functools
import re
from typing import Any

from conftest import allow_lists_off, skip_or_fail

from auditor.model import ChangeSet, PartnerApplicationChange
from auditor.render.ps1 import ScriptHeader, render_change_set


def render_unchecked(change_set: ChangeSet, header: ScriptHeader) -> tuple[str, str]:
    """`render_change_set` with the allow-lists off (`conftest.allow_lists_off`)."""
    with allow_lists_off():
        return render_change_set(change_set, header)


_STRING = r"'(?:[^']|'')*'"
_CHAR = r"\[char\]0x[0-9A-F]{4}"
LITERAL = re.compile(rf"{_STRING}|\((?:{_STRING}|{_CHAR})(?: \+ (?:{_STRING}|{_CHAR}))*\)")

_parser: Any = None


def parser() -> Any:
    """The tree-sitter PowerShell parser (skip, or fail under AUDITOR_REQUIRE_ALL=1, if absent)."""
    global _parser
    if _parser is None:
        try:
            import tree_sitter_powershell
            from tree_sitter import Language, Parser
        except ImportError as error:  # pragma: no cover - depends on the environment
            skip_or_fail(f"tree-sitter-powershell is not installed: {error}")
        _parser = Parser(Language(tree_sitter_powershell.language()))
    return _parser


def parse(text: str) -> Any:
    return parser().parse(text.encode("ascii"))


@dataclasses.dataclass(frozen=True)
class Analysis:
    """One parse of a script: syntax problems, collapsed shape, source of every value."""

    problems: tuple[tuple[str, tuple[int, int]], ...]
    shape: tuple[str, ...]
    values: tuple[str, ...]


@functools.lru_cache(maxsize=256)
def analyse(text: str) -> Analysis:
    """Parse `text` once; ERROR/MISSING nodes, the shape with values collapsed, the values.

    Every node whose whole source text is a value `ps_literal` emits (and is not a comment)
    becomes one `VALUE` entry; other leaves keep their text, so template code must match too.
    """
    data = text.encode("ascii")
    problems: list[tuple[str, tuple[int, int]]] = []
    shape: list[str] = []
    values: list[str] = []
    stack = [parser().parse(data).root_node]
    while stack:
        node = stack.pop()
        if node.type == "ERROR" or node.is_missing:
            problems.append((node.type, tuple(node.start_point)))
        source = data[node.start_byte : node.end_byte].decode("ascii")
        if node.type != "comment" and LITERAL.fullmatch(source):
            shape.append("VALUE")
            values.append(source)
            continue
        if node.child_count == 0:
            shape.append(f"{node.type}:{source}")
            continue
        shape.append(node.type)
        stack.extend(reversed(node.children))
    return Analysis(tuple(problems), tuple(shape), tuple(values))


def syntax_problems(text: str) -> list[tuple[str, tuple[int, int]]]:
    """Every ERROR or MISSING node tree-sitter reports, with its (row, column)."""
    return list(analyse(text).problems)


def shape_and_values(text: str) -> tuple[list[str], list[str]]:
    """The collapsed parse-tree shape and the source text of every collapsed value."""
    analysis = analyse(text)
    return list(analysis.shape), list(analysis.values)


# Pieces of hostile values: every single- and double-quote character PowerShell knows, sub-
# expressions, backticks, comment and here-string delimiters, line breaks, NUL, non-ASCII,
# astral characters and a fake signature block.
HOSTILE_PIECES = [
    "'",
    "\u2018",
    "\u2019",
    "\u201a",
    "\u201b",
    '"',
    "\u201c",
    "\u201d",
    "\u201e",
    "$(Stop-Computer)",
    "${env:PATH}",
    "`",
    "`n",
    "#>",
    "<#",
    "'@",
    "@'",
    '"@',
    '@"',
    "\r",
    "\n",
    "\r\n",
    "\t",
    "\x00",
    "\x7f",
    "\u00e9",
    "\u0412",
    "\U0001f600",
    "\u2028",
    "\ufeff",
    "# SIG # Begin signature block",
    "; Stop-Computer; ",
]


# --- sentinel renders ---------------------------------------------------------------------------

SENTINEL = "SENTINEL"
SENTINEL_GUID = "11111111-2222-3333-4444-555555555555"
SENTINEL_SHA = "0" * 64


def _sentinel_names(change: PartnerApplicationChange) -> dict[str, str]:
    """One harmless name per distinct permission name (so removes/adds keep their length)."""
    names = dict.fromkeys((*change.audited_app_only, *change.target_app_only))
    return {name: f"S{index}" for index, name in enumerate(names)}


def sentinel_change_set(change_set: ChangeSet) -> ChangeSet:
    """`change_set` with every value replaced by a harmless one of the same structure."""
    return dataclasses.replace(
        change_set,
        slug="sentinel",
        server=None if change_set.server is None else SENTINEL,
        partner_applications=tuple(
            dataclasses.replace(
                change,
                application_identifier=SENTINEL_GUID,
                name=SENTINEL,
                audited_app_only=tuple(
                    _sentinel_names(change)[name] for name in change.audited_app_only
                ),
                target_app_only=tuple(
                    _sentinel_names(change)[name] for name in change.target_app_only
                ),
            )
            for change in change_set.partner_applications
        ),
        web_configs=tuple(
            dataclasses.replace(
                change,
                vdir=SENTINEL,
                relative_path="\\".join("S" for _ in change.relative_path.split("\\")),
                app_pool=None if change.app_pool is None else SENTINEL,
                audited_sha256=SENTINEL_SHA,
                audited_value=SENTINEL,
                target_value=SENTINEL,
                removes=tuple(SENTINEL for _ in change.removes),
                enables=tuple(SENTINEL for _ in change.enables),
            )
            for change in change_set.web_configs
        ),
        auth_servers=tuple(
            dataclasses.replace(
                change,
                name=SENTINEL,
                audited_value=SENTINEL if change.audited_value else "",
                target_value=SENTINEL,
                realm=SENTINEL_GUID,
                source=SENTINEL,
                kept_name=SENTINEL if change.kept_name else "",
                kept_application_identifier=SENTINEL_GUID if change.kept_name else "",
            )
            for change in change_set.auth_servers
        ),
        setting_overrides=tuple(
            dataclasses.replace(
                change,
                audited_servers=(
                    None
                    if change.audited_servers is None
                    else tuple(SENTINEL for _ in change.audited_servers)
                ),
                audited_min_version=SENTINEL if change.audited_min_version else None,
                audited_max_version=SENTINEL if change.audited_max_version else None,
            )
            for change in change_set.setting_overrides
        ),
    )


def sentinel_header(header: ScriptHeader) -> ScriptHeader:
    return ScriptHeader(
        change_id=SENTINEL,
        tool_version=SENTINEL,
        policy_name=SENTINEL,
        policy_sha256=SENTINEL_SHA,
        input_hashes=tuple((SENTINEL, SENTINEL_SHA) for _ in header.input_hashes),
        finding_ids=tuple(SENTINEL for _ in header.finding_ids),
        package_id=SENTINEL_SHA,
    )


# --- scenario data ------------------------------------------------------------------------------

API = "Default Web Site/API"
GRAPH_ID = "00000003-0000-0000-c000-000000000000"

# The 29 delegated permissions of "Microsoft Graph" in a real organisation (DESIGN.md section 1).
GRAPH_ACT_AS = (
    "Calendars.Read",
    "Calendars.ReadWrite",
    "Contacts.Read",
    "Contacts.ReadWrite",
    "EAS.AccessAsUser.All",
    "EWS.AccessAsUser.All",
    "Group.Read.All",
    "Group.ReadWrite.All",
    "Mail.Read",
    "Mail.ReadBasic",
    "Mail.ReadWrite",
    "Mail.Send",
    "MailboxSettings.Read",
    "MailboxSettings.ReadWrite",
    "Notes.Read",
    "Notes.ReadWrite",
    "People.Read",
    "People.ReadWrite",
    "Privilege.SkipClientAccessRules",
    "Sites.Read.All",
    "Sites.ReadWrite.All",
    "Tasks.Read",
    "Tasks.ReadWrite",
    "User.Read",
    "User.Read.All",
    "User.ReadBasic.All",
    "User.ReadWrite",
    "User.ReadWrite.All",
    "full_access_as_user",
)
assert len(GRAPH_ACT_AS) == 29


def header_for(change_set: ChangeSet, change_id: str = "CHG-2024-001") -> ScriptHeader:
    return ScriptHeader(
        change_id=change_id,
        tool_version="0.1.0",
        policy_name="default",
        policy_sha256="ab" * 32,
        input_hashes=(
            ("exports/PartnerApplication.xml", "cd" * 32),
            ("exports/EX01/FrontEnd/HttpProxy/Rest/web.config", "ef" * 32),
        ),
        finding_ids=tuple(f"RULE:{fingerprint}" for fingerprint in change_set.fixes),
        package_id="9a" * 32,
    )
