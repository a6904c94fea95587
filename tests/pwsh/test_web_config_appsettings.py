"""The web.config script selects OAuthHttpModule.Profiles as .NET does, and the parser agrees.

.NET's own configuration system is the judge (`dotnet_appsettings.ps1`: ConfigurationManager,
a KeyValueConfigurationCollection with OrdinalIgnoreCase keys, add/remove/clear in order):

- the parser's effective value (`auditor.appsettings.effective_add`) equals .NET's on a
  deterministic set of appSettings sequences (keys in several cases, remove, clear, file=);
- the script, run against the stand-in on a live file an adversary changed after the audit
  (a later add of the key in another case; a case-variant remove then add; a lower-case add
  shadowed by the exact one; an add disguised by attributes named like node properties; the
  key in lower case alone; the file re-encoded as Windows-1252; a later add in the `file=`
  file), refuses before writing anything; on a file it may edit (one add,
  a case-variant remove before it) it reports AUDITOR-CHANGED and .NET then reads the target.
  Never AUDITOR-CHANGED while .NET still reads the audited (V1S2SAppOnly) value.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import harness
import pytest
import scenarios
from test_web_config import Story, _new_story, step

from auditor.parsers import webconfig
from auditor.parsers.base import RawInput

pytestmark = pytest.mark.pwsh

KEY = "OAuthHttpModule.Profiles"


@pytest.fixture(autouse=True, scope="module")
def _report_powershell_time(pytestconfig: pytest.Config) -> None:
    harness.register_time_report(pytestconfig)


def _rest_case() -> scenarios.WebConfigCase:
    return next(case for case in scenarios.fixture_cases() if "rest" in case.label)


def _profiles_line_end(data: bytes) -> int:
    """The offset just after the line holding the one exact-case Profiles add."""
    _start, end = scenarios.profiles_value_span(data)
    return data.index(b"\n", end) + 1


def _profiles_line_start(data: bytes) -> int:
    start, _end = scenarios.profiles_value_span(data)
    return data.rindex(b"\n", 0, start) + 1


def _after_profiles(data: bytes, lines: str) -> bytes:
    cut = _profiles_line_end(data)
    return data[:cut] + lines.encode("ascii") + data[cut:]


def _before_profiles(data: bytes, lines: str) -> bytes:
    cut = _profiles_line_start(data)
    return data[:cut] + lines.encode("ascii") + data[cut:]


# Live files an adversary made after the audit: .NET's effective value is still the audited
# one (so the value guard passes), but the exact-case add the old script edited is shadowed, or
# shadows an add that keeps the token.
def _later_case_variant_add(audited: bytes, value: str) -> bytes:
    return _after_profiles(
        audited, f'    <add key="oauthhttpmodule.profiles" value="{value}" />\r\n'
    )


def _case_variant_remove_then_add(audited: bytes, value: str) -> bytes:
    return _after_profiles(
        audited,
        '    <remove key="OAUTHHTTPMODULE.PROFILES" />\r\n'
        f'    <add key="oAuthHttpModule.profiles" value="{value}" />\r\n',
    )


def _shadowed_lower_case_add(audited: bytes, value: str) -> bytes:
    return _before_profiles(
        audited, f'    <add key="oauthhttpmodule.profiles" value="{value}" />\r\n'
    )


def _add_disguised_by_attributes(audited: bytes, value: str) -> bytes:
    # PowerShell's XML adapter lets an attribute shadow a node property ($node.LocalName):
    # the script reads node properties through their get_ methods, so this add still counts.
    return _after_profiles(
        audited,
        f'    <add LocalName="comment" NodeType="Comment" key="oauthhttpmodule.profiles" '
        f'value="{value}" />\r\n',
    )


def _lower_case_key_alone(audited: bytes, value: str) -> bytes:
    start = _profiles_line_start(audited)
    return audited[:start] + audited[start:].replace(
        b'"OAuthHttpModule.Profiles"', b'"oauthhttpmodule.profiles"', 1
    )


def _windows_1252(audited: bytes, value: str) -> bytes:
    text = audited.decode("utf-8").replace('encoding="utf-8"', 'encoding="windows-1252"', 1)
    encoded = text.encode("cp1252")
    assert b"Z\xfcrich" in encoded  # the fixture's comment: not UTF-8 any more
    return encoded


REFUSED = {
    "later-case-variant-add": _later_case_variant_add,
    "case-variant-remove-then-add": _case_variant_remove_then_add,
    "shadowed-lower-case-add": _shadowed_lower_case_add,
    "lower-case-key-alone": _lower_case_key_alone,
    "windows-1252": _windows_1252,
}
# What the AUDITOR-EDIT-REFUSED line says, per case (default: two adds can set the key).
REFUSAL_TEXT = {
    "lower-case-key-alone": "the key of its effective add element is not written",
    "windows-1252": "is not UTF-8",
}
# .NET refuses a file with unknown attributes on an add (ConfigurationErrorsException), so only
# the script's refusal is checked for this one.
REFUSED_NOT_READ_BY_DOTNET = {"add-disguised-by-attributes": _add_disguised_by_attributes}


@pytest.fixture(scope="module")
def stories(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Story]:
    harness.require_pwsh()
    root = tmp_path_factory.mktemp("appsettings")
    case = _rest_case()
    audited_value = scenarios.profiles_value(case.audited)
    makers: dict[str, Callable[[], Story]] = {}

    # The plan was made from the clean audited file; the live file differs.
    change_set = scenarios.web_config_change_set("EX-appsettings", [case])
    remediation_text, _ = scenarios.render(change_set)
    script = scenarios.write_script(
        root / "scripts" / "refused", "remediation.ps1", remediation_text
    )
    for label, make in {**REFUSED, **REFUSED_NOT_READ_BY_DOTNET}.items():
        live = make(case.audited, audited_value)

        def refused(label: str = label, live: bytes = live) -> Story:
            story = _new_story(root / label, [case], {case.relative_path: live}, "EX-appsettings")
            return story.play([step("remediation", script, story, Confirm=False)])

        makers[label] = refused

    # A file the script may edit: a case-variant remove before the one exact-case add.
    edited = scenarios.WebConfigCase(
        label="remove-before-add",
        vdir=case.vdir,
        relative_path=case.relative_path,
        app_pool=case.app_pool,
        original=_before_profiles(
            case.original, '    <remove key="oauthhttpmodule.PROFILES" />\r\n'
        ),
        audited=_before_profiles(case.audited, '    <remove key="oauthhttpmodule.PROFILES" />\r\n'),
    )
    edit_remediation, edit_rollback = (
        scenarios.write_script(root / "scripts" / "edited", name, text)
        for name, text in zip(
            ("remediation.ps1", "rollback.ps1"),
            scenarios.render(scenarios.web_config_change_set("EX-edited", [edited])),
            strict=True,
        )
    )

    def remove_before_add() -> Story:
        story = _new_story(root / "remove-before-add", [edited], computer_name="EX-edited")
        return story.play(
            [
                step("remediation", edit_remediation, story, Confirm=False),
                step("rollback", edit_rollback, story, Confirm=False),
            ]
        )

    makers["remove-before-add"] = remove_before_add

    # <appSettings file="extra.config">: .NET applies the named file after the section's own
    # children. Without the key there, the web.config's add is edited; with a later add of the
    # key there (the live server differs from the audit), the script refuses.
    merged = scenarios.WebConfigCase(
        label="file-without-key",
        vdir=case.vdir,
        relative_path=case.relative_path,
        app_pool=case.app_pool,
        original=_with_file_attribute(case.original),
        audited=_with_file_attribute(case.audited),
    )
    extra_path = case.relative_path.rsplit("\\", 1)[0] + "\\" + EXTRA
    merged_remediation = scenarios.write_script(
        root / "scripts" / "merged",
        "remediation.ps1",
        scenarios.render(scenarios.web_config_change_set("EX-merged", [merged]))[0],
    )
    for label, extra in (
        ("file-without-key", EXTRA_WITHOUT_KEY),
        ("file-with-later-add", _extra_with_key(audited_value)),
    ):

        def with_file(label: str = label, extra: bytes = extra) -> Story:
            files = {merged.relative_path: merged.audited, extra_path: extra}
            story = _new_story(root / label, [merged], files, "EX-merged")
            return story.play([step("remediation", merged_remediation, story, Confirm=False)])

        makers[label] = with_file
    return harness.run_stories(makers)


EXTRA = "extra.config"
EXTRA_WITHOUT_KEY = b'<appSettings>\r\n  <add key="Other" value="1" />\r\n</appSettings>\r\n'


def _extra_with_key(value: str) -> bytes:
    return (
        f'<appSettings>\r\n  <add key="oauthhttpmodule.profiles" value="{value}" />\r\n'
        "</appSettings>\r\n"
    ).encode("ascii")


def _with_file_attribute(data: bytes) -> bytes:
    return data.replace(b"<appSettings>", f'<appSettings file="{EXTRA}">'.encode(), 1)


def _dotnet_after(
    story: Story, label: str, workdir: Path, extra: bytes | None = None
) -> tuple[str | None, str | None]:
    """.NET's effective Profiles of the (one) file before and after the run `label` (with
    `extra` as the file its appSettings file= names)."""
    if extra is not None:
        (workdir / EXTRA).write_bytes(extra)
    ((before,),) = [tuple(story.files_before[label].values())]
    ((after,),) = [tuple(story.files_after[label].values())]
    paths = [workdir / "before.config", workdir / "after.config"]
    paths[0].write_bytes(before)
    paths[1].write_bytes(after)
    found = harness.dotnet_profiles(paths, workdir)
    return found[paths[0]], found[paths[1]]


@pytest.mark.parametrize("label", sorted({**REFUSED, **REFUSED_NOT_READ_BY_DOTNET}))
def test_an_adversarial_live_file_is_refused_before_anything_is_written(
    stories: dict[str, Story], label: str, tmp_path: Path
) -> None:
    story = stories[label]
    run = story.runs["remediation"]
    assert run.exit_code != 0, run.describe()
    assert "AUDITOR-CHANGED" not in run.output, run.describe()
    assert "AUDITOR-EDIT-REFUSED" in run.output, run.describe()
    expected = REFUSAL_TEXT.get(label, "2 add elements that can set OAuthHttpModule.Profiles")
    assert expected in run.output, run.describe()
    assert story.files_after["remediation"] == story.files_before["remediation"]
    assert story.backups_after["remediation"] == {}
    assert story.recycles("remediation") == {}
    if label in REFUSED_NOT_READ_BY_DOTNET:
        return
    before, after = _dotnet_after(story, "remediation", tmp_path)
    assert before == after == scenarios.profiles_value(_rest_case().audited)
    assert before is not None and "V1S2SAppOnly" in before.split("|")


def test_an_editable_file_reads_the_target_as_dotnet_reads_it(
    stories: dict[str, Story], tmp_path: Path
) -> None:
    story = stories["remove-before-add"]
    run = story.runs["remediation"]
    assert run.exit_code == 0, run.describe()
    assert "AUDITOR-CHANGED" in run.output, run.describe()
    before, after = _dotnet_after(story, "remediation", tmp_path)
    case = _rest_case()
    assert before == scenarios.profiles_value(case.audited)
    assert after == scenarios.profiles_value(case.original)
    assert story.recycles("remediation") == {case.app_pool: 1}
    rollback = story.runs["rollback"]
    assert rollback.exit_code == 0, rollback.describe()
    assert story.files_after["rollback"] == story.files_before["remediation"]


# --- the parser against .NET's reader -------------------------------------------------------


def _random_sequences(count: int) -> list[list[str]]:
    """appSettings children: Profiles adds and removes in several cases, clears, other keys."""
    rng = random.Random(20261207)
    spellings = [
        KEY,
        KEY.lower(),
        KEY.upper(),
        "oAuthHttpModule.profiles",
        "OAuthHttpModule.Profile",
    ]
    sequences = []
    for index in range(count):
        children = []
        for position in range(rng.randint(0, 6)):
            kind = rng.choice(["add", "add", "add", "remove", "clear", "other"])
            key = rng.choice(spellings)
            if kind == "add":
                children.append(f'<add key="{key}" value="v{index}-{position}" />')
            elif kind == "remove":
                children.append(f'<remove key="{key}" />')
            elif kind == "clear":
                children.append("<clear />")
            else:
                children.append(f'<add key="Other{position}" value="o" />')
        sequences.append(children)
    return sequences


def test_the_parser_reads_the_effective_value_as_dotnet_does(tmp_path: Path) -> None:
    files: list[tuple[Path, bytes]] = []
    for index, children in enumerate(_random_sequences(120)):
        body = "\n".join(f"    {child}" for child in children)
        text = f"<configuration>\n  <appSettings>\n{body}\n  </appSettings>\n</configuration>\n"
        files.append((tmp_path / f"case{index:03d}.config", text.encode("ascii")))
    # file=: the named file's children apply after the section's own, as .NET merges them.
    merged = tmp_path / "merged"
    merged.mkdir()
    (merged / "extra.config").write_bytes(
        b'<appSettings>\n  <remove key="oauthhttpmodule.profiles" />\n'
        b'  <add key="OTHER" value="x" />\n</appSettings>\n'
    )
    files.append(
        (
            merged / "web.config",
            b'<configuration>\n  <appSettings file="extra.config">\n'
            b'    <add key="OAuthHttpModule.Profiles" value="merged" />\n'
            b"  </appSettings>\n</configuration>\n",
        )
    )
    for path, data in files:
        path.write_bytes(data)
    dotnet = harness.dotnet_profiles([path for path, _ in files], tmp_path)
    seen_values = set()
    for path, data in files:
        raw = RawInput(path=str(path), data=data, sha256="0" * 64, server="EX01", location=path)
        (config,) = webconfig.parse(raw).web_configs
        ours = config.oauth_profiles.raw if config.oauth_profiles is not None else None
        assert ours == dotnet[path], (path.name, data.decode())
        seen_values.add(ours is None)
    assert seen_values == {True, False}  # both outcomes were exercised


def test_a_file_attribute_without_the_key_is_edited_and_read_back_with_that_file(
    stories: dict[str, Story], tmp_path: Path
) -> None:
    story = stories["file-without-key"]
    run = story.runs["remediation"]
    assert run.exit_code == 0, run.describe()
    assert "AUDITOR-CHANGED" in run.output, run.describe()
    before, after = _dotnet_after(story, "remediation", tmp_path, EXTRA_WITHOUT_KEY)
    case = _rest_case()
    assert (before, after) == (
        scenarios.profiles_value(case.audited),
        scenarios.profiles_value(case.original),
    )


def test_a_later_add_in_the_file_attribute_file_is_refused(
    stories: dict[str, Story], tmp_path: Path
) -> None:
    story = stories["file-with-later-add"]
    run = story.runs["remediation"]
    assert run.exit_code != 0, run.describe()
    assert "AUDITOR-CHANGED" not in run.output, run.describe()
    assert "its effective add element is in the file" in run.output, run.describe()
    assert story.files_after["remediation"] == story.files_before["remediation"]
    assert story.backups_after["remediation"] == {}
    audited = scenarios.profiles_value(_rest_case().audited)
    extra = _extra_with_key(audited)
    assert _dotnet_after(story, "remediation", tmp_path, extra) == (audited, audited)
