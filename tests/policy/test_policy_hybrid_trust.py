"""The policy's `hybrid_trust` section: what the HT rules compare the trust exports with."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.model import CERTIFICATE_WARNING_DAYS, HybridTrustPolicy
from auditor.policy import PolicyError, load_policy

TENANT = "5C8A2C7E-2D7F-4C43-9E36-7E6A1C3C2B10"
APP = "4b3b2f7a-1c9d-4f0e-8a5b-6d7e8f9a0b1c"


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_default_is_the_documented_one() -> None:
    trust = load_policy().hybrid_trust

    assert trust == HybridTrustPolicy()
    assert trust.require_dedicated_app is True
    assert trust.certificate_warning_days == CERTIFICATE_WARNING_DAYS == 60
    assert (trust.tenant_id, trust.expected_application_id, trust.build_floors) == (None, None, ())


def test_the_section_layers_field_by_field(tmp_path: Path) -> None:
    base = _write(
        tmp_path,
        "org.yaml",
        "name: org\nversion: 1\nextends: default\nhybrid_trust:\n"
        f"  tenant_id: {TENANT}\n  expected_application_id: {APP}\n"
        "  build_floors:\n    '15.2.1544': 15.2.1544.25\n",
    )
    team = _write(
        tmp_path,
        "team.yaml",
        "name: team\nversion: 1\nextends: org.yaml\nhybrid_trust:\n"
        "  certificate_warning_days: 90\n  build_floors:\n    '15.1.2507': 15.1.2507.55\n",
    )

    trust = load_policy([base, team]).hybrid_trust

    assert trust.tenant_id == TENANT.lower()  # GUIDs are compared lower-case
    assert trust.expected_application_id == APP
    assert trust.certificate_warning_days == 90
    assert trust.require_dedicated_app is True
    assert trust.build_floors == (("15.1.2507", "15.1.2507.55"), ("15.2.1544", "15.2.1544.25"))


@pytest.mark.parametrize(
    ("line", "where", "value"),
    [
        (5, "hybrid_trust.tenant_id", "  tenant_id: contoso.onmicrosoft.com\n"),
        (5, "hybrid_trust.expected_application_id", "  expected_application_id: '{" + APP + "}'\n"),
        (5, "hybrid_trust.require_dedicated_app", "  require_dedicated_app: sometimes\n"),
        (5, "hybrid_trust.certificate_warning_days", "  certificate_warning_days: 0\n"),
        (6, 'hybrid_trust.build_floors["15.2.1544"]', "  build_floors:\n    '15.2.1544': CU14\n"),
        (5, "hybrid_trust.tenant", "  tenant: " + TENANT + "\n"),
    ],
    ids=["tenant-not-guid", "app-braced", "bool", "days", "floor", "unknown-key"],
)
def test_a_bad_value_is_a_located_error(line: int, where: str, value: str, tmp_path: Path) -> None:
    path = _write(
        tmp_path, "bad.yaml", "name: org\nversion: 1\nextends: default\nhybrid_trust:\n" + value
    )

    with pytest.raises(PolicyError) as caught:
        load_policy([path])

    assert caught.value.line == line, str(caught.value)
    assert caught.value.where == where, str(caught.value)
    assert "bad.yaml" in str(caught.value)


def test_not_requiring_the_dedicated_app_weakens_the_default(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "org.yaml",
        "name: org\nversion: 1\nextends: default\nhybrid_trust:\n  require_dedicated_app: false\n",
    )

    policy = load_policy([path])

    assert [(item.kind.value, item.subject) for item in policy.weakenings] == [
        ("rule-disabled", "HT001")
    ]
    assert "no longer requires the dedicated Exchange hybrid app" in policy.weakenings[0].text


def test_show_keeps_the_section_when_set(tmp_path: Path) -> None:
    from auditor.policy.text import policy_as_yaml

    path = _write(
        tmp_path,
        "org.yaml",
        f"name: org\nversion: 1\nextends: default\nhybrid_trust:\n  tenant_id: {TENANT}\n",
    )
    shown = _write(tmp_path, "shown.yaml", policy_as_yaml(load_policy([path])))

    assert load_policy([shown]).hybrid_trust.tenant_id == TENANT.lower()
    assert "hybrid_trust" not in policy_as_yaml(load_policy())  # the default shows as before
