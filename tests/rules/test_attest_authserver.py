"""`auditor attest` after the EvoSTS AuthServer change, as an operator runs it: the hybrid
organisation of the real CSS-Exchange samples (trust_cases/README.md) audited with the EvoSTS
naming the first-party app (HT007: Set-AuthServer -ApplicationIdentifier) or with a second
enabled EvoSTS of the tenant (HT008: the duplicate disabled), then the exports after the change:
landed, not landed, a wrong value, the duplicate left enabled, the kept EvoSTS disabled, an
unplanned property change on the planned AuthServer. Exit 0 only when every check passed; each
line names what it compared."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import run_cli
from test_attest_trust import _attest, _failures, _organisation
from test_authserver_plan import APP, APP_ELEMENT, EVOSTS, FIRST_PARTY, IDS_POLICY, TENANT
from test_authserver_plan import _duplicate as duplicate_edit
from test_override_plan import POLICY, SHIPPED_API

pytestmark = pytest.mark.usefixtures("fresh_cli")

SCOPE = "partner-applications,web-config,hybrid-trust"
FIRST_PARTY_ID = "00000002-0000-0ff1-ce00-000000000000"
DUPLICATE = "EvoSts - old HCW"
ENABLED = '<B N="Enabled">true</B>\n      <S N="Name">EvoSts - old HCW</S>'
DUPLICATE_DISABLED = [[ENABLED, ENABLED.replace(">true<", ">false<")]]
# The sample EvoSTS's Enabled (the only AuthServer that is the default authorization endpoint).
KEPT_ENABLED = '<B N="Enabled">true</B>\n      <B N="IsDefaultAuthorizationEndpoint">true</B>'
KEPT_DISABLED = [KEPT_ENABLED, KEPT_ENABLED.replace(">true<", ">false<", 1)]


def _org(tmp_path: Path, css_exchange: Path, label: str, edits: dict[str, list[list[str]]]) -> Path:
    root = _organisation(tmp_path, css_exchange, label, edits)
    web_config = root / "SOLO-E19A" / "FrontEnd" / "HttpProxy" / "Rest" / "web.config"
    web_config.parent.mkdir(parents=True)
    web_config.write_text(SHIPPED_API, encoding="utf-8")
    return root


def _package(tmp_path: Path, before: Path, policy: str, code: int) -> Path:
    (tmp_path / "org.yaml").write_text(policy, encoding="utf-8")
    arguments = ["audit", str(before), "--as-of", "2026-11-26", "--out", "package"]
    arguments += ["--scope", SCOPE, "--policy", "org.yaml"]
    assert run_cli(*arguments).exit_code == code
    plan = json.loads((tmp_path / "package" / "plan.json").read_text(encoding="utf-8"))
    (change_set,) = plan["change_sets"]
    assert change_set["kind"] == "evosts-auth-servers"
    return tmp_path / "package"


@pytest.fixture
def app_id(tmp_path: Path, css_exchange: Path) -> tuple[Path, Path]:
    """Audited with the EvoSTS naming the first-party app; the package sets the policy's app."""
    before = _org(tmp_path, css_exchange, "before", {"AuthServer.xml": FIRST_PARTY})
    return before, _package(tmp_path, before, IDS_POLICY, 1)  # HT007: high


@pytest.fixture
def duplicate(tmp_path: Path, css_exchange: Path) -> tuple[Path, Path]:
    """Audited with a second enabled EvoSTS of the tenant; the package disables it."""
    edits = {"AuthServer.xml": duplicate_edit(DUPLICATE, FIRST_PARTY_ID)}
    before = _org(tmp_path, css_exchange, "before", edits)
    return before, _package(tmp_path, before, POLICY, 0)  # HT008: below high


def _app_after(tmp_path: Path, css_exchange: Path, value: str, *more: list[str]) -> Path:
    edits = [[APP_ELEMENT, f'<S N="ApplicationIdentifier">{value}</S>'], *more]
    return _org(tmp_path, css_exchange, "after", {"AuthServer.xml": edits})


PLANNED = f'AuthServer "{EVOSTS}" (the planned EvoSTS)'
KEPT = f'AuthServer "{EVOSTS}" (the EvoSTS the change keeps)'
DUPLICATE_WHO = f'AuthServer "{DUPLICATE}" (the duplicate EvoSTS)'


def test_the_app_id_landed_written_in_capitals_and_nothing_else_changed(
    tmp_path: Path, css_exchange: Path, app_id: tuple[Path, Path]
) -> None:
    before, package = app_id
    after = _app_after(tmp_path, css_exchange, APP.upper())

    code, output = _attest(before, after, package)

    assert code == 0, output
    lines = output.splitlines()
    for expected in (
        f'ok    AuthServer "{EVOSTS}": before, ApplicationIdentifier is the audited value '
        f'"{FIRST_PARTY_ID}"',
        f'ok    AuthServer "{EVOSTS}": after, ApplicationIdentifier is the target "{APP}" '
        f'(found "{APP.upper()}", compared ignoring case)',
        f"ok    {PLANNED}: after, ApplicationIdentifier is {APP} (found {APP.upper()}; "
        "GUIDs compared ignoring case)",
        f"ok    {PLANNED}: after, it is an enabled EvoSTS (found Enabled True, Type AzureAD)",
        f"ok    {PLANNED}: after, Realm is {TENANT} (found {TENANT})",
    ):
        assert expected in lines, expected
    assert any(
        line.startswith(
            f'ok    AuthServer "{EVOSTS}": no exported property changed but the '
            "planned ApplicationIdentifier (and AD's write stamps)"
        )
        for line in lines
    ), output


