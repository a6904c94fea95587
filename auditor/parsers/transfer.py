"""What a reading worker sends back, as plain values: `to_plain` in the worker, `from_plain` in
the parent, and `from_plain(to_plain(state)) == state`.

The records that come once per file or more (web.configs, their settings and OAuth profiles,
problems, the source of each file) travel as tuples of strings, numbers and None: pickling the
frozen dataclasses of a fleet cost the parent 0.11 s at 100 servers, the tuples and the
dataclasses built from them 0.043 s (measured on the `benchmarks/fleet.py` fleet). The
records that come once per export (partner applications, Exchange servers, the trust
records, an edit refusal)
and the companions of `auditor collect` travel as they are.

A setting travels once a run: the web.config parser shares one record among the files that
hold the same add (`webconfig_settings._shared_setting`), so a run sends a table of its distinct
settings (their fields read by `attrgetter`) and each web.config the indices of its own; the
parent builds each distinct setting once (`_received_setting`: across runs too) and the web.configs
share them as the worker's did. Measured on the 500-server fleet of
`benchmarks/fleet.py` (150,000 settings; a run of 482 files holds 5,202, of which 251 are
distinct): the parent's rebuilding of the results took 0.87 s before and 0.23 s after
(`cProfile` of `parse --json --jobs 2`), and with the parser's sharing that command took 0.80x
the wall time (`farm-bench -n 8` paired runs, median). Texts need no
interning here: the web.config parser interns them in the worker, and `pickle` sends a text
shared within a run once, so the parent holds one copy of each per run.

`tests/parsers/test_parallel.py` holds the field lists here to the dataclasses' own: a field
added to a model class must be added here too.
"""

from __future__ import annotations

import functools
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

# (results, skipped, inputs, others, companions, member placements, excluded, settings); a
# result is a tuple whose first item says what it is: `_PROBLEM` or `_RESULT`; settings are
# the fields of the run's distinct settings, which the web.configs name by index.
PlainState = tuple[
    list[tuple[Any, ...]],
    list[str],
    list[tuple[str, str]],
    list[tuple[str, str | None]],
    list[CompanionFile],
    list[tuple[str | None, str | None, str | None]],
    list[tuple[str, str, bool]],
    list[tuple[Any, ...]],
]

# The fields of an AppSetting in order, read in C: the most numerous record of a fleet.
_setting_fields = attrgetter("key", "value", "line", "raw", "location", "path", "sha256")
_PROBLEM = 0
_RESULT = 1
_FORMATS = {member.value: member for member in InputFormat}
_CODES = {member.value: member for member in ProblemCode}
_SEVERITIES = {member.value: member for member in Severity}


class _SettingTable:
    """The distinct settings of a run, in the order first met, and the index of each."""

    def __init__(self) -> None:
        self.settings: list[AppSetting] = []
        self.index: dict[int, int] = {}  # id() of a setting held in `settings`: its index

    def indices(self, settings: tuple[AppSetting, ...]) -> list[int]:
        index = self.index
        found: list[int] = []
        for setting in settings:
            number = index.get(id(setting))
            if number is None:
                number = index[id(setting)] = len(self.settings)
                self.settings.append(setting)
            found.append(number)
        return found


def to_plain(state: ReaderState) -> PlainState:
    """A reader's state as plain values (see the module docstring)."""
    table = _SettingTable()
    return (
        [
            _problem_plain(result) if isinstance(result, Problem) else _result_plain(result, table)
            for result in state.results
        ],
        state.skipped,
        list(state.inputs.items()),
        list(state.others.items()),
        state.companions,
        [(place.server, place.vdir, place.relative_path) for place in state.member_placements],
        [(item.path, item.reason, item.own_output) for item in state.excluded],
        list(map(_setting_fields, table.settings)),
    )


def from_plain(plain: PlainState) -> ReaderState:
    """The reader's state `to_plain` was given, equal to it."""
    results, skipped, inputs, others, companions, placements, excluded, table = plain
    settings = list(map(_received_setting, table))
    return ReaderState(
        results=[
            _problem(result) if result[0] == _PROBLEM else _result(result, settings)
            for result in results
        ],
        skipped=skipped,
        inputs=dict(inputs),
        others=dict(others),
        companions=companions,
        member_placements=[Placement(*place) for place in placements],
        excluded=[Excluded(*item) for item in excluded],
    )


# The settings received so far, by their fields, at most 65,536 (the least recently used go
# first): the runs of a fleet share their settings in the parent as the files of a run do.
@functools.lru_cache(maxsize=1 << 16)
def _received_setting(fields: tuple[Any, ...]) -> AppSetting:
    return AppSetting(*fields)


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


def _result_plain(result: ParseResult, table: _SettingTable) -> tuple[Any, ...]:
    source = result.source
    return (
        _RESULT,
        (source.path, source.sha256, source.format.value if source.format else None),
        result.partner_applications,
        [_web_config_plain(config, table) for config in result.web_configs],
        [_problem_plain(problem) for problem in result.problems],
        result.exchange_servers,
        result.trust,
    )


def _result(plain: tuple[Any, ...], settings: list[AppSetting]) -> ParseResult:
    _, (path, sha256, source_format), applications, configs, problems, servers, trust = plain
    return ParseResult(
        source=SourceFile(path, sha256, _FORMATS[source_format] if source_format else None),
        partner_applications=applications,
        web_configs=tuple(_web_config(config, settings) for config in configs),
        problems=tuple(_problem(problem) for problem in problems),
        exchange_servers=servers,
        trust=trust,
    )


def _web_config_plain(config: WebConfig, table: _SettingTable) -> tuple[Any, ...]:
    profiles = config.oauth_profiles
    return (
        config.server,
        config.vdir,
        config.path,
        config.sha256,
        table.indices(config.app_settings),
        None
        if profiles is None
        else (profiles.raw, profiles.tokens, profiles.line, _evidence_plain(profiles.evidence)),
        config.has_bom,
        config.inherits_profiles,
        config.inherited_from,
        config.profiles_edit,
    )


def _web_config(plain: tuple[Any, ...], settings: list[AppSetting]) -> WebConfig:
    server, vdir, path, sha256, indices, profiles, *rest = plain
    has_bom, inherits_profiles, inherited_from, profiles_edit = rest
    return WebConfig(
        server,
        vdir,
        path,
        sha256,
        tuple(map(settings.__getitem__, indices)),
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
