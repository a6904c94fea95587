"""Hostile input files, built on the fly: nothing large or dangerous is committed to the repo.

Every builder returns the bytes of one file (small) or writes one file into a given folder
(large: sparse or streamed, so that a 200 MB input costs no disk and no time). `HOSTILE_CASES`
is the table the hostile-input suite walks: one entry per attack, with the problem a reviewer
must see (code, line, a phrase of the sentence).
"""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from auditor.model import ProblemCode

MB = 1024 * 1024
CLIXML_NS = "http://schemas.microsoft.com/powershell/2004/04"
PARTNER_TYPE = "Microsoft.Exchange.Data.Directory.SystemConfiguration.PartnerApplication"
GRAPH = "00000003-0000-0000-c000-000000000000"
SECRET = "TOP-SECRET-SENTINEL-4711"


# --- well-formed building blocks ---------------------------------------------------------------


def format_list(name: str = "Graph", app_id: str = GRAPH, newline: str = "\r\n") -> str:
    """One small Format-List object, as `Get-PartnerApplication | Format-List` shows it."""
    lines = [
        f"Name                  : {name}",
        f"ApplicationIdentifier : {app_id}",
        "Enabled               : True",
        "ActAsPermissions      : {Mail.Read, Mail.Send}",
        "AppOnlyPermissions    : {}",
    ]
    return newline.join(lines) + newline


def web_config(profiles: str = "S2SAppActAs|V1S2SAppOnly", prolog: str = "") -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f"{prolog}"
        "<configuration>\n  <appSettings>\n"
        '    <add key="HttpProxy.ProtocolType" value="Rest" />\n'
        f'    <add key="OAuthHttpModule.Profiles" value="{profiles}" />\n'
        "  </appSettings>\n</configuration>\n"
    )


def clixml(props: str, prolog: str = "") -> str:
    return (
        f'{prolog}<Objs Version="1.1.0.1" xmlns="{CLIXML_NS}">\n'
        f'<Obj RefId="0"><TN RefId="0"><T>{PARTNER_TYPE}</T></TN>\n<Props>\n'
        f'<S N="Name">Graph</S>\n<S N="ApplicationIdentifier">{GRAPH}</S>\n'
        f"{props}\n</Props></Obj>\n</Objs>\n"
    )


# --- XML attacks -------------------------------------------------------------------------------


def xxe_file(secret: Path) -> bytes:
    prolog = f'<!DOCTYPE configuration [<!ENTITY xxe SYSTEM "{secret.as_uri()}">]>\n'
    return web_config("&xxe;", prolog).encode()


def xxe_url(port: int = 9) -> bytes:
    prolog = f'<!DOCTYPE Objs [<!ENTITY xxe SYSTEM "http://127.0.0.1:{port}/x">]>\n'
    props = '<Obj N="ActAsPermissions" RefId="1"><LST><S>&xxe;</S></LST></Obj>'
    return clixml(props, '<?xml version="1.0"?>\n' + prolog).encode()


def billion_laughs() -> bytes:
    entities = ['<!ENTITY lol0 "lol">']
    entities += [f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)]
    prolog = "<!DOCTYPE configuration [\n" + "\n".join(entities) + "\n]>\n"
    return web_config("&lol9;", prolog).encode()


def quadratic_blowup() -> bytes:
    prolog = f'<!DOCTYPE configuration [<!ENTITY a "{"A" * 50_000}">]>\n'
    return web_config("&a;" * 20_000, prolog).encode()


def doctype_only() -> bytes:
    return web_config(prolog="<!DOCTYPE configuration>\n").encode()


def deep_xml(depth: int = 100_000) -> bytes:
    return b"<configuration>" + b"<x>" * depth + b"</x>" * depth + b"</configuration>"


def clixml_ref_cycle() -> bytes:
    props = (
        '<Obj N="ActAsPermissions" RefId="1"><LST><S>Mail.Read</S>\n'
        '<Ref RefId="1" /></LST></Obj>\n<Nil N="AppOnlyPermissions" />'
    )
    return clixml(props).encode()


def clixml_dangling_ref() -> bytes:
    props = (
        '<Obj N="ActAsPermissions" RefId="1"><LST><S>Mail.Read</S></LST></Obj>\n'
        '<Ref N="AppOnlyPermissions" RefId="99" />'
    )
    return clixml(props).encode()


# --- encodings and bytes -----------------------------------------------------------------------


def binary(size: int = MB) -> bytes:
    """Deterministic pseudo-random bytes with NULs (an ELF-like header first)."""
    seed = bytearray(b"\x7fELF\x02\x01\x01\x00")
    state = 0x2545F491
    while len(seed) < size:
        state = (state * 1103515245 + 12345) & 0x7FFFFFFF
        seed += state.to_bytes(4, "little")
    return bytes(seed[:size])


def utf16_odd_length() -> bytes:
    return b"\xff\xfe" + format_list().encode("utf-16-le") + b"N"


