"""A `Get-OrganizationRelationship | Export-Clixml` export (what `auditor collect` writes as
OrganizationRelationship.xml) is read as trust records, with every exported property kept for
`auditor attest`; before, such an object was a "holds no partner application" problem."""

from __future__ import annotations

from pathlib import Path

from auditor.model import ExportedList
from auditor.parsers import read_inventory

EXPORT = """\ufeff<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">
  <Obj RefId="0">
    <TN RefId="0">
      <T>Deserialized.Microsoft.Exchange.Data.Directory.Management.OrganizationRelationship</T>
      <T>Deserialized.System.Object</T>
    </TN>
    <ToString>O365 to On-premises - 6b1e4d2a</ToString>
    <Props>
      <Obj N="DomainNames" RefId="1">
        <TN RefId="1"><T>Deserialized.Microsoft.Exchange.Data.MultiValuedProperty`1</T></TN>
        <LST><S>contoso.mail.onmicrosoft.com</S><S>contoso.com</S></LST>
      </Obj>
      <B N="FreeBusyAccessEnabled">true</B>
      <S N="FreeBusyAccessLevel">LimitedDetails</S>
      <B N="Enabled">true</B>
      <S N="Name">O365 to On-premises - 6b1e4d2a</S>
    </Props>
    <MS><S N="PSComputerName">ex-01.contoso.lab</S></MS>
  </Obj>
</Objs>
"""


def test_an_organization_relationship_is_read_with_every_property(tmp_path: Path) -> None:
    (tmp_path / "OrganizationRelationship.xml").write_text(EXPORT, encoding="utf-8")

    inventory = read_inventory([tmp_path])

    assert [p.message for p in inventory.problems if p.path.endswith(".xml")] == []
    (relationship,) = inventory.trust.organization_relationships
    assert relationship.name == "O365 to On-premises - 6b1e4d2a"
    assert relationship.enabled is True
    assert relationship.domain_names == ExportedList(
        ("contoso.mail.onmicrosoft.com", "contoso.com"), True
    )
    assert relationship.properties == (
        ("DomainNames", '["contoso.mail.onmicrosoft.com", "contoso.com"]'),
        ("FreeBusyAccessEnabled", "True"),
        ("FreeBusyAccessLevel", "LimitedDetails"),
        ("Enabled", "True"),
        ("Name", "O365 to On-premises - 6b1e4d2a"),
        ("PSComputerName", "ex-01.contoso.lab"),
    )
