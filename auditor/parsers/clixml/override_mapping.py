"""The setting-override mappings of CLIXML: the overrides stored in Active Directory
(`Get-SettingOverride`) and those one server applies (its VariantConfiguration diagnostic).

Owns reading:

- objects of type `...ConfigurationSettings.SettingOverride` into `SettingOverride` records
  (organisation-wide) by the rules of `auditor.model.trust` (`auditor.parsers.clixml.fields`):
  `ComponentName`/`SectionName` (what the trust rules match on, never the name),
  `Parameters` and `Server` as lists, `MinVersion`/`MaxVersion` as text, `Status` by name;
- a `Get-ExchangeDiagnosticInfo -Process Microsoft.Exchange.Directory.TopologyService
  -Component VariantConfiguration -Argument Overrides` result (type `...Support.
  ExchangeDiagnosticInfoResult`) into a `VariantConfiguration`: its `Result` property is an
  XML document, parsed with the same hardening as every input (`auditor.parsers.xmlsafe`),
  whose `Diagnostics/Components/VariantConfiguration/Overrides/SettingOverride` elements are
  the overrides effective on the server; `ProcessInfo/fastTrainExchangeVersion` is kept as
  text. A diagnostic result of another component is none of these and is left alone; a
  `Result` that names VariantConfiguration but cannot be read is a problem located at the
  `Result` property. At most `MAX_ITEMS` overrides, and parameters of each, are read (the
  record is then incomplete).
"""

from __future__ import annotations

from collections.abc import Sequence

from lxml import etree

from auditor.model import EffectiveOverride, Problem, SettingOverride, VariantConfiguration
from auditor.parsers import trust_records
from auditor.parsers.base import RawInput
from auditor.parsers.clixml.deserialise import MAX_ITEMS, PSObject
from auditor.parsers.clixml.fields import ObjectFields, evidence, server, unreadable_problem
from auditor.parsers.xmlsafe import load_xml

SETTING_OVERRIDE_TYPE = (
    "Microsoft.Exchange.Data.Directory.SystemConfiguration.ConfigurationSettings.SettingOverride"
)
DIAGNOSTIC_RESULT_TYPE = (
    "Microsoft.Exchange.Management.Powershell.Support.ExchangeDiagnosticInfoResult"
)
_VARIANT_CONFIGURATION = "VariantConfiguration"


def setting_override(
    raw: RawInput, obj: PSObject, lines: Sequence[str]
) -> tuple[SettingOverride, Problem | None]:
    """One SettingOverride object as a record, and the problem of its unreadable values."""
    fields = ObjectFields(obj)
    record = trust_records.setting_override(fields, evidence(raw, obj, lines))
    return record, unreadable_problem(raw, fields, "SettingOverride")


def variant_configuration(
    raw: RawInput, obj: PSObject, lines: Sequence[str]
) -> tuple[VariantConfiguration | None, Problem | None]:
    """The overrides one server applies; (None, None) when the result is of another component."""
    prop = ObjectFields(obj).by_name.get("result")
    if prop is None or not isinstance(prop.value, str) or _VARIANT_CONFIGURATION not in prop.value:
        return None, None
    inner = RawInput(path=raw.path, data=prop.value.encode("utf-8"), sha256=raw.sha256)
    loaded = load_xml(inner)
    if isinstance(loaded, Problem):
        return None, raw.problem(
            loaded.code,
            f"the Result of the VariantConfiguration diagnostic at line {prop.line} could not "
            f"be read: {loaded.message}",
            prop.line,
        )
    root = loaded.root
    component = _child(_child(root, "Components"), _VARIANT_CONFIGURATION)
    if root.tag != "Diagnostics" or component is None:
        return None, None
    found = _children(_child(component, "Overrides"), "SettingOverride")
    read = [_effective(element) for element in found[:MAX_ITEMS]]
    record = VariantConfiguration(
        server=server(raw, obj),
        overrides=tuple(override for override, _ in read),
        fast_train_version=_text(_child(_child(root, "ProcessInfo"), "fastTrainExchangeVersion")),
        complete=len(found) <= MAX_ITEMS and all(whole for _, whole in read),
        source=evidence(raw, obj, lines),
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
