"""auditor.remediation: which change each active finding calls for."""

from __future__ import annotations

import dataclasses

import pytest
from ps1_support import (
    API,
    EXO_ID,
    GRAPH_ACT_AS,
    GRAPH_ID,
    finding,
    inventory,
    make_policy,
    partner_application,
    web_config,
)

from auditor.model import ChangeKind, VdirPolicy
from auditor.remediation import plan, script_names, skipped, target_app_only, target_profiles

GRAPH = partner_application(GRAPH_ID, "Microsoft Graph", GRAPH_ACT_AS, GRAPH_ACT_AS)
GRAPH_SUBJECT = f"partner-application:{GRAPH_ID}"
RECIPE_PROFILES = (
    "S2SAppActAs|S2SAppOnly|V1AppActAs|V1AppOnly|Callback|V1S2SActAs|CallbackV2|V1S2SAppOnly"
)
DEFAULT_PROFILES = "S2SAppActAs|S2SAppOnly|V1AppActAs|V1AppOnly|Callback|V1S2SActAs|CallbackV2"


def test_recipe_app_is_set_to_the_approved_empty_list() -> None:
    findings = [finding("PA001", GRAPH_SUBJECT, "a"), finding("PA003", GRAPH_SUBJECT, "b")]
    (change_set,) = plan(inventory((GRAPH,)), make_policy(), findings)
    assert change_set.kind is ChangeKind.PARTNER_APPLICATIONS
    assert change_set.slug == "partner-applications"
    (change,) = change_set.partner_applications
    assert change.application_identifier == GRAPH_ID
    assert change.audited_app_only == GRAPH_ACT_AS
    assert change.target_app_only == ()
    assert change.fixes == ("pa001-a", "pa003-b")
    assert script_names(change_set) == (
        "remediation/partner-applications.ps1",
        "rollback/partner-applications.ps1",
    )


def test_approved_permissions_are_kept_in_policy_order_minus_forbidden() -> None:
    policy = make_policy({GRAPH_ID: ("User.Read.All", "Mail.Send", "Mail.Read", "mail.readwrite")})
    assert target_app_only(GRAPH_ID, policy) == ("User.Read.All", "Mail.Read")
    (change_set,) = plan(inventory((GRAPH,)), policy, [finding("PA002", GRAPH_SUBJECT, "a")])
    assert change_set.partner_applications[0].target_app_only == ("User.Read.All", "Mail.Read")


def test_suppressed_and_unrelated_findings_drive_nothing() -> None:
    findings = [
        finding("PA001", GRAPH_SUBJECT, "a", suppressed=True),
        finding("PA005", GRAPH_SUBJECT, "b"),
        finding("PA002", f"partner-application:{EXO_ID}", "c"),
    ]
    assert plan(inventory((GRAPH,)), make_policy(), findings) == ()


def test_incomplete_export_is_skipped_with_a_reason() -> None:
    app = partner_application(
        GRAPH_ID, "Microsoft Graph", GRAPH_ACT_AS, GRAPH_ACT_AS[:4], complete=False
    )
    findings = [finding("PA002", GRAPH_SUBJECT, "a")]
    assert plan(inventory((app,)), make_policy(), findings) == ()
    (note,) = skipped(inventory((app,)), make_policy(), findings)
    assert note.subject == GRAPH_SUBJECT
    assert "incomplete" in note.reason
    assert note.fixes == ("pa002-a",)


def test_invalid_identifier_or_approved_name_is_skipped() -> None:
    bad = partner_application("not-a-guid'; Stop-Computer", "x", ("Mail.Read",), ("Mail.Read",))
    findings = [finding("PA002", bad.subject, "a")]
    assert plan(inventory((bad,)), make_policy(), findings) == ()
    assert "GUID" in skipped(inventory((bad,)), make_policy(), findings)[0].reason

    policy = make_policy({GRAPH_ID: ("Mail.Read'; Stop-Computer",)})
    findings = [finding("PA002", GRAPH_SUBJECT, "a")]
    assert plan(inventory((GRAPH,)), policy, findings) == ()
    assert "not permission names" in skipped(inventory((GRAPH,)), policy, findings)[0].reason


def test_applications_are_ordered_by_identifier_in_one_change_set() -> None:
    exo = partner_application(EXO_ID, "Exchange Online", ("Mail.Read",), ("Mail.Read",))
    findings = [finding("PA002", GRAPH_SUBJECT, "a"), finding("PA002", exo.subject, "b")]
    (change_set,) = plan(inventory((GRAPH, exo)), make_policy(), findings)
    assert [c.application_identifier for c in change_set.partner_applications] == [EXO_ID, GRAPH_ID]


