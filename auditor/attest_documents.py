"""A planned web.config as .NET reads it, for `auditor attest`: the first difference between
the after document and the audited one with only the planned `OAuthHttpModule.Profiles` value
set to the target.

Both documents are parsed as the configuration system reads them (comments, processing
instructions and white space between elements dropped) and compared as canonical XML; the first
difference is named by its element path and line.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from lxml import etree

from auditor.model import OAUTH_PROFILES_KEY, Problem, WebConfig
from auditor.parsers.base import RawInput
from auditor.parsers.webconfig import MAX_WEB_CONFIG_BYTES
from auditor.parsers.xmlsafe import load_xml, source_line


def _document(config: WebConfig, read: Callable[[str], bytes]) -> etree._Element | str:
    """The parsed document of `config` (comments, PIs, blank text dropped), or why not."""
    try:
        data = read(config.path)
    except OSError as error:
        return f"{config.path} cannot be read again: {error.strerror or error}"
    if hashlib.sha256(data).hexdigest() != config.sha256:
        return f"{config.path} changed on disk since it was read"
    loaded = load_xml(
        RawInput(path=config.path, data=data, sha256=config.sha256),
        max_bytes=MAX_WEB_CONFIG_BYTES,
        keep_blank_text=False,
    )
    if isinstance(loaded, Problem):
        return f"{loaded.place}: {loaded.message}"
    return loaded.root


def document_difference(
    old: WebConfig,
    new: WebConfig,
    target: str,
    read: tuple[Callable[[str], bytes], Callable[[str], bytes]],
) -> str | None:
    """None when `new` is `old` with the Profiles value set to `target`; else the first change."""
    expected, found = _document(old, read[0]), _document(new, read[1])
    if isinstance(expected, str):
        return expected
    if isinstance(found, str):
        return found
    settings = [
        element
        for section in expected
        if _tag(section) == "appSettings"
        for element in section
        if _tag(element) == "add" and element.get("key") == OAUTH_PROFILES_KEY
    ]
    if _tag(expected) == "configuration" and settings:
        settings[-1].set("value", target)  # the last `add` of the key is the one that counts
    if etree.tostring(expected, method="c14n") == etree.tostring(found, method="c14n"):
        return None
    return _first_difference(expected, found, new.path)


def _first_difference(expected: etree._Element, found: etree._Element, path: str) -> str:
    """Where the after document first departs from the expected one, in words."""
    for want, got in zip(expected.iter(), found.iter(), strict=False):
        where = f"{_element_path(got)} ({path}:{source_line(got) or '?'})"
        if want.tag != got.tag:
            return f"first difference at {where}: expected <{_tag(want)}>, found <{_tag(got)}>"
        wanted = {str(key): str(value) for key, value in want.attrib.items()}
        gotten = {str(key): str(value) for key, value in got.attrib.items()}
        if wanted != gotten:
            names = sorted(
                key for key in wanted.keys() | gotten.keys() if wanted.get(key) != gotten.get(key)
            )
            return f"first difference at {where}: attribute {', '.join(names)} differs"
        if (want.text or "") != (got.text or ""):
            return f"first difference at {where}: its text differs"
        if (want.tail or "") != (got.tail or ""):
            return f"first difference at {where}: the text after it differs"
        if len(want) != len(got):
            return f"first difference at {where}: {len(got)} child element(s), expected {len(want)}"
    return f"the documents differ ({path})"


def _tag(element: etree._Element) -> str:
    tag = element.tag
    return etree.QName(tag).localname if isinstance(tag, str) else "?"


def _element_path(element: etree._Element) -> str:
    """`/configuration/system.webServer/modules/add[3]`: the element's place in the document."""
    parts: list[str] = []
    node: etree._Element | None = element
    while node is not None:
        parent = node.getparent()
        name = _tag(node)
        if parent is not None:
            same = [child for child in parent if child.tag == node.tag]
            if len(same) > 1:
                name += f"[{same.index(node) + 1}]"
        parts.append(name)
        node = parent
    return "/" + "/".join(reversed(parts))
