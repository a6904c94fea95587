"""web.config parser: what auditor reads from appSettings, as IIS and Exchange read it."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import REST_PROFILES
from parser_helpers import DATA, raw_input

from auditor.model import AppSetting, ProblemCode, Severity
from auditor.parsers import webconfig, webconfig_settings
from auditor.parsers.base import RawInput

WEBCONFIG = DATA / "webconfig"
REST = "Default Web Site/API"


@dataclass(frozen=True)
class Case:
    file: str
    tokens: tuple[str, ...] | None  # None: no OAuthHttpModule.Profiles at root scope
    line: int | None
    settings: tuple[tuple[str, str, str | None], ...]  # (key, value, location) in order
    has_bom: bool = True
    vdir: str = REST  # the vdir the folder layout gives
    problems: tuple[tuple[ProblemCode, int], ...] = ()  # (code, line)


CASES = [
    Case(
        "rest-default.config",
        REST_PROFILES,
        10,
        (
            ("HttpProxy.ProtocolType", "Rest", None),
            ("HttpProxy.NoMailboxFallbackRouting", "true", None),
            (
                "OAuthHttpModule.Profiles",
                "S2SAppActAs|S2SAppOnly|V1AppActAs|V1AppOnly|Callback|V1S2SActAs|CallbackV2",
                None,
            ),
            ("OAuthHttpModule.V1AppScopes", "*", None),
            ("OAuthHttpModule.V1AppRoles", "*", None),
        ),
    ),
    Case(
        # The commented-out add and the Set-AppConfigValue comment do not count.
        "rest-v1s2sapponly.config",
        (*REST_PROFILES, "V1S2SAppOnly"),
        7,
        (
            ("HttpProxy.ProtocolType", "Rest", None),
            (
                "OAuthHttpModule.Profiles",
                "S2SAppActAs|S2SAppOnly|V1AppActAs|V1AppOnly|Callback|V1S2SActAs|CallbackV2|"
                "V1S2SAppOnly",
                None,
            ),
        ),
    ),
    Case(
        # Split exactly as Exchange does: padding, wrong case and empty segments are kept.
        "messy-tokens.config",
        (" V1AppActAs", " v1s2sapponly", "", "Callback ", ""),
        4,
        (("OAuthHttpModule.Profiles", " V1AppActAs| v1s2sapponly||Callback |", None),),
    ),
    Case(
        # Duplicates stay, in order; the last add wins; a multi-line add has its first line.
        "duplicates.config",
        ("S2SAppActAs", "V1AppActAs", "V1S2SAppOnly"),
        6,
        (
            ("OAuthHttpModule.Profiles", "S2SAppActAs|V1AppActAs", None),
            ("OAuthHttpModule.V1AppScopes", "*", None),
            ("OAuthHttpModule.Profiles", "S2SAppActAs|V1AppActAs|V1S2SAppOnly", None),
        ),
    ),
    Case(
        "remove-clear.config",
        ("S2SAppActAs",),
        10,
        (
            ("Kept", "yes", None),
            ("OAuthHttpModule.Profiles", "S2SAppActAs", None),
            ("OAuthHttpModule.Profiles", "V1S2SAppOnly", "ping.ecp"),
            ("FromPathlessLocation", "root", None),
        ),
        # A Profiles value for a sub-path is not judged: a located problem. A <location>
        # without path is the root scope, so its <appSettings> is a second root section, which
        # .NET refuses (BaseConfigurationRecord: Config_sections_must_be_unique).
        problems=((ProblemCode.INCOMPLETE_EVIDENCE, 14), (ProblemCode.MALFORMED, 20)),
    ),
    Case(
        # An empty value enables nothing: no tokens (not one empty segment); no BOM recorded.
        "no-bom-empty-profiles.config",
        (),
        5,
        (
            ("HttpProxy.ProtocolType", "Ews", None),
            ("OAuthHttpModule.Profiles", "", None),
            ("NoValue", "", None),  # an <add> without value is "" for .NET
        ),
        has_bom=False,
        vdir="Default Web Site/EWS",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.file)
def test_app_settings_and_profiles(case: Case) -> None:
    result = webconfig.parse(raw_input(WEBCONFIG / case.file, server="EX01", vdir=case.vdir))

    assert sorted((p.line or 0, p.code) for p in result.problems) == sorted(
        (line, code) for code, line in case.problems
    )
    (config,) = result.web_configs
    assert [(s.key, s.value, s.location) for s in config.app_settings] == list(case.settings)
    assert config.has_bom is case.has_bom
    if case.tokens is None:
        assert config.oauth_profiles is None
        return
    profiles = config.oauth_profiles
    assert profiles is not None
    assert profiles.tokens == case.tokens
    assert profiles.line == case.line
    assert profiles.evidence.line == case.line
    assert profiles.evidence.raw.startswith("<add")
    assert "OAuthHttpModule.Profiles" in profiles.evidence.raw


def test_every_setting_carries_its_source_line() -> None:
    path = WEBCONFIG / "rest-v1s2sapponly.config"
    lines = path.read_bytes().decode("utf-8-sig").split("\n")
    (config,) = webconfig.parse(raw_input(path, server="EX01", vdir=REST)).web_configs

    for setting in config.app_settings:
        assert setting.raw == lines[setting.line - 1].strip()


def test_duplicates_keep_the_last_add_and_refuse_an_edit_in_place() -> None:
    path = WEBCONFIG / "duplicates.config"
    (config,) = webconfig.parse(raw_input(path, server="EX01", vdir=REST)).web_configs

    assert config.oauth_profiles is not None and config.oauth_profiles.line == 6
    assert config.profiles_edit is not None
    assert "lines 4, 6" in config.profiles_edit.why
    assert config.profiles_edit.line == 6
    assert "delete the add element(s) at line(s) 4" in config.profiles_edit.step


def test_raw_line_is_cut_at_500_characters(tmp_path: object) -> None:
    value = "S2SAppActAs|" * 100
    data = (
        f'<configuration><appSettings><add key="OAuthHttpModule.Profiles" value="{value}" />'
        "</appSettings></configuration>"
    ).encode()
    result = webconfig.parse(raw_input(WEBCONFIG / "x.config", server="S", vdir=REST, data=data))

    (config,) = result.web_configs
    assert config.oauth_profiles is not None
    assert config.oauth_profiles.raw == value
    assert len(config.oauth_profiles.evidence.raw) == 500


@pytest.mark.parametrize(
    ("file", "vdir"),
    [
        ("rest-default.config", "Default Web Site/API"),
        ("no-bom-empty-profiles.config", "Default Web Site/EWS"),
        ("backend-ecp.config", "Exchange Back End/ecp"),
    ],
)
def test_vdir_falls_back_to_protocol_type(file: str, vdir: str) -> None:
    result = webconfig.parse(raw_input(WEBCONFIG / file, server="EX01"))

    assert result.problems == ()
    assert result.web_configs[0].vdir == vdir


def test_given_vdir_is_canonicalised() -> None:
    result = webconfig.parse(
        raw_input(WEBCONFIG / "rest-default.config", server="EX01", vdir="default web site/api")
    )

    assert result.web_configs[0].vdir == "Default Web Site/API"


def test_unknown_server_and_vdir_are_reported_not_guessed() -> None:
    result = webconfig.parse(raw_input(WEBCONFIG / "messy-tokens.config"))

    (config,) = result.web_configs
    assert (config.server, config.vdir) == ("unknown", "unknown")
    assert [p.code for p in result.problems] == [ProblemCode.UNKNOWN_LAYOUT] * 2
    assert all(p.severity is Severity.MEDIUM for p in result.problems)
    assert "--server" in result.problems[0].message


@pytest.mark.parametrize(
    ("file", "code", "line"),
    [
        ("not-a-web-config.config", ProblemCode.MALFORMED, 2),
        ("truncated.config", ProblemCode.MALFORMED, 5),
    ],
)
def test_bad_files_are_problems_not_exceptions(file: str, code: ProblemCode, line: int) -> None:
    result = webconfig.parse(raw_input(WEBCONFIG / file, server="EX01", vdir=REST))

    assert result.web_configs == ()
    (problem,) = result.problems
    assert (problem.code, problem.line) == (code, line)
    assert problem.path.endswith(file)


def test_bad_encoding_is_a_problem() -> None:
    data = b"<configuration><appSettings><add key='k' value='\xff\xfe\xfa' /></appSettings>"
    result = webconfig.parse(raw_input(WEBCONFIG / "bad.config", server="S", data=data + b"</x>"))

    assert [p.code for p in result.problems] == [ProblemCode.BAD_ENCODING]


def test_too_large_is_refused_before_parsing() -> None:
    data = b" " * (webconfig.MAX_WEB_CONFIG_BYTES + 1)
    result = webconfig.parse(raw_input(WEBCONFIG / "big.config", server="S", data=data))

    assert [p.code for p in result.problems] == [ProblemCode.TOO_LARGE]


@pytest.mark.parametrize(
    ("value", "tokens"),
    [
        ("", ()),
        ("V1AppActAs", ("V1AppActAs",)),
        ("|", ("", "")),
        ("a||b", ("a", "", "b")),
        (" a |b", (" a ", "b")),
    ],
)
def test_split_profiles_matches_exchange(value: str, tokens: tuple[str, ...]) -> None:
    assert webconfig.split_profiles(value) == tokens


def test_namespaced_configuration_is_read() -> None:
    data = (
        b'<configuration xmlns="http://schemas.microsoft.com/.NetConfiguration/v2.0">\n'
        b'<appSettings>\n<add key="OAuthHttpModule.Profiles" value="V1AppActAs" />\n'
        b"</appSettings></configuration>"
    )
    result = webconfig.parse(raw_input(WEBCONFIG / "ns.config", server="S", vdir=REST, data=data))

    profiles = result.web_configs[0].oauth_profiles
    assert profiles is not None
    assert (profiles.tokens, profiles.line) == (("V1AppActAs",), 3)


def _appsettings_case(folder: Path, reference: str) -> Path:
    folder.mkdir(parents=True)
    web_config = folder / "web.config"
    web_config.write_text(
        f'<configuration>\n  <appSettings file="{reference}" />\n</configuration>\n',
        encoding="utf-8",
    )
    return web_config


def test_appsettings_file_behind_a_symbolic_link_is_not_read(tmp_path: Path) -> None:
    outside = tmp_path / "outside.config"
    outside.write_text(
        '<appSettings><add key="OAuthHttpModule.Profiles" value="V1S2SAppOnly" /></appSettings>',
        encoding="utf-8",
    )
    web_config = _appsettings_case(tmp_path / "Rest", "linked.config")
    (tmp_path / "Rest" / "linked.config").symlink_to(outside)

    result = webconfig.parse(raw_input(web_config, server="EX01", vdir=REST))

    (problem,) = result.problems
    assert (problem.code, problem.line) == (ProblemCode.INCOMPLETE_EVIDENCE, 2)
    assert "symbolic link" in problem.message
    assert result.web_configs[0].oauth_profiles is None


def test_appsettings_file_is_read_from_the_location_on_disk(tmp_path: Path) -> None:
    """The display path may be relative to another folder; the file is found by `location`."""
    web_config = _appsettings_case(tmp_path / "EX01" / "Rest", "oauth.config")
    (web_config.parent / "oauth.config").write_text(
        '<appSettings><add key="OAuthHttpModule.Profiles" value="S2SAppActAs" /></appSettings>',
        encoding="utf-8",
    )
    data = web_config.read_bytes()
    raw = RawInput(
        path="EX01/Rest/web.config",
        data=data,
        sha256="0" * 64,
        server="EX01",
        vdir=REST,
        location=web_config,
    )

    result = webconfig.parse(raw)

    assert result.problems == ()
    profiles = result.web_configs[0].oauth_profiles
    assert profiles is not None and profiles.tokens == ("S2SAppActAs",)
    assert profiles.evidence.path == str(Path("EX01/Rest/oauth.config"))


def test_add_without_key_is_malformed() -> None:
    data = (
        b"<configuration>\n<appSettings>\n"
        b'<add value="V1S2SAppOnly" />\n'
        b"</appSettings>\n</configuration>"
    )

    result = webconfig.parse(raw_input(WEBCONFIG / "x.config", server="EX01", vdir=REST, data=data))

    (problem,) = result.problems
    assert (problem.code, problem.line) == (ProblemCode.MALFORMED, 3)
    assert result.web_configs[0].app_settings == ()


def _settings_of(data: bytes, server: str) -> tuple[AppSetting, ...]:
    result = webconfig.parse(
        raw_input(Path(f"{server}.config"), server=server, vdir="owa", data=data)
    )
    (config,) = result.web_configs
    return config.app_settings


_SHARED_CONFIG = (
    b'<configuration>\n  <appSettings>\n    <add key="A" value="1" />\n'
    b'    <add key="B" value="2" /><add key="B" value="3" />\n  </appSettings>\n</configuration>\n'
)


def test_servers_holding_the_same_add_share_one_record_of_it() -> None:
    first = _settings_of(_SHARED_CONFIG, "EX01")
    again = _settings_of(_SHARED_CONFIG + b"<!-- EX02 -->\n", "EX02")

    assert [(s.key, s.value, s.line) for s in first] == [
        ("A", "1", 3),
        ("B", "2", 4),
        ("B", "3", 4),
    ]
    assert again == first
    assert all(mine is theirs for mine, theirs in zip(first, again, strict=True))
    # one line, two adds: two records, each its own value
    assert first[1] is not first[2]
    moved = _settings_of(_SHARED_CONFIG.replace(b"<appSettings>", b"<appSettings>\n"), "EX03")
    assert [s.line for s in moved] == [4, 5, 5]  # another line: another record


def test_a_fleet_of_more_distinct_adds_than_are_kept_reads_each_right(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    kept = functools.lru_cache(maxsize=3)(webconfig_settings._shared_setting.__wrapped__)
    monkeypatch.setattr(webconfig_settings, "_shared_setting", kept)
    for index in range(10):
        data = _SHARED_CONFIG.replace(b'value="1"', f'value="{index}"'.encode())
        settings = _settings_of(data, f"EX{index:02d}")
        assert [s.value for s in settings] == [str(index), "2", "3"]
        assert kept.cache_info().currsize <= 3


_SECTION_VARIANTS = [
    _SHARED_CONFIG,
    _SHARED_CONFIG.replace(b"<appSettings>", b"<appSettings>\n"),
    _SHARED_CONFIG.replace(b"<configuration>\n", b"<configuration>\n\n"),  # the same, a line on
    _SHARED_CONFIG.replace(b'<add key="A" value="1" />', b'<remove key="B" />'),
    _SHARED_CONFIG.replace(
        b"  </appSettings>", b'    <clear />\n    <add key="C" />\n  </appSettings>'
    ),
    _SHARED_CONFIG.replace(b"<configuration>", b'<configuration>\n<location path="api">').replace(
        b"</configuration>", b"</location>\n</configuration>"
    ),
    _SHARED_CONFIG.replace(b"</configuration>", _SHARED_CONFIG[15:].replace(b'"3"', b'"4"')),
    _SHARED_CONFIG.replace(b"  </appSettings>", b'    <add value="no key" />\n  </appSettings>'),
    _SHARED_CONFIG.replace(b'<add key="A"', b'<add\n      key="A"'),
    _SHARED_CONFIG.replace(b"<configuration>", b'<configuration xmlns:x="urn:x">').replace(
        b'<add key="A"', b'<x:add key="A"'
    ),
]


def _read_all(variants: list[bytes]) -> list[webconfig.ParseResult]:
    """Each variant read as the file named by its place in `_SECTION_VARIANTS`."""
    return [
        webconfig.parse(
            raw_input(
                Path(f"EX{_SECTION_VARIANTS.index(data):02d}.config"),
                server="EX",
                vdir="owa",
                data=data,
            )
        )
        for data in variants
    ]


def test_a_section_read_before_gives_what_it_gave_then(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every variant read after every other (the tables warm) gives what it gives read first
    (the tables empty): its settings, root entries, problems and profiles."""
    alone = []
    for data in _SECTION_VARIANTS:
        monkeypatch.setattr(webconfig_settings, "_sections", {})
        webconfig_settings._shared_setting.cache_clear()
        alone.extend(_read_all([data]))
    for order in (_SECTION_VARIANTS, _SECTION_VARIANTS[::-1]):
        warm = _read_all(order * 2)
        expected = alone if order is _SECTION_VARIANTS else alone[::-1]
        assert [result.web_configs for result in warm] == [
            result.web_configs for result in expected * 2
        ]
        assert [
            [(problem.code, problem.message, problem.line) for problem in result.problems]
            for result in warm
        ] == [
            [(problem.code, problem.message, problem.line) for problem in result.problems]
            for result in expected * 2
        ]