def test_two_servers_get_one_web_config_change_set_each() -> None:
    configs = (
        web_config("EX02", API, RECIPE_PROFILES, "22" * 32),
        web_config("EX01", API, RECIPE_PROFILES, "11" * 32),
    )
    findings = [finding("WC001", config.subject, config.server) for config in configs]
    change_sets = plan(inventory(configs=configs), make_policy(), findings)
    assert [(cs.slug, cs.server) for cs in change_sets] == [
        ("web-config-ex01", "EX01"),
        ("web-config-ex02", "EX02"),
    ]
    change = change_sets[0].web_configs[0]
    assert change.relative_path == "FrontEnd\\HttpProxy\\Rest\\web.config"
    assert change.app_pool == "MSExchangeRestFrontEndAppPool"
    assert change.audited_sha256 == "11" * 32
    assert change.audited_value == RECIPE_PROFILES
    assert change.target_value == DEFAULT_PROFILES


def test_app_only_profile_stays_when_some_application_is_approved() -> None:
    policy = make_policy({GRAPH_ID: ("Mail.Read",)})
    config = web_config("EX01", API, RECIPE_PROFILES, "11" * 32)
    assert (
        target_profiles(config.oauth_profiles.tokens, policy.vdir(API), policy) == RECIPE_PROFILES
    )  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("raw", "target"),
    [
        # padded and mis-cased shipped tokens are repaired; empty and unknown ones dropped
        (
            "S2SAppActAs| V1AppActAs|v1appOnly||Bogus|V1S2SAppOnly",
            "S2SAppActAs|V1AppActAs|V1AppOnly",
        ),
        # a mis-cased forbidden token is removed, not repaired
        ("S2SAppActAs|v1s2sapponly ", "S2SAppActAs"),
        # duplicates go, order stays
        ("Callback|S2SAppActAs|Callback", "Callback|S2SAppActAs"),
        # a repair never enables a token the vdir neither ships nor allows
        ("S2SAppActAs| StiAppOnly", "S2SAppActAs"),
        # an exact known token is kept even if the vdir does not ship it
        ("S2SAppActAs|StiAppOnly", "S2SAppActAs|StiAppOnly"),
        ("V1S2SAppOnly", ""),
    ],
)
def test_target_profiles(raw: str, target: str) -> None:
    policy = make_policy()
    assert target_profiles(raw.split("|"), policy.vdir(API), policy) == target


def test_vdir_policy_allows_and_forbids() -> None:
    policy = dataclasses.replace(
        make_policy(),
        vdirs=(
            VdirPolicy(
                API, allowed_profiles=("Callback",), forbidden_profiles=("Callback", "S2SAppOnly")
            ),
        ),
        forbidden_profiles_everywhere=("V1AppOnly",),
    )
    tokens = ["S2SAppActAs", "S2SAppOnly", "V1AppOnly", "Callback"]
    assert target_profiles(tokens, policy.vdir(API), policy) == "S2SAppActAs|Callback"


def test_web_config_skips_are_explained() -> None:
    configs = (
        web_config("EX01", "Default Web Site", RECIPE_PROFILES, "11" * 32),
        web_config("EX01", "No Such Site/API", RECIPE_PROFILES, "11" * 32),
        web_config("EX01", API, DEFAULT_PROFILES, "11" * 32),
    )
    findings = [finding("WC002", config.subject, config.vdir) for config in configs]
    assert plan(inventory(configs=configs), make_policy(), findings) == ()
    reasons = [note.reason for note in skipped(inventory(configs=configs), make_policy(), findings)]
    assert any("outside the Exchange install folder" in reason for reason in reasons)
    assert any("unknown" in reason for reason in reasons)
    assert any("already has the target value" in reason for reason in reasons)


def test_colliding_server_slugs_stay_distinct() -> None:
    configs = (
        web_config("ex01", API, RECIPE_PROFILES, "11" * 32),
        web_config("EX01", API, RECIPE_PROFILES, "22" * 32),
    )
    findings = [finding("WC001", config.subject, config.server) for config in configs]
    slugs = [cs.slug for cs in plan(inventory(configs=configs), make_policy(), findings)]
    assert len(set(slugs)) == 2


def test_plan_is_deterministic() -> None:
    configs = (
        web_config("EX02", API, RECIPE_PROFILES, "22" * 32),
        web_config("EX01", API, RECIPE_PROFILES, "11" * 32),
    )
    findings = [finding("WC001", config.subject, config.server) for config in configs]
    findings.append(finding("PA001", GRAPH_SUBJECT, "a"))
    first = plan(inventory((GRAPH,), configs), make_policy(), findings)
    second = plan(
        inventory((GRAPH,), tuple(reversed(configs))), make_policy(), list(reversed(findings))
    )
    assert [cs.slug for cs in first] == [cs.slug for cs in second]
    assert [cs.web_configs for cs in first] == [cs.web_configs for cs in second]
