"""Zip archives as inputs (issue 20): read in memory, laid out as a folder, refused when hostile.

Admins send collections back as `.zip`. A zip is told by its content, whatever its name; its
members are shown `<zip>!/<member>` and judged exactly as the files of a folder (same findings,
same fingerprints). A hostile archive is one located problem (EV002, exit 2), never a
traceback, never a file written, never a bomb inflated.
"""

from __future__ import annotations

import io
import json
import shutil
import stat
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import audit_cli
from typer.testing import Result

from auditor.model import ProblemCode, WebConfig
from auditor.parsers import read_inventory
from auditor.parsers.archive import MAX_MEMBERS
from auditor.resources import examples_dir

AS_OF = "2026-11-26"
REST = "FrontEnd/HttpProxy/Rest/web.config"
CLEAN_WEB_CONFIG = (
    b'<?xml version="1.0" encoding="utf-8"?>\r\n<configuration>\r\n  <appSettings>\r\n'
    b'    <add key="HttpProxy.ProtocolType" value="Rest" />\r\n'
    b'    <add key="OAuthHttpModule.Profiles" value="S2SAppActAs" />\r\n'
    b"  </appSettings>\r\n</configuration>\r\n"
)


pytestmark = pytest.mark.usefixtures("fresh_cli")


def audit(*args: str) -> Result:
    return audit_cli(*args, as_of=AS_OF)


def zip_folder(folder: Path, archive: Path, *, under: str = "") -> Path:
    """`folder`'s files zipped as an admin would (Send to > Compressed folder), members below
    `under`."""
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as writer:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                writer.write(path, under + path.relative_to(folder).as_posix())
    return archive


def fingerprints(result: Result) -> list[str]:
    document = json.loads(result.stdout)
    return sorted(finding["fingerprint"] for finding in document["findings"])


# --- a zip audits as the folder it holds ----------------------------------------------------------


def test_a_zip_of_the_example_audits_to_the_same_findings_as_the_folder(tmp_path: Path) -> None:
    example = tmp_path / "example"
    shutil.copytree(examples_dir(), example)
    zip_folder(example, tmp_path / "collection.zip")
    zip_folder(example, tmp_path / "other name.zip", under="example/")

    folder = audit("example", "--no-package", "--format", "json")
    zipped = audit("collection.zip", "--no-package", "--format", "json")
    renamed = audit("other name.zip", "--no-package", "--format", "json")

    assert folder.exit_code == zipped.exit_code == renamed.exit_code == 1  # high findings
    assert fingerprints(folder)  # the example has findings: the comparison means something
    assert fingerprints(zipped) == fingerprints(folder)
    assert fingerprints(renamed) == fingerprints(folder)  # the zip's name is not evidence
    inputs = [item["path"] for item in json.loads(zipped.stdout)["inputs"]]
    assert "collection.zip!/EX01/PartnerApplication.xml" in inputs
    assert f"collection.zip!/EX02/{REST}" in inputs
    assert json.loads(zipped.stdout)["problems"] == []


def test_members_get_server_and_vdir_from_the_layout_as_files_do(tmp_path: Path) -> None:
    shutil.copytree(examples_dir(), tmp_path / "example")
    archive = zip_folder(tmp_path / "example", tmp_path / "example.zip")

    folder = read_inventory([tmp_path / "example"])
    zipped = read_inventory([archive])

    def places(configs: tuple[WebConfig, ...]) -> list[tuple[str, str, str]]:
        return sorted((config.server, config.vdir, config.sha256) for config in configs)

    assert places(zipped.web_configs) == places(folder.web_configs)
    assert ("EX01", "Default Web Site/API") in {(c.server, c.vdir) for c in zipped.web_configs}
    assert zipped.partner_applications
    for app in zipped.partner_applications:
        assert app.source.path == "example.zip!/EX01/PartnerApplication.xml"
        assert app.server == "EX01"  # EX01 holds a FrontEnd folder: a server folder


def test_a_zip_is_told_by_its_content_given_or_met_while_walking(tmp_path: Path) -> None:
    shutil.copytree(examples_dir(), tmp_path / "example")
    folder = tmp_path / "exports"
    folder.mkdir()
    zip_folder(tmp_path / "example", folder / "sent-back.dat")

    walked = read_inventory([folder])
    named = read_inventory([folder / "sent-back.dat"])

    assert walked.problems == named.problems == ()
    assert "exports/sent-back.dat!/EX01/FrontEnd/HttpProxy/EWS/web.config" in {
        c.path for c in walked.web_configs
    }
    assert len(named.web_configs) == 4


