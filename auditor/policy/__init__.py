"""Policies: reading, validating and merging YAML policy files into one `Policy`.

The package owns the policy file format (`auditor/schemas/policy.schema.json`), the rules for
layering an organisation policy on the shipped default, and every message a policy author sees
when a policy is wrong. A bad policy raises `PolicyError`, whose text names the file, the line
and column, the path inside the document (`applications[0].approved_app_only[2]`) and what was
expected.

Reading is defensive: at most `MAX_POLICY_BYTES`, UTF-8 only (a UTF-8 BOM is accepted), one YAML
document, safe scalars only (strings, integers, booleans, null), no anchors or aliases (no alias
bombs), duplicate keys rejected with both lines, dates kept as text (`2026-02-30` is a message,
not a crash).

Layering (`load_policy`): the shipped default first, then every given file; a file's `extends`
(a path relative to the file, or `default`) is loaded before it, once. Scalars and lists
override, `applications` merge by `application_identifier` and `vdirs` by vdir id (an entry
changes only the fields it states), `waivers` append. Rules are declared by auditor, each beside
its check (`auditor.rules.registry`); a policy, the shipped default included, only changes a
rule's `severity` or `enabled` with `rule_overrides`.

Waivers fail closed. A waiver with a wrong type or an unknown key is a `PolicyError` like any
other (the file is plainly wrong). A waiver that is incomplete (a missing or empty field), names
a rule auditor does not have (or WV001, which no waiver suppresses), or has an expiry that is
not a real calendar date (`YYYY-MM-DD`) does not stop an audit: it is kept in
`Policy.malformed_waivers`, suppresses nothing and is reported by rule WV001. `load_policy(...,
strict_waivers=True)` (for `auditor policy validate`) turns those into `PolicyError`s as well.
Expiry is judged later, against the audit's `--as-of` date, by the rules (an expired waiver also
suppresses nothing).

Weakenings: every way the merged policy weakens the shipped default (a forbidden pattern or
token removed, a forbidden permission approved, a forbidden token allowed on a vdir, a critical
or high rule disabled or lowered, a critical rule waived) is decided at load time and kept in
`Policy.weakenings`, each naming the file that makes it, for every output to show.

The package is split by job: `files` reads one file (and owns `PolicyError`), `validation`
checks it against the schema, `merge` layers the files (`extends`) into one `Policy`,
`weakening` compares it with the shipped default, `text` writes the policy back out for its
author (`policy show`, `policy init`).
"""

from auditor.policy.files import (
    DEFAULT_POLICY,
    MAX_NESTING,
    MAX_POLICY_BYTES,
    PolicyError,
)
from auditor.policy.merge import load_policy
from auditor.policy.text import policy_as_yaml, policy_init_text
from auditor.policy.validation import policy_schema

__all__ = [
    "DEFAULT_POLICY",
    "MAX_NESTING",
    "MAX_POLICY_BYTES",
    "PolicyError",
    "load_policy",
    "policy_as_yaml",
    "policy_init_text",
    "policy_schema",
]
