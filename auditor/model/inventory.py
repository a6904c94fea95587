"""What parsing makes of the inputs: one `ParseResult` per file, folded into one `Inventory`.

Owns `ParseResult` (records and problems of one file), `Inventory` (everything read, in a
deterministic order, with what discovery skipped or `Excluded`) and `Organisation` (what
identifies the organisation an inventory was read from). Imports only `auditor.model.inputs`
and `auditor.model.trust`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from auditor.model.inputs import (
    ExchangeServer,
    PartnerApplication,
    Problem,
    SourceFile,
    WebConfig,
)
from auditor.model.trust import TrustEvidence


@dataclass(frozen=True, slots=True)
class ParseResult:
    """What one parser made of one file: records and problems (a bad file is a value)."""

    source: SourceFile
    partner_applications: tuple[PartnerApplication, ...] = ()
    web_configs: tuple[WebConfig, ...] = ()
    problems: tuple[Problem, ...] = ()
    exchange_servers: tuple[ExchangeServer, ...] = ()
    # The hybrid OAuth trust records read from the file (AuthServer, AuthConfig, ...).
    trust: TrustEvidence = field(default_factory=TrustEvidence)


@dataclass(frozen=True, slots=True)
class Organisation:
    """What identifies the organisation an inventory was read from (a baseline must match).

    `directories`: the Active Directory domains (`dc=...` parts, lower-cased) in the
    DistinguishedName of the partner applications; `servers`: every server named (lower-cased);
    `partner_applications`: every ApplicationIdentifier. Each sorted, each once.
    """

    directories: tuple[str, ...] = ()
    servers: tuple[str, ...] = ()
    partner_applications: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "directories": list(self.directories),
            "servers": list(self.servers),
            "partner_applications": list(self.partner_applications),
        }

    def differs_from(self, other: Organisation) -> str | None:
        """Why `other` is another organisation, or None when it may be this one.

        The strongest identity both sides carry decides: the directory domains, else the server
        names, else the application identifiers; the two are one organisation when they share
        at least one (servers and applications come and go). Two sides without any identity
        are not told apart.
        """
        for what, mine, theirs in (
            ("Active Directory domain", self.directories, other.directories),
            ("server", self.servers, other.servers),
            ("partner application", self.partner_applications, other.partner_applications),
        ):
            if mine and theirs:
                if set(mine) & set(theirs):
                    return None
                return (
                    f"no {what} in common (these exports: {', '.join(mine[:5])}; the "
                    f"baseline: {', '.join(theirs[:5])})"
                )
        return None


_DIRECTORY_PART = re.compile(r"(?i)(?:^|,)\s*dc=([^,]+)")


@dataclass(frozen=True, slots=True)
class Excluded:
    """A file or folder discovery did not read on purpose, and why (`--exclude`, ...).

    `own_output` marks what auditor itself wrote (an earlier package, the package folder being
    written, the file stdout goes to, a SARIF or findings.json found by its content): it is
    noted on the terminal but kept out of the package, which must not depend on what earlier
    runs left in the tree.
    """

    path: str  # display path; a folder ends with `/`
    reason: str
    own_output: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class Inventory:
    """Everything read from every input, in a deterministic order."""

    inputs: tuple[SourceFile, ...] = ()
    partner_applications: tuple[PartnerApplication, ...] = ()
    web_configs: tuple[WebConfig, ...] = ()
    problems: tuple[Problem, ...] = ()
    # Files found while walking a folder and not read because they are never exports
    # (documentation by exact name, shell files, dot-files that are not exports), by path.
    skipped: tuple[str, ...] = ()
    # Every server of every `Get-ExchangeServer` export, by name (one record per name).
    exchange_servers: tuple[ExchangeServer, ...] = ()
    # What discovery left out on purpose (`--exclude`, `.auditorignore`, auditor's own
    # outputs, the policy in use), each with why; also listed in `skipped`.
    excluded: tuple[Excluded, ...] = ()
    # The hybrid OAuth trust records of every file (see `auditor.parsers.fold` for the order).
    trust: TrustEvidence = field(default_factory=TrustEvidence)
    # The org-wide trust exports (`TrustEvidence` field names) given more than once whose
    # copies disagree: their records are left out of `trust` (not assessed; the fold reports
    # each disagreement as a problem naming both files).
    trust_disagreements: tuple[str, ...] = ()

    @property
    def organisation(self) -> Organisation:
        """The organisation these exports come from (see `Organisation`)."""
        directories: set[str] = set()
        for app in self.partner_applications:
            for name, text in app.properties:
                if name.casefold() == "distinguishedname":
                    parts = _DIRECTORY_PART.findall(text)
                    if parts:
                        directories.add(".".join(part.strip().lower() for part in parts))
        servers = {app.server.lower() for app in self.partner_applications if app.server}
        servers |= {config.server.lower() for config in self.web_configs if config.server}
        servers.discard("unknown")
        return Organisation(
            directories=tuple(sorted(directories)),
            servers=tuple(sorted(servers)),
            partner_applications=tuple(
                sorted({app.application_identifier.lower() for app in self.partner_applications})
            ),
        )

    def to_json(self, *, web_configs: bool = True) -> dict[str, Any]:
        """The `auditor parse --json` document; without `web_configs` when asked."""
        document: dict[str, Any] = {
            "schema_version": 1,
            "inputs": [source.to_json() for source in self.inputs],
            "partner_applications": [app.to_json() for app in self.partner_applications],
            "problems": [problem.to_json() for problem in self.problems],
            "skipped": list(self.skipped),
        }
        if web_configs:
            document["web_configs"] = [config.to_json() for config in self.web_configs]
        document["exchange_servers"] = [server.to_json() for server in self.exchange_servers]
        if self.trust:  # absent when nothing of the trust was read: older documents unchanged
            document["hybrid_trust"] = self.trust.to_json()
        return document
