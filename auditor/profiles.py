"""What a web.config's OAuthHttpModule.Profiles value honours, before and after its change,
and whether the servers agree on a vdir (`FleetJudgement`, rule FL001).

Decided once from the rules' token judgements (`ProfilesJudgement`) and the plan's changes:
rule FL001 raises its finding from `judge_fleet`, the planner lists FL001 among what the changes
fix only when the servers `agree_after` them, the planner refuses and the script renderer
re-checks a change with an `undeclared_enablement`, and the report shows `target_segments`.
Nothing else splits or compares profile values. Part of the foundation (imports only the model).
"""

from __future__ import annotations

from collections.abc import Sequence

from auditor.model import (
    ProfilesJudgement,
    TokenAction,
    TokenMark,
    WebConfigChange,
)
from auditor.model.decision import FleetJudgement as FleetJudgement
from auditor.model.decision import FleetVariant as FleetVariant

PROFILE_SEPARATOR = "|"  # Exchange splits the value here, without trimming


def honoured_profiles(judgement: ProfilesJudgement) -> tuple[str, ...] | None:
    """The profiles Exchange honours on a web.config today, first-seen order; None: no key."""
    if judgement.raw is None:
        return None
    honoured = (t.segment for t in judgement.tokens if TokenMark.HONOURED in t.marks)
    return tuple(dict.fromkeys(honoured))


def honoured_after(judgement: ProfilesJudgement) -> frozenset[str] | None:
    """The profiles Exchange honours once the planned change ran; None: no key."""
    if judgement.raw is None:
        return None
    kept = (
        t.segment
        for t in judgement.tokens
        if TokenMark.HONOURED in t.marks and t.action is TokenAction.KEEP
    )
    enabled = (t.canonical for t in judgement.tokens if t.action is TokenAction.ENABLE)
    return frozenset((*kept, *(token for token in enabled if token is not None)))


def target_segments(change: WebConfigChange) -> tuple[str, ...]:
    """The segments of the value a web.config change writes, in order; none when the change
    empties the value (it only removes)."""
    if change.target_value or not change.removes:
        return tuple(change.target_value.split(PROFILE_SEPARATOR))
    return ()


def undeclared_enablement(change: WebConfigChange) -> str | None:
    """Why a web.config change would make a token take effect without declaring it, if it would.

    Exchange splits the value on `|` and honours a segment only as written, so a target token
    that is not a segment of the audited value takes effect only after the change: it must be
    listed in `enables` (its own plan item, planned only when the policy approves it) and never
    pass as a repair. The planner refuses such a change; the script renderer checks again.
    """
    today = set(change.audited_value.split(PROFILE_SEPARATOR))
    target = [token for token in change.target_value.split(PROFILE_SEPARATOR) if token]
    undeclared = [t for t in target if t not in today and t not in change.enables]
    if undeclared:
        return (
            f"the change to {change.vdir!r} makes {undeclared!r} take effect without an "
            "ENABLES plan item"
        )
    stray = [token for token in change.enables if token not in target]
    if stray:
        return f"ENABLES {stray!r} is not in the target value of {change.vdir!r}"
    return None


def agree_after(judgements: Sequence[ProfilesJudgement]) -> bool:
    """True when the files of one vdir honour the same profiles once the plan ran."""
    return len({honoured_after(judgement) for judgement in judgements}) == 1


def judge_fleet(
    profiles: Sequence[ProfilesJudgement], defaults: dict[str, tuple[str, ...] | None]
) -> tuple[FleetJudgement, ...]:
    """One FleetJudgement per vdir (case folded, in sorted order), from the judged files.

    `defaults` maps a vdir (as the files name it) to its shipped default profiles.
    """
    by_vdir: dict[str, dict[frozenset[str] | None, list[ProfilesJudgement]]] = {}
    names: dict[str, str] = {}
    for judgement in profiles:
        key = judgement.vdir.casefold()
        names.setdefault(key, judgement.vdir)
        honoured = honoured_profiles(judgement)
        variant_key = None if honoured is None else frozenset(honoured)
        by_vdir.setdefault(key, {}).setdefault(variant_key, []).append(judgement)
    judged = []
    for key in sorted(by_vdir):
        vdir = names[key]
        default = defaults.get(vdir)
        judged.append(FleetJudgement(vdir, default, _variants(by_vdir[key], default)))
    return tuple(judged)


def _variants(
    groups: dict[frozenset[str] | None, list[ProfilesJudgement]],
    default: tuple[str, ...] | None,
) -> tuple[FleetVariant, ...]:
    default_set = frozenset(default) if default is not None else None
    found = []
    for files in groups.values():
        servers = tuple(sorted(dict.fromkeys(f.server for f in files), key=str.casefold))
        found.append(FleetVariant(honoured_profiles(files[0]), servers))

    def rank(variant: FleetVariant) -> tuple[int, int, str]:
        is_default = variant.profiles is not None and frozenset(variant.profiles) == default_set
        return (-len(variant.servers), 0 if is_default else 1, variant.describe())

    found.sort(key=rank)
    base = found[0].profiles or ()
    return tuple(
        FleetVariant(
            v.profiles,
            v.servers,
            added=tuple(t for t in v.profiles or () if t not in base) if index else (),
            missing=tuple(t for t in base if t not in (v.profiles or ())) if index else (),
        )
        for index, v in enumerate(found)
    )
