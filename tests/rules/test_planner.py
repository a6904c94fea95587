"""auditor.remediation: which plan item each active finding calls for, built from the judgements."""

from __future__ import annotations

import dataclasses
import functools

import pytest
from conftest import GRAPH_ACT_AS

from auditor.model import (
    AppSetting,
    ChangeKind,
    Evidence,
    Finding,
    InputFormat,
    Inventory,
    Location,
    OAuthProfiles,
    PartnerApplication,
    PermissionList,
    Policy,
    Presence,
    Severity,
    TokenAction,
    VdirPolicy,
    WebConfig,
)
from auditor.policy import load_policy
from auditor.remediation import Plan, make_plan, script_names
from auditor.rules.judge import ProfileTables, approved_target, judge, judge_profiles

API = "Default Web Site/API"
GRAPH_ID = "00000003-0000-0000-c000-000000000000"
EXO_ID = "00000002-0000-0ff1-ce00-000000000000"
GRAPH_SUBJECT = f"partner-application:{GRAPH_ID}"
RECIPE_PROFILES = (
    "S2SAppActAs|S2SAppOnly|V1AppActAs|V1AppOnly|Callback|V1S2SActAs|CallbackV2|V1S2SAppOnly"
)
DEFAULT_PROFILES = "S2SAppActAs|S2SAppOnly|V1AppActAs|V1AppOnly|Callback|V1S2SActAs|CallbackV2"


@functools.cache
def _default() -> Policy:
    return load_policy(())


def make_policy(approved: dict[str, tuple[str, ...]] | None = None) -> Policy:
    """The shipped default policy, with `approved` app-only grants per application id."""
    approved = approved or {}
    applications = tuple(
        dataclasses.replace(
            app, approved_app_only=approved.get(app.application_identifier, app.approved_app_only)
        )
        for app in _default().applications
    )
    return dataclasses.replace(_default(), applications=applications)


def _evidence(
    path: str, sha256: str = "cd" * 32, fmt: InputFormat = InputFormat.CLIXML
) -> Evidence:
    return Evidence(path=path, line=None, raw="", sha256=sha256, format=fmt)


def partner_application(
    app_id: str,
    name: str,
    act_as: tuple[str, ...],
    app_only: tuple[str, ...],
    *,
    complete: bool = True,
    path: str = "exports/PartnerApplication.xml",
) -> PartnerApplication:
    source = _evidence(path)
    return PartnerApplication(
        name=name,
        application_identifier=app_id,
        enabled=True,
        act_as_permissions=PermissionList(act_as, True, source),
        app_only_permissions=PermissionList(app_only, complete, source),
        linked_account=None,
        server="EX01",
        source=source,
    )


def web_config(server: str, vdir: str, raw: str, sha256: str, path: str | None = None) -> WebConfig:
    path = path or f"exports/{server}/web.config"
    evidence = _evidence(path, sha256, InputFormat.WEB_CONFIG)
    setting = AppSetting("OAuthHttpModule.Profiles", raw, 11, f'<add value="{raw}" />')
    return WebConfig(
        server=server,
        vdir=vdir,
        path=path,
        sha256=sha256,
        app_settings=(setting,),
        oauth_profiles=OAuthProfiles(raw, tuple(raw.split("|")), 11, evidence),
    )


def finding(rule_id: str, subject: str, discriminator: str, *, suppressed: bool = False) -> Finding:
    return Finding(
        rule_id=rule_id,
        severity=Severity.HIGH,
        title=rule_id,
        message=rule_id,
        subject=subject,
        location=Location("exports/x", None),
        evidence=(),
        fingerprint=f"{rule_id.lower()}-{discriminator}",
        suppressed=suppressed,
    )


def inventory(
    apps: tuple[PartnerApplication, ...] = (), configs: tuple[WebConfig, ...] = ()
) -> Inventory:
    return Inventory(inputs=(), partner_applications=apps, web_configs=configs)