def utf16_lone_surrogate() -> bytes:
    text = format_list().encode("utf-16-le")
    first_line_end = text.index("\r\n".encode("utf-16-le")) + 4
    return b"\xff\xfe" + text[:first_line_end] + b"\x00\xd8" + text[first_line_end:]


def invalid_utf8() -> bytes:
    return format_list().encode().replace(b"Enabled", b"En\xffabled")


def mixed_append() -> bytes:
    """`> file` from Windows PowerShell 5.1 (UTF-16LE+BOM), then `>> file` from pwsh 7 (UTF-8)."""
    first = b"\xff\xfe" + format_list("First").encode("utf-16-le")
    return first + b"\r\n" + format_list("Second", "00000004-0000-0ff1-ce00-000000000000").encode()


def nul_early() -> bytes:
    return format_list().encode().replace(b"Graph", b"Gr\x00ph", 1)


NUL_LATE_OBJECTS = 400  # 6 lines each (5 properties, 1 blank): over 64 KiB


def nul_late() -> bytes:
    """A NUL after the 64 KiB the sniffer looks at: found by the decoder, with its line."""
    padding = "".join(
        format_list(f"App {i}", f"{i:08d}-0000-0000-0000-000000000000") + "\r\n"
        for i in range(NUL_LATE_OBJECTS)
    )
    return (padding + "Name : Gr\x00ph\r\n").encode()


def cr_only() -> bytes:
    return format_list(newline="\r").encode()


def json_duplicate_keys() -> bytes:
    return (
        "[\n  {\n"
        '    "Name": "Graph",\n'
        f'    "ApplicationIdentifier": "{GRAPH}",\n'
        '    "AppOnlyPermissions": [],\n'
        '    "ActAsPermissions": ["Mail.Read"],\n'
        '    "appOnlyPermissions": ["Mail.Send"]\n'
        "  }\n]\n"
    ).encode()


def json_deep(depth: int = 10_000) -> bytes:
    return (
        f'{{"ApplicationIdentifier": "{GRAPH}", "x": ' + "[" * depth + "]" * depth + "}"
    ).encode()


def csv_embedded() -> bytes:
    return (
        "#TYPE Microsoft.Exchange.Data.Directory.SystemConfiguration.PartnerApplication\r\n"
        '"Name","ApplicationIdentifier","ActAsPermissions","AppOnlyPermissions"\r\n'
        '"Line one\r\nline ""two"", with comma","' + GRAPH + '","Mail.Read;Mail.Send",""\r\n'
    ).encode()


def format_list_wrapped(continuations: int) -> bytes:
    """One object whose ActAsPermissions wraps onto `continuations` continuation lines."""
    indent = " " * len("ActAsPermissions      : ")
    names = [f"Scope{i}.Read" for i in range(continuations + 1)]
    lines = [
        "Name                  : Wide",
        f"ApplicationIdentifier : {GRAPH}",
        "ActAsPermissions      : {" + names[0] + ", ",
    ]
    lines += [indent + name + ", " for name in names[1:-1]]
    lines.append(indent + names[-1] + "}")
    lines.append("AppOnlyPermissions    : {}")
    return ("\r\n".join(lines) + "\r\n").encode()


# --- large files, written straight to disk -----------------------------------------------------


def write_sparse(path: Path, size: int) -> Path:
    """A file of `size` zero bytes that takes no disk space (a hole)."""
    with path.open("wb") as handle:
        handle.truncate(size)
    return path


