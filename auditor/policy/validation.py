"""Checking one policy document against `auditor/schemas/policy.schema.json`, in words.

Every schema violation becomes a `SchemaIssue`: the path inside the document, what was expected
in a sentence (a pattern is named by what it means, a key of `rules` says that auditor declares
the rules), whether it is about a key, and whether it only makes one waiver malformed (a
missing or empty field, a bad date: the waiver is reported by WV001 instead of stopping the
audit). `auditor.policy.merge` turns issues into located `PolicyError`s.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from auditor import names
from auditor.policy.files import DocPath, PolicyFile, kind_of

_SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schemas" / "policy.schema.json"
_WAIVER_LENIENT_VALIDATORS = frozenset({"required", "minLength", "pattern"})
RULES_ARE_DECLARED_BY_AUDITOR = (
    "a policy does not declare rules: auditor declares each one (`auditor rules` lists them); "
    "change a rule's severity or enabled with rule_overrides"
)


def policy_schema() -> dict[str, Any]:
    """The policy JSON Schema (Draft 2020-12), as `auditor policy schema` prints it."""
    return copy.deepcopy(_schema())


@lru_cache(maxsize=1)
def _schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(_SCHEMA_PATH.read_text(encoding="utf-8"))
    return schema


@lru_cache(maxsize=1)
def _validator() -> Any:
    """The policy schema's validator; jsonschema (a slow import) is imported only here.

    The shipped schema is not checked against the metaschema on every run: the test suite
    does that (tests/policy/test_policy_load.py), and the schema only changes with auditor.
    """
    from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

    return Draft202012Validator(_schema())


@lru_cache(maxsize=1)
def _pattern_meanings() -> dict[str, str]:
    """What each schema pattern means, in words, keyed by the pattern."""
    defs = _schema()["$defs"]
    meanings = {
        defs["rule_id"]["pattern"]: "a rule id such as PA001 (two capital letters, three digits)",
        defs["waiver"]["properties"]["expires"]["pattern"]: "a date written YYYY-MM-DD",
    }
    for name, name_format in names.SCHEMA_DEFS.items():
        meanings[defs[name]["pattern"]] = name_format.description
    return meanings


@dataclass(slots=True)
class SchemaIssue:
    doc_path: DocPath
    problem: str
    key: bool
    lenient_waiver: int | None  # index of the waiver, when the issue only makes it malformed


def schema_issues(policy_file: PolicyFile) -> list[SchemaIssue]:
    issues: list[SchemaIssue] = []
    for error in _validator().iter_errors(policy_file.document):
        doc_path: DocPath = tuple(error.absolute_path)
        if "propertyNames" in error.absolute_schema_path and isinstance(error.instance, str):
            issue = _describe(error, (*doc_path, error.instance), policy_file)
            issue.key = True
        else:
            issue = _describe(error, doc_path, policy_file)
        if (
            len(doc_path) >= 2
            and doc_path[0] == "waivers"
            and isinstance(doc_path[1], int)
            and error.validator in _WAIVER_LENIENT_VALIDATORS
        ):
            issue.lenient_waiver = doc_path[1]
        issues.append(issue)
    return issues


def _describe(error: Any, doc_path: DocPath, policy_file: PolicyFile) -> SchemaIssue:
    validator = error.validator
    instance = error.instance
    schema = error.schema
    if validator == "additionalProperties" and doc_path == () and "rules" in instance:
        return SchemaIssue(("rules",), RULES_ARE_DECLARED_BY_AUDITOR, True, None)
    if validator == "additionalProperties" and isinstance(instance, dict):
        allowed = sorted(schema.get("properties", {}))
        extra = [key for key in instance if key not in allowed]
        extra.sort(key=lambda key: policy_file.key_marks.get((*doc_path, key), (0, 0)))
        expected = ", ".join(allowed)
        return SchemaIssue(
            (*doc_path, extra[0]),
            f"unknown key {extra[0]!r}; expected one of: {expected}",
            key=True,
            lenient_waiver=None,
        )
    if validator == "required":
        missing = [key for key in schema["required"] if key not in instance]
        return SchemaIssue(doc_path, f"missing required key {missing[0]!r}", False, None)
    if validator == "type":
        expected_types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        expected = " or ".join(_TYPE_WORDS.get(str(name), str(name)) for name in expected_types)
        return SchemaIssue(
            doc_path, f"expected {expected}, got {kind_of(instance)}{_shown(instance)}", False, None
        )
    if validator == "enum":
        choices = ", ".join("null" if choice is None else str(choice) for choice in schema["enum"])
        return SchemaIssue(
            doc_path,
            f"expected one of: {choices}; got {kind_of(instance)}{_shown(instance)}",
            False,
            None,
        )
    if validator == "const":
        return SchemaIssue(
            doc_path,
            f"expected {schema['const']!r}, got {kind_of(instance)}{_shown(instance)}",
            False,
            None,
        )
    if validator == "pattern":
        meaning = _pattern_meanings().get(schema["pattern"], f"text matching {schema['pattern']}")
        return SchemaIssue(doc_path, f"expected {meaning}, got {instance!r}", False, None)
    if validator == "minLength":
        return SchemaIssue(doc_path, "expected a non-empty text", False, None)
    if validator == "maxLength":
        return SchemaIssue(
            doc_path, f"expected at most {schema['maxLength']} characters", False, None
        )
    if validator == "minProperties":
        keys = ", ".join(sorted(schema.get("properties", {})))
        return SchemaIssue(doc_path, f"expected at least one of: {keys}", False, None)
    return SchemaIssue(doc_path, str(error.message), False, None)


_TYPE_WORDS = {
    "object": "a mapping",
    "array": "a list",
    "string": "a text",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
}


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return f" ({'true' if value else 'false'})"
    if isinstance(value, (int, float)):
        return f" ({value})"
    if isinstance(value, str):
        return f" ({value[:60]!r})"
    return ""
