"""The hybrid-trust build rule (HT101): every Client Access server must run a build that
supports the dedicated Exchange hybrid application (the April 2025 hotfix or later).

The hotfix level is the `ExSetup.exe` file version, compared as four integers with the build
table below; `AdminDisplayVersion` (`Get-ExchangeServer`) is never proof of a hotfix level, so
a server without an ExSetup version read fails closed (a finding naming the missing evidence),
even when its `AdminDisplayVersion` looks new enough. Edge Transport servers are never judged
(the dedicated app "is not supported on this role").
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from auditor.model import ExSetupVersion, Finding, Location, Severity
from auditor.rules.context import RuleContext, new_finding
from auditor.rules.declaration import Needs, rule
from auditor.rules.trust_common import client_access_servers, edge_servers, server_key

Build = tuple[int, int, int, int]


@dataclass(frozen=True, slots=True)
class BuildLine:
    """One build line (major, minor, build) and the first build of it with the April 2025 HU."""

    name: str
    minimum: Build


# The minimum ExSetup build per build line for the dedicated hybrid app: Microsoft Learn,
# "Deploy dedicated Exchange hybrid app" (its build table), equal to the "Apr25HU" entries of
# microsoft/CSS-Exchange `Shared/Get-ExchangeBuildVersionInformation.ps1` (l.745, 859, 868) at
# f88378b1e7a252e413cb2e579e88411393737c11; see shared/reference/notes/hybrid-oauth-trust.md
# section 1. Exchange 2013, 2016 before CU23 and 2019 before CU14 are never supported (CISA ED
# 25-02: disconnect them). A later build of a newer line (an SE CU) is supported.
APRIL_2025_HU_BUILDS: tuple[BuildLine, ...] = (
    BuildLine("Exchange Server SE RTM", (15, 2, 2562, 17)),
    BuildLine("Exchange 2019 CU15 with the April 2025 HU", (15, 2, 1748, 24)),
    BuildLine("Exchange 2019 CU14 with the April 2025 HU", (15, 2, 1544, 25)),
    BuildLine("Exchange 2016 CU23 with the April 2025 HU", (15, 1, 2507, 55)),
)

SOURCES = (
    "https://learn.microsoft.com/exchange/hybrid-deployment/deploy-dedicated-hybrid-app",
    "https://github.com/microsoft/CSS-Exchange/blob/main/Shared/Get-ExchangeBuildVersionInformation.ps1",
    "https://www.cisa.gov/news-events/directives/ed-25-02-mitigate-microsoft-exchange-vulnerability",
)

_ADMIN_DISPLAY_VERSION = re.compile(r"Version\s+(\d+)\.(\d+)\s+\(Build\s+(\d+)\.(\d+)\)")


def required_build(
    build: Build, floors: tuple[BuildLine, ...] = APRIL_2025_HU_BUILDS
) -> BuildLine | None:
    """The table line a build is judged by: its own line, else (a build between lines or too
    old) the oldest line of its major.minor above it; None when a newer line or build than the
    table knows (supported)."""
    same_version = [line for line in floors if line.minimum[:2] == build[:2]]
    for line in same_version:
        if line.minimum[2] == build[2]:
            return line
    above = [line for line in same_version if line.minimum[2] > build[2]]
    if above:
        return min(above, key=lambda line: line.minimum)
    if same_version or build[:2] > (15, 2):
        return None  # a newer CU than the table's, or a newer version
    return min(floors, key=lambda line: line.minimum)  # Exchange 2013 and older: never


def is_supported(build: Build, floors: tuple[BuildLine, ...] = APRIL_2025_HU_BUILDS) -> bool:
    """True when the build is at or above the floor of its build line (by default the April
    2025 HU table; HT101 passes the policy's `build_floors` over it, `policy_floors`)."""
    line = required_build(build, floors)
    return line is None or build >= line.minimum


def _text(build: Build) -> str:
    return ".".join(str(part) for part in build)


def _admin_display_build(text: str | None) -> Build | None:
    match = _ADMIN_DISPLAY_VERSION.search(text or "")
    if match is None:
        return None
    major, minor, build, revision = (int(group) for group in match.groups())
    return major, minor, build, revision


@rule(
    "HT101",
    title="A server's build does not support the dedicated Exchange hybrid app",
    severity=Severity.HIGH,
    needs=Needs.HYBRID_TRUST,
    remediation=None,
    fires_when=(
        "The ExSetup.exe file version of a Client Access server is below the April 2025 hotfix "
        "of its build line (SE RTM 15.2.2562.17; 2019 CU15 15.2.1748.24; 2019 CU14 "
        "15.2.1544.25; 2016 CU23 15.1.2507.55; anything older is never supported), or no "
        "ExSetup version of the server was read (its hotfix level is unknown)."
    ),
    rationale=(
        "The dedicated hybrid application that closes CVE-2025-53786 needs the April 2025 "
        "hotfix on every server; since October 2025 Exchange Online refuses the shared service "
        "principal, so an older server breaks hybrid and CISA ED 25-02 orders servers that "
        "cannot take the hotfix disconnected. Only the ExSetup.exe file version shows the "
        "hotfix level: AdminDisplayVersion shows the cumulative update at most, so a server "
        "without its ExSetup version is not assessed and fails closed."
    ),
    references=SOURCES,
    how_to_fix=(
        "No script is generated: install the latest cumulative update and hotfix on the "
        "server (the Exchange Update Wizard says which), run Health Checker, collect again "
        "with `auditor collect` (it exports ExSetup.xml per server) and audit again."
    ),
)
def check_ht101(context: RuleContext) -> Iterator[Finding]:
    return below_floor(context, policy_floors(context))


def policy_floors(context: RuleContext) -> tuple[BuildLine, ...]:
    """The April 2025 table with the policy's `hybrid_trust.build_floors` over it, line by line
    (a floor the policy names for a line the table lacks is added)."""
    lines = {line.minimum[:3]: line for line in APRIL_2025_HU_BUILDS}
    for key, minimum in context.policy.hybrid_trust.build_floors:
        parts = tuple(int(part) for part in minimum.split("."))  # the schema's four numbers
        build: Build = (parts[0], parts[1], parts[2], parts[3])
        lines[build[:3]] = BuildLine(f"the policy's build floor for {key}", build)
    return tuple(sorted(lines.values(), key=lambda line: line.minimum, reverse=True))


def below_floor(
    context: RuleContext, floors: tuple[BuildLine, ...] = APRIL_2025_HU_BUILDS
) -> Iterator[Finding]:
    """HT101's findings against `floors` (see `is_supported`)."""
    inventory = context.inventory
    versions = inventory.trust.exsetup_versions
    edges = edge_servers(inventory)
    by_server: dict[str, list[ExSetupVersion]] = {}
    for version in versions:
        if version.server is not None and server_key(version.server) not in edges:
            by_server.setdefault(server_key(version.server), []).append(version)
    named = [version.server for version in versions]
    servers = client_access_servers(inventory, named)
    shown = {server_key(server): server for server in servers}
    for version in versions:
        if version.server is None or server_key(version.server) not in edges:
            key = server_key(version.server) if version.server else ""
            yield from _judged(context, version, shown.get(key, version.server), floors)
    for server in servers:
        if server_key(server) not in by_server:
            yield _not_read(context, server)


def _judged(
    context: RuleContext, version: ExSetupVersion, name: str | None, floors: tuple[BuildLine, ...]
) -> Iterator[Finding]:
    build = version.parts
    if is_supported(build, floors):
        return
    line = required_build(build, floors)
    assert line is not None  # an unsupported build always has a table line
    server = name or f"the server of {version.source.path}"
    if line.minimum[:3] == build[:3]:
        why = f"below {_text(line.minimum)} ({line.name})"
    else:
        why = (
            "a version or cumulative update that never got the April 2025 hotfix (the oldest "
            f"supported is {line.name}, {_text(line.minimum)})"
        )
    yield new_finding(
        context,
        "HT101",
        subject=f"server:{name or version.source.path}",
        message=(
            f"{server} runs ExSetup {version.build}, {why}: it cannot use the dedicated "
            "Exchange hybrid application; update it or disconnect it (CISA ED 25-02)"
        ),
        location=Location(version.source.path, version.source.line),
        evidence=(version.source,),
        discriminator=version.build,
        details={
            "server": name,
            "build": version.build,
            "required": _text(line.minimum),
            "build_line": line.name,
            "evidence": "exsetup",
        },
    )


def _not_read(context: RuleContext, server: str) -> Finding:
    listed = next(
        (s for s in context.inventory.exchange_servers if server_key(s.name) == server_key(server)),
        None,
    )
    admin = _admin_display_build(listed.version if listed else None)
    shown = f" (AdminDisplayVersion {_text(admin)} is not proof of a hotfix level)" if admin else ""
    if admin is not None and not is_supported((admin[0], admin[1], admin[2], 10**9)):
        shown = f" and its AdminDisplayVersion {_text(admin)} is older than any supported build"
    path = listed.path if listed else f"{server}/ExSetup.xml"
    line = listed.line if listed else None
    return new_finding(
        context,
        "HT101",
        subject=f"server:{server}",
        message=(
            f"no ExSetup version of {server} was read{shown}: its hotfix level is not "
            "known, so it is not assessed; export ExSetup.xml on it with `auditor collect`"
        ),
        location=Location(path, line),
        discriminator="missing",
        details={"server": server, "build": None, "evidence": "missing"},
    )


RULES = (check_ht101,)
