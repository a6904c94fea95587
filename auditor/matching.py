"""The policy's matching semantics: forbidden permission globs and profile-token folding.

`auditor.rules.judge` makes every judgement with these (and says why they fail closed);
`auditor.policy.weakening` compares a loaded policy with the shipped default through the same
definitions, so "forbidden by default" there means what it means to the rules. Renderers never
import this module (tests/test_layers.py).

* `forbidden_pattern`: globs matched case-insensitively against a name and against each
  whitespace-separated part of it (`Mail.Read Mail.Send` glued into one string is forbidden).
* `fold_token`: a profile segment case-folded without any Unicode space, format or control
  character, so `v1s2sapponly` and `V1S2SAppOnly` + NBSP count as the forbidden token.
* `forbidden_profile_tokens`: which tokens a policy forbids on one vdir, and why.
"""

from __future__ import annotations

import fnmatch
import functools
import re
import unicodedata
from collections.abc import Sequence

from auditor.model import Policy, VdirPolicy

# Why a profile token is forbidden on a vdir (`TokenJudgement.forbidden_reason`).
FORBIDDEN_BY_POLICY = "forbidden"
NO_APPROVED_APP_ONLY = "no-approved-app-only"

_INVISIBLE_CATEGORIES = frozenset({"Zs", "Zl", "Zp", "Cf", "Cc"})


@functools.lru_cache(maxsize=4096)
def fold_token(segment: str) -> str:
    """`segment` without any Unicode space, format or control character, case-folded.

    Cached: a fleet repeats the same few segments on every server.
    """
    kept = (
        ch
        for ch in segment
        if not ch.isspace() and unicodedata.category(ch) not in _INVISIBLE_CATEGORIES
    )
    return "".join(kept).casefold()


@functools.lru_cache(maxsize=8)
def _glob_matcher(patterns: tuple[str, ...]) -> re.Pattern[str]:
    """One regex for every glob, case-folded; the matching group names the first pattern."""
    alternatives = (
        f"(?P<p{index}>{fnmatch.translate(pattern.casefold())})"
        for index, pattern in enumerate(patterns)
    )
    return re.compile("|".join(alternatives) or "(?!)")


def forbidden_pattern(name: str, patterns: Sequence[str]) -> str | None:
    """The first forbidden glob that `name`, or any whitespace-separated part of it, matches.

    Globs match case-insensitively (both sides case-folded), as `fnmatch.fnmatchcase` would.
    """
    wanted = tuple(patterns)
    matcher = _glob_matcher(wanted)
    candidates = [name]
    parts = name.split()
    if len(parts) > 1 or (parts and parts[0] != name):
        candidates.extend(parts)
    first: int | None = None
    for candidate in candidates:
        match = matcher.match(candidate.casefold())
        if match is not None and match.lastgroup is not None:
            index = int(match.lastgroup[1:])
            first = index if first is None else min(first, index)
    return wanted[first] if first is not None else None


def forbidden_profile_tokens(
    policy: Policy, vdir_policy: VdirPolicy | None, any_app_only_approved: bool
) -> dict[str, tuple[str, str]]:
    """Folded token -> (spelling, reason) for every profile token `policy` forbids on a vdir.

    The vdir's forbidden tokens and the ones forbidden everywhere, minus the vdir's allowed
    ones (reason `forbidden`); then the app-only tokens (`V1S2SAppOnly`) while the policy
    approves no app-only permission at all (reason `no-approved-app-only`).
    """
    forbidden: dict[str, tuple[str, str]] = {}
    allowed = {fold_token(t) for t in vdir_policy.allowed_profiles} if vdir_policy else set()
    vdir_forbidden = vdir_policy.forbidden_profiles if vdir_policy else ()
    for token in (*policy.forbidden_profiles_everywhere, *vdir_forbidden):
        folded = fold_token(token)
        if folded not in allowed:
            forbidden.setdefault(folded, (token, FORBIDDEN_BY_POLICY))
    if not any_app_only_approved:
        for token in policy.app_only_profile_tokens:
            forbidden.setdefault(fold_token(token), (token, NO_APPROVED_APP_ONLY))
    return forbidden