def full_plan(inv: Inventory, policy: Policy, findings: list[Finding]) -> Plan:
    """The plan `auditor audit` makes: the rules' judgements (`judge`), then `make_plan`."""
    return make_plan(inv, judge(inv, policy), policy, findings)


GRAPH = partner_application(GRAPH_ID, "Microsoft Graph", GRAPH_ACT_AS, GRAPH_ACT_AS)


def test_recipe_app_is_set_to_the_approved_empty_list() -> None:
    findings = [finding("PA001", GRAPH_SUBJECT, "a"), finding("PA003", GRAPH_SUBJECT, "b")]
    (change_set,) = full_plan(inventory((GRAPH,)), make_policy(), findings).change_sets
    assert change_set.kind is ChangeKind.PARTNER_APPLICATIONS
    assert change_set.slug == "partner-applications"
    (change,) = change_set.partner_applications
    assert change.application_identifier == GRAPH_ID
    assert change.audited_app_only == GRAPH_ACT_AS
    assert change.target_app_only == ()
    assert change.removes == GRAPH_ACT_AS
    assert change.fixes == ("pa001-a", "pa003-b")
    assert script_names(change_set) == (
        "remediation/partner-applications.ps1",
        "rollback/partner-applications.ps1",
    )


def test_approved_permissions_are_kept_in_audited_order_minus_forbidden() -> None:
    approved = ("User.Read.All", "Mail.Send", "Mail.Read", "mail.readwrite")
    policy = make_policy({GRAPH_ID: approved})
    current = ("Mail.Read", "Mail.Send", "Calendars.Read", "User.Read.All", "Mail.Read")
    target = approved_target(current, approved, policy.forbidden_app_only)
    assert target == ("Mail.Read", "User.Read.All")
    (change_set,) = full_plan(
        inventory((GRAPH,)), policy, [finding("PA002", GRAPH_SUBJECT, "a")]
    ).change_sets
    assert change_set.partner_applications[0].target_app_only == ("Mail.Read", "User.Read.All")


def test_an_approved_permission_the_application_does_not_hold_is_never_granted() -> None:
    # Issue 21 item 2: the fix for an unapproved Calendars.Read used to set Mail.Read.
    policy = make_policy({GRAPH_ID: ("Mail.Read",)})
    app = partner_application(GRAPH_ID, "Microsoft Graph", GRAPH_ACT_AS, ("Calendars.Read",))
    result = full_plan(inventory((app,)), policy, [finding("PA002", GRAPH_SUBJECT, "a")])
    (change_set,) = result.change_sets
    (change,) = change_set.partner_applications
    assert change.audited_app_only == ("Calendars.Read",)
    assert change.target_app_only == ()
    assert change.removes == ("Calendars.Read",)
    assert change.adds == ()
    (judgement,) = result.judgements.applications
    after = {row.name: row.after for row in judgement.permissions}
    assert after["Mail.Read"] is Presence.NO  # approved, not held: stays not held


def test_reordering_alone_is_no_change() -> None:
    policy = make_policy({GRAPH_ID: ("Mail.Read", "Calendars.Read")})
    app = partner_application(
        GRAPH_ID, "Microsoft Graph", GRAPH_ACT_AS, ("Calendars.Read", "Mail.Read")
    )
    result = full_plan(inventory((app,)), policy, [finding("PA004", GRAPH_SUBJECT, "a")])
    assert result.change_sets == ()
    assert "already equal" in result.skipped[0].reason


def test_planned_judgement_says_what_remains_after_the_change() -> None:
    policy = make_policy({GRAPH_ID: ("Mail.Read",)})
    result = full_plan(inventory((GRAPH,)), policy, [finding("PA002", GRAPH_SUBJECT, "a")])
    (judgement,) = result.judgements.applications
    after = {row.name: row.after for row in judgement.permissions}
    assert after["Mail.Read"] is Presence.YES
    assert after["Mail.Send"] is Presence.NO


