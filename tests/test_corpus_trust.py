"""The real hybrid-trust exports of the reference corpus, read through auditor's parsers.

Issue 24's first acceptance bullet, checked on the files in `../shared/reference/css-exchange`
(microsoft/CSS-Exchange, MIT): the dedicated-app override, organisations without it, one lab's
auth certificates (thumbprints computed from the DER equal the AuthConfig's), ExSetup builds.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.model import ExportedList, Inventory, SettingOverride
from auditor.parsers import read_inventory

pytestmark = pytest.mark.corpus

COMPONENT, SECTION = "Global", "ExchangeOnpremAsThirdPartyAppId"


def _read(*paths: Path) -> Inventory:
    return read_inventory(list(paths))


def _dedicated_app(overrides: tuple[SettingOverride, ...]) -> list[SettingOverride]:
    return [o for o in overrides if (o.component, o.section) == (COMPONENT, SECTION)]


def _file_problems(inventory: Inventory) -> list[str]:
    """Problems other than "nothing to audit" (the corpus files hold no partner application)."""
    return [problem.message for problem in inventory.problems if problem.subject != "inputs"]


def test_the_dedicated_app_override_reads_as_enabled(css_exchange: Path) -> None:
    inventory = _read(css_exchange / "E19" / "Exchange" / "GetSettingOverride2.xml")

    assert _file_problems(inventory) == []
    (override,) = _dedicated_app(inventory.trust.setting_overrides)
    assert override.name == "EnableExchangeHybrid3PAppFeature"
    assert override.parameters == ExportedList(("Enabled=true",), True)
    assert override.status == "Accepted"
    assert (override.servers, override.min_version, override.max_version) == (None, None, None)
    assert override.missing == ()
    assert override.source.line == 2


@pytest.mark.parametrize("name", ["GetSettingOverride.xml", "GetSettingOverride1.xml"])
def test_other_organisations_have_overrides_but_not_the_dedicated_app(
    css_exchange: Path, name: str
) -> None:
    inventory = _read(css_exchange / "E19" / "Exchange" / name)

    assert _file_problems(inventory) == []
    overrides = inventory.trust.setting_overrides
    assert len(overrides) == 1
    assert _dedicated_app(overrides) == []
    assert {(o.name, o.component, o.section) for o in overrides} <= {
        ("DisablingAMSIScan", "Cafe", "HttpRequestFiltering"),
        ("EnableSigningVerification", "Data", "EnableSerializationDataSigning"),
    }


def test_the_auth_certificate_lab_has_current_and_next_certificate(css_exchange: Path) -> None:
    lab = css_exchange / "AuthCertificate"
    inventory = _read(lab / "GetAuthConfig.xml", lab / "GetExchangeCertificate.xml")

    assert _file_problems(inventory) == []
    (config,) = inventory.trust.auth_configs
    assert config.current_certificate_thumbprint == "E1BDF9AE58C93C75E76C9DD882138FB8FF0FA786"
    assert config.next_certificate_thumbprint == "BC6BF924D6EF046E64F8D1987DC1D7D2F4C0042A"
    assert config.next_certificate_effective_date == "2023-02-03T14:16:02+00:00"
    assert (config.previous_certificate_thumbprint, config.realm) == ("", "")
    assert config.service_name == "00000002-0000-0ff1-ce00-000000000000"
    certificates = {c.thumbprint: c for c in inventory.trust.exchange_certificates}
    assert len(certificates) == 8
    assert {c.server for c in certificates.values()} == {"e2k16-1.contoso.lab"}  # one lab
    current = certificates[config.current_certificate_thumbprint]
    upcoming = certificates[config.next_certificate_thumbprint]
    assert current.subject == upcoming.subject == "Microsoft Exchange Server Auth Certificate"
    assert current.not_after == "2027-12-30T16:55:13Z"
    assert upcoming.not_after == "2028-01-04T14:15:54Z"


def test_the_broken_lab_lacks_the_current_certificate_and_next_is_null(
    css_exchange: Path,
) -> None:
    lab = css_exchange / "AuthCertificate"
    inventory = _read(lab / "GetAuthConfigNoNextCert.xml", lab / "GetExchangeCertificateBroken.xml")

    (config,) = inventory.trust.auth_configs
    assert config.next_certificate_thumbprint == ""  # an empty string ...
    assert config.next_certificate_effective_date is None  # ... and a $null, kept apart
    thumbprints = {c.thumbprint for c in inventory.trust.exchange_certificates}
    assert len(thumbprints) == 5
    assert "E1BDF9AE58C93C75E76C9DD882138FB8FF0FA786" not in thumbprints


@pytest.mark.parametrize(
    ("path", "build", "exported"),
    [
        ("E19/Exchange/ExSetup.xml", "15.2.986.5", "15.02.0986.005"),
        ("E19/Exchange/ExSetup1.xml", "15.2.1118.25", "15.02.1118.025"),
        ("E16/Exchange/ExSetup.xml", "15.1.2375.7", "15.01.2375.007"),
    ],
)
def test_exsetup_versions_map_to_builds(
    css_exchange: Path, path: str, build: str, exported: str
) -> None:
    inventory = _read(css_exchange / path)

    assert _file_problems(inventory) == []
    (version,) = inventory.trust.exsetup_versions
    assert (version.build, version.file_version) == (build, exported)
    assert version.server is None  # taken on the server itself: no PSComputerName, no folder


def test_every_trust_sample_reads_without_problems(css_exchange: Path) -> None:
    files = sorted((css_exchange / "E19" / "Exchange").glob("*.xml"))
    files += sorted((css_exchange / "E16" / "Exchange").glob("*.xml"))

    inventory = _read(*files)

    for path in files:
        assert _file_problems(_read(path)) == [], path
    # The samples come from two folders of different organisations: given together, their
    # org-wide exports are copies that disagree, so none of them is assessed and each
    # disagreement is a problem (the three SettingOverride files of one folder are one copy).
    assert inventory.trust_disagreements == ("auth_configs", "organization_configs")
    assert len(inventory.trust.setting_overrides) == 3
    assert all("disagree" in problem for problem in _file_problems(inventory))
    trust = inventory.trust
    (hybrid,) = trust.hybrid_configurations
    assert hybrid.service_instance == 0
    assert hybrid.domains == ExportedList(("contoso.com",), True)
    organisations = {
        path.parts[-3]: config
        for path in files
        for config in _read(path).trust.organization_configs
    }
    assert organisations["E19"].guid == "76fd9fb1-54f2-4fc8-8b04-97ca4824a55b"
    assert organisations["E19"].distinguished_name is not None
    assert organisations["E19"].distinguished_name.startswith("CN=SoloORG,")
    assert organisations["E16"].guid == "caa261bf-5660-4562-9848-1bdc78841a63"
    variants = {v.server: v for v in trust.variant_configurations}
    vnext = variants["vnext-e19a.vnext.local"]
    assert vnext.fast_train_version == "15.2.1118.25" and vnext.complete
    assert ("Cafe", "HttpRequestFiltering", ("Enabled=false",)) in {
        (o.component, o.section, o.parameters) for o in vnext.overrides
    }
