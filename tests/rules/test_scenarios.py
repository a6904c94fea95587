"""The article's recipe end to end at the rule level, waivers over time, and evaluation cost."""

from __future__ import annotations

import dataclasses
import datetime
import random
from pathlib import Path

from conftest import count_calls
from rule_case_loader import API_DEFAULT, GRAPH_ACT_AS, GRAPH_ID, build_inventory

from auditor.model import Finding, Inventory, Policy
from auditor.policy import load_policy
from auditor.rules import evaluate

EXAMPLES = Path(__file__).resolve().parents[2] / "policies" / "examples"
GRAPH_SUBJECT = f"partner-application:{GRAPH_ID}"
CLIXML = "exports/PartnerApplication.xml"
REST_EX01 = "EX01/FrontEnd/HttpProxy/Rest/web.config"
REST_EX02 = "EX02/FrontEnd/HttpProxy/Rest/web.config"
FORBIDDEN_OF_29 = [
    "Mail.Write", "Mail.Send", "Calendars.ReadWrite", "Calendars.ReadWrite.Shared",
    "Contacts.ReadWrite", "Contacts.ReadWrite.Shared", "Mail.ReadWrite", "Calendars.Write",
    "Contacts.Write", "Sites.ReadWrite.All", "User.ReadWrite", "User.ReadWrite.All",
    "Group.ReadWrite.All", "People.ReadWrite", "MailboxSettings.ReadWrite",
    "Privilege.SkipClientAccessRules", "Tasks.ReadWrite",
]  # fmt: skip


def recipe_inventory(ex02_profiles: str | None = None) -> Inventory:
    """Graph's AppOnly = its 29 ActAs; V1S2SAppOnly appended to the API vdir of EX01 (and EX02)."""
    configs = [
        {
            "server": "EX01",
            "path": REST_EX01,
            "profiles": f"{API_DEFAULT}|V1S2SAppOnly",
            "profiles_line": 23,
        }
    ]
    if ex02_profiles is not None:
        configs.append(
            {"server": "EX02", "path": REST_EX02, "profiles": ex02_profiles, "profiles_line": 23}
        )
    return build_inventory(
        {
            "partner_applications": [
                {
                    "name": "Microsoft Graph",
                    "path": CLIXML,
                    "line": 120,
                    "app_only_line": 133,
                    "act_as_line": 134,
                    "act_as": GRAPH_ACT_AS,
                    "app_only": GRAPH_ACT_AS,
                }
            ],
            "web_configs": configs,
        }
    )


def by_rule(findings: tuple[Finding, ...]) -> dict[str, list[Finding]]:
    grouped: dict[str, list[Finding]] = {}
    for finding in findings:
        grouped.setdefault(finding.rule_id, []).append(finding)
    return grouped


def test_the_recipe_under_the_default_policy() -> None:
    evaluation = evaluate(recipe_inventory(), load_policy(), as_of=datetime.date(2026, 3, 1))
    found = by_rule(evaluation.findings)
    assert sorted(found) == ["PA001", "PA002", "PA003", "WC001"]
    assert evaluation.complete

    (pa001,) = found["PA001"]
    assert pa001.subject == GRAPH_SUBJECT
    assert pa001.location.to_json() == {"path": CLIXML, "line": 133}
    assert [(e.path, e.line) for e in pa001.evidence] == [(CLIXML, 133), (CLIXML, 134)]

    (pa003,) = found["PA003"]
    assert pa003.details["forbidden"] == FORBIDDEN_OF_29
    assert pa003.location.to_json() == {"path": CLIXML, "line": 133}

    (pa002,) = found["PA002"]
    assert pa002.details["excess"] == list(GRAPH_ACT_AS)

    (wc001,) = found["WC001"]
    assert wc001.subject == "web-config:EX01:Default Web Site/API"
    assert wc001.location.to_json() == {"path": REST_EX01, "line": 23}
    assert wc001.evidence[0].raw.endswith('|V1S2SAppOnly" />')
    assert wc001.details == {
        "token": "V1S2SAppOnly",
        "canonical": "V1S2SAppOnly",
        "vdir": "Default Web Site/API",
        "server": "EX01",
        "reason": "forbidden",
        "profiles": [*API_DEFAULT.split("|"), "V1S2SAppOnly"],
        "raw": f"{API_DEFAULT}|V1S2SAppOnly",
    }
    # Most severe first.
    assert [f.rule_id for f in evaluation.findings] == ["PA001", "PA003", "PA002", "WC001"]


def _example_policy() -> Policy:
    return load_policy([EXAMPLES / "approve-graph-mail-read.yaml"])