def test_waived_application_keeps_its_permissions_after() -> None:
    findings = [finding("PA001", GRAPH_SUBJECT, "a", suppressed=True)]
    result = full_plan(inventory((GRAPH,)), make_policy(), findings)
    assert result.change_sets == ()
    (judgement,) = result.judgements.applications
    assert all(row.after is row.app_only for row in judgement.permissions)


def test_suppressed_and_unrelated_findings_drive_nothing() -> None:
    findings = [
        finding("PA001", GRAPH_SUBJECT, "a", suppressed=True),
        finding("PA005", GRAPH_SUBJECT, "b"),
        finding("PA002", f"partner-application:{EXO_ID}", "c"),
    ]
    assert full_plan(inventory((GRAPH,)), make_policy(), findings).change_sets == ()


def test_the_catalogue_decides_which_rule_gets_a_script() -> None:
    policy = make_policy()
    no_script = tuple(
        dataclasses.replace(info, remediation=None) if info.id == "PA001" else info
        for info in policy.rules
    )
    findings = [finding("PA001", GRAPH_SUBJECT, "a")]
    assert full_plan(inventory((GRAPH,)), policy, findings).change_sets != ()
    assert (
        full_plan(
            inventory((GRAPH,)), dataclasses.replace(policy, rules=no_script), findings
        ).change_sets
        == ()
    )


def test_incomplete_export_is_skipped_with_a_reason() -> None:
    app = partner_application(
        GRAPH_ID, "Microsoft Graph", GRAPH_ACT_AS, GRAPH_ACT_AS[:4], complete=False
    )
    findings = [finding("PA002", GRAPH_SUBJECT, "a")]
    result = full_plan(inventory((app,)), make_policy(), findings)
    assert result.change_sets == ()
    (note,) = result.skipped
    assert note.subject == GRAPH_SUBJECT
    assert "incomplete" in note.reason
    assert note.fixes == ("pa002-a",)


def test_invalid_identifier_or_approved_name_is_skipped() -> None:
    bad = partner_application("not-a-guid'; Stop-Computer", "x", ("Mail.Read",), ("Mail.Read",))
    findings = [finding("PA002", bad.subject, "a")]
    result = full_plan(inventory((bad,)), make_policy(), findings)
    assert result.change_sets == ()
    assert "GUID" in result.skipped[0].reason

    hostile = "Mail.Read'; Stop-Computer"
    policy = make_policy({GRAPH_ID: (hostile,)})
    holds = partner_application(GRAPH_ID, "Microsoft Graph", (hostile,), (hostile, "Mail.Send"))
    findings = [finding("PA002", GRAPH_SUBJECT, "a")]
    result = full_plan(inventory((holds,)), policy, findings)
    assert result.change_sets == ()
    assert "not permission names" in result.skipped[0].reason


def test_two_exports_that_disagree_give_no_plan_item_and_name_both_files() -> None:
    first = partner_application(
        GRAPH_ID, "Microsoft Graph", GRAPH_ACT_AS, GRAPH_ACT_AS, path="a.xml"
    )
    second = partner_application(GRAPH_ID, "Microsoft Graph", GRAPH_ACT_AS, (), path="b.xml")
    findings = [finding("PA001", GRAPH_SUBJECT, "a")]
    result = full_plan(inventory((first, second)), make_policy(), findings)
    assert result.change_sets == ()
    (note,) = result.skipped
    assert "a.xml" in note.reason and "b.xml" in note.reason


def test_identical_records_of_one_application_give_one_plan_item() -> None:
    first = partner_application(
        GRAPH_ID, "Microsoft Graph", GRAPH_ACT_AS, GRAPH_ACT_AS, path="a.xml"
    )
    second = dataclasses.replace(first, source=_evidence("b.xml"))
    findings = [finding("PA001", GRAPH_SUBJECT, "a")]
    (change_set,) = full_plan(inventory((first, second)), make_policy(), findings).change_sets
    assert len(change_set.partner_applications) == 1