def write_one_line(path: Path, kind: str, size: int = 50 * MB) -> Path:
    """A file of about `size` bytes whose payload is one enormous line, in the shape `kind`."""
    filler = b"x" * size
    shapes: dict[str, Callable[[], bytes]] = {
        "format-list-value": lambda: format_list().encode() + b"LinkedAccount : " + filler,
        "format-list-list": lambda: (
            format_list()
            .encode()
            .replace(b"{Mail.Read, Mail.Send}", b"{" + b"Mail.Read, " * (size // 11) + b"}")
        ),
        "json": lambda: (
            b'{"Name":"'
            + filler
            + b'","ApplicationIdentifier":"'
            + GRAPH.encode()
            + b'","ActAsPermissions":[],"AppOnlyPermissions":[]}'
        ),
        "csv": lambda: (
            b'"Name","ApplicationIdentifier"\r\n"' + filler + b'","' + GRAPH.encode() + b'"\r\n'
        ),
        "web.config": lambda: web_config("A|" * (size // 2)).encode(),
        "clixml": lambda: clixml('<S N="LinkedAccount">' + "x" * size + "</S>").encode(),
    }
    path.write_bytes(shapes[kind]())
    return path


def zip_bomb() -> bytes:
    """A 128 MiB web.config of spaces, deflated into about 128 KB (over 1000 to 1)."""
    buffer = io.BytesIO()
    chunk = b" " * MB
    name = "EX01/FrontEnd/HttpProxy/Rest/web.config"
    with (
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as writer,
        writer.open(name, "w", force_zip64=True) as out,
    ):
        for _ in range(128):
            out.write(chunk)
    return buffer.getvalue()


def zip_traversal() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as writer:
        writer.writestr(zipfile.ZipInfo("EX01/../../../outside/web.config"), web_config())
    return buffer.getvalue()


def zip_many_members(count: int = 100_000) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as writer:
        for number in range(count):
            writer.writestr(zipfile.ZipInfo(f"EX01/{number}.txt"), b"")
    return buffer.getvalue()


@dataclass(frozen=True)
class HostileCase:
    """One hostile file: its name in the input folder, how to build it, what must be reported."""

    name: str
    build: Callable[[Path], bytes]
    code: ProblemCode | None  # None: read without any problem
    line: int | None
    phrase: str


def _const(data: Callable[[], bytes]) -> Callable[[Path], bytes]:
    return lambda _folder: data()


HOSTILE_CASES: tuple[HostileCase, ...] = (
    HostileCase(
        "xxe-file.config",
        lambda folder: xxe_file(folder / "secret.txt"),
        ProblemCode.HOSTILE,
        2,
        "DOCTYPE",
    ),
    HostileCase("xxe-url.xml", _const(xxe_url), ProblemCode.HOSTILE, 2, "DOCTYPE"),
    HostileCase("billion-laughs.config", _const(billion_laughs), ProblemCode.HOSTILE, 2, "DOCTYPE"),
    HostileCase(
        "quadratic-blowup.config", _const(quadratic_blowup), ProblemCode.HOSTILE, 2, "DOCTYPE"
    ),
    HostileCase("doctype-only.config", _const(doctype_only), ProblemCode.HOSTILE, 2, "DOCTYPE"),
    HostileCase("deep.config", _const(deep_xml), ProblemCode.TOO_LARGE, 1, "deeper than 256"),
    HostileCase(
        "clixml-ref-cycle.xml",
        _const(clixml_ref_cycle),
        ProblemCode.MALFORMED,
        7,
        "refers to an object that contains it",
    ),
    HostileCase(
        "clixml-dangling-ref.xml",
        _const(clixml_dangling_ref),
        ProblemCode.MALFORMED,
        7,
        "refers to no earlier <Obj>",
    ),
    HostileCase("binary.bin", _const(binary), ProblemCode.UNKNOWN_FORMAT, None, "binary data"),
    HostileCase("empty.txt", _const(lambda: b""), ProblemCode.UNKNOWN_FORMAT, None, "empty"),
    HostileCase("nul-early.txt", _const(nul_early), ProblemCode.UNKNOWN_FORMAT, None, "NUL bytes"),
    HostileCase(
        "nul-late.txt",
        _const(nul_late),
        ProblemCode.BAD_ENCODING,
        NUL_LATE_OBJECTS * 6 + 1,
        "NUL characters",
    ),
    HostileCase(
        "utf16-odd-length.txt",
        _const(utf16_odd_length),
        ProblemCode.BAD_ENCODING,
        6,
        "middle of a character",
    ),
    HostileCase(
        "utf16-lone-surrogate.txt",
        _const(utf16_lone_surrogate),
        ProblemCode.BAD_ENCODING,
        2,
        "surrogate",
    ),
    HostileCase(
        "invalid-utf8.txt", _const(invalid_utf8), ProblemCode.BAD_ENCODING, 3, "not valid UTF-8"
    ),
    HostileCase("mixed-append.txt", _const(mixed_append), ProblemCode.BAD_ENCODING, 6, "`>>`"),
    HostileCase(
        "json-duplicate-keys.json",
        _const(json_duplicate_keys),
        ProblemCode.MALFORMED,
        7,
        "more than once",
    ),
    HostileCase(
        "json-deep.json", _const(json_deep), ProblemCode.MALFORMED, None, "nested too deeply"
    ),
    HostileCase("cr-only.txt", _const(cr_only), None, None, ""),
    HostileCase("csv-embedded.csv", _const(csv_embedded), None, None, ""),
    # Zip archives (issue 20): refused from the central directory, nothing inflated or written.
    HostileCase("zip-bomb.zip", _const(zip_bomb), ProblemCode.HOSTILE, None, "a zip bomb"),
    HostileCase(
        "zip-traversal.zip", _const(zip_traversal), ProblemCode.HOSTILE, None, "`..` path segment"
    ),
    HostileCase(
        "zip-100000-members.zip",
        _const(zip_many_members),
        ProblemCode.HOSTILE,
        None,
        "100000 entries, over the limit of 10000",
    ),
)


def write_case(case: HostileCase, folder: Path) -> Path:
    path = folder / case.name
    path.write_bytes(case.build(folder))
    return path


def make_fifo(path: Path) -> Path | None:
    """A named pipe (None where the platform has none): reading it would block forever."""
    if not hasattr(os, "mkfifo"):
        return None
    os.mkfifo(path)
    return path
