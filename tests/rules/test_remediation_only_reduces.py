"""Remediation only reduces: a planned AppOnlyPermissions is a subset of what the export holds.

Issue 21 item 2: with a policy approving Mail.Read for Microsoft Graph, the fix for an
unapproved Calendars.Read used to set AppOnlyPermissions to Mail.Read, a permission the
application never had. Whatever a policy approves and whatever an export holds, the rules and
the planner (`rules.evaluate` then `remediation.make_plan`, as `auditor audit` runs them) plan
a target that holds only names the application holds today, approved and not forbidden.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools

from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.model import (
    Evidence,
    InputFormat,
    Inventory,
    PartnerApplication,
    PermissionList,
    Policy,
    Presence,
)
from auditor.policy import load_policy
from auditor.remediation import make_plan
from auditor.rules import evaluate

AS_OF = datetime.date(2026, 3, 1)
GRAPH_ID = "00000003-0000-0000-c000-000000000000"
EXO_ID = "00000002-0000-0ff1-ce00-000000000000"
OTHER_ID = "11111111-2222-3333-4444-555555555555"

# Real names, including ones the default forbids, and case variants of them.
NAMES = (
    "Mail.Read",
    "Mail.ReadBasic",
    "Mail.Send",
    "mail.send",
    "Mail.ReadWrite",
    "Calendars.Read",
    "Calendars.ReadWrite.Shared",
    "User.Read.All",
    "User-Mail.ReadWrite.All",
    "EWS.AccessAsUser.All",
    "full_access_as_app",
    "Privilege.SkipClientAccessRules",
    "Tasks.Read",
)
PATTERNS = ("Mail.Send*", "*.ReadWrite*", "*.Write*", "Privilege.*", "full_access*", "Tasks.*")

names = st.lists(st.sampled_from(NAMES), max_size=8)


@functools.cache
def _default() -> Policy:
    return load_policy(())


@st.composite
def policies(draw: st.DrawFn) -> Policy:
    """The shipped default with generated approvals (any application) and forbidden patterns."""
    default = _default()
    applications = tuple(
        dataclasses.replace(app, approved_app_only=tuple(dict.fromkeys(draw(names))))
        for app in default.applications
    )
    forbidden = tuple(draw(st.lists(st.sampled_from(PATTERNS), unique=True)))
    return dataclasses.replace(default, applications=applications, forbidden_app_only=forbidden)


def _application(app_id: str, act_as: list[str], app_only: list[str]) -> PartnerApplication:
    source = Evidence(
        path="exports/PartnerApplication.xml",
        line=1,
        raw="",
        sha256="ab" * 32,
        format=InputFormat.CLIXML,
    )
    return PartnerApplication(
        name=app_id,
        application_identifier=app_id,
        enabled=True,
        act_as_permissions=PermissionList(tuple(act_as), True, source),
        app_only_permissions=PermissionList(tuple(app_only), True, source),
        linked_account=None,
        server=None,
        source=source,
    )


@st.composite
def inventories(draw: st.DrawFn) -> Inventory:
    ids = draw(st.lists(st.sampled_from((GRAPH_ID, EXO_ID, OTHER_ID)), unique=True, min_size=1))
    apps = tuple(_application(app_id, draw(names), draw(names)) for app_id in ids)
    return Inventory(inputs=(), partner_applications=apps, web_configs=())


@settings(max_examples=300, deadline=None)
@given(policy=policies(), inventory=inventories())
def test_every_planned_target_is_a_subset_of_what_the_application_holds(
    policy: Policy, inventory: Inventory
) -> None:
    evaluation = evaluate(inventory, policy, as_of=AS_OF)
    plan = make_plan(inventory, evaluation.judgements, policy, evaluation.findings)

    held = {
        app.application_identifier: set(app.app_only_permissions.values)
        for app in inventory.partner_applications
    }
    for change_set in plan.change_sets:
        for change in change_set.partner_applications:
            assert set(change.target_app_only) <= held[change.application_identifier]
            assert set(change.target_app_only) <= set(change.audited_app_only)
            assert change.adds == ()
            known = policy.application(change.application_identifier)
            approved = set(known.approved_app_only) if known is not None else set()
            assert set(change.target_app_only) <= approved
    for judgement in plan.judgements.applications:
        for row in judgement.permissions:
            if row.after is Presence.YES:
                assert row.app_only is Presence.YES, row
                assert row.forbidden_by is None, row
