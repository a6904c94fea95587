"""The CLIXML parser against two other readers and writers of CLIXML.

- psrpcore's `serialize_clixml` (an independent implementation of PowerShell's serializer) writes
  partner applications with hostile names and lists, in the shapes exports take (objects, custom
  type names, hashtables, objects inside a hashtable's values); `clixml.parse` must read back
  exactly those names and lists. A list item holding a character no permission name contains
  keeps its text and makes the list incomplete evidence.
- PowerShell's own `Import-Clixml` (the real pwsh, one process for every file) reads each CLIXML
  file of the parser test data; every partner application it finds (an object or hashtable with
  an ApplicationIdentifier and a permission property, at any depth) must be read by
  `auditor parse` with the same name and lists, or the file must carry a problem (the parser
  refuses what PowerShell would guess at, e.g. a property given twice).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import unicodedata
from pathlib import Path
from typing import Any

import conftest
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from parser_helpers import DATA, raw_input
from psrpcore.types import PSCryptoProvider, PSCustomObject, PSList, serialize_clixml

from auditor.model import PartnerApplication
from auditor.parsers import clixml
from auditor.parsers.base import RawInput

PROJECT_ROOT = Path(__file__).resolve().parents[2]
BUNDLED_PWSH = PROJECT_ROOT / ".tools" / "pwsh" / "pwsh"
PARTNER_TYPE = "Microsoft.Exchange.Data.Directory.SystemConfiguration.PartnerApplication"


class _NoCrypto(PSCryptoProvider):
    """psrpcore wants a crypto provider for SecureString values; none are written here."""

    def decrypt(self, value: bytes) -> bytes:
        raise NotImplementedError

    def encrypt(self, value: bytes) -> bytes:
        raise NotImplementedError

    def register_key(self, key: bytes) -> None:
        raise NotImplementedError


def _glued(names: tuple[str, ...]) -> bool:
    """A name with a character no permission name contains (the list is incomplete)."""
    return any(
        char in " ?,|;\u2026" or unicodedata.category(char) in ("Cc", "Cf", "Zs", "Zl", "Zp")
        for name in names
        for char in name
    )


# Any text but lone surrogates (psrpcore writes some of them unescaped, which no encoder can
# write): psrpcore writes control characters and `_x..._` look-alikes as `_xHHHH_` escapes.
hostile_text = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\ufffe\uffff"),
    max_size=24,
)
permission_lists = st.lists(hostile_text, max_size=6).map(tuple)


@st.composite
def exports(draw: st.DrawFn) -> tuple[Any, list[tuple[str, str, tuple[str, ...], tuple[str, ...]]]]:
    """A value to serialise and the (name, identifier, ActAs, AppOnly) of its applications."""
    count = draw(st.integers(min_value=1, max_value=3))
    expected = []
    records = []
    shape = draw(st.sampled_from(["objects", "typed", "hashtables", "hashtable-of-apps"]))
    for index in range(count):
        name = draw(hostile_text)
        identifier = f"00000003-0000-0000-c000-00000000000{index}"
        act_as = draw(permission_lists)
        app_only = draw(permission_lists)
        expected.append((name, identifier, act_as, app_only))
        members = {
            "Name": name,
            "ApplicationIdentifier": identifier,
            "ActAsPermissions": PSList(act_as),
            "AppOnlyPermissions": PSList(app_only),
        }
        if shape == "hashtables":
            records.append(members)
            continue
        record = PSCustomObject(**members)
        if shape == "typed":
            record.PSTypeNames.insert(0, "Deserialized." + PARTNER_TYPE)
        records.append(record)
    if shape == "hashtable-of-apps":
        return {f"app{index}": record for index, record in enumerate(records)}, expected
    return records, expected


@settings(max_examples=150, deadline=None)
@given(case=exports())
def test_psrpcore_objects_are_read_back_exactly(
    case: tuple[Any, list[tuple[str, str, tuple[str, ...], tuple[str, ...]]]],
) -> None:
    value, expected = case
    text = serialize_clixml(value, _NoCrypto())
    data = text.encode("utf-8")

    result = clixml.parse(RawInput(path="psrpcore.xml", data=data, sha256="0" * 64))

    read = {app.application_identifier: app for app in result.partner_applications}
    assert len(read) == len(expected), result.problems
    incomplete = 0
    for name, identifier, act_as, app_only in expected:
        app = read[identifier]
        assert app.name == name.strip()
        for names, permissions in (
            (act_as, app.act_as_permissions),
            (app_only, app.app_only_permissions),
        ):
            assert permissions.values == names
            assert permissions.complete is not _glued(names)
            incomplete += _glued(names)
    assert len(result.problems) == incomplete, result.problems


# --- the real PowerShell ------------------------------------------------------------------------

# For each file: Import-Clixml, then every partner application it holds, at any depth.
IMPORT_SCRIPT = Path(__file__).resolve().parent / "import_clixml.ps1"


def _pwsh() -> Path:
    """pwsh as tests/pwsh/harness.py finds it; a skip (a failure under AUDITOR_REQUIRE_ALL=1)."""
    if BUNDLED_PWSH.is_file() and os.access(BUNDLED_PWSH, os.X_OK):
        return BUNDLED_PWSH
    found = shutil.which("pwsh")
    if found is None:
        conftest.skip_or_fail(f"PowerShell not found at {BUNDLED_PWSH} or on PATH")
        raise AssertionError("unreachable")
    return Path(found)


def _clixml_files() -> list[Path]:
    folder = DATA / "clixml"
    return sorted(path for path in folder.rglob("*.xml"))


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """What Import-Clixml finds in every CLIXML test file, from one pwsh process."""
    pwsh = _pwsh()
    work = tmp_path_factory.mktemp("import-clixml")
    listing = work / "files.txt"
    listing.write_text("\n".join(str(path) for path in _clixml_files()), encoding="utf-8")
    completed = subprocess.run(
        [str(pwsh), "-NoProfile", "-NonInteractive", "-File", str(IMPORT_SCRIPT), str(listing)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    result: dict[str, Any] = json.loads(completed.stdout)
    return result


def _as_read(app: PartnerApplication) -> tuple[str, str, tuple[str, ...], tuple[str, ...]]:
    return (
        app.name,
        app.application_identifier,
        app.act_as_permissions.values,
        app.app_only_permissions.values,
    )


@pytest.mark.pwsh
@pytest.mark.parametrize("path", _clixml_files(), ids=lambda path: path.name)
def test_auditor_reads_what_import_clixml_reads(path: Path, imported: dict[str, Any]) -> None:
    seen = imported[str(path)]
    result = clixml.parse(raw_input(path))
    if "error" in seen:
        # PowerShell refuses the file: auditor must not read it as clean evidence either.
        assert result.problems, seen["error"]
        return
    expected = {
        (
            app["name"].strip(),
            app["id"].strip().lower(),
            tuple(app["act_as"] or ()),
            tuple(app["app_only"] or ()),
        )
        for app in seen["apps"]
    }
    read = {_as_read(app) for app in result.partner_applications}
    complete = {
        _as_read(app)
        for app in result.partner_applications
        if app.act_as_permissions.complete and app.app_only_permissions.complete
    }
    # Every complete record auditor reads is what PowerShell reads.
    assert complete <= expected, (complete - expected, expected)
    # Every application PowerShell reads is read the same, or the file says what went wrong.
    missed = expected - read
    if missed:
        assert result.problems, missed