def test_the_app_id_not_landed_fails_with_both_values(
    tmp_path: Path, css_exchange: Path, app_id: tuple[Path, Path]
) -> None:
    before, package = app_id
    after = _org(tmp_path, css_exchange, "after", {"AuthServer.xml": FIRST_PARTY})

    code, output = _attest(before, after, package)

    assert code == 1
    assert _failures(output) == [
        f'AuthServer "{EVOSTS}": after, ApplicationIdentifier is the target "{APP}" '
        f'(found "{FIRST_PARTY_ID}")',
        f"{PLANNED}: after, ApplicationIdentifier is {APP} (found {FIRST_PARTY_ID}; GUIDs "
        "compared ignoring case)",
    ]


def test_a_wrong_app_id_fails_with_both_values(
    tmp_path: Path, css_exchange: Path, app_id: tuple[Path, Path]
) -> None:
    before, package = app_id
    wrong = "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a"
    after = _app_after(tmp_path, css_exchange, wrong)

    code, output = _attest(before, after, package)

    assert code == 1
    assert _failures(output) == [
        f'AuthServer "{EVOSTS}": after, ApplicationIdentifier is the target "{APP}" '
        f'(found "{wrong}")',
        f"{PLANNED}: after, ApplicationIdentifier is {APP} (found {wrong}; GUIDs compared "
        "ignoring case)",
    ]


def test_an_unplanned_change_on_the_planned_auth_server_fails(
    tmp_path: Path, css_exchange: Path, app_id: tuple[Path, Path]
) -> None:
    before, package = app_id
    after = _app_after(tmp_path, css_exchange, APP, KEPT_DISABLED)

    code, output = _attest(before, after, package)

    assert code == 1
    assert _failures(output) == [
        f'AuthServer "{EVOSTS}": Enabled changed from "True" to "False" (the plan does not '
        "explain it)",
        f"{PLANNED}: after, it is an enabled EvoSTS (found Enabled False, Type AzureAD)",
    ]


def test_the_duplicate_disabled_and_the_kept_evosts_untouched_pass(
    tmp_path: Path, css_exchange: Path, duplicate: tuple[Path, Path]
) -> None:
    before, package = duplicate
    edits = {"AuthServer.xml": [*duplicate_edit(DUPLICATE, FIRST_PARTY_ID), *DUPLICATE_DISABLED]}
    after = _org(tmp_path, css_exchange, "after", edits)

    code, output = _attest(before, after, package)

    assert code == 0, output
    lines = output.splitlines()
    for expected in (
        f'ok    AuthServer "{DUPLICATE}": before, Enabled is the audited value "True"',
        f'ok    AuthServer "{DUPLICATE}": after, Enabled is the target "False"',
        f"ok    {DUPLICATE_WHO}: after, it is disabled (found Enabled False)",
        f"ok    {KEPT}: after, ApplicationIdentifier is {APP} (found {APP}; GUIDs compared "
        "ignoring case)",
        f"ok    {KEPT}: after, it is an enabled EvoSTS (found Enabled True, Type AzureAD)",
        f"ok    {KEPT}: after, Realm is {TENANT} (found {TENANT})",
        f'ok    Realm {TENANT}: after, "{EVOSTS}" is the only enabled EvoSTS AuthServer (found '
        f"1 enabled: {EVOSTS})",
    ):
        assert expected in lines, expected


def test_the_duplicate_left_enabled_fails(
    tmp_path: Path, css_exchange: Path, duplicate: tuple[Path, Path]
) -> None:
    before, package = duplicate
    edits = {"AuthServer.xml": duplicate_edit(DUPLICATE, FIRST_PARTY_ID)}
    after = _org(tmp_path, css_exchange, "after", edits)

    code, output = _attest(before, after, package)

    assert code == 1
    assert _failures(output) == [
        f'AuthServer "{DUPLICATE}": after, Enabled is the target "False" (found "True")',
        f"{DUPLICATE_WHO}: after, it is disabled (found Enabled True)",
        f'Realm {TENANT}: after, "{EVOSTS}" is the only enabled EvoSTS AuthServer (found 2 '
        f"enabled: {EVOSTS}, {DUPLICATE})",
    ]


def test_the_kept_evosts_disabled_instead_fails(
    tmp_path: Path, css_exchange: Path, duplicate: tuple[Path, Path]
) -> None:
    before, package = duplicate
    edits = {"AuthServer.xml": [*duplicate_edit(DUPLICATE, FIRST_PARTY_ID), KEPT_DISABLED]}
    after = _org(tmp_path, css_exchange, "after", edits)

    code, output = _attest(before, after, package)

    assert code == 1
    failures = _failures(output)
    assert f"{KEPT}: after, it is an enabled EvoSTS (found Enabled False, Type AzureAD)" in (
        failures
    )
    assert f"{DUPLICATE_WHO}: after, it is disabled (found Enabled True)" in failures
    assert (
        f'AuthServer "{EVOSTS}": Enabled changed from "True" to "False" (the plan does not '
        "explain it)"
    ) in failures
