"""The EvoSTS AuthServer change set's template values and allow-lists (`auditor.render.ps1`).

Every value reaches the templates as a single-quoted literal all the same; the allow-lists are
the first line of defence for what the scripts write to Exchange: an AuthServer name (passed to
-Identity) without control characters, a Realm and a target ApplicationIdentifier that are
GUIDs, an audited ApplicationIdentifier (written back by the rollback) of printable ASCII, and
Enabled values True or False.
"""

from __future__ import annotations

import re
from typing import Any

from auditor.model import AuthServerProperty, ChangeSet
from auditor.psquote import is_valid_guid, require

AUTH_SERVER_TEMPLATES = (
    "evosts-auth-servers.remediation.ps1.j2",
    "evosts-auth-servers.rollback.ps1.j2",
)

_NAME = re.compile(r"[^\x00-\x1f\x7f]{1,256}")
_AUDITED = re.compile(r"[\x20-\x7e]{0,256}")
_SOURCE = re.compile(r"[^\x00-\x1f\x7f]{0,1024}")
_BOOLEANS = ("True", "False")


def auth_server_context(change_set: ChangeSet) -> dict[str, Any]:
    """The template values of the set's AuthServer changes, in plan order."""
    servers = []
    for index, change in enumerate(change_set.auth_servers, start=1):
        servers.append(
            {
                "name": change.name,
                "property": change.setting.value,
                "audited": change.audited_value,
                "target": change.target_value,
                "realm": change.realm,
                "restorable": change.restorable,
                "source": change.source,
                "kept_name": change.kept_name,
                "kept_app": change.kept_application_identifier,
                "backup_name": f"{change_set.slug}-{index:02d}",
            }
        )
    return {"auth_servers": servers}


def check_auth_server_allow_lists(change_set: ChangeSet) -> None:
    """Raise ValueError naming the first AuthServer value that fails its allow-list."""
    for change in change_set.auth_servers:
        require(_NAME.fullmatch(change.name) is not None, "AuthServer name", change.name)
        require(is_valid_guid(change.realm), "AuthServer Realm", change.realm)
        require(_SOURCE.fullmatch(change.source) is not None, "export place", change.source)
        if change.setting is AuthServerProperty.ENABLED:
            for value in (change.audited_value, change.target_value):
                require(value in _BOOLEANS, "AuthServer Enabled value", value)
            kept = change.kept_name
            require(_NAME.fullmatch(kept) is not None, "kept AuthServer name", kept)
            kept_app = change.kept_application_identifier
            require(is_valid_guid(kept_app), "kept ApplicationIdentifier", kept_app)
        else:
            target = change.target_value
            require(is_valid_guid(target), "ApplicationIdentifier", target)
            audited = change.audited_value
            valid = _AUDITED.fullmatch(audited) is not None
            require(valid, "audited ApplicationIdentifier", audited)
