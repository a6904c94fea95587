"""Policies: reading, validating and merging YAML policy files into one `Policy`.

This module owns the policy file format (`auditor/schemas/policy.schema.json`), the rules for
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
changes only the fields it states), `waivers` append. Rules are declared only by a policy
without `extends` (the shipped default); other policies change a rule with `rule_overrides`
(`severity`, `enabled`). The merged policy must declare exactly the rules auditor implements.

Waivers fail closed. A waiver with a wrong type or an unknown key is a `PolicyError` like any
other (the file is plainly wrong). A waiver that is incomplete (a missing or empty field), names
a rule the policy does not declare (or WV001 itself), or has an expiry that is not a real
calendar date (`YYYY-MM-DD`) does not stop an audit: it is kept in `Policy.malformed_waivers`,
suppresses nothing and is reported by rule WV001. `load_policy(..., strict_waivers=True)` (for
`auditor policy validate`) turns those into `PolicyError`s as well. Expiry is judged later,
against the audit's `--as-of` date, by the rules (an expired waiver also suppresses nothing).
"""

from __future__ import annotations

import copy
import dataclasses
import datetime
import hashlib
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path, PurePath
from typing import Any

import yaml
from yaml.constructor import SafeConstructor

from auditor import resources
from auditor.model import (
    UNWAIVABLE,
    ApplicationPolicy,
    Policy,
    RuleId,
    RuleInfo,
    Severity,
    VdirPolicy,
    Waiver,
)

RULE_IDS: tuple[RuleId, ...] = tuple(RuleId)

MAX_POLICY_BYTES = 1024 * 1024
MAX_NESTING = 32
DEFAULT_POLICY = "default"

_SCHEMA_PATH = Path(__file__).resolve().parent / "schemas" / "policy.schema.json"
_WAIVER_FIELDS = ("rule", "subject", "reason", "ticket", "owner", "approver", "expires")
_WAIVER_LENIENT_VALIDATORS = frozenset({"required", "minLength", "pattern"})
_SURROGATE = (
    "the text holds an escape for a lone surrogate (\\ud800-\\udfff), which is not a character"
)
_RULES_IN_EXTENDING_POLICY = (
    "a policy that extends another may not declare rules; change a rule's severity or "
    "enabled with rule_overrides"
)
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

DocPath = tuple[str | int, ...]


class PolicyError(Exception):
    """A policy that cannot be used; `str()` is one message naming file, line, path and why."""

    def __init__(
        self,
        problem: str,
        *,
        path: str | None = None,
        line: int | None = None,
        column: int | None = None,
        where: str | None = None,
    ) -> None:
        self.problem = problem
        self.path = path
        self.line = line
        self.column = column
        self.where = where
        super().__init__(self._text())

    def _text(self) -> str:
        place = ""
        if self.path is not None:
            place = self.path
            if self.line is not None:
                place += f":{self.line}"
                if self.column is not None:
                    place += f":{self.column}"
        parts = [part for part in (place, self.where) if part]
        return ": ".join([*parts, self.problem])


# --- public API -----------------------------------------------------------------------------


def policy_schema() -> dict[str, Any]:
    """The policy JSON Schema (Draft 2020-12), as `auditor policy schema` prints it."""
    return copy.deepcopy(_schema())


def load_policy(
    paths: Sequence[Path] = (), *, default: bool = True, strict_waivers: bool = False
) -> Policy:
    """The effective policy: the shipped default (unless `default` is False), then `paths`.

    Each file's `extends` is honoured (loaded first, once). Raises `PolicyError` for any policy
    that is unreadable or invalid; malformed waivers are kept for rule WV001 unless
    `strict_waivers` is set, in which case they are errors too.
    """
    chain = _Chain()
    if default:
        chain.add(_default_policy_path(), DEFAULT_POLICY, via=None)
    for path in paths:
        chain.add(Path(path), str(path), via=None)
    if not chain.files:
        raise PolicyError("no policy to load: give a policy file or use the shipped default")
    return _merge(chain.files, strict_waivers=strict_waivers)