def test_applications_are_ordered_by_identifier_in_one_change_set() -> None:
    exo = partner_application(EXO_ID, "Exchange Online", ("Mail.Read",), ("Mail.Read",))
    findings = [finding("PA002", GRAPH_SUBJECT, "a"), finding("PA002", exo.subject, "b")]
    (change_set,) = full_plan(inventory((GRAPH, exo)), make_policy(), findings).change_sets
    assert [c.application_identifier for c in change_set.partner_applications] == [EXO_ID, GRAPH_ID]


def test_two_servers_get_one_web_config_change_set_each() -> None:
    configs = (
        web_config("EX02", API, RECIPE_PROFILES, "22" * 32),
        web_config("EX01", API, RECIPE_PROFILES, "11" * 32),
    )
    findings = [finding("WC001", config.subject, config.server) for config in configs]
    change_sets = full_plan(inventory(configs=configs), make_policy(), findings).change_sets
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
    assert change.removes == ("V1S2SAppOnly",)
    assert change.enables == ()


def _target(raw: str, policy: Policy) -> str | None:
    config = web_config("EX01", API, raw, "11" * 32)
    return judge_profiles(config, policy, ProfileTables.build(policy)).target


def test_app_only_profile_stays_when_some_application_is_approved() -> None:
    policy = make_policy({GRAPH_ID: ("Mail.Read",)})
    allowed = tuple(
        dataclasses.replace(vdir, allowed_profiles=("V1S2SAppOnly",)) if vdir.vdir == API else vdir
        for vdir in policy.vdirs
    )
    policy = dataclasses.replace(policy, vdirs=allowed)
    assert _target(RECIPE_PROFILES, policy) == RECIPE_PROFILES


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
    assert _target(raw, make_policy()) == target


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
    assert _target("S2SAppActAs|S2SAppOnly|V1AppOnly|Callback", policy) == "S2SAppActAs|Callback"


def test_web_config_skips_are_explained() -> None:
    configs = (
        web_config("EX01", "Default Web Site", RECIPE_PROFILES, "11" * 32),
        web_config("EX01", "No Such Site/API", RECIPE_PROFILES, "11" * 32),
        web_config("EX01", API, DEFAULT_PROFILES, "11" * 32),
    )
    findings = [finding("WC002", config.subject, config.vdir) for config in configs]
    result = full_plan(inventory(configs=configs), make_policy(), findings)
    assert result.change_sets == ()
    reasons = [note.reason for note in result.skipped]
    assert any("outside the Exchange install folder" in reason for reason in reasons)
    assert any("unknown" in reason for reason in reasons)
    assert any("already has the target value" in reason for reason in reasons)


def test_two_copies_of_one_web_config_are_skipped_naming_both_files() -> None:
    configs = (
        web_config("EX01", API, RECIPE_PROFILES, "11" * 32, path="a/web.config"),
        web_config("EX01", API, RECIPE_PROFILES, "22" * 32, path="b/web.config"),
    )
    findings = [finding("WC001", configs[0].subject, "x")]
    result = full_plan(inventory(configs=configs), make_policy(), findings)
    (note,) = result.skipped
    assert "a/web.config" in note.reason and "b/web.config" in note.reason


def test_colliding_server_slugs_stay_distinct() -> None:
    configs = (
        web_config("ex01", API, RECIPE_PROFILES, "11" * 32),
        web_config("EX01", API, RECIPE_PROFILES, "22" * 32),
    )
    findings = [finding("WC001", config.subject, config.server) for config in configs]
    slugs = [
        cs.slug for cs in full_plan(inventory(configs=configs), make_policy(), findings).change_sets
    ]
    assert len(set(slugs)) == 2


def test_plan_is_deterministic() -> None:
    configs = (
        web_config("EX02", API, RECIPE_PROFILES, "22" * 32),
        web_config("EX01", API, RECIPE_PROFILES, "11" * 32),
    )
    findings = [finding("WC001", config.subject, config.server) for config in configs]
    findings.append(finding("PA001", GRAPH_SUBJECT, "a"))
    first = full_plan(inventory((GRAPH,), configs), make_policy(), findings).change_sets
    second = full_plan(
        inventory((GRAPH,), tuple(reversed(configs))), make_policy(), list(reversed(findings))
    ).change_sets
    assert [cs.slug for cs in first] == [cs.slug for cs in second]
    assert [cs.web_configs for cs in first] == [cs.web_configs for cs in second]


