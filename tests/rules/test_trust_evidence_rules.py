"""The hybrid-trust rules (HT1xx) beyond their case files: each fixture organisation gives
exactly its rule, the build table's edges, the certificate thresholds as parameters, why a
trust rule is not applied, and the real MonitorExchangeAuthCertificate lab of CSS-Exchange."""

from __future__ import annotations

import datetime
import json
import shutil
from pathlib import Path

import pytest
from rule_case_loader import TRUST_ORGS

from auditor.model import DEFAULT_CLASSES, EvidenceClass, Inventory, Scope
from auditor.parsers import read_inventory
from auditor.policy import load_policy
from auditor.rules import evaluate
from auditor.rules.context import RuleContext
from auditor.rules.trust_builds import APRIL_2025_HU_BUILDS, is_supported
from auditor.rules.trust_certificates import check_ht112, expiring_current

AS_OF = datetime.date(2026, 12, 7)
CURRENT = "E1BDF9AE58C93C75E76C9DD882138FB8FF0FA786"
NEXT = "BC6BF924D6EF046E64F8D1987DC1D7D2F4C0042A"
EXO, DEDICATED = "00000002-0000-0ff1-ce00-000000000000", "3c9d5e7f-1a2b-4c6d-8e0f-a1b2c3d4e5f6"


# The hybrid trust is assessed only when chosen (`--scope hybrid-trust`).
TRUST_SCOPE = Scope(classes=(EvidenceClass.HYBRID_TRUST,))


def _trust_findings(inventory: Inventory, as_of: datetime.date = AS_OF) -> list[tuple[str, str]]:
    evaluation = evaluate(inventory, load_policy(), as_of=as_of, scope=TRUST_SCOPE)
    return [(f.rule_id, f.subject) for f in evaluation.findings if f.rule_id.startswith("HT")]


@pytest.mark.parametrize(
    ("org", "as_of", "expected"),
    [
        ("builds-clean", AS_OF, []),
        ("builds-below", AS_OF, [("HT101", "server:EX02")]),
        ("builds-exchange-2013", AS_OF, [("HT101", "server:EX02")]),
        ("builds-missing", AS_OF, [("HT101", "server:EX02")]),
        ("certs-clean", AS_OF, []),
        ("certs-clean", datetime.date(2027, 12, 31), [("HT111", f"authconfig:current:{CURRENT}")]),
        ("certs-clean", datetime.date(2027, 11, 15), [("HT112", f"authconfig:current:{CURRENT}")]),
        ("certs-no-current", AS_OF, [("HT111", "authconfig:current")]),
        ("certs-current-absent", AS_OF, [("HT113", "server:E2k16-2")]),
        ("certs-export-missing", AS_OF, [("HT113", "server:E2k16-2")]),
        ("certs-next-absent", AS_OF, [("HT114", "server:E2k16-2")]),
        ("cloud-clean", AS_OF, []),
        ("cloud-first-party-keys", AS_OF, [("HT121", f"cloud:{EXO}")]),
        ("cloud-app-lacks-current", AS_OF, [("HT122", f"cloud:{DEDICATED}")]),
        ("scuba-clean", AS_OF, []),
        ("scuba-first-party-keys", AS_OF, [("HT121", f"cloud:{EXO}")]),
    ],
)
def test_each_organisation_gives_exactly_its_rule(
    org: str, as_of: datetime.date, expected: list[tuple[str, str]]
) -> None:
    assert _trust_findings(read_inventory([TRUST_ORGS / org]), as_of) == expected


@pytest.mark.parametrize(
    ("build", "supported"),
    [
        ((15, 2, 2562, 17), True),  # SE RTM
        ((15, 2, 2562, 16), False),
        ((15, 2, 2700, 1), True),  # a later SE cumulative update
        ((15, 2, 1748, 24), True),
        ((15, 2, 1748, 10), False),  # 2019 CU15 RTM: Microsoft's script lets it pass, Learn not
        ((15, 2, 1544, 25), True),
        ((15, 2, 1544, 4), False),
        ((15, 2, 1258, 39), False),  # 2019 CU13 never got the hotfix
        ((15, 2, 1600, 1), False),  # between lines: judged by the next line up
        ((15, 1, 2507, 55), True),
        ((15, 1, 2507, 44), False),
        ((15, 1, 2375, 37), False),  # 2016 CU22
        ((15, 0, 1497, 48), False),  # Exchange 2013
        ((14, 3, 513, 0), False),
    ],
)
def test_the_build_table_compares_four_integers(
    build: tuple[int, int, int, int], supported: bool
) -> None:
    assert is_supported(build) is supported


def test_the_build_table_is_the_april_2025_hotfix_table() -> None:
    assert [line.minimum for line in APRIL_2025_HU_BUILDS] == [
        (15, 2, 2562, 17),
        (15, 2, 1748, 24),
        (15, 2, 1544, 25),
        (15, 1, 2507, 55),
    ]