def test_an_appsettings_file_beside_a_member_is_read_from_the_archive(tmp_path: Path) -> None:
    archive = tmp_path / "c.zip"
    with zipfile.ZipFile(archive, "w") as writer:
        writer.writestr(
            f"EX01/{REST}",
            b'<configuration>\r\n  <appSettings file="oauth.config">\r\n'
            b'    <add key="HttpProxy.ProtocolType" value="Rest" />\r\n'
            b"  </appSettings>\r\n</configuration>\r\n",
        )
        writer.writestr(
            "EX01/FrontEnd/HttpProxy/Rest/oauth.config",
            b'<appSettings>\r\n  <add key="OAuthHttpModule.Profiles" '
            b'value="S2SAppActAs|V1S2SAppOnly" />\r\n</appSettings>\r\n',
        )

    inventory = read_inventory([archive])

    assert inventory.problems == ()
    rest = next(c for c in inventory.web_configs if c.path.endswith("web.config"))
    assert rest.oauth_profiles is not None
    assert rest.oauth_profiles.tokens == ("S2SAppActAs", "V1S2SAppOnly")
    assert rest.oauth_profiles.evidence.path == "c.zip!/EX01/FrontEnd/HttpProxy/Rest/oauth.config"


def test_skipped_names_inside_a_zip_are_listed_as_in_a_folder(tmp_path: Path) -> None:
    archive = tmp_path / "c.zip"
    with zipfile.ZipFile(archive, "w") as writer:
        writer.writestr(f"EX01/{REST}", CLEAN_WEB_CONFIG)
        writer.writestr("EX01/Thumbs.db", b"\xd0\xcf\x11\xe0")
        writer.writestr("EX01/README.md", b"# How this was collected\n")
        writer.writestr(".git/config", b"[core]\n")
        writer.writestr("__MACOSX/EX01/._web.config", b"\x00\x05\x16\x07")

    inventory = read_inventory([archive])

    assert inventory.skipped == (
        "c.zip!/.git/",
        "c.zip!/EX01/README.md",  # sniffed: not an export
        "c.zip!/EX01/Thumbs.db",
        "c.zip!/__MACOSX/EX01/._web.config",  # a dot-file that is not an export
    )
    assert inventory.problems == ()


# --- hostile archives: one located problem each -------------------------------------------------


def _member(name: str, data: bytes = b"x", **attributes: int) -> Callable[[zipfile.ZipFile], None]:
    def write(writer: zipfile.ZipFile) -> None:
        info = zipfile.ZipInfo(name)
        for key, value in attributes.items():
            setattr(info, key, value)
        writer.writestr(info, data)

    return write


def _bomb(writer: zipfile.ZipFile) -> None:
    writer.writestr(
        zipfile.ZipInfo("EX01/FrontEnd/HttpProxy/Rest/web.config"),
        b"\x20" * (20 * 1024 * 1024),
        compress_type=zipfile.ZIP_DEFLATED,
    )


def _many(count: int) -> Callable[[zipfile.ZipFile], None]:
    def write(writer: zipfile.ZipFile) -> None:
        for number in range(count):
            writer.writestr(zipfile.ZipInfo(f"m/{number}"), b"")

    return write


def _nested(writer: zipfile.ZipFile) -> None:
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as inner_writer:
        inner_writer.writestr(f"EX01/{REST}", CLEAN_WEB_CONFIG)
    writer.writestr("inner.zip", inner.getvalue())


def _duplicate(writer: zipfile.ZipFile) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate it writes
        writer.writestr(f"EX01/{REST}", CLEAN_WEB_CONFIG)
        writer.writestr(f"EX01/{REST}", CLEAN_WEB_CONFIG.replace(b"S2SAppActAs", b"V1S2SAppOnly"))


def _encrypted(writer: zipfile.ZipFile) -> None:
    writer.writestr("EX01/PartnerApplication.xml", b"\x8f\x12 ciphertext")
    writer.infolist()[-1].flag_bits |= 0x1  # the central directory says: encrypted