def test_unplanned_profiles_keep_every_token() -> None:
    config = web_config("EX01", API, RECIPE_PROFILES, "11" * 32)
    findings = [finding("WC001", config.subject, "x", suppressed=True)]
    result = full_plan(inventory(configs=(config,)), make_policy(), findings)
    (judgement,) = result.judgements.profiles
    assert judgement.target is None
    assert {token.action for token in judgement.tokens} == {TokenAction.KEEP}


def test_every_remediation_template_id_has_a_change_and_scripts() -> None:
    from auditor.remediation import TEMPLATES
    from auditor.resources import templates_dir
    from auditor.rules import Remediation

    assert set(TEMPLATES) == {kind.value for kind in Remediation}
    assert set(TEMPLATES.values()) == set(ChangeKind)
    for kind in ChangeKind:
        for script in ("remediation", "rollback"):
            assert (templates_dir() / "ps1" / f"{kind.value}.{script}.ps1.j2").is_file()
    used = {info.remediation for info in make_policy().rules} - {None}
    assert used == set(TEMPLATES)


def _fleet_finding(vdir: str = API) -> Finding:
    return dataclasses.replace(finding("FL001", f"fleet:{vdir}", "x"), fingerprint="fl001")


def test_a_fleet_finding_the_plan_resolves_is_listed_by_every_change_to_the_vdir() -> None:
    configs = (
        web_config("EX01", API, RECIPE_PROFILES, "11" * 32),
        web_config("EX02", API, f"{DEFAULT_PROFILES}| V1S2SAppOnly", "22" * 32),
        web_config("EX03", API, DEFAULT_PROFILES, "33" * 32),
    )
    findings = [
        finding("WC001", configs[0].subject, "a"),
        finding("WC002", configs[1].subject, "b"),
        _fleet_finding(),
    ]
    result = full_plan(inventory(configs=configs), make_policy(), findings)
    assert [cs.web_configs[0].fixes for cs in result.change_sets] == [
        ("wc001-a", "fl001"),
        ("wc002-b", "fl001"),
    ]
    assert result.skipped == ()


def test_a_fleet_finding_the_plan_leaves_is_skipped_with_the_reason() -> None:
    policy = make_policy({GRAPH_ID: ("Mail.Read",)})
    allowed = tuple(
        dataclasses.replace(vdir, allowed_profiles=("V1S2SAppOnly",)) if vdir.vdir == API else vdir
        for vdir in policy.vdirs
    )
    policy = dataclasses.replace(policy, vdirs=allowed)
    configs = (
        web_config("EX01", API, RECIPE_PROFILES, "11" * 32),  # allowed: stays
        web_config("EX02", API, DEFAULT_PROFILES, "22" * 32),
    )
    result = full_plan(inventory(configs=configs), policy, [_fleet_finding()])
    assert result.change_sets == ()
    (note,) = result.skipped
    assert note.subject == f"fleet:{API}"
    assert "no planned change touches this vdir" in note.reason


def test_a_judgement_whose_target_would_grant_is_not_planned() -> None:
    app = partner_application(GRAPH_ID, "Microsoft Graph", GRAPH_ACT_AS, ("Calendars.Read",))
    judgements = judge(inventory((app,)), make_policy())
    (judgement,) = judgements.applications
    forged = dataclasses.replace(judgement, target_app_only=("Mail.Read",))
    findings = [finding("PA002", GRAPH_SUBJECT, "a")]
    result = make_plan(
        inventory((app,)),
        dataclasses.replace(judgements, applications=(forged,)),
        make_policy(),
        findings,
    )
    assert result.change_sets == ()
    (note,) = result.skipped
    assert (
        note.reason == "the change would grant ['Mail.Read']; auditor only takes permissions away"
    )
