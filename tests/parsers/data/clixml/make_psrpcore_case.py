"""Writes psrpcore-pscustomobject.xml: partner applications as psrpcore serialises them.

Run from the project root: `.venv/bin/python tests/parsers/data/clixml/make_psrpcore_case.py`.
psrpcore writes a PSCustomObject (type names `System.Management.Automation.PSCustomObject`), lists
as `System.Collections.ArrayList`, `_xHHHH_` escapes for control characters and `_`.
"""

from __future__ import annotations

from pathlib import Path

from psrpcore.types import PSCryptoProvider, PSCustomObject, PSList, serialize_clixml


class _NoCrypto(PSCryptoProvider):
    """psrpcore needs a crypto provider only for SecureString values; none are written."""

    def decrypt(self, value: bytes) -> bytes:
        raise NotImplementedError

    def encrypt(self, value: bytes) -> bytes:
        raise NotImplementedError

    def register_key(self, key: bytes) -> None:
        raise NotImplementedError


def main() -> None:
    graph = PSCustomObject(
        Name="Graph _x0041_ <&> 'quoted'",
        ApplicationIdentifier="00000003-0000-0000-C000-000000000000",
        Enabled=True,
        ActAsPermissions=PSList(["Mail.Read", "Mail.Send", "User.Read_x0041_All"]),
        AppOnlyPermissions=PSList(["Mail.Send"]),
    )
    other = PSCustomObject(
        Name="HR Portal",
        ApplicationIdentifier="6a5e3c1b-0000-4000-8000-00000000ab01",
        Enabled=False,
        ActAsPermissions=PSList(["Calendars.Read"]),
        AppOnlyPermissions=None,
    )
    text = serialize_clixml([graph, other], _NoCrypto())
    target = Path(__file__).with_name("psrpcore-pscustomobject.xml")
    target.write_text(text, encoding="utf-8", newline="")


if __name__ == "__main__":
    main()