def test_the_warning_window_is_a_parameter() -> None:
    inventory = read_inventory([TRUST_ORGS / "certs-clean"])
    context = RuleContext.build(inventory, load_policy(), AS_OF)

    assert list(check_ht112.check(context)) == []  # 388 days left: outside the default 60
    (finding,) = expiring_current(context, current_warning_days=400, next_warning_days=400)
    assert finding.details["days_left"] == 388


def test_trust_rules_are_not_applied_outside_the_scope_or_without_their_evidence() -> None:
    policy = load_policy()
    inventory = read_inventory([TRUST_ORGS / "builds-below"])
    outside = Scope(classes=(EvidenceClass.PARTNER_APPLICATIONS, EvidenceClass.WEB_CONFIG))
    assert EvidenceClass.HYBRID_TRUST in DEFAULT_CLASSES  # assessed unless left out on purpose

    narrowed = Scope(classes=outside.classes, narrowed=(EvidenceClass.HYBRID_TRUST,))
    evaluation = evaluate(inventory, policy, as_of=AS_OF, scope=narrowed)
    reasons = {item.rule_id: item.reason for item in evaluation.not_applied}
    # left out on purpose: not run, and listed as not applied with why (never silent)
    assert reasons["HT101"] == "hybrid trust left out of the audit's scope"
    assert not [f for f in evaluation.findings if f.rule_id.startswith("HT")]

    chosen = Scope(classes=(EvidenceClass.HYBRID_TRUST,))
    evaluation = evaluate(inventory, policy, as_of=AS_OF, scope=chosen)
    reasons = {item.rule_id: item.reason for item in evaluation.not_applied}
    assert "HT101" not in reasons
    assert reasons["HT111"] == "no Get-AuthConfig export was read"
    assert [f.rule_id for f in evaluation.findings if f.rule_id != "EV001"] == ["HT101"]

    assert reasons["HT121"] == reasons["HT122"] == "no cloud evidence given"  # never a pass

    nothing = evaluate(Inventory(), policy, as_of=AS_OF, scope=chosen)
    reasons = {item.rule_id: item.reason for item in nothing.not_applied}
    assert reasons["HT101"] == "no ExSetup version and no Get-ExchangeServer export was read"


@pytest.mark.corpus
def test_the_real_lab_reads_as_one_lab_with_a_current_and_a_next_certificate(
    css_exchange: Path,
) -> None:
    lab = css_exchange / "AuthCertificate"
    inventory = read_inventory([lab / "GetAuthConfig.xml", lab / "GetExchangeCertificate.xml"])

    (config,) = inventory.trust.auth_configs
    assert (config.current_certificate_thumbprint, config.next_certificate_thumbprint) == (
        CURRENT,
        NEXT,
    )
    held = {c.thumbprint: c for c in inventory.trust.exchange_certificates}
    assert held[CURRENT].not_after == "2027-12-30T16:55:13Z"
    assert held[NEXT].not_after == "2028-01-04T14:15:54Z"
    assert {c.server for c in held.values()} == {"e2k16-1.contoso.lab"}
    assert _trust_findings(inventory) == []  # the servers come from the certificate export


@pytest.mark.corpus
def test_the_real_broken_export_lacks_both_auth_certificates(css_exchange: Path) -> None:
    lab = css_exchange / "AuthCertificate"
    broken = lab / "GetExchangeCertificateBroken.xml"
    inventory = read_inventory([lab / "GetAuthConfig.xml", broken])

    assert _trust_findings(inventory) == [
        ("HT113", "server:e2k16-1.contoso.lab"),
        ("HT114", "server:e2k16-1.contoso.lab"),
    ]


def test_cloud_evidence_without_the_principals_fails_closed(tmp_path: Path) -> None:
    org = tmp_path / "org"
    shutil.copytree(TRUST_ORGS / "certs-clean", org)
    other = {"appId": "11111111-2222-3333-4444-555555555555", "displayName": "Contoso EWS tool"}
    (org / "graph.json").write_text(json.dumps({"value": [{**other, "keyCredentials": []}]}))

    evaluation = evaluate(read_inventory([org]), load_policy(), as_of=AS_OF, scope=TRUST_SCOPE)

    found = {f.rule_id: f for f in evaluation.findings if f.rule_id.startswith("HT")}
    assert sorted(found) == ["HT121", "HT122"]
    assert found["HT121"].details == {"evidence": "missing"}
    assert found["HT122"].details["evidence"] == "missing"
    assert found["HT122"].location.path == "org/graph.json"


def test_a_first_party_principal_without_its_keys_exported_fails_closed(tmp_path: Path) -> None:
    org = tmp_path / "org"
    shutil.copytree(TRUST_ORGS / "certs-clean", org)
    principal = {"appId": EXO, "displayName": "Office 365 Exchange Online", "keyCredentials": None}
    (org / "graph.json").write_text(json.dumps({"value": [principal]}))

    evaluation = evaluate(read_inventory([org]), load_policy(), as_of=AS_OF, scope=TRUST_SCOPE)

    (finding,) = [f for f in evaluation.findings if f.rule_id == "HT121"]
    assert "the export does not show" in finding.message