def policy_as_yaml(policy: Policy) -> str:
    """The merged effective policy as a standalone, deterministic YAML policy (`policy show`)."""
    document: dict[str, Any] = {
        "name": policy.name,
        "version": 1,
        "rules": {
            str(info.id): {
                "title": info.title,
                "severity": info.severity.value,
                "rationale": info.rationale,
                "references": list(info.references),
                "remediation": info.remediation,
                "enabled": info.enabled,
            }
            for info in policy.rules
        },
        "applications": [
            {
                "application_identifier": app.application_identifier,
                "name": app.name,
                "approved_app_only": list(app.approved_app_only),
            }
            for app in policy.applications
        ],
        "forbidden_app_only": list(policy.forbidden_app_only),
        "known_profile_tokens": list(policy.known_profile_tokens),
        "app_only_profile_tokens": list(policy.app_only_profile_tokens),
        "vdirs": [_vdir_document(vdir) for vdir in policy.vdirs],
        "forbidden_profiles_everywhere": list(policy.forbidden_profiles_everywhere),
        "csv_list_separator": policy.csv_list_separator,
        "waivers": [waiver.to_json() for waiver in policy.waivers],
    }
    header = [
        "# Effective policy, merged by auditor from:",
        *(f"#   {source}" for source in policy.sources),
        f"# sha256: {policy.sha256}",
    ]
    for (line, why), source in zip(
        policy.malformed_waivers, _padded(policy.malformed_waiver_sources), strict=False
    ):
        where = f"{source}:{line}" if line is not None else source
        header.append(f"# malformed waiver left out (rule WV001): {where}: {why}")
    body = yaml.safe_dump(
        document, sort_keys=False, allow_unicode=True, width=100, default_flow_style=False
    )
    return "\n".join(header) + "\n" + body


def policy_init_text() -> str:
    """A commented starter organisation policy that extends the shipped default and validates."""
    return _INIT_TEXT


_INIT_TEXT = """\
# Organisation policy for auditor. It extends the policy shipped with auditor and states only
# what differs. `auditor policy validate THIS_FILE` checks it, `auditor policy show` prints the
# effective (merged) policy and `auditor policy schema` gives editors the JSON Schema.
name: contoso-exchange
version: 1
extends: default

# Change a rule's severity or turn it off (it is then listed as not applied).
# rule_overrides:
#   FL001:
#     severity: high
#   PA005:
#     enabled: false

# Approve app-only permissions for one application, matched by ApplicationIdentifier.
# Approvals only remove findings of rule PA002: permissions forbidden outright
# (forbidden_app_only, e.g. Mail.Send or *.ReadWrite*) are reported whatever is approved.
# applications:
#   - application_identifier: 00000003-0000-0000-c000-000000000000
#     name: Microsoft Graph
#     approved_app_only: [Mail.Read]

# Allow the app-only profile on the REST vdir while an approval above exists.
# vdirs:
#   - vdir: Default Web Site/API
#     allowed_profiles: [V1S2SAppOnly]

# Accept a risk for a limited time. Every field is required; the waiver applies up to and
# including `expires`. A trailing `*` in `subject` matches any ending.
# waivers:
#   - rule: WC002
#     subject: "web-config:EX01:Default Web Site/API"
#     reason: Trailing separator left by a CU; removed with the next maintenance window.
#     ticket: CHG-0001
#     owner: messaging-team@contoso.example
#     approver: security-board@contoso.example
#     expires: 2026-12-31
"""


def _default_policy_path() -> Path:
    try:
        return resources.default_policy_path()
    except FileNotFoundError as error:
        raise PolicyError(f"the shipped default policy is missing: {error}") from None


