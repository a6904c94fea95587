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

from auditor.model import Problem, SettingOverride, VariantConfiguration
from auditor.parsers import trust_records
from auditor.parsers.base import RawInput
from auditor.parsers.clixml.deserialise import PSObject
from auditor.parsers.clixml.fields import ObjectFields, evidence, server, unreadable_problem
from auditor.parsers.variant_result import variant_from_result

SETTING_OVERRIDE_TYPE = (
    "Microsoft.Exchange.Data.Directory.SystemConfiguration.ConfigurationSettings.SettingOverride"
)
DIAGNOSTIC_RESULT_TYPE = (
    "Microsoft.Exchange.Management.Powershell.Support.ExchangeDiagnosticInfoResult"
)


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
    """The overrides one server applies; (None, None) when the result is of another component
    (`auditor.parsers.variant_result`, the reading every format shares)."""
    prop = ObjectFields(obj).by_name.get("result")
    if prop is None or not isinstance(prop.value, str):
        return None, None
    return variant_from_result(
        raw, prop.value, prop.line, server(raw, obj), evidence(raw, obj, lines)
    )
