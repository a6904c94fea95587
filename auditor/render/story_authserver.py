"""The runbook text of the EvoSTS AuthServer step (`evosts-auth-servers`), from its plan.

`auditor.render.story` numbers the steps and wraps these texts in its `Step`s; this module
owns what the step and its back-out say: the Set-AuthServer change per AuthServer, the
AUDITOR-* lines the scripts print on success, and the located manual step an
ApplicationIdentifier that was empty needs, since no documented command clears it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from auditor.model import AuthServerChange, AuthServerProperty, ChangeSet

_Value = Callable[[str | None], str]

WHERE = (
    "once for the organisation, in the Exchange Management Shell on a Mailbox server, with a "
    "role that may run Set-AuthServer"
)
OVERRIDE_SECTION = "Global / ExchangeOnpremAsThirdPartyAppId"


@dataclass(frozen=True, slots=True)
class AuthServerTexts:
    """What the step and its back-out say, one sentence per effect or expected line."""

    effects: tuple[str, ...]
    expect: tuple[str, ...]
    back_effects: tuple[str, ...]
    back_expect: tuple[str, ...]


def _shown(text: str) -> str:
    return text or "(empty)"


def _described(change: AuthServerChange, value: _Value) -> str:
    return f"AuthServer '{value(change.name)}' {change.setting.value}"


def manual_step(change: AuthServerChange, value: _Value) -> str:
    """The back-out of an ApplicationIdentifier that was empty: by hand, located."""
    return (
        f"Manual step (AUDITOR-MANUAL): AuthServer '{value(change.name)}' had an empty "
        f"ApplicationIdentifier ({value(change.source)}); Set-AuthServer documents no way to "
        f"clear it, so the rollback leaves {value(change.target_value)}. To stop Exchange using "
        f"the dedicated app, back out the dedicated-app setting override ({OVERRIDE_SECTION}: "
        "Remove-SettingOverride, or its own rollback script), then run the Hybrid "
        "Configuration Wizard."
    )


def _effect(change: AuthServerChange, value: _Value) -> str:
    if change.setting is AuthServerProperty.ENABLED:
        return (
            f"Disables the duplicate EvoSTS AuthServer '{value(change.name)}' (Realm "
            f"{value(change.realm)}; Set-AuthServer -Enabled $false, never removed): Exchange "
            "takes the realm's tokens from the one valid EvoSTS left enabled"
        )
    return (
        f"Sets the ApplicationIdentifier of the tenant's EvoSTS AuthServer '{value(change.name)}' "
        f"(Realm {value(change.realm)}) from {value(_shown(change.audited_value))} to "
        f"{value(change.target_value)}, the dedicated Exchange hybrid app of the policy: hybrid "
        "OAuth (free/busy, MailTips, mailbox moves) asks Entra ID for that app's tokens"
    )


def _undo(change: AuthServerChange, value: _Value) -> str:
    if change.setting is AuthServerProperty.ENABLED:
        return f"Sets Enabled of AuthServer '{value(change.name)}' back to True"
    if not change.restorable:
        return manual_step(change, value)
    return (
        f"Sets the ApplicationIdentifier of AuthServer '{value(change.name)}' back to "
        f"{value(change.audited_value)}"
    )


def auth_server_texts(change_set: ChangeSet, value: _Value, back_out: str) -> AuthServerTexts:
    """The texts of the set's step and back-out; `back_out` is the rollback command sentence."""
    changes = change_set.auth_servers
    effects = tuple(_effect(change, value) + "." for change in changes)
    expect = (
        *(
            f"AUDITOR-CHANGED: {_described(change, value)} now is '{value(change.target_value)}'."
            for change in changes
        ),
        f"AUDITOR-DONE: {len(changes)} of {len(changes)} AuthServer change(s) made in this run, "
        f"0 by an earlier run. Back-out: {back_out} -BackupDirectory '<backup folder>'",
    )
    backs = tuple(reversed(changes))
    back_effects = tuple(_undo(change, value).removesuffix(".") + "." for change in backs)
    restored = [change for change in backs if change.restorable]
    manual = len(backs) - len(restored)
    back_expect = tuple(
        f"AUDITOR-RESTORED: the {_described(change, value)} is "
        f"'{value(change.audited_value)}' as the audit showed it again."
        for change in restored
    )
    if manual:
        back_expect += (
            f"AUDITOR-DONE: {len(restored)} AuthServer change(s) backed out; {manual} left for "
            "the manual step above (AUDITOR-MANUAL).",
        )
    else:
        back_expect += (f"AUDITOR-DONE: {len(restored)} AuthServer change(s) backed out.",)
    return AuthServerTexts(effects, expect, back_effects, back_expect)