# --- reading one file -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _PolicyFile:
    """One policy file as read: display path, parsed document, where each node starts."""

    display: str
    resolved: Path
    document: dict[str, Any]
    marks: dict[DocPath, tuple[int, int]]  # value node start (1-based line, column)
    key_marks: dict[DocPath, tuple[int, int]]  # key node start for mapping entries
    canonical: bytes

    def error(self, problem: str, doc_path: DocPath = (), *, key: bool = False) -> PolicyError:
        mark = (self.key_marks if key else self.marks).get(doc_path) or self.marks.get(doc_path)
        line, column = mark if mark else (None, None)
        return PolicyError(
            problem, path=self.display, line=line, column=column, where=_format_path(doc_path)
        )

    def line(self, doc_path: DocPath) -> int | None:
        mark = self.marks.get(doc_path)
        return mark[0] if mark else None


class _Loader(yaml.SafeLoader):
    """Safe YAML that composes nodes only, keeps dates as text and refuses anchors and aliases."""

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise _Refused(
                "YAML anchors and aliases are not allowed in a policy; write the value out",
                event.start_mark,
            )
        return super().compose_node(parent, index)


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class _Refused(Exception):
    def __init__(self, problem: str, mark: yaml.Mark | None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.mark = mark


_ALLOWED_TAGS = frozenset(
    {
        "tag:yaml.org,2002:map",
        "tag:yaml.org,2002:seq",
        "tag:yaml.org,2002:str",
        "tag:yaml.org,2002:int",
        "tag:yaml.org,2002:bool",
        "tag:yaml.org,2002:null",
        "tag:yaml.org,2002:float",
    }
)


def _read_file(path: Path, display: str) -> _PolicyFile:
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_POLICY_BYTES + 1)
    except FileNotFoundError:
        raise PolicyError("policy file not found", path=display) from None
    except OSError as error:
        raise PolicyError(f"cannot read the policy file ({error.strerror})", path=display) from None
    if len(data) > MAX_POLICY_BYTES:
        raise PolicyError(
            f"policy file is larger than {MAX_POLICY_BYTES} bytes; a policy is a short text file",
            path=display,
        )
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise PolicyError("policy file is UTF-16; save it as UTF-8", path=display, line=1)
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
        raise PolicyError(
            f"policy file is not UTF-8 (byte 0x{data[error.start]:02x} cannot be decoded); "
            "save it as UTF-8",
            path=display,
            line=line,
            column=column,
        ) from None
    canonical = text.replace("\r\n", "\n").encode("utf-8")
    document, marks, key_marks = _parse_yaml(text, display)
    return _PolicyFile(display, path.resolve(), document, marks, key_marks, canonical)


def _parse_yaml(
    text: str, display: str
) -> tuple[dict[str, Any], dict[DocPath, tuple[int, int]], dict[DocPath, tuple[int, int]]]:
    try:
        loader = _Loader(text)
    except yaml.reader.ReaderError as error:
        raise _reader_error(error, text, display) from None
    try:
        node = loader.get_single_node()
    except _Refused as refused:
        raise _mark_error(refused.problem, display, refused.mark) from None
    except yaml.MarkedYAMLError as error:
        problem = f"not valid YAML: {_yaml_problem(error)}"
        raise _mark_error(problem, display, error.problem_mark or error.context_mark) from None
    except yaml.reader.ReaderError as error:
        raise _reader_error(error, text, display) from None
    except yaml.YAMLError as error:
        raise PolicyError(f"not valid YAML: {error}", path=display) from None
    except RecursionError:
        raise PolicyError("policy is nested too deeply", path=display) from None
    finally:
        loader.dispose()
    if node is None:
        raise PolicyError(
            "policy file is empty; expected a mapping with name and version", path=display, line=1
        )
    builder = _Builder(display)
    document = builder.value(node, (), 0)
    if not isinstance(document, dict):
        raise _mark_error(
            f"expected a mapping at the top of the policy, got {_kind(document)}",
            display,
            node.start_mark,
        )
    return document, builder.marks, builder.key_marks


