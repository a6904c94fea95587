"""`Policy.weakenings`: every way a loaded policy weakens the shipped default, with its file.

Issue 20 item 7: an organisation policy that empties a forbidden list, approves a forbidden
permission, allows the app-only profile, disables or lowers a critical rule, or waives one, is
named beside the verdict (by the other outputs) and by `policy validate` / `policy show`. Each
case below is written as a policy file, loaded through `load_policy`, and the exact sentences
are compared: they are what a reviewer reads.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from auditor import cli
from auditor.model import PolicyWeakening, WeakeningKind
from auditor.policy import load_policy

GRAPH_ID = "00000003-0000-0000-c000-000000000000"
HEAD = "name: contoso\nversion: 1\nextends: default\n"
WAIVER = (
    "waivers:\n"
    "  - rule: {rule}\n"
    "    subject: partner-application:{graph}\n"
    "    reason: migration\n"
    "    ticket: CHG-1\n"
    "    owner: o\n"
    "    approver: a\n"
    "    expires: '{expires}'\n"
)


def _load(folder: Path, body: str, name: str = "contoso.yaml") -> tuple[PolicyWeakening, ...]:
    path = folder / name
    path.write_text(HEAD + body, encoding="utf-8")
    return load_policy([path]).weakenings


def test_the_shipped_default_weakens_nothing() -> None:
    assert load_policy([]).weakenings == ()


def test_a_policy_that_only_narrows_weakens_nothing(tmp_path: Path) -> None:
    body = (
        "forbidden_app_only: ['Mail.*', '*.ReadWrite*', '*.Write*', Privilege.*, full_access*,"
        " '*.AccessAsUser.All', Tasks.*]\n"  # Mail.* still covers Mail.Send*
        "applications:\n"
        f"  - application_identifier: {GRAPH_ID}\n"
        "    approved_app_only: [User.Read.All]\n"
        "rule_overrides:\n"
        "  PA004: {severity: high}\n"
        "  FL001: {enabled: false}\n"  # medium by default: not a weakening
        + WAIVER.format(rule="WC002", graph=GRAPH_ID, expires="2027-01-01")
    )
    assert _load(tmp_path, body) == ()


CASES = [
    pytest.param(
        "forbidden_app_only: ['Mail.Send?', '*.ReadWrite*', '*.Write*', Privilege.*,"
        " full_access*, '*.AccessAsUser.All']\n",
        [
            (
                WeakeningKind.FORBIDDEN_PERMISSION_REMOVED,
                "Mail.Send*",
                "policy contoso.yaml no longer forbids app-only permissions matching Mail.Send* "
                "(forbidden by default)",
            )
        ],
        id="forbidden-pattern-narrowed",
    ),
    pytest.param(
        "applications:\n"
        f"  - application_identifier: {GRAPH_ID}\n"
        "    approved_app_only: [Mail.Read, Mail.Send]\n",
        [
            (
                WeakeningKind.FORBIDDEN_PERMISSION_APPROVED,
                "Mail.Send",
                "policy contoso.yaml approves Mail.Send for Microsoft Graph "
                "(forbidden by default: Mail.Send*)",
            )
        ],
        id="forbidden-permission-approved",
    ),
    pytest.param(
        "forbidden_profiles_everywhere: []\n",
        [
            (
                WeakeningKind.FORBIDDEN_TOKEN_REMOVED,
                "V1S2SAppOnly",
                "policy contoso.yaml no longer forbids profile token V1S2SAppOnly everywhere "
                "(forbidden on every vdir by default)",
            )
        ],
        id="token-no-longer-forbidden-everywhere",
    ),
    pytest.param(
        "vdirs:\n  - vdir: default web site/api\n    allowed_profiles: [V1S2SAppOnly]\n",
        [
            (
                WeakeningKind.FORBIDDEN_TOKEN_ALLOWED,
                "V1S2SAppOnly",
                "policy contoso.yaml allows the app-only profile token V1S2SAppOnly on "
                "Default Web Site/API (forbidden there by default)",
            )
        ],
        id="app-only-token-allowed-on-a-vdir",
    ),
    pytest.param(
        "app_only_profile_tokens: []\n",
        [
            (
                WeakeningKind.APP_ONLY_TOKEN_REMOVED,
                "V1S2SAppOnly",
                "policy contoso.yaml no longer treats profile token V1S2SAppOnly as app-only "
                "(app-only by default, forbidden while no app-only permission is approved)",
            )
        ],
        id="app-only-token-list-emptied",
    ),
    pytest.param(
        "rule_overrides:\n  PA003: {severity: medium}\n  WC001: {enabled: false}\n",
        [
            (
                WeakeningKind.RULE_DISABLED,
                "WC001",
                "policy contoso.yaml disables rule WC001 (high by default)",
            ),
            (
                WeakeningKind.RULE_SEVERITY_LOWERED,
                "PA003",
                "policy contoso.yaml lowers rule PA003 from critical to medium",
            ),
        ],
        id="rules-disabled-and-lowered",
    ),
    pytest.param(
        WAIVER.format(rule="PA001", graph=GRAPH_ID, expires="2020-01-01"),
        [
            (
                WeakeningKind.CRITICAL_RULE_WAIVED,
                "PA001",
                f"policy contoso.yaml waives critical rule PA001 for partner-application:{GRAPH_ID}"
                " until 2020-01-01 (ticket CHG-1)",
            )
        ],
        id="critical-rule-waived-even-when-expired",
    ),
]


@pytest.mark.parametrize(("body", "expected"), CASES)
def test_each_way_to_weaken_the_default_is_named(
    tmp_path: Path, body: str, expected: list[tuple[WeakeningKind, str, str]]
) -> None:
    weakenings = _load(tmp_path, body)

    assert [(w.kind, w.subject, w.text) for w in weakenings] == expected
    assert {w.source for w in weakenings} == {"contoso.yaml"}


def test_a_vdir_forbidden_token_removed_by_a_later_policy_names_that_policy(
    tmp_path: Path,
) -> None:
    (tmp_path / "base.yaml").write_text(
        "name: base\nversion: 1\nextends: default\n"
        "vdirs:\n  - vdir: Default Web Site/EWS\n    forbidden_profiles: [V1AppOnly]\n",
        encoding="utf-8",
    )
    # The base narrows (no weakening); the team policy takes the base's narrowing back, which
    # is only a weakening of the base, not of the shipped default.
    body = "vdirs:\n  - vdir: Default Web Site/EWS\n    forbidden_profiles: []\n"
    (tmp_path / "team.yaml").write_text(
        HEAD.replace("extends: default", "extends: base.yaml") + body, encoding="utf-8"
    )
    assert load_policy([tmp_path / "team.yaml"]).weakenings == ()


def test_each_weakening_names_the_file_that_makes_it_never_a_path(tmp_path: Path) -> None:
    folder = tmp_path / "org" / "policies"
    folder.mkdir(parents=True)
    (folder / "org-base.yaml").write_text(
        "name: base\nversion: 1\nextends: default\nforbidden_profiles_everywhere: []\n"
        "rule_overrides:\n  PA001: {severity: high}\n",
        encoding="utf-8",
    )
    (folder / "team.yaml").write_text(
        "name: team\nversion: 1\nextends: org-base.yaml\n"
        "rule_overrides:\n  PA001: {enabled: false}\n"
        "applications:\n"
        f"  - application_identifier: {GRAPH_ID}\n"
        "    approved_app_only: [full_access_as_app]\n",
        encoding="utf-8",
    )
    weakenings = load_policy([folder / "team.yaml"]).weakenings

    assert [(w.source, w.text) for w in weakenings] == [
        (
            "org-base.yaml",
            "policy org-base.yaml no longer forbids profile token V1S2SAppOnly everywhere "
            "(forbidden on every vdir by default)",
        ),
        (
            "team.yaml",
            "policy team.yaml approves full_access_as_app for Microsoft Graph "
            "(forbidden by default: full_access*)",
        ),
        ("team.yaml", "policy team.yaml disables rule PA001 (critical by default)"),
    ]
    assert all(str(tmp_path) not in w.text for w in weakenings)


def test_a_later_policy_that_restores_the_default_cancels_the_weakening(tmp_path: Path) -> None:
    (tmp_path / "loose.yaml").write_text(HEAD + "forbidden_app_only: []\n", encoding="utf-8")
    (tmp_path / "strict.yaml").write_text(
        "name: strict\nversion: 1\nextends: default\n"
        "forbidden_app_only: [Mail.Send*, '*.ReadWrite*', '*.Write*', Privilege.*, full_access*,"
        " '*.AccessAsUser.All']\n",
        encoding="utf-8",
    )
    assert len(load_policy([tmp_path / "loose.yaml"]).weakenings) == 6
    assert load_policy([tmp_path / "loose.yaml", tmp_path / "strict.yaml"]).weakenings == ()


def test_weakenings_are_sorted_and_the_same_on_every_load(tmp_path: Path) -> None:
    body = (
        "forbidden_app_only: []\nforbidden_profiles_everywhere: []\n"
        "rule_overrides:\n  PA002: {enabled: false}\n"
    )
    first = _load(tmp_path, body)
    assert first == _load(tmp_path, body)
    assert [(w.source, w.text) for w in first] == sorted((w.source, w.text) for w in first)
    assert first[0].to_json() == {
        "source": "contoso.yaml",
        "kind": "rule-disabled",
        "subject": "PA002",
        "text": "policy contoso.yaml disables rule PA002 (high by default)",
    }


def test_the_shipped_example_policy_names_its_one_weakening() -> None:
    from auditor.resources import default_policy_path

    example = default_policy_path().parent / "examples" / "approve-graph-mail-read.yaml"
    (weakening,) = load_policy([example]).weakenings
    assert weakening.text == (
        "policy approve-graph-mail-read.yaml allows the app-only profile token V1S2SAppOnly "
        "on Default Web Site/API (forbidden there by default)"
    )


# --- the command line -----------------------------------------------------------------------

LOOSE = HEAD + "forbidden_profiles_everywhere: []\nrule_overrides:\n  PA003: {severity: low}\n"


def _invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(
        cli.app, list(args), prog_name="auditor", env={"COLUMNS": "200", cli.POLICY_ENV: None}
    )
    return result.exit_code, result.stdout, result.stderr


def test_policy_validate_prints_one_weakens_line_each(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "contoso.yaml").write_text(LOOSE, encoding="utf-8")

    code, out, _ = _invoke("policy", "validate", "contoso.yaml", "--as-of", "2026-01-01")

    assert code == 0
    assert [line for line in out.splitlines() if line.startswith("weakens:")] == [
        "weakens: policy contoso.yaml lowers rule PA003 from critical to low",
        "weakens: policy contoso.yaml no longer forbids profile token V1S2SAppOnly everywhere "
        "(forbidden on every vdir by default)",
    ]


def test_policy_show_names_the_weakenings_and_stays_a_policy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "contoso.yaml").write_text(LOOSE, encoding="utf-8")

    code, out, _ = _invoke("policy", "show", "--policy", "contoso.yaml")

    assert code == 0
    assert "# weakens: policy contoso.yaml lowers rule PA003 from critical to low\n" in out
    assert yaml.safe_load(out)["rule_overrides"]["PA003"]["severity"] == "low"
    code, out, _ = _invoke("policy", "show")
    assert "weakens" not in out