HOSTILE = {
    "zip bomb": (_bomb, "hostile", "over 100 to 1 (a zip bomb)", ""),
    "parent folder": (_member("../../outside/web.config"), "hostile", "`..` path segment", ""),
    "parent inside": (_member("EX01/../../web.config"), "hostile", "`..` path segment", ""),
    "absolute": (_member("/etc/web.config"), "hostile", "is an absolute path", ""),
    "drive letter": (_member("C:/Windows/web.config"), "hostile", "is an absolute path", ""),
    "backslash": (_member("EX01\\..\\..\\web.config"), "hostile", "holds a backslash", ""),
    "100,000 members": (_many(100_000), "hostile", "100000 entries, over the limit", ""),
    "one over the limit": (_many(MAX_MEMBERS + 1), "hostile", f"{MAX_MEMBERS + 1} entries", ""),
    "encrypted": (_encrypted, "hostile", "is encrypted", ""),
    "symbolic link": (
        _member("EX01/pa.xml", b"/etc/passwd", external_attr=(stat.S_IFLNK | 0o777) << 16),
        "hostile",
        "is a symbolic link",
        "",
    ),
    "duplicate": (_duplicate, "hostile", "two members are named", ""),
    "nested zip": (_nested, "hostile", "a zip archive inside a zip archive", "!/inner.zip"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_hostile_archive_is_one_located_problem_and_the_rest_is_read(
    case: str, tmp_path: Path
) -> None:
    build, code, phrase, member = HOSTILE[case]
    folder = tmp_path / "exports"
    shutil.copytree(examples_dir() / "EX01", folder / "EX01")
    with zipfile.ZipFile(folder / "sent-back.zip", "w") as writer:
        build(writer)

    inventory = read_inventory([folder])

    ((problem,),) = [inventory.problems]
    assert problem.code.value == code
    assert problem.path == "exports/sent-back.zip" + member
    assert phrase in problem.message
    assert len(inventory.web_configs) == 2  # the folder beside it was read
    assert not (tmp_path / "outside").exists() and not Path("/etc/web.config").exists()


def _name_not_utf8() -> bytes:
    """A member name flagged UTF-8 (bit 11) whose bytes are not UTF-8."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as writer:
        writer.writestr("EX01/a\u00e9.xml", b"x")
    return buffer.getvalue().replace(b"a\xc3\xa9", b"a\xff\xfe")


@pytest.mark.parametrize(
    "data, phrase",
    [
        (b"PK\x03\x04 this is not really a zip", "not a readable zip archive"),
        (_name_not_utf8(), "not a readable zip archive ('utf-8' codec can't decode"),
        (b"PK\x05\x06" + b"\x00" * 18, "no partner-application export and no web.config"),
    ],
)
def test_a_broken_or_empty_zip_is_a_located_problem_not_a_traceback(
    data: bytes, phrase: str, tmp_path: Path
) -> None:
    (tmp_path / "c.zip").write_bytes(data)

    result = audit("c.zip", "--no-package", "--format", "json")

    assert result.exit_code == 2
    problems = json.loads(result.stdout)["problems"]
    assert {problem["path"] for problem in problems} == {"c.zip"}
    assert any(phrase in problem["message"] for problem in problems)


def test_a_member_that_fails_its_crc_is_refused_alone(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as writer:  # stored: the bytes are in the archive as is
        writer.writestr(f"EX01/{REST}", CLEAN_WEB_CONFIG)
        writer.writestr("EX02/" + REST, CLEAN_WEB_CONFIG.replace(b"S2SAppActAs", b"S2SAppActAz"))
    data = buffer.getvalue().replace(b"S2SAppActAz", b"V1S2SAppOnl", 1)  # tampered in transit
    (tmp_path / "c.zip").write_bytes(data)

    inventory = read_inventory([tmp_path / "c.zip"])

    ((problem,),) = [inventory.problems]
    assert problem.code is ProblemCode.MALFORMED
    assert problem.path == f"c.zip!/EX02/{REST}"
    assert "Bad CRC-32" in problem.message
    assert [c.server for c in inventory.web_configs] == ["EX01"]


def test_a_member_whose_header_understates_its_size_is_not_inflated_past_it(
    tmp_path: Path,
) -> None:
    with zipfile.ZipFile(tmp_path / "c.zip", "w", zipfile.ZIP_DEFLATED) as writer:
        writer.writestr(f"EX01/{REST}", CLEAN_WEB_CONFIG)
        writer.writestr("EX02/" + REST, b"\x20" * (20 * 1024 * 1024))
        writer.infolist()[-1].file_size = 200  # the central directory lies: 200 bytes

    inventory = read_inventory([tmp_path / "c.zip"])

    ((problem,),) = [inventory.problems]
    assert problem.code is ProblemCode.MALFORMED
    assert problem.path == f"c.zip!/EX02/{REST}"
    assert "Bad CRC-32" in problem.message  # 200 bytes inflated, then the check failed


def test_a_member_over_the_input_limit_is_too_large_and_never_inflated(tmp_path: Path) -> None:
    with zipfile.ZipFile(tmp_path / "c.zip", "w", zipfile.ZIP_DEFLATED) as writer:
        writer.writestr(f"EX01/{REST}", CLEAN_WEB_CONFIG)
        writer.writestr("EX01/PartnerApplication.xml", bytes(range(256)) * 64)  # 16 KiB

    inventory = read_inventory([tmp_path / "c.zip"], max_bytes=4096)

    ((problem,),) = [inventory.problems]
    assert problem.code is ProblemCode.TOO_LARGE
    assert problem.path == "c.zip!/EX01/PartnerApplication.xml"
    assert "16384 bytes, over the limit of 4096" in problem.message


def test_a_hostile_archive_through_the_command_line_exits_2_with_its_place(
    tmp_path: Path,
) -> None:
    with zipfile.ZipFile(tmp_path / "evil.zip", "w") as writer:
        writer.writestr(f"EX01/{REST}", CLEAN_WEB_CONFIG)
        _member("../../../tmp/evil/web.config")(writer)

    result = audit("evil.zip", "--no-package")

    assert result.exit_code == 2
    assert "evil.zip" in result.stderr + result.stdout
    assert "Traceback" not in result.stderr + result.stdout
    assert not (tmp_path / "tmp").exists()