class _Builder:
    """Turns composed YAML nodes into plain values, recording where every node starts."""

    def __init__(self, display: str) -> None:
        self.display = display
        self.marks: dict[DocPath, tuple[int, int]] = {}
        self.key_marks: dict[DocPath, tuple[int, int]] = {}
        self._constructor = SafeConstructor()

    def value(self, node: yaml.Node, doc_path: DocPath, depth: int) -> Any:
        self.marks[doc_path] = _position(node.start_mark)
        if depth > MAX_NESTING:
            line, column = _position(node.start_mark)
            raise PolicyError(
                f"policy is nested more than {MAX_NESTING} levels deep",
                path=self.display,
                line=line,
                column=column,
            )
        if node.tag not in _ALLOWED_TAGS:
            raise self._error(
                f"unsupported YAML tag {node.tag!r}; use plain text, numbers, true/false, "
                "lists and mappings",
                doc_path,
                node.start_mark,
            )
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, doc_path, depth)
        if isinstance(node, yaml.SequenceNode):
            return [
                self.value(item, (*doc_path, index), depth + 1)
                for index, item in enumerate(node.value)
            ]
        assert isinstance(node, yaml.ScalarNode)
        if not _surrogate_free(node.value):
            raise self._error(_SURROGATE, doc_path, node.start_mark)
        try:
            return self._constructor.construct_object(node, deep=True)
        except (ValueError, yaml.YAMLError):
            raise self._error(
                f"cannot read the value {node.value!r}", doc_path, node.start_mark
            ) from None

    def _mapping(self, node: yaml.MappingNode, doc_path: DocPath, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            if not (
                isinstance(key_node, yaml.ScalarNode) and key_node.tag == "tag:yaml.org,2002:str"
            ):
                shown = key_node.value if isinstance(key_node, yaml.ScalarNode) else "..."
                raise self._error(
                    f"expected a text key, got {shown!r}; quote it", doc_path, key_node.start_mark
                )
            key = str(key_node.value)
            if not _surrogate_free(key):
                raise self._error(_SURROGATE, doc_path, key_node.start_mark)
            line = key_node.start_mark.line + 1
            if key in first_line:
                raise self._error(
                    f"duplicate key {key!r} (first on line {first_line[key]}, again on line "
                    f"{line}); a key may appear only once",
                    (*doc_path, key),
                    key_node.start_mark,
                )
            first_line[key] = line
            self.key_marks[(*doc_path, key)] = _position(key_node.start_mark)
            result[key] = self.value(value_node, (*doc_path, key), depth + 1)
        return result

    def _error(self, problem: str, doc_path: DocPath, mark: yaml.Mark) -> PolicyError:
        line, column = _position(mark)
        return PolicyError(
            problem, path=self.display, line=line, column=column, where=_format_path(doc_path)
        )


def _reader_error(error: yaml.reader.ReaderError, text: str, display: str) -> PolicyError:
    """A character YAML refuses (NUL, other control characters), located in the text."""
    position = max(0, min(error.position, len(text)))
    line = text.count("\n", 0, position) + 1
    column = position - (text.rfind("\n", 0, position) + 1) + 1
    character = error.character
    code = ord(character) if isinstance(character, str) else int(character)
    return PolicyError(
        f"the policy contains a character YAML does not allow (U+{code:04X}); save it as "
        "plain UTF-8 text",
        path=display,
        line=line,
        column=column,
    )


def _surrogate_free(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _yaml_problem(error: yaml.MarkedYAMLError) -> str:
    problem = error.problem or ""
    if error.context and problem.startswith("but "):
        return f"{error.context}, {problem}"
    if error.context and problem:
        return f"{problem} ({error.context})"
    return problem or error.context or "syntax error"


def _position(mark: yaml.Mark) -> tuple[int, int]:
    return mark.line + 1, mark.column + 1


def _mark_error(problem: str, display: str, mark: yaml.Mark | None) -> PolicyError:
    if mark is None:
        return PolicyError(problem, path=display)
    line, column = _position(mark)
    return PolicyError(problem, path=display, line=line, column=column)


# --- validation -----------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(_SCHEMA_PATH.read_text(encoding="utf-8"))
    return schema


@lru_cache(maxsize=1)
def _validator() -> Any:
    from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

    Draft202012Validator.check_schema(_schema())
    return Draft202012Validator(_schema())


@lru_cache(maxsize=1)
def _pattern_meanings() -> dict[str, str]:
    """What each schema pattern means, in words, keyed by the pattern."""
    defs = _schema()["$defs"]
    meanings = {
        defs["rule_id"]["pattern"]: "a rule id such as PA001 (two capital letters, three digits)",
        defs["guid"]["pattern"]: "a GUID such as 00000003-0000-0000-c000-000000000000",
        defs["permission"]["pattern"]: "a permission name such as Mail.Read "
        "(letters, digits, '.', '_', '-')",
        defs["permission_pattern"]["pattern"]: "a permission pattern such as *.ReadWrite* "
        "(letters, digits, '.', '_', '-', '*', '?', '[...]')",
        defs["profile_token"]["pattern"]: "a profile token such as V1S2SAppOnly "
        "(letters and digits)",
        defs["waiver"]["properties"]["expires"]["pattern"]: "a date written YYYY-MM-DD",
        defs["rule"]["properties"]["references"]["items"]["pattern"]: "an https:// URL",
    }
    return meanings


@dataclass(slots=True)
class _SchemaIssue:
    doc_path: DocPath
    problem: str
    key: bool
    lenient_waiver: int | None  # index of the waiver, when the issue only makes it malformed


def _schema_issues(policy_file: _PolicyFile) -> list[_SchemaIssue]:
    issues: list[_SchemaIssue] = []
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


def _describe(error: Any, doc_path: DocPath, policy_file: _PolicyFile) -> _SchemaIssue:
    validator = error.validator
    instance = error.instance
    schema = error.schema
    if validator == "additionalProperties" and isinstance(instance, dict):
        allowed = sorted(schema.get("properties", {}))
        extra = [key for key in instance if key not in allowed]
        extra.sort(key=lambda key: policy_file.key_marks.get((*doc_path, key), (0, 0)))
        expected = ", ".join(allowed)
        return _SchemaIssue(
            (*doc_path, extra[0]),
            f"unknown key {extra[0]!r}; expected one of: {expected}",
            key=True,
            lenient_waiver=None,
        )
    if validator == "not" and "dependentSchemas" in error.absolute_schema_path:
        return _SchemaIssue(("rules",), _RULES_IN_EXTENDING_POLICY, True, None)
    if validator == "required":
        missing = [key for key in schema["required"] if key not in instance]
        return _SchemaIssue(doc_path, f"missing required key {missing[0]!r}", False, None)
    if validator == "type":
        expected_types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        expected = " or ".join(_TYPE_WORDS.get(str(name), str(name)) for name in expected_types)
        return _SchemaIssue(
            doc_path, f"expected {expected}, got {_kind(instance)}{_shown(instance)}", False, None
        )
    if validator == "enum":
        choices = ", ".join("null" if choice is None else str(choice) for choice in schema["enum"])
        return _SchemaIssue(
            doc_path,
            f"expected one of: {choices}; got {_kind(instance)}{_shown(instance)}",
            False,
            None,
        )
    if validator == "const":
        return _SchemaIssue(
            doc_path,
            f"expected {schema['const']!r}, got {_kind(instance)}{_shown(instance)}",
            False,
            None,
        )
    if validator == "pattern":
        meaning = _pattern_meanings().get(schema["pattern"], f"text matching {schema['pattern']}")
        return _SchemaIssue(doc_path, f"expected {meaning}, got {instance!r}", False, None)
    if validator == "minLength":
        return _SchemaIssue(doc_path, "expected a non-empty text", False, None)
    if validator == "maxLength":
        return _SchemaIssue(
            doc_path, f"expected at most {schema['maxLength']} characters", False, None
        )
    if validator == "minProperties":
        keys = ", ".join(sorted(schema.get("properties", {})))
        return _SchemaIssue(doc_path, f"expected at least one of: {keys}", False, None)
    return _SchemaIssue(doc_path, str(error.message), False, None)


_TYPE_WORDS = {
    "object": "a mapping",
    "array": "a list",
    "string": "a text",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
}


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a text"
    if isinstance(value, list):
        return "a list"
    return "a mapping"


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return f" ({'true' if value else 'false'})"
    if isinstance(value, (int, float)):
        return f" ({value})"
    if isinstance(value, str):
        return f" ({value[:60]!r})"
    return ""


def _format_path(doc_path: DocPath) -> str:
    text = ""
    for part in doc_path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _IDENTIFIER.match(part):
            text += f".{part}" if text else part
        else:
            text += f"[{json.dumps(part)}]"
    return text


# --- loading the chain of files -----------------------------------------------------------------


@dataclass(slots=True)
class _Chain:
    """The policy files in load order, each once, with `extends` resolved before the file."""

    files: list[_PolicyFile] = field(default_factory=list)
    _loaded: set[Path] = field(default_factory=set)
    _loading: list[Path] = field(default_factory=list)

    def add(self, path: Path, display: str, via: tuple[_PolicyFile, DocPath] | None) -> None:
        resolved = path.resolve()
        if resolved in self._loaded:
            return
        if resolved in self._loading:
            if via is not None:
                raise via[0].error("`extends` makes a cycle: a policy extends itself", via[1])
            raise PolicyError("`extends` makes a cycle", path=display)
        self._loading.append(resolved)
        try:
            if via is not None and not path.is_file():
                raise via[0].error(f"the policy it extends was not found ({display})", via[1])
            policy_file = _read_file(path, display)
            base = policy_file.document.get("extends")
            if isinstance(base, str) and base:
                self._add_base(policy_file, base)
            self.files.append(policy_file)
            self._loaded.add(resolved)
        finally:
            self._loading.pop()

    def _add_base(self, policy_file: _PolicyFile, base: str) -> None:
        if base == DEFAULT_POLICY:
            self.add(_default_policy_path(), DEFAULT_POLICY, (policy_file, ("extends",)))
            return
        target = policy_file.resolved.parent / base
        display = str(PurePath(policy_file.display).parent / base)
        self.add(target, display, (policy_file, ("extends",)))


def _merge(files: Sequence[_PolicyFile], *, strict_waivers: bool) -> Policy:
    state = _MergeState()
    for policy_file in files:
        issues = _schema_issues(policy_file)
        hard = [issue for issue in issues if issue.lenient_waiver is None]
        if hard or (strict_waivers and issues):
            raise _first_issue(policy_file, hard or issues)
        lenient: dict[int | None, _SchemaIssue] = {}
        for issue in issues:
            lenient.setdefault(issue.lenient_waiver, issue)
        state.apply(policy_file, lenient, strict_waivers=strict_waivers)
    return state.finish(files, strict_waivers=strict_waivers)


def _first_issue(policy_file: _PolicyFile, issues: Sequence[_SchemaIssue]) -> PolicyError:
    def order(issue: _SchemaIssue) -> tuple[tuple[int, int], int]:
        marks = policy_file.key_marks if issue.key else policy_file.marks
        return marks.get(issue.doc_path, (0, 0)), -len(issue.doc_path)

    first = min(issues, key=order)
    return policy_file.error(first.problem, first.doc_path, key=first.key)


@dataclass(slots=True)
class _MergeState:
    name: str = ""
    rules: dict[str, RuleInfo] = field(default_factory=dict)
    rule_origin: dict[str, tuple[_PolicyFile, DocPath]] = field(default_factory=dict)
    applications: dict[str, dict[str, Any]] = field(default_factory=dict)
    vdirs: dict[str, dict[str, Any]] = field(default_factory=dict)
    lists: dict[str, tuple[str, ...]] = field(default_factory=dict)
    csv_list_separator: str | None = None
    waivers: list[tuple[_PolicyFile, int, dict[str, Any], str | None]] = field(default_factory=list)

    def apply(
        self,
        policy_file: _PolicyFile,
        lenient: Mapping[int | None, _SchemaIssue],
        *,
        strict_waivers: bool,
    ) -> None:
        document = policy_file.document
        self.name = document["name"]
        if "rules" in document:
            if "extends" in document:
                raise policy_file.error(_RULES_IN_EXTENDING_POLICY, ("rules",), key=True)
            for rule_id, declared in document["rules"].items():
                self.rules[rule_id] = RuleInfo(
                    id=rule_id,
                    title=declared["title"],
                    severity=Severity(declared["severity"]),
                    rationale=declared["rationale"],
                    references=tuple(declared["references"]),
                    remediation=declared["remediation"],
                    enabled=declared.get("enabled", True),
                )
                self.rule_origin[rule_id] = (policy_file, ("rules", rule_id))
        for rule_id, override in document.get("rule_overrides", {}).items():
            if rule_id not in self.rules:
                raise policy_file.error(
                    f"no rule {rule_id} is declared by the policies below this one",
                    ("rule_overrides", rule_id),
                    key=True,
                )
            info = self.rules[rule_id]
            self.rules[rule_id] = RuleInfo(
                id=info.id,
                title=info.title,
                severity=Severity(override.get("severity", info.severity)),
                rationale=info.rationale,
                references=info.references,
                remediation=info.remediation,
                enabled=override.get("enabled", info.enabled),
            )
        self._merge_applications(policy_file)
        self._merge_vdirs(policy_file)
        for key in (
            "forbidden_app_only",
            "known_profile_tokens",
            "app_only_profile_tokens",
            "forbidden_profiles_everywhere",
        ):
            if key in document:
                self.lists[key] = tuple(document[key])
        if "csv_list_separator" in document:
            self.csv_list_separator = document["csv_list_separator"]
        for index, waiver in enumerate(document.get("waivers", [])):
            issue = lenient.get(index)
            why = None
            if issue is not None:
                why = f"{_format_path(issue.doc_path)}: {issue.problem}"
            else:
                why = _waiver_date_problem(waiver["expires"])
                if why is not None and strict_waivers:
                    raise policy_file.error(why, ("waivers", index, "expires"))
                if why is not None:
                    why = f"waivers[{index}].expires: {why}"
            self.waivers.append((policy_file, index, waiver, why))

    def _merge_applications(self, policy_file: _PolicyFile) -> None:
        seen: dict[str, int] = {}
        for index, entry in enumerate(policy_file.document.get("applications", [])):
            key = entry["application_identifier"].lower()
            if key in seen:
                raise policy_file.error(
                    f"application {key} is listed twice in this policy (also "
                    f"applications[{seen[key]}], line "
                    f"{policy_file.line(('applications', seen[key]))})",
                    ("applications", index, "application_identifier"),
                )
            seen[key] = index
            merged = self.applications.setdefault(
                key, {"name": entry.get("name", key), "approved_app_only": ()}
            )
            if "name" in entry:
                merged["name"] = entry["name"]
            if "approved_app_only" in entry:
                merged["approved_app_only"] = tuple(dict.fromkeys(entry["approved_app_only"]))

    def _merge_vdirs(self, policy_file: _PolicyFile) -> None:
        from auditor.layout import find_vdir

        seen: dict[str, int] = {}
        for index, entry in enumerate(policy_file.document.get("vdirs", [])):
            known = find_vdir(entry["vdir"])
            if known is None:
                raise policy_file.error(
                    f"unknown vdir {entry['vdir']!r}; expected a canonical IIS path such as "
                    "'Default Web Site/API' or 'Exchange Back End/ecp'",
                    ("vdirs", index, "vdir"),
                )
            key = known.id.casefold()
            if key in seen:
                raise policy_file.error(
                    f"vdir {known.id!r} is listed twice in this policy (also vdirs[{seen[key]}], "
                    f"line {policy_file.line(('vdirs', seen[key]))})",
                    ("vdirs", index, "vdir"),
                )
            seen[key] = index
            merged = self.vdirs.setdefault(
                key,
                {
                    "vdir": known.id,
                    "default_profiles": None,
                    "allowed_profiles": (),
                    "forbidden_profiles": (),
                },
            )
            for name in ("default_profiles", "allowed_profiles", "forbidden_profiles"):
                if name in entry:
                    merged[name] = tuple(entry[name])

    def finish(self, files: Sequence[_PolicyFile], *, strict_waivers: bool) -> Policy:
        for rule_id, (policy_file, doc_path) in self.rule_origin.items():
            if rule_id not in RULE_IDS:
                raise policy_file.error(
                    f"auditor has no rule {rule_id}; known rules: {', '.join(RULE_IDS)}",
                    doc_path,
                    key=True,
                )
        missing = [rule_id for rule_id in RULE_IDS if rule_id not in self.rules]
        if missing:
            last = files[-1]
            raise last.error(
                f"the policy does not declare rule(s) {', '.join(missing)}; start from "
                "`extends: default`",
            )
        waivers: list[Waiver] = []
        malformed: list[tuple[int | None, str]] = []
        malformed_sources: list[str] = []
        for policy_file, index, entry, problem in self.waivers:
            why = problem
            waived = entry.get("rule")
            rule_problem = None
            if why is None and waived not in self.rules:
                rule_problem = f"no rule {waived} is declared by the policy"
            elif why is None and waived in UNWAIVABLE:
                rule_problem = f"rule {waived} cannot be waived"
            if rule_problem is not None:
                if strict_waivers:
                    raise policy_file.error(rule_problem, ("waivers", index, "rule"))
                why = f"waivers[{index}].rule: {rule_problem}"
            if why is not None:
                malformed.append((policy_file.line(("waivers", index)), why))
                malformed_sources.append(policy_file.display)
                continue
            waivers.append(
                Waiver(
                    rule=entry["rule"],
                    subject=entry["subject"],
                    reason=entry["reason"],
                    ticket=entry["ticket"],
                    owner=entry["owner"],
                    approver=entry["approver"],
                    expires=entry["expires"],
                    line=policy_file.line(("waivers", index)),
                    source=policy_file.display,
                )
            )
        digest = hashlib.sha256()
        for policy_file in files:
            digest.update(f"{len(policy_file.canonical)}:".encode("ascii"))
            digest.update(policy_file.canonical)
        lists = self.lists
        return Policy(
            name=self.name,
            sha256=digest.hexdigest(),
            sources=tuple(policy_file.display for policy_file in files),
            rules=tuple(
                dataclasses.replace(info, id=RuleId(info.id)) for info in self.rules.values()
            ),
            applications=tuple(
                ApplicationPolicy(
                    application_identifier=key,
                    name=entry["name"],
                    approved_app_only=entry["approved_app_only"],
                )
                for key, entry in self.applications.items()
            ),
            forbidden_app_only=lists.get("forbidden_app_only", ()),
            known_profile_tokens=lists.get("known_profile_tokens", ()),
            app_only_profile_tokens=lists.get("app_only_profile_tokens", ("V1S2SAppOnly",)),
            vdirs=tuple(
                VdirPolicy(
                    vdir=entry["vdir"],
                    default_profiles=entry["default_profiles"],
                    allowed_profiles=entry["allowed_profiles"],
                    forbidden_profiles=entry["forbidden_profiles"],
                )
                for entry in self.vdirs.values()
            ),
            forbidden_profiles_everywhere=lists.get("forbidden_profiles_everywhere", ()),
            csv_list_separator=self.csv_list_separator,
            waivers=tuple(waivers),
            malformed_waivers=tuple(malformed),
            malformed_waiver_sources=tuple(malformed_sources),
        )


def _waiver_date_problem(expires: str) -> str | None:
    try:
        datetime.date.fromisoformat(expires)
    except ValueError:
        return f"{expires!r} is not a calendar date (expected YYYY-MM-DD)"
    return None


# --- showing -------------------------------------------------------------------------------


def _vdir_document(vdir: VdirPolicy) -> dict[str, Any]:
    document: dict[str, Any] = {"vdir": vdir.vdir}
    if vdir.default_profiles is not None:
        document["default_profiles"] = list(vdir.default_profiles)
    document["allowed_profiles"] = list(vdir.allowed_profiles)
    document["forbidden_profiles"] = list(vdir.forbidden_profiles)
    return document


def _padded(sources: Sequence[str]) -> Iterator[str]:
    yield from sources
    while True:
        yield "policy"
