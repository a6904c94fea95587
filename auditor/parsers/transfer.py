"""What a reading worker sends back, as plain values: `to_plain` in the worker, `from_plain` in
the parent, and `from_plain(to_plain(state)) == state`.

The records that come once per file or more (web.configs, their settings and OAuth profiles,
problems, the source of each file) travel as tuples of strings, numbers and None: pickling the
frozen dataclasses of a fleet cost the parent 0.11 s at 100 servers, the tuples and the
dataclasses built from them 0.043 s (measured on the `benchmarks/fleet.py` fleet). The
records that come once per export (partner applications, Exchange servers, the trust
records, an edit refusal)
and the companions of `auditor collect` travel as they are.

A setting's fields are read by `attrgetter` and its dataclass rebuilt by `starmap`, both in C:
written and read back, the state of a 100-server reading cost 0.023 s and 0.047 s (best of 3,
`pickle` included) against 0.031 s and 0.104 s with a Python expression per setting and its
texts interned again. Texts need no interning here: the web.config parser interns them in the
worker, and `pickle` sends a text shared within a run once, so the parent holds one copy of
each per run.

`tests/parsers/test_parallel.py` holds the field lists here to the dataclasses' own: a field
added to a model class must be added here too.
"""

from __future__ import annotations

from itertools import starmap
from operator import attrgetter
from typing import Any

from auditor.layout import Placement
from auditor.model import (
    AppSetting,
    Evidence,
    Excluded,
    InputFormat,
    OAuthProfiles,
    ParseResult,
    Problem,
    ProblemCode,
    Severity,
    SourceFile,
    WebConfig,
)
from auditor.parsers.collected import CompanionFile
from auditor.parsers.reading import ReaderState

__all__ = ["PlainState", "from_plain", "to_plain"]

# (results, skipped, inputs, others, companions, member placements, excluded); a result is a
# tuple whose first item says what it is: `_PROBLEM` or `_RESULT`.
PlainState = tuple[
    list[tuple[Any, ...]],
    list[str],
    list[tuple[str, str]],
    list[tuple[str, str | None]],
    list[CompanionFile],
    list[tuple[str | None, str | None, str | None]],
    list[tuple[str, str, bool]],
]

# The fields of an AppSetting in order, read in C: the most numerous record of a fleet.
_setting_fields = attrgetter("key", "value", "line", "raw", "location", "path", "sha256")
_PROBLEM = 0
_RESULT = 1
_FORMATS = {member.value: member for member in InputFormat}
_CODES = {member.value: member for member in ProblemCode}
_SEVERITIES = {member.value: member for member in Severity}


def to_plain(state: ReaderState) -> PlainState:
    """A reader's state as plain values (see the module docstring)."""
    return (
        [
            _problem_plain(result) if isinstance(result, Problem) else _result_plain(result)
            for result in state.results
        ],
        state.skipped,
        list(state.inputs.items()),
        list(state.others.items()),
        state.companions,
        [(place.server, place.vdir, place.relative_path) for place in state.member_placements],
        [(item.path, item.reason, item.own_output) for item in state.excluded],
    )


def from_plain(plain: PlainState) -> ReaderState:
    """The reader's state `to_plain` was given, equal to it."""
    results, skipped, inputs, others, companions, placements, excluded = plain
    return ReaderState(
        results=[
            _problem(result) if result[0] == _PROBLEM else _result(result) for result in results
        ],
        skipped=skipped,
        inputs=dict(inputs),
        others=dict(others),
        companions=companions,
        member_placements=[Placement(*place) for place in placements],
        excluded=[Excluded(*item) for item in excluded],
    )


def _problem_plain(problem: Problem) -> tuple[Any, ...]:
    return (
        _PROBLEM,
        problem.code.value,
        problem.message,
        problem.path,
        problem.line,
        problem.severity.value,
        problem.subject,
    )


def _problem(plain: tuple[Any, ...]) -> Problem:
    _, code, message, path, line, severity, subject = plain
    return Problem(_CODES[code], message, path, line, _SEVERITIES[severity], subject)


def _result_plain(result: ParseResult) -> tuple[Any, ...]:
    source = result.source
    return (
        _RESULT,
        (source.path, source.sha256, source.format.value if source.format else None),
        result.partner_applications,
        [_web_config_plain(config) for config in result.web_configs],
        [_problem_plain(problem) for problem in result.problems],
        result.exchange_servers,
        result.trust,
    )


def _result(plain: tuple[Any, ...]) -> ParseResult:
    _, (path, sha256, source_format), applications, configs, problems, servers, trust = plain
    return ParseResult(
        source=SourceFile(path, sha256, _FORMATS[source_format] if source_format else None),
        partner_applications=applications,
        web_configs=tuple(_web_config(config) for config in configs),
        problems=tuple(_problem(problem) for problem in problems),
        exchange_servers=servers,
        trust=trust,
    )


def _web_config_plain(config: WebConfig) -> tuple[Any, ...]:
    profiles = config.oauth_profiles
    return (
        config.server,
        config.vdir,
        config.path,
        config.sha256,
        list(map(_setting_fields, config.app_settings)),
        None
        if profiles is None
        else (profiles.raw, profiles.tokens, profiles.line, _evidence_plain(profiles.evidence)),
        config.has_bom,
        config.inherits_profiles,
        config.inherited_from,
        config.profiles_edit,
    )


def _web_config(plain: tuple[Any, ...]) -> WebConfig:
    server, vdir, path, sha256, settings, profiles, *rest = plain
    has_bom, inherits_profiles, inherited_from, profiles_edit = rest
    return WebConfig(
        server,
        vdir,
        path,
        sha256,
        tuple(starmap(AppSetting, settings)),
        None
        if profiles is None
        else OAuthProfiles(profiles[0], profiles[1], profiles[2], _evidence(profiles[3])),
        has_bom,
        inherits_profiles,
        inherited_from,
        profiles_edit,
    )


def _evidence_plain(evidence: Evidence) -> tuple[Any, ...]:
    return (
        evidence.path,
        evidence.line,
        evidence.raw,
        evidence.sha256,
        evidence.format.value,
        evidence.server,
    )


def _evidence(plain: tuple[Any, ...]) -> Evidence:
    path, line, raw, sha256, evidence_format, server = plain
    return Evidence(path, line, raw, sha256, _FORMATS[evidence_format], server)
