"""The VariantConfiguration diagnostic's `Result` document, whatever the format it was read from.

Owns reading the XML text of the `Result` property of a `Get-ExchangeDiagnosticInfo -Process
Microsoft.Exchange.Directory.TopologyService -Component VariantConfiguration -Argument
Overrides` result into a `VariantConfiguration`: parsed with the same hardening as every input
(`auditor.parsers.xmlsafe`), its `Diagnostics/Components/VariantConfiguration/Overrides/
SettingOverride` elements are the overrides effective on the server;
`ProcessInfo/fastTrainExchangeVersion` is kept as text. A result of another component is none
(None, None); a `Result` that names VariantConfiguration but cannot be read is a problem
located at `line`. At most `MAX_ITEMS` overrides, and parameters of each, are read (the record
is then incomplete). CLIXML (`auditor.parsers.clixml.override_mapping`) and ConvertTo-Json /
Export-Csv (`auditor.parsers.server_text`) both read it here.
"""

from __future__ import annotations

from lxml import etree

from auditor.model import EffectiveOverride, Evidence, Problem, VariantConfiguration
from auditor.parsers.base import RawInput
from auditor.parsers.properties import MAX_NAMES as MAX_ITEMS
from auditor.parsers.xmlsafe import load_xml

__all__ = ["MAX_ITEMS", "VARIANT_CONFIGURATION", "variant_from_result"]

VARIANT_CONFIGURATION = "VariantConfiguration"


def variant_from_result(
    raw: RawInput, result: str, line: int | None, server: str | None, source: Evidence
) -> tuple[VariantConfiguration | None, Problem | None]:
    """The overrides one server applies; (None, None) when the result is of another component."""
    if VARIANT_CONFIGURATION not in result:
        return None, None
    inner = RawInput(path=raw.path, data=result.encode("utf-8"), sha256=raw.sha256)
    loaded = load_xml(inner)
    if isinstance(loaded, Problem):
        where = f"at line {line}" if line is not None else "in this file"
        return None, raw.problem(
            loaded.code,
            f"the Result of the VariantConfiguration diagnostic {where} could not "
            f"be read: {loaded.message}",
            line,
        )
    root = loaded.root
    component = _child(_child(root, "Components"), VARIANT_CONFIGURATION)
    if root.tag != "Diagnostics" or component is None:
        return None, None
    found = _children(_child(component, "Overrides"), "SettingOverride")
    read = [_effective(element) for element in found[:MAX_ITEMS]]
    record = VariantConfiguration(
        server=server,
        overrides=tuple(override for override, _ in read),
        fast_train_version=_text(_child(_child(root, "ProcessInfo"), "fastTrainExchangeVersion")),
        complete=len(found) <= MAX_ITEMS and all(whole for _, whole in read),
        source=source,
    )
    return record, None


def _child(element: etree._Element | None, tag: str) -> etree._Element | None:
    if element is None:
        return None
    return next(iter(_children(element, tag)), None)


def _children(element: etree._Element | None, tag: str) -> list[etree._Element]:
    if element is None:
        return []
    return [child for child in element.iterchildren(tag=etree.Element) if child.tag == tag]


def _text(element: etree._Element | None) -> str | None:
    return None if element is None else (element.text or "")


def _effective(element: etree._Element) -> tuple[EffectiveOverride, bool]:
    """One effective override, and whether all its parameters were read (`MAX_ITEMS`)."""
    parameters = _children(_child(element, "Parameters"), "Parameter")
    override = EffectiveOverride(
        name=_text(_child(element, "Name")),
        component=_text(_child(element, "ComponentName")),
        section=_text(_child(element, "SectionName")),
        status=_text(_child(element, "Status")),
        parameters=tuple(child.text or "" for child in parameters[:MAX_ITEMS]),
    )
    return override, len(parameters) <= MAX_ITEMS
