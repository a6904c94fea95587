"""The dedicated-app override change set's template values and allow-lists (`auditor.render.ps1`).

The override's name, every Parameters and Server entry may be written to Exchange (the rollback
writes the audited Parameters and scope back), so each must be printable ASCII, and a MinVersion
or MaxVersion a version; the templates quote them as
single-quoted literals all the same.
"""

from __future__ import annotations

import re
from typing import Any

from auditor.model import ChangeKind, ChangeSet
from auditor.psquote import require

OVERRIDE_TEMPLATES = (
    "dedicated-app-override.remediation.ps1.j2",
    "dedicated-app-override.rollback.ps1.j2",
)

# A setting override's name and Parameters entries as they may be written to Exchange: printable
# ASCII only (quoted as literals all the same).
_OVERRIDE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}")
_OVERRIDE_VALUE = re.compile(r"[\x20-\x7e]{1,256}")
_OVERRIDE_VERSION = re.compile(r"[0-9]{1,9}(\.[0-9]{1,9}){1,3}")


def override_context(change_set: ChangeSet) -> dict[str, Any]:
    """The template values of the set's one override change (`check_override_allow_lists`)."""
    overrides = []
    for index, change in enumerate(change_set.setting_overrides, start=1):
        overrides.append(
            {
                "name": change.name,
                "component": change.component,
                "section": change.section,
                "creates": change.creates,
                "audited": list(change.audited_parameters or ()),
                "target": list(change.target_parameters),
                "sets_parameters": change.sets_parameters,
                "servers": list(change.audited_servers or ()),
                "min_version": change.audited_min_version or "",
                "max_version": change.audited_max_version or "",
                "clears_scope": change.clears_scope,
                "reason": change.reason,
                "backup_name": f"{change_set.slug}-{index:02d}",
            }
        )
    return {"override": overrides[0]}


def check_override_allow_lists(change_set: ChangeSet) -> None:
    """Raise ValueError naming the first override value that fails its allow-list."""
    if change_set.kind is ChangeKind.DEDICATED_APP_OVERRIDE:
        count = str(len(change_set.setting_overrides))
        require(count == "1", "number of setting overrides in the change set", count)
    for override in change_set.setting_overrides:
        require(_OVERRIDE_NAME.fullmatch(override.name) is not None, "override name", override.name)
        values = (
            override.component,
            override.section,
            override.reason,
            *override.target_parameters,
            *(override.audited_parameters or ()),
            *(override.audited_servers or ()),
        )
        for value in values:
            require(_OVERRIDE_VALUE.fullmatch(value) is not None, "override value", value)
        for version in (override.audited_min_version, override.audited_max_version):
            if version:
                ok = _OVERRIDE_VERSION.fullmatch(version) is not None
                require(ok, "override version", version)
