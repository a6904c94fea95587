"""Discovery, sniffing, dispatch and the fold: `read_inventory` over folders of real-world mess."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from parser_helpers import DATA

from auditor.model import InputFormat, Problem, ProblemCode, Severity
from auditor.parsers import formatlist, properties, read_inventory
from auditor.parsers.sniff import sniff

PARSERS = Path(__file__).resolve().parents[2] / "auditor" / "parsers"
FORMAT_LIST_FILE = DATA / "formatlist" / "subset-widths-utf8bom-cr.txt"
JSON_FILE = DATA / "json" / "two-apps-pwsh7-array.json"
CSV_FILE = DATA / "csv" / "joined-embedded-newline.csv"


@pytest.fixture
def export_tree(tmp_path: Path) -> Path:
    """A folder as an admin might hand it over: exports, notes, junk, links, a huge file."""
    root = tmp_path / "exports"
    (root / "srv-b").mkdir(parents=True)
    (root / "srv-a").mkdir()
    (root / ".git").mkdir()
    shutil.copy(FORMAT_LIST_FILE, root / "srv-b" / "pa.txt")
    shutil.copy(JSON_FILE, root / "srv-a" / "pa.json")
    shutil.copy(CSV_FILE, root / "pa.csv")
    (root / "srv-a" / "notes.html").write_text("# Notes\n\nExported on Monday.\n")
    (root / ".git" / "config").write_text("[core]\n")
    (root / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (root / "Thumbs.db").write_bytes(b"\xd0\xcf\x11\xe0")
    (root / "empty.txt").write_bytes(b"")
    (root / "binary.dat").write_bytes((DATA / "mixed" / "binary.dat").read_bytes())
    (root / "big.txt").write_bytes(b"Name : x\n" * 2000)
    (root / "dangling.txt").symlink_to(root / "missing.txt")
    (root / "linked-folder").symlink_to(root / "srv-a", target_is_directory=True)
    return root


def _codes(problems: tuple[Problem, ...]) -> list[tuple[str, str]]:
    return [(Path(problem.path).name, problem.code.value) for problem in problems]


def test_folder_is_walked_in_sorted_order_and_nothing_is_skipped_silently(
    export_tree: Path,
) -> None:
    inventory = read_inventory([export_tree], max_bytes=10_000)

    # Paths are relative to the common root of the inputs; the folder keeps its name.
    assert [source.path for source in inventory.inputs] == [
        "exports/binary.dat",
        "exports/empty.txt",
        "exports/pa.csv",
        "exports/srv-a/notes.html",
        "exports/srv-a/pa.json",
        "exports/srv-b/pa.txt",
    ]
    # What was skipped is listed, never dropped silently.
    assert inventory.skipped == ("exports/.DS_Store", "exports/.git/", "exports/Thumbs.db")
    assert [source.format for source in inventory.inputs] == [
        None,
        None,
        InputFormat.CSV,
        None,
        InputFormat.JSON,
        InputFormat.FORMAT_LIST,
    ]
    assert sorted(_codes(inventory.problems)) == [
        ("big.txt", "too-large"),
        ("binary.dat", "unknown-format"),
        ("dangling.txt", "unreadable"),
        ("empty.txt", "unknown-format"),
        ("linked-folder", "unreadable"),
        ("notes.html", "unknown-format"),
        # The three exports hold different copies of Microsoft Graph: each disagreement is a
        # problem naming both files (tests/test_cli_inputs.py).
        ("pa.json", "incomplete-evidence"),
        ("pa.txt", "incomplete-evidence"),
    ]
    messages = {Path(problem.path).name: problem for problem in inventory.problems}
    assert "binary data" in messages["binary.dat"].message
    assert "empty" in messages["empty.txt"].message
    assert "not read" in messages["big.txt"].message
    for link in ("linked-folder", "dangling.txt"):
        assert "symbolic link" in messages[link].message
        assert messages[link].severity is Severity.HIGH
    # Parsing went on past every bad file: all three exports were read.
    assert [app.application_identifier for app in inventory.partner_applications] == [
        "00000002-0000-0ff1-ce00-000000000000",
        "00000003-0000-0000-c000-000000000000",
        "00000003-0000-0000-c000-000000000000",
        "00000003-0000-0000-c000-000000000000",
        "00000004-0000-0ff1-ce00-000000000000",
        "7557eb47-c689-4224-abcf-aef9bd7573df",
    ]


def test_inventory_does_not_depend_on_argument_order(export_tree: Path) -> None:
    files = [export_tree / "srv-b" / "pa.txt", export_tree / "srv-a", export_tree / "pa.csv"]

    forward = read_inventory(files, max_bytes=10_000)
    backward = read_inventory(list(reversed(files)), max_bytes=10_000)
    # The whole tree plus some of its files again: every file is read once.
    overlapping = read_inventory([*files, export_tree], max_bytes=10_000)
    whole = read_inventory([export_tree], max_bytes=10_000)

    assert forward == backward
    assert forward.to_json() == backward.to_json()
    assert overlapping == whole
    assert len({source.path for source in whole.inputs}) == len(whole.inputs)


def test_problems_are_sorted_by_path_then_line(export_tree: Path) -> None:
    inventory = read_inventory([export_tree], max_bytes=10_000)
    keys = [(problem.path, problem.line or 0) for problem in inventory.problems]
    assert keys == sorted(keys)


def test_missing_paths_and_pipes_are_unreadable(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    inventory = read_inventory([tmp_path / "nowhere", fifo, FORMAT_LIST_FILE])

    assert _codes(inventory.problems)[:2] == [("nowhere", "unreadable"), ("pipe", "unreadable")]
    assert len(inventory.partner_applications) == 2


def test_server_option_names_the_server_of_inputs_whose_layout_names_none() -> None:
    inventory = read_inventory([JSON_FILE, FORMAT_LIST_FILE], server="EX01")
    assert {app.server for app in inventory.partner_applications} == {"EX01"}


def test_a_parser_failure_is_a_problem_not_a_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(_raw: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(formatlist, "parse", broken)
    inventory = read_inventory([FORMAT_LIST_FILE, JSON_FILE])

    assert [(Path(p.path).name, p.code) for p in inventory.problems] == [
        (FORMAT_LIST_FILE.name, ProblemCode.MALFORMED)
    ]
    assert "internal error RuntimeError: boom" in inventory.problems[0].message
    assert len(inventory.partner_applications) == 2  # the JSON file was still read


CLIXML_HEAD = b'<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">'


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"\xef\xbb\xbf" + CLIXML_HEAD + b"</Objs>", InputFormat.CLIXML),
        (b"\xff\xfe" + (CLIXML_HEAD + b"</Objs>").decode().encode("utf-16-le"), InputFormat.CLIXML),
        (
            b'\xef\xbb\xbf<?xml version="1.0" encoding="UTF-8"?>\r\n<!-- copied -->\r\n'
            b"<configuration>\r\n  <appSettings />\r\n</configuration>",
            InputFormat.WEB_CONFIG,
        ),
        (
            b'<?xml version="1.0"?><!DOCTYPE configuration [<!ENTITY x "y">]><configuration/>',
            InputFormat.WEB_CONFIG,
        ),
        (b"<html><body>hello</body></html>", None),
        (b'[\r\n  {"ApplicationIdentifier": "x"}\r\n]', InputFormat.JSON),
        (b'\xef\xbb\xbf{"value": [], "Count": 0}', InputFormat.JSON),
        (b'#TYPE Selected.System.Object\r\n"Name","ApplicationIdentifier"\r\n', InputFormat.CSV),
        (b'"ApplicationIdentifier";"ActAsPermissions"\n"x";"y"\n', InputFormat.CSV),
        (b"Name,Enabled\nGraph,True\n", InputFormat.CSV),
        (b"\r\nName    : Graph\r\nEnabled : True\r\n", InputFormat.FORMAT_LIST),
        (b"\x1b[32;1mName : \x1b[0mGraph\n\x1b[32;1mId   : \x1b[0m1\n", InputFormat.FORMAT_LIST),
        ("\r\nName    : Graph\r\nEnabled : True\r\n".encode("utf-16-le"), InputFormat.FORMAT_LIST),
        (b"Note: exported on Monday\nby the admin\n", None),
        (b"", None),
        (b"   \r\n", None),
        (b"MZ\x90\x00\x03\x00Name : x\nId : y\n", None),
    ],
)
def test_sniff_by_content(data: bytes, expected: InputFormat | None) -> None:
    assert sniff(data) is expected


@pytest.mark.parametrize(
    ("module", "file", "expected"),
    [
        ("clixml/__init__.py", "clixml/two-apps-utf16.xml", InputFormat.CLIXML),
        ("webconfig.py", "webconfig/rest-default.config", InputFormat.WEB_CONFIG),
    ],
)
def test_xml_inputs_are_dispatched_to_their_parsers(
    module: str, file: str, expected: InputFormat
) -> None:
    assert (PARSERS / module).is_file()
    inventory = read_inventory([DATA / file])

    assert [source.format for source in inventory.inputs] == [expected]
    assert inventory.partner_applications or inventory.web_configs


# --- bounds against hostile exports ---------------------------------------------------------

_MANY_OBJECTS = {
    "many.txt": "".join(
        f"ApplicationIdentifier : {i}\r\nActAsPermissions      : {{}}\r\n"
        "AppOnlyPermissions    : {}\r\n\r\n"
        for i in range(5)
    ),
    "many.json": "[\n"
    + ",\n".join(
        f'{{"ApplicationIdentifier": "{i}", "ActAsPermissions": [], "AppOnlyPermissions": []}}'
        for i in range(5)
    )
    + "\n]\n",
    "many.csv": '"ApplicationIdentifier","ActAsPermissions","AppOnlyPermissions"\n'
    + "".join(f'"{i}","",""\n' for i in range(5)),
}


@pytest.mark.parametrize("name", sorted(_MANY_OBJECTS), ids=str)
def test_objects_per_file_are_bounded(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(properties, "MAX_OBJECTS", 3)
    path = tmp_path / name
    path.write_text(_MANY_OBJECTS[name])

    inventory = read_inventory([path])

    assert [app.application_identifier for app in inventory.partner_applications] == [
        "0",
        "1",
        "2",
    ]
    ((code, message),) = [(p.code, p.message) for p in inventory.problems]
    assert code is ProblemCode.TOO_LARGE and "more than 3 objects" in message


def test_names_per_list_are_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(properties, "MAX_NAMES", 4)
    path = tmp_path / "wide.txt"
    names = ", ".join(f"Scope{i}.Read" for i in range(50))
    path.write_text(
        f"ApplicationIdentifier : x\nActAsPermissions      : {{{names}}}\nAppOnlyPermissions    :\n"
    )

    (app,) = read_inventory([path]).partner_applications

    assert app.act_as_permissions.values == tuple(f"Scope{i}.Read" for i in range(4))
    assert app.act_as_permissions.complete is False
    assert len(app.act_as_permissions.evidence.raw) == 500


def test_documentation_is_skipped_by_exact_name_and_listed(tmp_path: Path) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    for name in ("README.md", "LICENSE", "notes.md", "NOTICE.txt", "readme"):
        (folder / name).write_text("not an export\n", encoding="utf-8")

    walked = read_inventory([folder])

    assert walked.inputs == ()
    assert walked.skipped == tuple(
        f"exports/{name}" for name in ("LICENSE", "NOTICE.txt", "README.md", "notes.md", "readme")
    )
    # Nothing was read: that is never a clean audit.
    ((problem,),) = [walked.problems]
    assert problem.code is ProblemCode.INCOMPLETE_EVIDENCE
    assert problem.path == "exports"
    assert "no partner-application export and no web.config was read" in problem.message
    assert "5 skipped" in problem.message
    named = read_inventory([folder / "LICENSE"])
    assert sorted(problem.code.value for problem in named.problems) == [
        "incomplete-evidence",
        "unknown-format",
    ]


@pytest.mark.parametrize("name", ["something.md", "README", "readme.txt", "NOTICE.md"])
def test_an_export_saved_under_a_documentation_name_is_read_not_skipped(
    name: str, tmp_path: Path
) -> None:
    """A name alone never skips an export: a Format-List export saved as `something.md` beside
    a clean web.config used to be skipped, and the audit passed on the web.config alone."""
    folder = tmp_path / "exports"
    rest = folder / "EX01" / "FrontEnd" / "HttpProxy" / "Rest"
    rest.mkdir(parents=True)
    (rest / "web.config").write_text(
        '<configuration><appSettings><add key="OAuthHttpModule.Profiles" value="S2SAppActAs"/>'
        "</appSettings></configuration>\n"
    )
    shutil.copy(FORMAT_LIST_FILE, folder / name)
    (folder / "CHANGES.md").write_text("# Changes\n\nNothing to see : here\n")

    inventory = read_inventory([folder])

    assert [source.path for source in inventory.inputs] == [
        "exports/EX01/FrontEnd/HttpProxy/Rest/web.config",
        f"exports/{name}",
    ]
    assert inventory.partner_applications
    assert {app.source.path for app in inventory.partner_applications} == {f"exports/{name}"}
    assert inventory.skipped == ("exports/CHANGES.md",)  # sniffed: not an export


@pytest.mark.parametrize(
    "name",
    ["notice-PartnerApplication.xml", "README-pa.json", "license.xml", "readme.txt.json"],
)
def test_an_export_named_like_documentation_is_read(name: str, tmp_path: Path) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    shutil.copy(JSON_FILE, folder / name)

    inventory = read_inventory([folder])

    assert [source.path for source in inventory.inputs] == [f"exports/{name}"]
    assert len(inventory.partner_applications) == 2
    assert inventory.skipped == ()


def test_a_dot_file_is_read_when_it_is_an_export_and_listed_otherwise(tmp_path: Path) -> None:
    folder = tmp_path / "exports"
    (folder / ".cache").mkdir(parents=True)
    shutil.copy(JSON_FILE, folder / ".pa.json")
    (folder / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (folder / ".sha256sums").write_text("0" * 64 + "  PartnerApplication.xml\n")
    (folder / ".auditor-collect-EX01.log").write_text("transcript\n")
    (folder / ".cache" / "pa.json").write_bytes(JSON_FILE.read_bytes())

    inventory = read_inventory([folder])

    assert [source.path for source in inventory.inputs] == ["exports/.pa.json"]
    assert inventory.skipped == ("exports/.DS_Store", "exports/.cache/")
    # The companions of `auditor collect` are not skipped: they are checked against the folder.
    assert [(p.place, p.code.value) for p in inventory.problems] == [
        ("exports/.auditor-collect-EX01.log:1", "incomplete-evidence"),  # no AUDITOR-DONE
        ("exports/.pa.json", "incomplete-evidence"),  # not in the hash list
        ("exports/.sha256sums:1", "incomplete-evidence"),  # PartnerApplication.xml is missing
    ]


def test_an_empty_folder_is_an_incomplete_audit(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()

    inventory = read_inventory([tmp_path / "empty"])

    ((problem,),) = [inventory.problems]
    assert problem.code is ProblemCode.INCOMPLETE_EVIDENCE
    assert problem.path == "empty"
    assert "from empty: no file was read, 0 skipped" in problem.message


def test_a_file_that_reads_short_is_read_to_its_end(
    css_exchange: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read may return fewer bytes than asked before the end of a file (a signal, network
    and FUSE file systems): reading goes on to the end, so no file is taken for whole when it
    was read in part."""
    from auditor.render.json_ import render_inventory

    folder = css_exchange / "E19"
    whole = render_inventory(read_inventory([folder]))
    real_read = os.read
    monkeypatch.setattr(
        "auditor.parsers.reading.os.read",
        lambda descriptor, size: real_read(descriptor, min(size, 7)),
    )
    assert render_inventory(read_inventory([folder])) == whole