def test_the_mail_read_approval_with_a_waiver_in_force() -> None:
    inventory = recipe_inventory(ex02_profiles=f"{API_DEFAULT}| V1S2SAppOnly")
    evaluation = evaluate(inventory, _example_policy(), as_of=datetime.date(2026, 6, 30))
    found = by_rule(evaluation.findings)
    assert sorted(found) == ["FL001", "PA001", "PA002", "PA003", "WC002"]
    assert found["PA002"][0].details["excess"] == [p for p in GRAPH_ACT_AS if p != "Mail.Read"]
    assert found["PA002"][0].details["approved"] == ["Mail.Read"]
    (wc002,) = found["WC002"]
    assert wc002.subject == "web-config:EX02:Default Web Site/API"
    assert wc002.suppressed
    assert wc002.waiver is not None and wc002.waiver.ticket == "CHG-2041"
    assert all(not f.suppressed for f in evaluation.findings if f.rule_id != "WC002")


def test_the_same_waiver_after_it_expired() -> None:
    inventory = recipe_inventory(ex02_profiles=f"{API_DEFAULT}| V1S2SAppOnly")
    evaluation = evaluate(inventory, _example_policy(), as_of=datetime.date(2026, 7, 1))
    found = by_rule(evaluation.findings)
    assert not any(f.suppressed for f in evaluation.findings)
    (wv001,) = found["WV001"]
    assert wv001.location.line == 24
    assert wv001.location.path.endswith("approve-graph-mail-read.yaml")
    assert wv001.details["waiver"]["ticket"] == "CHG-2041"
    assert found["WC002"][0].waiver is None


def test_fingerprints_ignore_paths_and_lines() -> None:
    policy = load_policy()
    first = evaluate(recipe_inventory(), policy, as_of=datetime.date(2026, 3, 1))
    moved = recipe_inventory()
    moved = dataclasses.replace(
        moved,
        web_configs=tuple(
            dataclasses.replace(config, path="elsewhere/" + config.path)
            for config in moved.web_configs
        ),
    )
    second = evaluate(moved, policy, as_of=datetime.date(2026, 3, 1))
    assert [f.fingerprint for f in first.findings] == [f.fingerprint for f in second.findings]
    assert len({f.fingerprint for f in first.findings}) == len(first.findings)


def fleet_inventory(servers: int) -> Inventory:
    vdirs = [
        ("Default Web Site/API", API_DEFAULT),
        ("Default Web Site/EWS", "S2SAppActAs|S2SAppOnly|V1AppActAs|V1AppOnly|Callback"),
        ("Default Web Site/OAB", "V1AppActAs|Callback"),
    ]
    configs = []
    for index in range(servers):
        for number in range(24):
            vdir, profiles = vdirs[number % len(vdirs)]
            if index % 10 == 3 and vdir.endswith("API"):
                profiles += "|V1S2SAppOnly"
            configs.append(
                {
                    "server": f"EX{index:03d}",
                    "vdir": vdir,
                    "path": f"EX{index:03d}/{number}/web.config",
                    "profiles": profiles,
                    "settings": [{"key": "HttpProxy.ProtocolType", "value": "x", "line": 3}],
                }
            )
    return build_inventory({"web_configs": configs})


def test_order_does_not_depend_on_input_order() -> None:
    policy = load_policy()
    inventory = fleet_inventory(12)
    shuffled = list(inventory.web_configs)
    random.Random(7).shuffle(shuffled)
    first = evaluate(inventory, policy, as_of=datetime.date(2026, 3, 1))
    second = evaluate(
        dataclasses.replace(inventory, web_configs=tuple(shuffled)),
        policy,
        as_of=datetime.date(2026, 3, 1),
    )
    assert [f.to_json() for f in first.findings] == [f.to_json() for f in second.findings]


def test_incomplete_evidence_makes_the_audit_incomplete_unless_allowed() -> None:
    inventory = build_inventory(
        {"problems": [{"code": "incomplete-evidence", "path": "apps.csv", "line": 2}]}
    )
    policy = load_policy()
    strict = evaluate(inventory, policy, as_of=datetime.date(2026, 3, 1))
    allowed = evaluate(inventory, policy, as_of=datetime.date(2026, 3, 1), allow_incomplete=True)
    assert not strict.complete
    assert allowed.complete
    assert (
        [f.rule_id for f in strict.findings] == [f.rule_id for f in allowed.findings] == ["EV001"]
    )
    assert {entry.rule_id for entry in strict.not_applied} == {
        "PA001", "PA002", "PA003", "PA004", "PA005", "WC001", "WC002", "WC003", "FL001",
        "HT001", "HT002", "HT003", "HT004", "HT005", "HT006", "HT007", "HT008", "HT009",
        "HT101", "HT111", "HT112", "HT113", "HT114", "HT121", "HT122",
    }  # fmt: skip


def test_evaluation_is_fast_and_linear() -> None:
    """2,400 web.configs (100 servers), then 4x the servers: about 4x the work (calls counted)."""
    policy = load_policy()
    hundred = fleet_inventory(100)
    four_hundred = fleet_inventory(400)
    assert len(hundred.web_configs) == 2400

    def work(inventory: Inventory) -> int:
        """Python and built-in calls of one evaluation: counted, not timed (noisy machines);
        the time is measured by benchmarks/fleet.py."""
        return count_calls(lambda: evaluate(inventory, policy, as_of=datetime.date(2026, 3, 1)))

    assert work(four_hundred) < work(hundred) * 4 * 1.25  # linear in the servers
