"""`auditor attest` on the hybrid trust, as an operator runs it after the dedicated-app override
change: the hybrid organisation of the real CSS-Exchange samples (trust_cases/README.md) audited
with the override disabled (or missing), then the exports after the change: landed, not landed,
landed disabled, an unplanned AuthServer change, a certificate gone, the trust exports dropped,
none at all, and a hostile name. Exit 0 only when every check passed, 1 on a difference."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from conftest import run_cli
from rule_case_loader import build_organisation
from test_override_plan import POLICY, SUPPORTED_BUILD

from auditor.attest_trust import TrustRecordView, compare_records, record_views
from auditor.attest_trust_plan import ExplainedDifference, TrustKind
from auditor.layout import TRUST_EXPORT_FILES
from auditor.parsers import read_inventory
from auditor.resources import examples_dir

DISABLED = ["<S>Enabled=true</S>", "<S>Enabled=false</S>"]
# The real sample's auth certificate is valid from 2019-12-03 to 2024-11-06.
VALID_DAY = "2024-06-01"
OVERRIDE = '"EnableExchangeHybrid3PAppFeature"'
VARIANT = "E19/Exchange/GetExchangeDiagnosticInfo_ADTopVariantConfiguration.xml"
EMPTY_OVERRIDES = '&lt;Overrides Updated="2023-02-28T19:34:50.0709701Z" /&gt;'
APPLIED = (
    '&lt;Overrides Updated="2026-11-27T10:00:00.0000000Z"&gt;&lt;SettingOverride&gt;'
    "&lt;Name&gt;EnableExchangeHybrid3PAppFeature&lt;/Name&gt;"
    "&lt;ComponentName&gt;Global&lt;/ComponentName&gt;"
    "&lt;SectionName&gt;ExchangeOnpremAsThirdPartyAppId&lt;/SectionName&gt;"
    "&lt;Status&gt;Accepted&lt;/Status&gt;&lt;Parameters&gt;"
    "&lt;Parameter&gt;{}&lt;/Parameter&gt;&lt;/Parameters&gt;&lt;/SettingOverride&gt;"
    "&lt;/Overrides&gt;"
)
EMPTY_EXPORT = (
    '<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">\r\n</Objs>'
)

pytestmark = pytest.mark.usefixtures("fresh_cli")


def _organisation(
    tmp_path: Path,
    css_exchange: Path,
    label: str,
    edits: dict[str, list[list[str]]],
    drop: tuple[str, ...] = (),
    variant: str | None = None,
) -> Path:
    """The hybrid organisation in `label/org`; `variant`: the server's VariantConfiguration
    diagnostic (the real SOLO-E19A one) with that Parameter applied, "" for none applied."""
    root = build_organisation(
        {"edits": {"SOLO-E19A/ExSetup.xml": SUPPORTED_BUILD, **edits}, "drop": list(drop)},
        tmp_path / label,
        css_exchange,
    )
    if variant is not None:
        text = (css_exchange / VARIANT).read_bytes().decode("utf-8-sig")
        if variant:
            text = text.replace(EMPTY_OVERRIDES, APPLIED.format(variant))
        (root / "SOLO-E19A" / "VariantConfigurationOverrides.xml").write_text(
            text, encoding="utf-8-sig"
        )
    return root


def _package(tmp_path: Path, before: Path) -> Path:
    (tmp_path / "org.yaml").write_text(POLICY, encoding="utf-8")
    arguments = ["audit", str(before), "--as-of", "2026-11-26", "--out", "package"]
    arguments += ["--scope", "hybrid-trust", "--policy", "org.yaml"]
    assert run_cli(*arguments).exit_code == 1
    return tmp_path / "package"


def _attest(before: Path, after: Path, package: Path, as_of: str = VALID_DAY) -> tuple[int, str]:
    result = run_cli(
        "attest",
        "--before",
        str(before),
        "--after",
        str(after),
        "--package",
        str(package),
        "--as-of",
        as_of,
        columns=400,
    )
    assert result.stderr == ""
    return result.exit_code, result.stdout


def _failures(output: str) -> list[str]:
    return [line[6:] for line in output.splitlines() if line.startswith("FAIL  ")]


@pytest.fixture
def disabled(tmp_path: Path, css_exchange: Path) -> tuple[Path, Path]:
    """The organisation audited with the override disabled, and its package (a Set change)."""
    before = _organisation(tmp_path, css_exchange, "before", {"SettingOverride.xml": [DISABLED]})
    return before, _package(tmp_path, before)


def test_the_override_landed_and_nothing_else_changed(
    tmp_path: Path, css_exchange: Path, disabled: tuple[Path, Path]
) -> None:
    before, package = disabled
    after = _organisation(tmp_path, css_exchange, "after", {})

    code, output = _attest(before, after, package)

    assert code == 0, output
    lines = output.splitlines()
    for expected in (
        f"ok    SettingOverride {OVERRIDE}: before, Parameters is the audited value "
        '["Enabled=false"]',
        f'ok    SettingOverride {OVERRIDE}: after, Parameters is the target ["Enabled=true"]',
        f"ok    SettingOverride {OVERRIDE}: no exported property changed but the planned "
        "Parameters (and AD's write stamps) (27 compared)",
        f"ok    SettingOverride {OVERRIDE}: after, it is the only override in "
        "Global/ExchangeOnpremAsThirdPartyAppId",
        f"ok    SettingOverride {OVERRIDE}: after, Server is empty (organisation-wide)",
        f"ok    SettingOverride {OVERRIDE}: after, no MinVersion or MaxVersion",
        f"ok    SettingOverride {OVERRIDE}: after, Status is Accepted",
        "ok    SOLO-E19A: after, holds the current auth certificate "
        f"C3EDCF181EF4F9B53D01768ECA99564014BCA6E7, valid on {VALID_DAY} "
        "(NotBefore 2019-12-03T22:47:32Z, NotAfter 2024-11-06T22:47:32Z)",
    ):
        assert expected in lines, output
    compared = {line.split(":")[0] for line in lines if "no exported property" in line}
    assert {
        "ok    AuthConfig (one per organisation)",
        'ok    AuthServer "EvoSts - 6b1e4d2a-7c3f-4e59-9a1d-2f8e5c7b9a10"',
        "ok    HybridConfiguration (one per organisation)",
        "ok    OrganizationConfig (one per organisation)",
        "ok    ExSetup build of SOLO-E19A.solo.com",
        "ok    certificate C3EDCF181EF4F9B53D01768ECA99564014BCA6E7 on solo-e19a.solo.com",
    } <= compared
    assert re.search(r"^attest: all \d+ checks passed$", output, re.MULTILINE)


def test_an_override_that_did_not_land_fails_with_both_values(
    disabled: tuple[Path, Path],
) -> None:
    before, package = disabled

    code, output = _attest(before, before, package)

    assert code == 1
    assert _failures(output) == [
        f'SettingOverride {OVERRIDE}: after, Parameters is the target ["Enabled=true"] '
        '(found ["Enabled=false"])',
    ]


def test_the_auth_certificate_must_be_valid_on_the_attest_date(
    tmp_path: Path, css_exchange: Path, disabled: tuple[Path, Path]
) -> None:
    before, package = disabled
    after = _organisation(tmp_path, css_exchange, "after", {})

    code, output = _attest(before, after, package, as_of="2026-11-26")

    assert code == 1
    assert _failures(output) == [
        "SOLO-E19A: after, holds the current auth certificate "
        "C3EDCF181EF4F9B53D01768ECA99564014BCA6E7, valid on 2026-11-26 "
        "(NotBefore 2019-12-03T22:47:32Z, NotAfter 2024-11-06T22:47:32Z)"
    ]


def _other_override(root: Path) -> None:
    """Make the organisation's only override another one (another name and section): the
    dedicated-app override is missing, the plan creates it."""
    path = root / "SettingOverride.xml"
    text = path.read_text(encoding="utf-8-sig").replace(
        "EnableExchangeHybrid3PAppFeature", "SomeOtherOverride"
    )
    path.write_text(text.replace("ExchangeOnpremAsThirdPartyAppId", "SomethingElse"), "utf-8-sig")


def test_a_created_override_that_landed_disabled_fails(tmp_path: Path, css_exchange: Path) -> None:
    before = _organisation(tmp_path, css_exchange, "before", {}, variant="")
    _other_override(before)
    package = _package(tmp_path, before)
    other = (before / "SettingOverride.xml").read_bytes()
    landed = _organisation(tmp_path, css_exchange, "landed", {}, variant="Enabled=true")
    disabled_after = _organisation(
        tmp_path,
        css_exchange,
        "disabled",
        {"SettingOverride.xml": [DISABLED]},
        variant="Enabled=false",
    )
    for after in (landed, disabled_after):
        (after / "SettingOverrideOther.xml").write_bytes(other)

    code, output = _attest(before, landed, package)
    assert code == 0, output
    assert (
        f"ok    SettingOverride {OVERRIDE}: before, no such override and none in "
        "Global/ExchangeOnpremAsThirdPartyAppId (the plan creates it)"
    ) in output.splitlines()
    assert f"ok    SettingOverride {OVERRIDE}: appeared after the change (the plan creates it)" in (
        output.splitlines()
    )
    assert (
        f"ok    solo-e19a.solo.com: after, the server applies SettingOverride {OVERRIDE} "
        "(Global/ExchangeOnpremAsThirdPartyAppId) with Parameters Enabled=true "
        "(VariantConfiguration diagnostic)"
    ) in output.splitlines()

    code, output = _attest(before, disabled_after, package)
    assert code == 1
    assert _failures(output) == [
        f'SettingOverride {OVERRIDE}: after, Parameters is the target ["Enabled=true"] '
        '(found ["Enabled=false"])',
        f"effective override {OVERRIDE} on solo-e19a.solo.com: after, Parameters is the target "
        '["Enabled=true"] (found ["Enabled=false"])',
        f"solo-e19a.solo.com: after, the server applies SettingOverride {OVERRIDE} "
        "(Global/ExchangeOnpremAsThirdPartyAppId) with Parameters Enabled=true "
        "(VariantConfiguration diagnostic) (Enabled=false)",
    ]


def test_an_unplanned_auth_server_change_is_named_with_both_values(
    tmp_path: Path, css_exchange: Path, disabled: tuple[Path, Path]
) -> None:
    before, package = disabled
    application = "3c9d5e7f-1a2b-4c6d-8e0f-a1b2c3d4e5f6"
    after = _organisation(
        tmp_path,
        css_exchange,
        "after",
        {"AuthServer.xml": [[application, "00000002-0000-0ff1-ce00-000000000000"]]},
    )

    code, output = _attest(before, after, package)

    assert code == 1
    assert _failures(output) == [
        'AuthServer "EvoSts - 6b1e4d2a-7c3f-4e59-9a1d-2f8e5c7b9a10": ApplicationIdentifier '
        f'changed from "{application}" to "00000002-0000-0ff1-ce00-000000000000" '
        "(the plan does not explain it)"
    ]


def test_a_certificate_removed_from_a_server_fails(
    tmp_path: Path, css_exchange: Path, disabled: tuple[Path, Path]
) -> None:
    before, package = disabled
    after = _organisation(tmp_path, css_exchange, "after", {})
    certificates = after / "SOLO-E19A" / "ExchangeCertificate.xml"
    text = certificates.read_text(encoding="utf-8-sig")
    last = text.rindex("<Obj RefId=")
    certificates.write_text(text[:last] + "</Objs>", encoding="utf-8-sig")

    code, output = _attest(before, after, package)

    assert code == 1
    assert _failures(output) == [
        "certificate 38247AD2B76244411748274C508D13446311830B on solo-e19a.solo.com: "
        "is missing after the change (the plan does not explain it)"
    ]


def test_trust_exports_dropped_after_the_change_fail(
    tmp_path: Path, css_exchange: Path, disabled: tuple[Path, Path]
) -> None:
    before, package = disabled
    kept = ("ExchangeServer.xml", "PartnerApplication.xml")
    after = _organisation(tmp_path, css_exchange, "after", {})
    for path in sorted(after.rglob("*.xml")):
        if path.name not in kept:
            path.unlink()

    code, output = _attest(before, after, package)

    assert code == 1
    failures = _failures(output)
    assert "AuthServer export of the organisation: given before, not after the change" in failures
    assert (
        "certificate export of solo-e19a.solo.com: given before, not after the change" in failures
    )
    assert "after: no AuthConfig export: the auth certificate cannot be proven" in failures
    assert f"SettingOverride {OVERRIDE}: after, it is the only override in " in "\n".join(failures)
    assert "note  hybrid trust" not in output


def test_without_trust_exports_the_trust_is_said_not_compared(tmp_path: Path) -> None:
    examples = tmp_path / "examples"
    shutil.copytree(examples_dir(), examples)
    for path in sorted(examples.glob("*/*.xml")):
        if path.name.casefold() in TRUST_EXPORT_FILES:
            path.unlink()
    narrowed = ("--scope", "partner-applications,web-config")
    audited = run_cli("audit", str(examples), "--out", "p", "--as-of", "2026-11-26", *narrowed)
    assert audited.exit_code == 1

    code, output = _attest(examples, examples, tmp_path / "p")

    assert code == 1  # the partner-application change did not land
    lines = output.splitlines()
    assert (
        "note  hybrid trust not compared: neither export set holds a trust export "
        "(they were not part of the exports given)"
    ) in lines
    assert not [line for line in lines if line.startswith("ok") and "trust" in line]


def test_a_hostile_name_is_shown_escaped(
    tmp_path: Path, css_exchange: Path, disabled: tuple[Path, Path]
) -> None:
    before, package = disabled
    after = _organisation(
        tmp_path,
        css_exchange,
        "after",
        {"AuthServer.xml": [['<S N="Name">ACS - ', '<S N="Name">ACS_x001B_[2J_x000A_ok - ']]},
    )

    code, output = _attest(before, after, package)

    assert code == 1
    assert "\x1b" not in output
    failures = _failures(output)
    assert (
        'AuthServer "ACS\\x1b[2J\\nok - 6b1e4d2a-7c3f-4e59-9a1d-2f8e5c7b9a10": appeared after '
        "the change (the plan does not explain it)"
    ) in failures
    assert not [line for line in output.splitlines() if line.startswith("ok - ")]


def test_copies_of_an_organisation_wide_export_that_disagree_fail(
    tmp_path: Path, css_exchange: Path, disabled: tuple[Path, Path]
) -> None:
    before, package = disabled
    after = _organisation(tmp_path, css_exchange, "after", {})
    text = (after / "AuthServer.xml").read_text(encoding="utf-8-sig")
    (after / "SOLO-E19A" / "AuthServer.xml").write_text(
        text.replace('<B N="Enabled">true</B>', '<B N="Enabled">false</B>', 1), "utf-8-sig"
    )

    result = run_cli(
        "attest",
        "--before",
        str(before),
        "--after",
        str(after),
        "--package",
        str(package),
        "--as-of",
        VALID_DAY,
        columns=400,
    )

    # The reading already refuses copies that disagree (auditor.parsers.fold): a located
    # problem naming both files, nothing attested.
    assert result.exit_code == 2
    assert "two copies of the Get-AuthServer export disagree: org/AuthServer.xml" in (result.stderr)
    assert "org/SOLO-E19A/AuthServer.xml" in result.stderr
    assert "FAIL" not in result.stdout and "PASS" not in result.stdout


def _views(root: Path) -> list[TrustRecordView]:
    return record_views(read_inventory([root]).trust)


@pytest.mark.parametrize("target", ["new", "audited"])
def test_an_auth_server_change_explained_by_the_plan_passes(
    tmp_path: Path, css_exchange: Path, target: str
) -> None:
    """The seam a new kind of planned trust change uses (`explained_differences` yields
    these for plan.json `auth_servers` entries): the change it explains passes, to exactly
    its target."""
    old, new = "3c9d5e7f-1a2b-4c6d-8e0f-a1b2c3d4e5f6", "00000002-0000-0ff1-ce00-000000000000"
    before = _organisation(tmp_path, css_exchange, "before", {})
    after = _organisation(tmp_path, css_exchange, "after", {"AuthServer.xml": [[old, new]]})
    name = "EvoSts - 6b1e4d2a-7c3f-4e59-9a1d-2f8e5c7b9a10"
    explained = ExplainedDifference(
        TrustKind.AUTH_SERVER, name, "ApplicationIdentifier", old, new if target == "new" else old
    )
    checks: list[tuple[bool, str]] = []

    compare_records(
        lambda ok, what: checks.append((ok, what)), _views(before), _views(after), [explained]
    )

    failed = [what for ok, what in checks if not ok]
    if target == "new":
        assert failed == []
        assert (
            True,
            f'AuthServer "{name}": after, ApplicationIdentifier is the target "{new}"',
        ) in (checks)
    else:
        assert failed == [
            f'AuthServer "{name}": after, ApplicationIdentifier is the target "{old}" '
            f'(found "{new}")'
        ]


def test_a_planned_override_without_any_trust_export_fails(
    tmp_path: Path, css_exchange: Path, disabled: tuple[Path, Path]
) -> None:
    _, package = disabled
    exports = _organisation(tmp_path, css_exchange, "plain", {})
    for path in sorted(exports.rglob("*.xml")):
        if path.name not in ("ExchangeServer.xml", "PartnerApplication.xml"):
            path.unlink()

    code, output = _attest(exports, exports, package)

    assert code == 1
    assert _failures(output) == [
        f"SettingOverride {OVERRIDE}: the plan changes it, but neither export set holds a "
        "trust export: nothing proves the change landed"
    ]
    assert "note  hybrid trust not compared: neither export set holds a trust export" in output


def _second_copy(root: Path, *edits: tuple[str, str]) -> None:
    """The organisation-wide SettingOverride export again in the server's folder (as
    `auditor collect` writes one per server), with `edits`."""
    text = (root / "SettingOverride.xml").read_text(encoding="utf-8-sig")
    for old, new in edits:
        assert text.count(old) == 1
        text = text.replace(old, new)
    (root / "SOLO-E19A" / "SettingOverride.xml").write_text(text, "utf-8-sig")


READ_ELSEWHERE = (
    ('<S N="PSComputerName">ex-02.365labs.net</S>', '<S N="PSComputerName">solo-e19a</S>'),
    ("0761d64c-a5c7-4621-96b6-39ef8bc8828a", "11111111-2222-4333-8444-555555555555"),
)


def test_copies_read_through_other_servers_are_one_record(
    tmp_path: Path, css_exchange: Path, disabled: tuple[Path, Path]
) -> None:
    before, package = disabled
    after = _organisation(tmp_path, css_exchange, "after", {})
    _second_copy(after, *READ_ELSEWHERE)

    assert len(read_inventory([after]).trust.setting_overrides) == 1  # no duplicate for HT002
    code, output = _attest(before, after, package)
    assert code == 0, output

    _second_copy(
        after,
        *READ_ELSEWHERE,
        (
            '<DT N="WhenChanged">2025-04-09T10:47:33-05:00</DT>',
            '<DT N="WhenChanged">2026-01-01T00:00:00-05:00</DT>',
        ),
    )
    result = run_cli(
        "attest",
        "--before",
        str(before),
        "--after",
        str(after),
        "--package",
        str(package),
        "--as-of",
        VALID_DAY,
        columns=400,
    )
    # Copies that differ in an exported property but the read context disagree: the reading
    # refuses them (auditor.parsers.fold), a problem naming both files, nothing attested.
    assert result.exit_code == 2
    assert "two copies of the Get-SettingOverride export disagree" in result.stderr
    assert "org/SOLO-E19A/SettingOverride.xml" in result.stderr


# --- a scoped override (HT004): the plan clears its Server and MaxVersion ------------------------

SERVER_LIST = (
    '<Obj N="Server" RefId="90"><TN RefId="90"><T>Microsoft.Exchange.Data.MultiValuedProperty`1'
    "[[System.String]]</T><T>System.Object</T></TN><LST>{}</LST></Obj>"
)
SCOPED = [
    ['<Nil N="Server" />', SERVER_LIST.format("<S>EX99</S>")],
    ['<Nil N="MaxVersion" />', '<S N="MaxVersion">15.2.1544.0</S>'],
]


@pytest.mark.parametrize("cleared", ['<Nil N="Server" />', SERVER_LIST.format("")])
def test_a_cleared_scope_is_explained_by_the_plan(
    tmp_path: Path, css_exchange: Path, cleared: str
) -> None:
    before = _organisation(tmp_path, css_exchange, "before", {"SettingOverride.xml": SCOPED})
    package = _package(tmp_path, before)
    assert '"audited_server": [\n' in (package / "plan.json").read_text(encoding="utf-8")
    after_edits = [['<Nil N="Server" />', cleared]] if cleared.startswith("<Obj") else []
    after = _organisation(tmp_path, css_exchange, "after", {"SettingOverride.xml": after_edits})

    code, output = _attest(before, after, package)

    assert code == 0, output
    lines = output.splitlines()
    for expected in (
        f'ok    SettingOverride {OVERRIDE}: before, Server is the audited value ["EX99"]',
        f'ok    SettingOverride {OVERRIDE}: before, MaxVersion is the audited value "15.2.1544.0"',
        f"ok    SettingOverride {OVERRIDE}: after, Server is empty (organisation-wide)",
        f"ok    SettingOverride {OVERRIDE}: after, no MinVersion or MaxVersion",
    ):
        assert expected in lines, output


def test_a_scope_that_was_not_cleared_fails_naming_it(tmp_path: Path, css_exchange: Path) -> None:
    before = _organisation(tmp_path, css_exchange, "before", {"SettingOverride.xml": SCOPED})
    package = _package(tmp_path, before)

    code, output = _attest(before, before, package)

    assert code == 1
    failures = _failures(output)
    assert (
        f'SettingOverride {OVERRIDE}: after, Server is the target "" (found ["EX99"])' in failures
    )
    assert (
        f"SettingOverride {OVERRIDE}: after, Server is empty (organisation-wide) (found EX99)"
        in (failures)
    )
    assert any(
        "after, no MinVersion or MaxVersion (found MaxVersion 15.2.1544.0)" in f for f in failures
    )
